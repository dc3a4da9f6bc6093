"""Journey analytics: ``GET /api/journeys/funnel``, ``/paths``, ``/graph``, ``/outcomes``,
``/touchpoints`` over ``Workspace.journeys``.

The options are those of ``cxray journeys`` (repeatable ones repeated or
comma-separated). Each answer is the result's ``to_dict()``: the request as
understood, notes, and the records (the funnel's are those of ``cxray journeys
funnel --format json``). Results are kept until the data changes, like scorecards.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(prefix="/journeys", tags=["journeys"])


def _split(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


Case = Annotated[
    str,
    Query(
        description="what one trace is: customer, session, or any other column of events "
        "(e.g. order_id)"
    ),
]
Start = Annotated[str | None, Query(alias="from", description="first date (YYYY-MM-DD)")]
End = Annotated[str | None, Query(alias="to", description="last date, inclusive")]
Journey = Annotated[
    str | None, Query(description="only events whose journey column is this, e.g. checkout")
]
Include = Annotated[
    list[str],
    Query(description="also these tables as touchpoints: cases, orders, responses (repeatable)"),
]
MaxSteps = Annotated[int, Query(ge=1, le=50, description="touchpoints kept per path")]
Top = Annotated[int, Query(ge=1, le=500, description="how many to return")]


def _scope(case: str, start: str | None, end: str | None, journey: str | None,
           include: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "case": case,
        "start": start,
        "end": end,
        "journey": journey,
        "include": tuple(_split(include)),
    }


@router.get(
    "/funnel",
    summary="Cases through ordered steps: counts, conversion with intervals, hours between "
    "steps, slices compared (`cxray journeys funnel`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def funnel(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    steps: Annotated[
        list[str], Query(description="the steps in order: touchpoints, comma-separated or repeated")
    ],
    within: Annotated[
        float | None,
        Query(gt=0, le=876_000, description="every step within this many hours of the first"),
    ] = None,
    by: Annotated[
        list[str], Query(description="slice by an attribute of events or customers (repeatable)")
    ] = [],  # noqa: B006 (FastAPI reads the default)
    case: Case = "customer",
    start: Start = None,
    end: End = None,
    journey: Journey = None,
    include: Include = [],  # noqa: B006
) -> CXJSONResponse:
    wanted, slices = tuple(_split(steps)), tuple(_split(by))
    scope = _scope(case, start, end, journey, include)
    result = cx.cached(
        ("journeys.funnel", wanted, within, slices, *scope.values()),
        lambda ws: ws.journeys.funnel(wanted, within_hours=within, by=slices, **scope).to_dict(),
    )
    return CXJSONResponse(result)


@router.get(
    "/paths",
    summary="The most common paths (variants), where cases leave and loop (`cxray journeys paths`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def paths(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    case: Case = "customer",
    start: Start = None,
    end: End = None,
    journey: Journey = None,
    include: Include = [],  # noqa: B006
    max_steps: MaxSteps = 20,
    top: Top = 20,
    collapse: Annotated[bool, Query(description="read repeats in a row as one")] = False,
) -> CXJSONResponse:
    scope = _scope(case, start, end, journey, include)
    result = cx.cached(
        ("journeys.paths", *scope.values(), max_steps, top, collapse),
        lambda ws: ws.journeys.paths(
            **scope, max_steps=max_steps, top=top, collapse=collapse
        ).to_dict(),
    )
    return CXJSONResponse(result)


@router.get(
    "/graph",
    summary="The directly-follows graph: edges with counts and median hours, start and end "
    "activities (`cxray journeys graph`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def graph(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    case: Case = "customer",
    start: Start = None,
    end: End = None,
    journey: Journey = None,
    include: Include = [],  # noqa: B006
) -> CXJSONResponse:
    scope = _scope(case, start, end, journey, include)
    result = cx.cached(
        ("journeys.graph", *scope.values()),
        lambda ws: ws.journeys.graph(**scope).to_dict(),
    )
    return CXJSONResponse(result)


@router.get(
    "/outcomes",
    summary="NPS, CSAT and churn by path or by touchpoint passed, against all other cases "
    "(`cxray journeys outcomes`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def outcomes(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    group: Annotated[
        Literal["variant", "touchpoint"],
        Query(description="variant: by path; touchpoint: by each touchpoint passed"),
    ] = "variant",
    case: Case = "customer",
    start: Start = None,
    end: End = None,
    journey: Journey = None,
    include: Include = [],  # noqa: B006
    max_steps: MaxSteps = 20,
    top: Top = 10,
    collapse: Annotated[bool, Query(description="read repeats in a row as one")] = False,
) -> CXJSONResponse:
    scope = _scope(case, start, end, journey, include)
    result = cx.cached(
        ("journeys.outcomes", group, *scope.values(), max_steps, top, collapse),
        lambda ws: ws.journeys.outcomes(
            group=group, **scope, max_steps=max_steps, top=top, collapse=collapse
        ).to_dict(),
    )
    return CXJSONResponse(result)


@router.get(
    "/touchpoints",
    summary="Each touchpoint in scope with its count, most frequent first",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def touchpoints(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    case: Case = "customer",
    start: Start = None,
    end: End = None,
    journey: Journey = None,
    include: Include = [],  # noqa: B006
) -> CXJSONResponse:
    scope = _scope(case, start, end, journey, include)
    result = cx.cached(
        ("journeys.touchpoints", *scope.values()),
        lambda ws: ws.journeys.touchpoints(**scope),
    )
    return CXJSONResponse(result)
