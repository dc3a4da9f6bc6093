"""What the data supports: ``GET /api/doctor`` over ``Workspace.doctor`` (``cxray doctor``).

It answers the rows per table and every KPI and analysis with ``supported`` and, where
the data does not support it, the ``reason`` (what is missing, what to import), as
``cxray doctor --format json`` prints them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(tags=["scorecard"])


@router.get(
    "/doctor",
    summary="Which KPIs and analyses the data supports, and why not (`cxray doctor`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def doctor(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    return CXJSONResponse(cx.cached(("doctor",), lambda ws: ws.doctor().to_dict()))
