"""Drill-down: the rows behind any figure, paged, sorted and filtered; and their export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import QueryError
from cxray.explore import (
    RowSelection,
    csv_chunks,
    csv_expr,
    decode_cursor,
    encode_cursor,
    export_expr,
    page_rows,
    parquet_chunks,
)

router = APIRouter(
    tags=["tables"],
    responses={**ERROR_RESPONSES, 404: {"model": ErrorEnvelope, "description": "unknown table"}},
)

MAX_LIMIT = 1000
BATCH_ROWS = 50_000


def selection(
    table: str,
    cx: Annotated[ApiContext, Depends(context)],
    filters: Annotated[
        list[str],
        Query(
            alias="filter",
            description="COLUMN:VALUE, equality on any column, attributes included "
            "(COLUMN: for missing values), or on a column of the row's customer "
            "(e.g. region:West on responses); repeatable, all must hold",
        ),
    ] = [],  # noqa: B006 (FastAPI reads the default)
    sort: Annotated[
        list[str],
        Query(description="column names, `-` before one for descending (default: newest first)"),
    ] = [],  # noqa: B006
    start: Annotated[
        str | None,
        Query(
            alias="from",
            description="ISO 8601; rows at or after, on the table's time column (with "
            "metric=, that KPI's time_column)",
        ),
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601; rows before")] = None,
    present: Annotated[
        list[str],
        Query(
            alias="has",
            description="only rows with a value in this column (repeatable), e.g. has=nps: "
            "the responses an NPS figure counts",
        ),
    ] = [],  # noqa: B006
    metric: Annotated[
        str | None,
        Query(
            description="a KPI defined in cxray.toml ([kpis.NAME]): only the rows it counts "
            "(its filter holds, its value is set); other KPIs: no effect"
        ),
    ] = None,
) -> RowSelection:
    from cxray.metrics import kpi_where

    where = kpi_where(cx.ws.config, metric)
    sel = RowSelection(table, list(filters), list(sort), start, end, list(present), where=where)
    sel.spec  # noqa: B018 (an unknown table is a 404 before anything else)
    return sel


class Column(BaseModel):
    name: str
    type: str


class RowsPage(BaseModel):
    table: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    has_more: bool
    next: str | None
    next_cursor: str | None


@router.get(
    "/tables/{table}/rows",
    summary="The rows of a table: paged, sortable, filterable",
    response_class=CXJSONResponse,
    responses={200: {"model": RowsPage}},
)
def rows(
    request: Request,
    sel: Annotated[RowSelection, Depends(selection)],
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
    cursor: Annotated[str | None, Query(description="from `next_cursor`; instead of offset")] = (
        None
    ),
) -> CXJSONResponse:
    if cursor:
        if offset:
            raise QueryError("give either offset or cursor, not both")
        offset = decode_cursor(cursor)
    config = cx.ws.config
    with cx.reading() as backend:
        page = page_rows(
            backend,
            sel,
            config.program.timezone,
            limit=limit,
            offset=offset,
            masking=who.masking(config),  # personal data: cxray.privacy
            hints=cx.cached(("row hints",), lambda ws: {}),  # counts, page ends: per import
        )
    following = offset + limit
    if page["has_more"]:
        url = request.url.remove_query_params("cursor").include_query_params(offset=following)
        page["next"] = f"{url.path}?{url.query}"
        page["next_cursor"] = encode_cursor(following)
    else:
        page["next"] = page["next_cursor"] = None
    return CXJSONResponse(page)


_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get(
    "/tables/{table}/export",
    summary="The selected rows as a CSV or Parquet file, streamed",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in _MEDIA.values()}}},
)
def export(
    sel: Annotated[RowSelection, Depends(selection)],
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
    format: Literal["csv", "parquet"] = "csv",
) -> StreamingResponse:
    zone = cx.ws.config.program.timezone
    masking = who.masking(cx.ws.config)  # personal data: cxray.privacy
    with cx.reading() as backend:
        expr = export_expr(backend, sel, zone, masking)
        if format == "csv":
            expr = csv_expr(expr)
        schema = masking.schema(sel.spec.name, expr.schema().to_pyarrow())
        cursor = cx.raw_cursor()
        if cursor is None:  # other backends: read it all under the lock, then stream
            batches: Any = backend.to_pyarrow(expr).to_batches(BATCH_ROWS)
        else:
            try:
                sql = str(backend.compile(expr))
                reader = cursor.execute(sql).to_arrow_reader(BATCH_ROWS)
            except BaseException:
                cursor.close()
                raise
            batches = _closing(reader, cursor)
    batches = masking.batches(sel.spec.name, batches)
    chunks = csv_chunks(batches) if format == "csv" else parquet_chunks(schema, batches)
    filename = f"{sel.spec.name}.{format}"
    return StreamingResponse(
        chunks,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _closing(reader: Any, cursor: Any) -> Iterator[Any]:
    try:
        yield from reader
    finally:
        cursor.close()
