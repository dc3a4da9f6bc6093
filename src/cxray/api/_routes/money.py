"""The money of CX: ``GET /api/clv/by-nps-group``, ``/api/clv/at-risk``, ``/api/clv/what-if``
and ``/api/clv/roi`` over ``Workspace.value.money`` (``docs/value.md``).

Each answers the ``to_dict()`` of its result: estimate, interval, n, method, and the
rows. Results are kept until the data changes: the cache key holds the store's latest
import and the latest kept CLV fit and churn-risk model, so ``cxray clv fit`` or
``cxray churn model`` is seen at once. Viewers may read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.store import MODELS

router = APIRouter(prefix="/clv", tags=["clv"])

Group = Literal["promoter", "passive", "detractor", "no answer"]
Horizon = Annotated[
    float | None,
    Query(
        gt=0, le=3650, description="churn horizon in days (default [features] churn_horizon_days)"
    ),
]


def _models(cx: ApiContext) -> tuple[Any, ...]:
    """The latest kept model of each name: a new fit or churn model changes the results."""
    with cx.reader() as ws:
        t = ws.store.backend.table(MODELS)
        rows = t.group_by("name").aggregate(m=t.created_at.max()).order_by("name")
        got = rows.to_pyarrow().to_pylist()
    return tuple((r["name"], str(r["m"])) for r in got)


def _body(cx: ApiContext, key: tuple[Any, ...], compute: Any) -> CXJSONResponse:
    full = ("money", _models(cx), *key)
    return CXJSONResponse(cx.cached(full, lambda ws: compute(ws.value.money).to_dict()))


@router.get(
    "/by-nps-group",
    summary="Churn rate, mean CLV and churn cost by NPS group, with intervals",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def by_nps_group(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    horizon_days: Horizon = None,
    as_of: Annotated[
        str | None,
        Query(
            description="churn observed after this date (default: the latest "
            "date whose horizon the data covers)"
        ),
    ] = None,
) -> CXJSONResponse:
    return _body(cx, ("groups", horizon_days, as_of),
                 lambda m: m.by_nps_group(as_of=as_of, horizon_days=horizon_days))  # fmt: skip


@router.get(
    "/at-risk",
    summary="Revenue at risk (CLV x churn probability) by NPS group or a customer attribute",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def at_risk(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    by: Annotated[str, Query(description="nps_group or a customer attribute")] = "nps_group",
    horizon_days: Horizon = None,
) -> CXJSONResponse:
    return _body(cx, ("risk", by, horizon_days),
                 lambda m: m.at_risk(by, horizon_days=horizon_days))  # fmt: skip


@router.get(
    "/what-if",
    summary="What moving a share of one NPS group to another is worth, with its interval",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def what_if(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    share: Annotated[float, Query(ge=0, le=1, description="0.10 = 10 % moved")] = 0.10,
    source: Annotated[Group, Query(description="the group they leave")] = "detractor",
    target: Annotated[Group, Query(description="the group they join")] = "passive",
    horizon_days: Horizon = None,
) -> CXJSONResponse:
    return _body(cx, ("what-if", share, source, target, horizon_days),
                 lambda m: m.what_if(share, source, target,
                                     horizon_days=horizon_days))  # fmt: skip


@router.get(
    "/roi",
    summary="The CX ROI summary: revenue at risk, churn cost by NPS group and the what-if, "
    "with intervals, sentences and assumptions",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def roi(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    share: Annotated[float, Query(ge=0, le=1, description="the what-if's share")] = 0.10,
    source: Annotated[Group, Query()] = "detractor",
    target: Annotated[Group, Query()] = "passive",
    horizon_days: Horizon = None,
) -> CXJSONResponse:
    return _body(cx, ("roi", share, source, target, horizon_days),
                 lambda m: m.roi(share, source, target, horizon_days=horizon_days))  # fmt: skip
