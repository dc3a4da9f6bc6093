"""Churn reasons, survival and the Cox model: ``GET /api/churn/reasons``,
``GET /api/churn/survival``, ``GET /api/churn/cox`` over ``Workspace.churn``.

The options are those of ``cxray churn reasons|survival|cox`` and the bodies what their
``--format json`` prints. Results are kept until the data changes, like scorecards. The Cox
model is fitted here without being stored (a GET changes nothing); ``cxray churn cox``
stores it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(prefix="/churn", tags=["churn"])

AsOf = Annotated[
    str | None,
    Query(description="end of observation (YYYY-MM-DD); default: the end of the data"),
]
Landmark = Annotated[
    str | None,
    Query(description="follow the customers active at this date from it on (landmark)"),
]


def _split(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@router.get(
    "/reasons",
    summary="Stated churn reasons: shares with Wilson intervals, by attribute and period, "
    "trends (BH) and themes (`cxray churn reasons --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def reasons(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    by: Annotated[str | None, Query(description="a customer attribute")] = None,
    period: Annotated[
        Literal["month", "quarter"] | None, Query(description="month or quarter of leaving")
    ] = None,
    start: Annotated[
        str | None, Query(alias="from", description="first date of leaving (YYYY-MM-DD)")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="last date, inclusive")] = None,
) -> CXJSONResponse:
    opts: dict[str, Any] = {"start": start, "end": end}
    body = cx.cached(
        ("churn-reasons", by, period, tuple(sorted(opts.items()))),
        lambda ws: ws.churn.reasons(by, period, **opts).to_dict(),
    )
    # stated reasons are what customers wrote: free text (cxray.privacy)
    return CXJSONResponse(who.masking(cx.ws.config).texts(body, ["reason", "reasons"]))


@router.get(
    "/survival",
    summary="Kaplan-Meier survival by group with log-log 95% bands, medians with intervals, "
    "log-rank tests with BH (`cxray churn survival --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def survival(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    by: Annotated[
        str,
        Query(description="nps_group, a customer attribute or a feature of the customers"),
    ] = "nps_group",
    as_of: AsOf = None,
    landmark: Landmark = None,
    bands: Annotated[int, Query(ge=2, le=10, description="quantile bands of a number")] = 3,
) -> CXJSONResponse:
    body = cx.cached(
        ("churn-survival", by, as_of, landmark, bands),
        lambda ws: ws.churn.survival(by, as_of, landmark=landmark, bands=bands).to_dict(),
    )
    return CXJSONResponse(body)


@router.get(
    "/cox",
    summary="A Cox model of churn: hazard ratios with 95% intervals, concordance, the "
    "proportional-hazards check (`cxray churn cox --format json`; not stored)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def cox(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    covariate: Annotated[
        list[str], Query(description="a numeric customer column or feature (repeatable)")
    ] = [],  # noqa: B006 (FastAPI reads the default)
    by: Annotated[str, Query(description="groups as dummies; 'none' for none")] = "nps_group",
    reference: Annotated[str | None, Query(description="the reference group")] = None,
    as_of: AsOf = None,
    landmark: Landmark = None,
) -> CXJSONResponse:
    names = tuple(_split(covariate))
    group = None if by.lower() == "none" else by
    body = cx.cached(
        ("churn-cox", names, group, reference, as_of, landmark),
        lambda ws: ws.churn.cox(
            names, by=group, reference=reference, as_of=as_of, landmark=landmark, save=False
        ).to_dict(),
    )
    return CXJSONResponse(body)
