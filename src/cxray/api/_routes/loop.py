"""The closed loop over HTTP: follow-ups (list, show, assign, contact, note, close), alerts
and a run of the rules.

Every route is a shell over :attr:`cxray.Workspace.loop` (``docs/loop.md``). Reads go
through the server's snapshot reader, so they never wait for an import; changes go through
the server's workspace under its write lock, and the history records the caller's key name
as who made them. Anyone with a key may read; changing a follow-up or running the rules
needs an analyst or admin key. A change the follow-up's status does not allow (contacting a
closed one) answers 409 ``conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import QueryError
from cxray.store import OUTBOX

__all__ = ["alert_messages", "router"]

router = APIRouter(tags=["loop"])
worker = _require("analyst", "work follow-ups or run the loop's rules")

Status = Literal["active", "open", "contacted", "resolved", "closed_no_contact"]
_NOT_FOUND = {404: {"model": ErrorEnvelope, "description": "no follow-up with this id"}}
_CHANGE = {
    **ERROR_RESPONSES,
    **_NOT_FOUND,
    409: {"model": ErrorEnvelope, "description": "the follow-up's status does not allow it"},
}
#: what the outbox tells about each notification of an alert (never its payload)
MESSAGE_COLUMNS = (
    "message_id",
    "channel",
    "target",
    "subject",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
    "delivered_at",
    "last_error",
)


class Assign(BaseModel):
    owner: str | None = Field(
        None, max_length=200, description="the person ('' clears it; absent: unchanged)"
    )
    team: str | None = Field(
        None, max_length=200, description="the team ('' clears it; absent: unchanged)"
    )


class Contact(BaseModel):
    note: str | None = Field(None, max_length=10_000, description="what was said")


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class Close(BaseModel):
    outcome: str | None = Field(None, max_length=2_000, description="how it ended")
    contacted: bool = Field(
        True,
        description="true: resolved (the customer was reached); false: closed without contact",
    )
    note: str | None = Field(None, max_length=10_000)


class Run(BaseModel):
    backfill: bool = Field(
        False,
        description="also rows imported before a rule was first seen, and every period of "
        "KPI and emerging-issue rules",
    )
    deliver: bool = Field(True, description="then send the notifications that are due")


def _change(cx: ApiContext, act: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``act(followups)`` on the server's workspace, under its write lock. A change the
    status does not allow is a conflict (409), not a malformed request."""
    with cx.lock:
        return act(cx.ws.loop.followups)


# ------------------------------------------------------------ follow-ups


@router.get(
    "/followups",
    summary="Follow-ups, due first: filter by status, owner, team, customer, rule, overdue",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def list_followups(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    status: Annotated[
        Status | None, Query(description="active (open or contacted) or one status; all if absent")
    ] = None,
    owner: str | None = None,
    team: str | None = None,
    customer: Annotated[str | None, Query(description="a customer_id")] = None,
    overdue: Annotated[bool, Query(description="only active ones past their due time")] = False,
    rule: str | None = None,
    mine: Annotated[bool, Query(description="only those owned by the caller's key name")] = False,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> CXJSONResponse:
    if mine:
        if owner is not None and owner != who.name:
            raise QueryError(f"owner={owner!r} and mine=true ask for different owners")
        owner = who.name
    with cx.reader() as ws:
        page = ws.loop.followups.list(
            status=status,
            owner=owner,
            team=team,
            customer_id=customer,
            overdue=overdue,
            rule=rule,
            limit=limit,
            offset=offset,
        )
    masking = who.masking(cx.ws.config)  # personal data: cxray.privacy
    page["rows"] = [masking.followup(r) for r in page["rows"]]
    return CXJSONResponse({**page, "limit": limit, "offset": offset})


@router.get(
    "/followups/{followup_id}",
    summary="One follow-up: its status, the alert that opened it and every change",
    response_class=CXJSONResponse,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
def get_followup(
    followup_id: str,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    with cx.reader() as ws:
        fu = ws.loop.followups.get(followup_id)
    return CXJSONResponse(who.masking(cx.ws.config).followup(fu))


@router.post(
    "/followups/{followup_id}/assign",
    summary="Give a follow-up to a person and/or a team",
    response_class=CXJSONResponse,
    responses=_CHANGE,
)
def assign(
    followup_id: str,
    body: Assign,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(worker)],
) -> CXJSONResponse:
    fu = _change(
        cx, lambda f: f.assign(followup_id, actor=who.name, owner=body.owner, team=body.team)
    )
    return CXJSONResponse(who.masking(cx.ws.config).followup(fu))


@router.post(
    "/followups/{followup_id}/contact",
    summary="Record that the customer was reached (an open follow-up)",
    response_class=CXJSONResponse,
    responses=_CHANGE,
)
def contact(
    followup_id: str,
    body: Contact,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(worker)],
) -> CXJSONResponse:
    fu = _change(cx, lambda f: f.contact(followup_id, actor=who.name, note=body.note))
    return CXJSONResponse(who.masking(cx.ws.config).followup(fu))


@router.post(
    "/followups/{followup_id}/notes",
    status_code=201,
    summary="Add a note (it becomes the follow-up's latest note)",
    response_class=CXJSONResponse,
    responses=_CHANGE,
)
def add_note(
    followup_id: str,
    body: Note,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(worker)],
) -> CXJSONResponse:
    fu = _change(cx, lambda f: f.note(followup_id, actor=who.name, text=body.text))
    return CXJSONResponse(who.masking(cx.ws.config).followup(fu), status_code=201)


@router.post(
    "/followups/{followup_id}/close",
    summary="End a follow-up: resolved (contacted, with an outcome) or closed without contact",
    response_class=CXJSONResponse,
    responses=_CHANGE,
)
def close(
    followup_id: str,
    body: Close,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(worker)],
) -> CXJSONResponse:
    fu = _change(
        cx,
        lambda f: f.close(
            followup_id,
            actor=who.name,
            outcome=body.outcome,
            contacted=body.contacted,
            note=body.note,
        ),
    )
    return CXJSONResponse(who.masking(cx.ws.config).followup(fu))


# ------------------------------------------------------------ alerts and runs


def alert_messages(backend: Any, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The outbox's notifications of these alerts: where each went and how delivery
    went (status, attempts, last error), never the payload."""
    if not alert_ids:
        return {}
    t = backend.table(OUTBOX)
    rows = (
        t.filter(t.alert_id.isin(alert_ids))
        .select("alert_id", *MESSAGE_COLUMNS)
        .order_by(["alert_id", "target"])
        .to_pyarrow()
        .to_pylist()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("alert_id"), []).append(r)
    return out


@router.get(
    "/alerts",
    summary="Alerts, newest first: what fired, the numbers behind it, where it was sent",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def list_alerts(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> CXJSONResponse:
    with cx.reader() as ws:
        rows = ws.loop.alerts(rule=rule, limit=limit + 1, offset=offset)
        more = len(rows) > limit
        rows = rows[:limit]
        sent = alert_messages(ws.store.backend, [a["alert_id"] for a in rows])
    masking = who.masking(cx.ws.config)  # personal data: cxray.privacy
    rows = [masking.alert(a) for a in rows]
    for a in rows:
        a["messages"] = sent.get(a["alert_id"], [])
    return CXJSONResponse({"alerts": rows, "limit": limit, "offset": offset, "has_more": more})


@router.post(
    "/loop/run",
    summary="Evaluate every rule now, record what fired and deliver what waits",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def run(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(worker)],
    body: Run | None = None,
) -> CXJSONResponse:
    body = body or Run()
    # the loop takes the write lock itself, only to record what fired: the rules are
    # evaluated on a cursor of their own, so imports need not wait for them
    report = cx.ws.loop.run(backfill=body.backfill, deliver=body.deliver)
    return CXJSONResponse(report.to_dict())
