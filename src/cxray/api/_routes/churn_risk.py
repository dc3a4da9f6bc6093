"""Churn risk: ``POST /api/churn/model`` (analyst: train, evaluate, keep or not),
``GET /api/churn/model`` (the stored model's evaluation), ``GET /api/churn/risk`` (scores).

The same library calls as ``cxray churn model`` and ``cxray churn risk --format json``.
Scores are kept in memory until the data or the stored model changes; a page of them is
``limit`` customers from ``offset``, riskiest first, or one customer with ``customer_id``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import NotFoundError

router = APIRouter(prefix="/churn", tags=["churn"])

trainer = _require("analyst", "train the churn-risk model")


class Train(BaseModel):
    """Options of ``cxray churn model``."""

    split: Literal["auto", "time", "stratified"] = "auto"
    horizon_days: float | None = Field(default=None, gt=0, le=36_500)  # 100 years
    lookback_days: float | None = Field(default=None, gt=0, le=36_500)
    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)  # NumPy's largest seed
    keep: bool = True


@router.post(
    "/model",
    summary="Train the churn-risk model, evaluate it against the baseline and keep it when "
    "it is better (`cxray churn model --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def train(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(trainer)],
    body: Train | None = None,
) -> CXJSONResponse:
    body = body or Train()
    # read one snapshot of the data; only the kept model is written, under the write lock
    with cx.reader() as ws:
        report = ws.churn.risk.train(**body.model_dump(), writer=cx.ws.churn.risk)
    return CXJSONResponse(report.to_dict())


@router.get(
    "/model",
    summary="The stored churn-risk model's evaluation (404 when none is stored)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def stored(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    with cx.reader() as ws:
        m = _stored(ws)
    return CXJSONResponse(
        {**m["evaluation"], "model_id": m["model_id"], "created_at": m["created_at"]}
    )


def _stored(ws) -> dict:
    from cxray.exceptions import AnalysisError

    try:
        return ws.churn.risk.stored()
    except AnalysisError as exc:
        raise NotFoundError(str(exc)) from None


@router.get(
    "/risk",
    summary="Active customers' churn probability with its 95% interval and top reasons, "
    "riskiest first (`cxray churn risk --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def risk(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    limit: Annotated[int, Query(ge=1, le=1000, description="customers per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**12, description="customers to skip")] = 0,
    customer_id: Annotated[str | None, Query(description="this customer only")] = None,
    as_of: Annotated[
        str | None, Query(description="customers active at this date (default: the data's end)")
    ] = None,
) -> CXJSONResponse:
    with cx.reader() as ws:
        model_id = _stored(ws)["model_id"]
    scores = cx.cached(("churn-risk", model_id, as_of), lambda ws: ws.churn.risk.score(as_of))
    if customer_id is not None:
        one = scores.customers[scores.customers["customer_id"] == customer_id]
        if one.empty:
            raise NotFoundError(
                f"customer {customer_id!r} is not an active customer at {scores.as_of[:10]}"
            )
        offset, limit = int(one.index[0]), 1
    body = scores.to_dict(limit=limit, offset=offset)
    body["limit"] = limit
    body["has_more"] = offset + limit < scores.n
    if customer_id is not None:
        body["rank"] = offset + 1
    return CXJSONResponse(body)
