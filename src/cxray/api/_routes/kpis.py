"""The KPI catalogue: ``GET /api/kpis``, every KPI the scorecard knows with this config.

Built-in KPIs and those defined in ``cxray.toml`` (``[kpis.NAME]``, docs/metrics.md "KPIs
as code") alike: name, title, kind, unit, definition, table, time column, direction,
target and action (the ``[program] industry``'s where ``[targets]`` sets none), the industry
benchmark; a KPI from config also shows its expressions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.metrics import kpi_catalogue

router = APIRouter(tags=["scorecard"])


@router.get(
    "/kpis",
    summary="Every KPI with its definition, direction and targets (built-in and from config)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def kpis(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    return CXJSONResponse(cx.cached(("kpis",), lambda ws: kpi_catalogue(ws.config)))
