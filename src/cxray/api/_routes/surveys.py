"""Surveys over HTTP: definitions, the JSON submission endpoint for apps, invitations.

``POST /api/surveys/{name}/responses`` is open to the public for a public
survey and to invitees (their signed ``token``); an analyst's or admin's API key
may also name the customer (a viewer's key is read-only: 403). It answers only
once the response is durably stored: 201 with the ``response_id`` for a new
response, 200 when the same submission (same ``submission_id`` or invitation)
came again. An anonymous partial response is continued only with the
``resume_token`` its first step answered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from cxray.access import role_allows
from cxray.api._auth import Principal, admin, analyst, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope, error_response
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import (
    AuthenticationError,
    PermissionDeniedError,
    QueryError,
    SubmissionError,
)
from cxray.surveys import MailSettings, Surveys, check_reachable
from cxray.surveys._limits import guard_for
from cxray.surveys._tokens import FORM_TOKEN_HEADER, check_form_token

router = APIRouter(tags=["surveys"])

#: the largest submission body accepted (answers of a long survey fit many times over)
MAX_SUBMISSION_BYTES = 64 * 1024


class PayloadTooLarge(Exception):
    pass


def _surveys(cx: ApiContext) -> Surveys:
    return cx.ws.surveys


class SubmissionIn(BaseModel):
    """A submission (documentation of the body; it is read and checked by cxray itself)."""

    answers: dict[str, Any] = Field(
        description="question id -> answer: integers for nps/csat/ces/rating, a choice value "
        "for single, a list of choice values for multiple, a string for text",
        examples=[{"nps": 9, "improve": "Faster delivery"}],
    )
    token: str | None = Field(None, description="the signed invitation token, where there is one")
    submission_id: str | None = Field(
        None, description="a client-chosen id that makes repeats idempotent (steps share it)"
    )
    complete: bool = Field(True, description="false for a partial response (more steps follow)")
    language: str | None = None
    channel: str | None = Field(None, description="link, email, embed, api, app, sms or web")
    customer_id: str | None = Field(None, description="only with an analyst's or admin's API key")
    resume_token: str | None = Field(
        None,
        description="continues an anonymous partial response: the token its first step "
        "answered (a different client without it gets 403)",
    )


class ReceiptOut(BaseModel):
    response_id: str
    status: str = Field(description="created, updated (a partial response continued) or unchanged")
    completed: bool
    answers: dict[str, Any]
    resume_token: str | None = Field(
        None, description="an anonymous partial response's: send it with the next step"
    )


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_SUBMISSION_BYTES:
        raise PayloadTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_SUBMISSION_BYTES:
            raise PayloadTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _storable(value: str) -> bool:
    """Whether ``value`` can be stored: no NUL, no lone surrogate (``"\\ud800"`` in JSON)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_storable(value: Any, where: str) -> None:
    """Refuse a string in ``value`` no store can hold, naming where it is (a 422)."""
    if isinstance(value, str):
        if not _storable(value):
            raise QueryError(f"{where}: must be text without NUL characters or lone surrogates")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_storable(k, f"{where} (a key)")
            _check_storable(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_storable(v, f"{where}[{i}]")


def _trusted(request: Request, cx: ApiContext) -> bool:
    header = request.headers.get("authorization")
    if not header:
        return False
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationError("the Authorization header must be 'Bearer <API key>'")
    role = cx.keys.verify(key.strip()).role
    if not role_allows(role, "analyst"):  # a write on a customer's behalf
        raise PermissionDeniedError(
            f"a {role} key is read-only: submitting survey responses with a key (and naming "
            "their customer) needs an analyst or admin key; a public survey takes answers "
            "without one"
        )
    return True


@router.post(
    "/surveys/{name}/responses",
    status_code=201,
    summary="Submit answers to a survey; acknowledged once durably stored",
    response_model=ReceiptOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SubmissionIn.model_json_schema()}},
        }
    },
    responses={
        200: {"description": "the same submission again (idempotent), or a partial one continued"},
        403: {
            "model": ErrorEnvelope,
            "description": "forged token, invitation-only survey, or no valid form token "
            "where required (the survey's require_form_token, else [surveys.limits]'s)",
        },
        404: {"model": ErrorEnvelope, "description": "no such survey"},
        409: {"model": ErrorEnvelope, "description": "invitation or response already completed"},
        410: {"model": ErrorEnvelope, "description": "the invitation has expired"},
        413: {"model": ErrorEnvelope, "description": "body over 64 KiB"},
        415: {"model": ErrorEnvelope, "description": "not a JSON body"},
        422: {"model": ErrorEnvelope, "description": "answers break the survey's rules"},
        429: {"model": ErrorEnvelope, "description": "over [surveys.limits]; see Retry-After"},
    },
)
async def submit(name: str, request: Request) -> CXJSONResponse:
    # the hot path: no dependencies (a plain one would hop to a worker thread per request)
    cx: ApiContext = request.app.state.cx
    try:
        raw = await _read_body(request)
    except PayloadTooLarge:
        return error_response(
            413, "payload_too_large", f"a submission may be at most {MAX_SUBMISSION_BYTES} bytes"
        )
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype not in ("application/json", ""):
        return error_response(415, "unsupported_media_type", "send the answers as JSON")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # e.g. 30,000 nested brackets: refused, never a 500
        raise SubmissionError("the body is not valid JSON: it nests too deeply") from None
    if not isinstance(body, dict):
        raise SubmissionError("the body must be a JSON object with an 'answers' object")
    unknown = set(body) - set(SubmissionIn.model_fields)
    if unknown:
        raise SubmissionError(
            f"unknown field(s) {', '.join(sorted(unknown))}; "
            f"fields: {', '.join(SubmissionIn.model_fields)}"
        )
    if "answers" not in body:
        raise SubmissionError("the body needs an 'answers' object")
    for key in ("token", "submission_id", "language", "channel", "customer_id", "resume_token"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise SubmissionError(f"{key} must be a string")
        if isinstance(body.get(key), str) and not _storable(body[key]):
            raise SubmissionError(f"{key} must be text without NUL characters or lone surrogates")
    trusted = _trusted(request, cx)
    sid = body.get("submission_id") or request.headers.get("idempotency-key")
    guard, address = None, request.client.host if request.client else "unknown"
    if not trusted and not body.get("token"):  # anonymous: rate-limited, duplicates dropped
        check_form_token(cx.ws, name, request.headers.get(FORM_TOKEN_HEADER))  # if required
        guard = guard_for(cx.ws)
        guard.admit(name, address)
        seen = None if sid else guard.duplicate_of(name, address, body["answers"])
        # a receipt of this API (the page's own repeats hold its session id: not one of ours)
        if isinstance(seen, dict):  # the ledger's answers: the guard keeps only ids
            stored = _surveys(cx).submission(seen["response_id"]) or {}
            answers = stored.get("answers", body["answers"])
            out = {**seen, "status": "unchanged", "answers": answers}
            return CXJSONResponse(out, status_code=200)
    sub = _surveys(cx).prepare(
        name,
        body["answers"],
        token=body.get("token"),
        submission_id=sid,
        customer_id=body.get("customer_id"),
        trusted=trusted,
        complete=body.get("complete", True),
        language=body.get("language"),
        channel=body.get("channel") or "api",
        bind=True,
        resume_token=body.get("resume_token"),
    )
    receipt = await asyncio.wrap_future(_surveys(cx).collector.submit(sub))
    status = 201 if receipt.status == "created" else 200
    out = receipt.to_dict()
    anonymous = sub.invitation_id is None and not trusted and sid
    # a partial response's resume token goes to the client that started it, none other
    if anonymous and not receipt.completed and (receipt.status != "unchanged" or not sub.bound):
        out["resume_token"] = _surveys(cx).resume_token(receipt.response_id)
    if guard is not None and not sid:
        guard.remember(name, address, body["answers"], {k: out[k] for k in out if k != "answers"})
    return CXJSONResponse(out, status_code=status)


@router.get(
    "/surveys",
    summary="The surveys: from cxray.toml and created through the API",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def list_surveys(
    cx: Annotated[ApiContext, Depends(context)], _: Annotated[Principal, Depends(viewer)]
) -> CXJSONResponse:
    sv = _surveys(cx)
    out = []
    for name in sv.names():
        d = sv.registry.describe(name)
        defn = d["definition"]
        out.append(
            {
                "name": name,
                "source": d["source"],
                "title": defn["title"],
                "touchpoint": defn["touchpoint"],
                "public": defn["public"],
                "languages": defn["languages"],
                "questions": len(defn["questions"]),
                "link": f"/s/{name}",
                **sv.invitation_summary(name),
            }
        )
    return CXJSONResponse({"surveys": out})


@router.get(
    "/surveys/{name}",
    summary="One survey's definition",
    response_class=CXJSONResponse,
    responses={**ERROR_RESPONSES, 404: {"model": ErrorEnvelope, "description": "no such survey"}},
)
def get_survey(
    name: str,
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    return CXJSONResponse(_surveys(cx).registry.describe(name))


@router.put(
    "/surveys/{name}",
    summary="Create or replace a survey (admin); those in cxray.toml are changed there",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def put_survey(
    name: str,
    definition: Annotated[dict[str, Any], Body(description="a definition (docs/surveys.md)")],
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(admin)],
) -> CXJSONResponse:
    _check_storable(definition, "definition")
    sv = _surveys(cx)
    try:
        existed = sv.registry.source(name) == "api"
    except Exception:
        existed = False
    with cx.lock:
        sv.registry.save(name, definition)
    return CXJSONResponse(sv.registry.describe(name), status_code=200 if existed else 201)


class InviteIn(BaseModel):
    since: dt.datetime = Field(description="start of the touchpoint window (inclusive)")
    until: dt.datetime = Field(description="end of the touchpoint window (exclusive)")
    limit: int | None = Field(None, ge=1, le=1_000_000)
    language: str | None = None
    require_email: bool = False
    send: bool = Field(False, description="e-mail them now over SMTP (CXRAY_SMTP_* settings)")
    dry_run: bool = Field(False, description="list whom it would invite; store nothing")


@router.post(
    "/surveys/{name}/invitations",
    summary="Invite the survey touchpoint's customers of a window (fatigue rule applied)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def invite(
    name: str,
    body: InviteIn,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(analyst)],
) -> CXJSONResponse:
    sv = _surveys(cx)
    if body.send and body.dry_run:
        raise QueryError("send and dry_run exclude each other")
    mail = MailSettings.from_env(cx.ws.config) if body.send else None
    if mail is not None:
        check_reachable(mail)  # before any invitation is stored (and counts for fatigue)
    result = sv.invite(
        name,
        since=body.since,
        until=body.until,
        limit=body.limit,
        language=body.language,
        require_email=body.require_email or body.send,
        dry_run=body.dry_run,
    )
    masking = who.masking(cx.ws.config)  # the invitees' e-mails and names: cxray.privacy

    def shown(d: dict[str, Any]) -> dict[str, Any]:
        return {k: masking.value("customers", k, v) if k in ("email", "name") else v
                for k, v in d.items()}  # fmt: skip

    if body.dry_run:
        invitees = [shown(i.__dict__) for i in result]
        return CXJSONResponse({"dry_run": True, "invitees": invitees, "count": len(result)})
    invitations = [shown(i.to_dict()) for i in result]
    out: dict[str, Any] = {"invitations": invitations, "count": len(result)}
    if body.send:
        report = sv.send(result, mail)  # type: ignore[arg-type]
        out["sent"] = len(report.sent)
        out["not_sent"] = [{"invitation_id": i, "why": why} for i, why in report.skipped]
    return CXJSONResponse(out, status_code=201)
