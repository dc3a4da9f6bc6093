"""Customer lifetime value: ``GET /api/clv/fit`` (the kept fit), ``POST /api/clv/fit``
(analyst: fit and keep), ``GET /api/clv/customers`` (CLV per customer, paged, highest
first), ``GET /api/clv/summary`` (mean and total CLV with intervals) over ``Workspace.value``.

The same library calls as ``cxray clv fit --format json`` and ``cxray clv --format json``.
CLV results are kept in memory until the data or the kept fit changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import NotFoundError

router = APIRouter(prefix="/clv", tags=["clv"])

fitter = _require("analyst", "fit the lifetime-value models")

Horizon = Annotated[float, Query(gt=0, le=18250, description="how far ahead CLV looks, in days")]
Rate = Annotated[float, Query(ge=0, le=10, description="annual discount rate (0.10 is 10%)")]
AsOf = Annotated[
    str | None,
    Query(description="customers' purchases up to this day (default: the last purchase day)"),
]


class Fit(BaseModel):
    """Options of ``cxray clv fit``."""

    calibration_end: str | None = None
    unit: Literal["week", "day"] = "week"
    model: Literal["auto", "bgnbd", "pareto_nbd"] = "auto"


@router.post(
    "/fit",
    summary="Fit BG/NBD or Pareto/NBD and Gamma-Gamma on the orders and keep the fit "
    "(`cxray clv fit --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def fit(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(fitter)],
    body: Fit | None = None,
) -> CXJSONResponse:
    body = body or Fit()
    # fitted on one snapshot of the data; only the kept fit is written, under the write lock
    with cx.reader() as ws:
        result = ws.value.fit(**body.model_dump(), save=False)
    cx.ws.value.keep(result)
    return CXJSONResponse(result.to_dict())


@router.get(
    "/fit",
    summary="The kept lifetime-value fit: parameters with standard errors, log-likelihood, "
    "holdout check (404 when there is none)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def kept(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    with cx.reader() as ws:
        result = ws.value.latest_fit()
    if result is None:
        raise NotFoundError("no lifetime-value fit is kept yet: run `cxray clv fit`")
    return CXJSONResponse(result.to_dict())


def _clv(cx: ApiContext, horizon_days: float, discount_rate: float, as_of: str | None) -> Any:
    with cx.reader() as ws:
        latest = ws.value.latest_fit()
    model_id = None if latest is None else latest.model_id
    return cx.cached(
        ("clv", model_id, horizon_days, discount_rate, as_of),
        lambda ws: ws.value.clv(horizon_days=horizon_days, discount_rate=discount_rate,
                                as_of=as_of),
    )  # fmt: skip


@router.get(
    "/customers",
    summary="CLV per customer: expected purchases, P(alive), expected spend, CLV; highest "
    "first, a page at a time (`cxray clv --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def customers(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    horizon_days: Horizon = 365,
    discount_rate: Rate = 0.10,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="customers per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**12, description="customers to skip")] = 0,
) -> CXJSONResponse:
    result = _clv(cx, horizon_days, discount_rate, as_of)
    body = result.to_dict(top=0)
    page = result.customers.iloc[offset : offset + limit]
    body["customers"] = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in page.to_dict("records")
    ]
    body["offset"], body["limit"] = offset, limit
    return CXJSONResponse(body)


@router.get(
    "/summary",
    summary="Mean CLV per customer and the total, with 95% intervals and n",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def summary(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    horizon_days: Horizon = 365,
    discount_rate: Rate = 0.10,
    as_of: AsOf = None,
) -> CXJSONResponse:
    body = _clv(cx, horizon_days, discount_rate, as_of).to_dict(top=0)
    body.pop("customers")
    return CXJSONResponse(body)
