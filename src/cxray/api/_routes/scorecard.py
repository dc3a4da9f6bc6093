"""The scorecard: ``GET /api/scorecard`` over ``Workspace.scorecard``.

It takes the same options as ``cxray scorecard`` (``by``, ``period``, ``from``,
``to``, ``metric``; repeatable ones repeated or comma-separated) and answers the
same records as its ``--format json``: one per KPI and slice, with estimate,
interval, n, status and the change from the previous period.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(tags=["scorecard"])


def _split(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@router.get(
    "/scorecard",
    summary="Every KPI with its interval, n, status and change (`cxray scorecard --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def scorecard(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    by: Annotated[
        list[str], Query(description="slice by an attribute (repeatable), e.g. region")
    ] = [],  # noqa: B006 (FastAPI reads the default)
    period: Annotated[
        Literal["day", "week", "month", "quarter"] | None,
        Query(description="cut by period, with the change from the previous one"),
    ] = None,
    start: Annotated[
        str | None, Query(alias="from", description="first date (YYYY-MM-DD), inclusive")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="last date (YYYY-MM-DD), inclusive")
    ] = None,
    metric: Annotated[list[str], Query(description="only this KPI (repeatable), e.g. nps")] = [],  # noqa: B006
) -> CXJSONResponse:
    slices, metrics = tuple(_split(by)), tuple(_split(metric)) or None
    records = cx.cached(
        ("scorecard", slices, period, start, end, metrics),
        lambda ws: ws.scorecard(
            by=list(slices), period=period, start=start, end=end, metrics=metrics
        ).records(),
    )
    return CXJSONResponse(records)
