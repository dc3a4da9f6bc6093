"""Self-service gaps over HTTP: FAQ candidates, and the knowledge base they are checked against.

``GET /api/text/faq`` (any role) answers :func:`cxray.text.cached_faq`, computed once
per state of the data and of the knowledge base and shared with the Text page;
example texts are masked for callers without ``pii`` like every other text output.
``POST /api/text/kb`` (analyst or admin) adds or replaces articles by URL, all or
nothing: a JSON list of ``{title, url, text}``, or a CSV / JSON Lines file uploaded
as the request body (``Content-Type: text/csv`` or ``application/x-ndjson``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from cxray import text
from cxray.api._auth import Principal, _require, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._json import CXJSONResponse
from cxray.api._routes.text import ReportConfig
from cxray.api._state import ApiContext, context
from cxray.exceptions import QueryError, SourceError

#: the largest seed NumPy takes (2**32 - 1)
MAX_SEED = 2**32 - 1

router = APIRouter(prefix="/text", tags=["text"])
kb_writer = _require("analyst", "import knowledge-base articles")


@router.get(
    "/faq",
    summary="FAQ candidates: recurring questions with volume, share, trend, examples and "
    "the knowledge-base article that covers them (self-service gaps first)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def faq(
    cx: Annotated[ApiContext, Depends(context)],
    config: ReportConfig,  # examples: pii or not
    table: Annotated[
        Literal["cases", "mentions", "responses", "all"], Query(description="whose texts")
    ] = "all",
    period: Annotated[Literal["week", "month"], Query(description="trend per")] = "month",
    since: Annotated[str | None, Query(description="from this date or time (inclusive)")] = None,
    until: Annotated[str | None, Query(description="before this date or time")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    seed: Annotated[int, Query(ge=0, le=MAX_SEED)] = 0,
) -> CXJSONResponse:
    with cx.reader() as ws:  # a read snapshot: neither waits for an import nor holds one up
        report = text.cached_faq(
            ws.store,
            config,
            tables=table,
            since=since,
            until=until,
            period=period,
            limit=limit,
            seed=seed,
        )
    return CXJSONResponse(report)


@router.get(
    "/kb",
    summary="The knowledge-base articles (title, URL, text)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
def kb_list(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
) -> CXJSONResponse:
    with cx.reader() as ws:
        articles = [a.to_dict() for a in text.kb_articles(ws.store)]
    return CXJSONResponse({"articles": articles, "n": len(articles)})


@router.post(
    "/kb",
    summary="Add or replace knowledge-base articles by URL, all or nothing (analyst or admin)",
    response_class=CXJSONResponse,
    responses=ERROR_RESPONSES,
)
async def kb_import(
    request: Request,
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(kb_writer)],
) -> CXJSONResponse:
    raw = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError("request: the body is not UTF-8 text") from None
    if kind in ("text/csv", "application/csv"):
        rows = list(csv.DictReader(io.StringIO(body)))
        articles = text.articles_from_rows(rows, source="request (CSV)", first_row=2)
    elif kind in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
        rows = []
        for i, line in enumerate(body.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SourceError(f"request: row {i}: not JSON ({exc.msg})") from None
        articles = text.articles_from_rows(rows, source="request (JSON Lines)")
    elif kind == "application/json":
        try:
            data = json.loads(body or "null")
        except json.JSONDecodeError as exc:
            raise SourceError(f"request: not JSON ({exc.msg}, line {exc.lineno})") from None
        if isinstance(data, dict) and isinstance(data.get("articles"), list):
            data = data["articles"]
        if not isinstance(data, list):
            raise QueryError('send a JSON list of {"title", "url", "text"} objects')
        articles = text.articles_from_rows(data, source="request")
    else:
        raise QueryError(
            f"Content-Type {kind!r}: send application/json, text/csv or application/x-ndjson"
        )
    with cx.lock:
        got = text.import_kb(cx.ws.store, articles)
    return CXJSONResponse(got.to_dict())
