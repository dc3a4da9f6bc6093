"""Executive digests: ``GET /api/reports`` (the archive), ``GET /api/reports/{id}`` (one
digest's file), ``POST /api/reports`` (analyst: generate now), ``DELETE /api/reports/{id}``
(admin: one archived digest deleted) over ``Workspace.reports``.

A digest made with personal data shown (``pii``) is opened only by a caller with the
``pii`` permission; a caller without it can generate masked digests only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import PermissionDeniedError

router = APIRouter(prefix="/reports", tags=["reports"])

maker = _require("analyst", "generate a report")
deleter = _require("admin", "delete a report")


class Generate(BaseModel):
    """Options of ``cxray report``."""

    period: str = Field(default="last-week", max_length=40)
    format: Literal["pdf", "html", "md"] = "pdf"
    as_of: dt.date | None = None
    pii: bool = False


@router.get(
    "",
    summary="The archive of executive digests, newest first (without their files)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def archive(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> CXJSONResponse:
    with cx.reader() as ws:
        rows = ws.reports.list(limit=limit, offset=offset)
    return CXJSONResponse({"reports": [r.to_dict() for r in rows]})


@router.get(
    "/{report_id}",
    summary="One archived digest's file (PDF, HTML or Markdown); ?download=true to save it",
    responses=ERROR_RESPONSES,
)
def one(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    report_id: str,
    download: bool = False,
) -> Response:
    with cx.reader() as ws:
        r = ws.reports.get(report_id)
    if r.pii and not who.pii:
        raise PermissionDeniedError(
            f"report {report_id} shows personal data; it needs the pii permission"
        )
    how = "attachment" if download or r.format == "md" else "inline"
    return Response(
        r.content,
        media_type=r.media_type + ("; charset=utf-8" if r.format != "pdf" else ""),
        headers={"Content-Disposition": f'{how}; filename="{r.filename}"'},
    )


@router.post(
    "",
    status_code=201,
    summary="Generate a digest now and keep it in the archive (`cxray report`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def generate(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(maker)],
    body: Generate | None = None,
) -> CXJSONResponse:
    body = body or Generate()
    if body.pii and not who.pii:
        raise PermissionDeniedError("a digest with personal data shown needs the pii permission")
    writer = cx.ws.reports
    period = writer.period(body.period, body.as_of)
    with cx.reader() as ws:  # one snapshot of the data; only the archive row is written
        digest = ws.reports.digest(period, pii=body.pii)
    r = writer.generate(period, body.format, pii=body.pii, actor=who.name, digest=digest)
    return CXJSONResponse(r.to_dict(), status_code=201)


@router.delete(
    "/{report_id}",
    summary="Delete one archived digest (its file and record); answers its record",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def delete(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(deleter)],
    report_id: str,
) -> CXJSONResponse:
    gone = cx.ws.reports.delete(report_id)
    return CXJSONResponse({"deleted": True, **gone.to_dict()})
