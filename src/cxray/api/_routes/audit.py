"""``GET /api/audit``: the audit log, newest first (admin only; nothing deletes it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cxray.access import ACTIONS
from cxray.api._auth import Principal, _require
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._state import ApiContext, context

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)

Action = Literal[ACTIONS]  # type: ignore[valid-type]
auditor = _require("admin", "read the audit log")


@router.get(
    "/audit",
    summary="Who read, exported, imported, changed or erased what, when and from where (admin)",
)
def audit_log(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(auditor)],
    since: Annotated[
        str | None, Query(max_length=40, description="from this UTC time (ISO 8601)")
    ] = None,
    until: Annotated[
        str | None,
        Query(
            max_length=40,
            description="before this UTC time (ISO 8601); default now, answered as `until`: "
            "pass it back with the next offset to page through a log that keeps growing",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(max_length=200, description="a key's id (3) or an actor as recorded"),
    ] = None,
    action: Annotated[Action | None, Query(description="one kind of event")] = None,
    customer: Annotated[
        str | None, Query(max_length=200, description="a customer id: its events")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="events in this page")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="events skipped")] = 0,
) -> dict[str, Any]:
    audit = cx.ws.audit
    if until is None:  # a fixed end: the next pages (same until, more offset) do not shift
        until = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat() + "Z"
    audit.flush()  # what is queued, this request's own read included once it ends
    with cx.reading() as backend:
        events = audit.events(
            since=since, until=until, actor=actor, action=action, customer=customer,
            limit=limit + 1, offset=offset, backend=backend,
        )  # fmt: skip
    more = len(events) > limit
    return {
        "events": [e.to_dict() for e in events[:limit]],
        "until": until,
        "offset": offset,
        "limit": limit,
        "has_more": more,
    }
