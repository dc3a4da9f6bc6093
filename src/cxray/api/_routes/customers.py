"""One customer's profile and story across every table ("one profile")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.explore import customer_timeline

router = APIRouter(tags=["customers"])


@router.get(
    "/customers/{customer_id}",
    summary="A customer's profile and timeline: responses, cases, orders, events, mentions",
    response_class=CXJSONResponse,
    responses={
        **ERROR_RESPONSES,
        404: {"model": ErrorEnvelope, "description": "the customer is in no table"},
    },
)
def customer(
    customer_id: str,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    limit: Annotated[
        int, Query(ge=1, le=10_000, description="at most this many items, the latest")
    ] = 1000,
) -> CXJSONResponse:
    masking = who.masking(cx.ws.config)  # personal data: cxray.privacy
    with cx.reading() as backend:
        story = customer_timeline(backend, customer_id, limit=limit, masking=masking)
    return CXJSONResponse(story)
