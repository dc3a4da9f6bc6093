"""Key drivers and moments of truth: ``GET /api/drivers``, ``/api/drivers/moments``,
``/api/drivers/features`` over ``Workspace.drivers``.

The options are those of ``cxray drivers`` (repeatable ones repeated or
comma-separated). Results are kept until the data changes, like scorecards:
the same request answers from memory until the next import or survey commit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(prefix="/drivers", tags=["drivers"])


def _split(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


Start = Annotated[
    str | None, Query(alias="from", description="first date of the responses (YYYY-MM-DD)")
]
End = Annotated[str | None, Query(alias="to", description="last date, inclusive")]
Window = Annotated[
    float | None,
    Query(
        gt=0,
        le=36_500,
        description="days before each response (or the as-of date) features look back",
    ),
]
AsOf = Annotated[
    str | None,
    Query(
        description="churn: customers active at this date (default: the latest date whose "
        "churn horizon the data covers)"
    ),
]


@router.get(
    "",
    summary="Key drivers of an outcome: relative weights with bootstrap intervals, effect, "
    "performance and priority (`cxray drivers --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def drivers(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    outcome: Annotated[
        str,
        Query(
            description="nps, csat, ces, promoter, detractor, top_box, churn or a numeric column"
        ),
    ] = "nps",
    driver: Annotated[
        list[str], Query(description="a driver (repeatable); default: chosen automatically")
    ] = [],  # noqa: B006 (FastAPI reads the default)
    by: Annotated[str | None, Query(description="one analysis per value of an attribute")] = None,
    start: Start = None,
    end: End = None,
    window_days: Window = None,
    as_of: AsOf = None,
    bootstrap: Annotated[int, Query(ge=0, le=2000, description="bootstrap replicates")] = 200,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="seed of the bootstrap")] = 0,
) -> CXJSONResponse:
    names = tuple(_split(driver))
    opts: dict[str, Any] = {
        "by": by,
        "start": start,
        "end": end,
        "window_days": window_days,
        "as_of": as_of,
        "bootstrap": bootstrap,
        "seed": seed,
    }
    body = cx.cached(
        ("drivers", outcome, names, tuple(sorted(opts.items()))),
        lambda ws: ws.drivers(outcome, names, **opts).to_dict(),
    )
    return CXJSONResponse(body)


@router.get(
    "/moments",
    summary="Moments of truth: each touchpoint experience's effect on CSAT, NPS, CES and churn, "
    "with intervals and Benjamini-Hochberg, most costly first",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def moments(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    outcome: Annotated[
        list[str],
        Query(description="csat, nps, ces, churn (repeatable; the first ranks); default all"),
    ] = [],  # noqa: B006
    start: Start = None,
    end: End = None,
    window_days: Window = None,
    as_of: AsOf = None,
) -> CXJSONResponse:
    outcomes = tuple(_split(outcome)) or ("csat", "nps", "ces", "churn")
    opts: dict[str, Any] = {"start": start, "end": end, "window_days": window_days, "as_of": as_of}
    body = cx.cached(
        ("moments", outcomes, tuple(sorted(opts.items()))),
        lambda ws: ws.drivers.moments(outcomes, **opts).to_dict(),
    )
    return CXJSONResponse(body)


@router.get(
    "/features",
    summary="The features a driver may be: name, title, unit, which way is better",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def features(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    unit: Annotated[
        Literal["responses", "customers"],
        Query(description="per response (survey outcomes) or per customer (churn)"),
    ] = "responses",
) -> CXJSONResponse:
    body = cx.cached(
        ("driver-features", unit), lambda ws: [f.to_dict() for f in ws.drivers.features(unit)]
    )
    return CXJSONResponse(body)
