"""Industry benchmarks: ``GET /api/benchmarks``, the benchmark sets this config knows.

The shipped sets and ``[benchmarks.NAME]``, each with its figures per KPI (benchmark,
target, action, scale, source, note) and whether it is the ``[program] industry``
(``cxray benchmarks``; docs/benchmarks.md). ``?industry=NAME`` answers that set alone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import NotFoundError

router = APIRouter(tags=["scorecard"])


def _sets(config: Any) -> list[dict[str, Any]]:
    chosen = config.program.industry
    return [
        {
            "name": name,
            "title": bench.title,
            "description": bench.description,
            "selected": name == chosen,
            "kpis": {kpi: fig.model_dump() for kpi, fig in bench.kpis.items()},
        }
        for name, bench in config.benchmark_sets.items()
    ]


@router.get(
    "/benchmarks",
    summary="The industry benchmark sets with their figures, targets and sources",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def benchmarks(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    industry: Annotated[str | None, Query(description="only this set, e.g. retail")] = None,
) -> CXJSONResponse:
    sets = cx.cached(("benchmarks",), lambda ws: _sets(ws.config))
    if industry is None:
        return CXJSONResponse(sets)
    one = [s for s in sets if s["name"] == industry]
    if not one:
        known = ", ".join(s["name"] for s in sets)
        raise NotFoundError(f"no benchmark set {industry!r}; known: {known}")
    return CXJSONResponse(one)
