"""CX maturity: ``GET /api/maturity`` (the latest kept assessment and the history),
``GET /api/maturity/questions`` (the model: levels, dimensions, questions, options) and
``POST /api/maturity`` (analyst: answers assessed with the store's evidence and kept).

The same library calls as ``cxray maturity --format json`` and ``--history``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context

router = APIRouter(prefix="/maturity", tags=["maturity"])

assessor = _require("analyst", "assess the CX program's maturity")


class Answers(BaseModel):
    """Answers by dimension (``{"closed_loop": {"followup": 2}}``) or by question id
    (``{"closed_loop.followup": 2}``), each the score of the chosen option, 0 to 3; none or
    ``evidence_only``: the store's evidence alone."""

    answers: dict[str, Any] = Field(default_factory=dict, max_length=100)
    evidence_only: bool = False
    save: bool = True


@router.get(
    "",
    summary="The latest kept maturity assessment and the history of overall levels "
    "(`cxray maturity --history --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def latest(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    limit: Annotated[int, Query(ge=1, le=1000, description="assessments in the history")] = 100,
) -> CXJSONResponse:
    with cx.reader() as ws:
        rows = ws.maturity.history(limit=limit)
        last = ws.maturity.latest()
    return CXJSONResponse({"latest": last, "history": rows})


@router.get(
    "/questions",
    summary="The maturity model: levels and their equivalents, dimensions, questions and "
    "answer options (scores 0-3)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def questions(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    return CXJSONResponse(cx.ws.maturity.questions())


@router.post(
    "",
    summary="Assess maturity from answers and the store's evidence, and keep the result "
    "(`cxray maturity --answers FILE --format json`)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def assess(
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(assessor)],
    body: Answers | None = None,
) -> CXJSONResponse:
    body = body or Answers()
    given = {} if body.evidence_only else body.answers
    checked = cx.ws.maturity.parse_answers(given, where="answers") if given else {}
    source = "api" if checked else "evidence"
    with cx.reader() as ws:  # one snapshot of the data; only the result is written
        result = ws.maturity.assess(checked, source=source).to_dict()
    if body.save:
        cx.ws.maturity.save(result, actor=who.name or f"key {who.key_id}")
    return CXJSONResponse(result)
