"""The store's local owner: the Python library in another process, through this server.

While ``cxray serve`` holds a DuckDB store, no other process can open the file;
a notebook's ``Workspace.open`` then reaches the store through these endpoints
(:mod:`cxray.store._remote`). Only the local owner may call them: a loopback client
with the serve file's token (:func:`cxray.api._auth.local_owner`).

- ``GET /_local/schema``: every table and its columns (DuckDB types, nullability).
- ``POST /_local/sql``: one read-only statement (SELECT or WITH ... SELECT), with its
  parameters and any in-memory tables it reads (Arrow IPC, base64); run on this
  thread's own cursor in a read transaction, never under the write lock, so several
  run at once; the answer is an Arrow IPC stream.
- ``POST /_local/imports/{table}``: files on this machine imported by the server's
  workspace (``Workspace.import_files``: read and checked without the write lock, which
  only its short steps take); the import report.
- ``POST /_local/models``: a fitted model kept (``Store.save_model``) under the lock.

Errors are the API's JSON envelope plus ``X-Cxray-Error-Class``, the exception's
class, so the library raises the same one.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any

import duckdb
import pyarrow as pa
from fastapi import APIRouter, Body, Depends, Request, Response

from cxray.api._auth import local_owner
from cxray.api._errors import _details, cx_status, error_response
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.exceptions import AuthenticationError, CXError, QueryError, StoreError
from cxray.schema import table_spec
from cxray.store import LOCAL_TOKEN_HEADER
from cxray.store._remote import ARROW_STREAM, ERROR_CLASS_HEADER, VERSION_HEADER


def _owner(request: Request) -> None:
    """Only the store's local owner: a loopback client with the serve file's token."""
    if local_owner(request) is None:
        raise AuthenticationError(f"this endpoint needs the {LOCAL_TOKEN_HEADER} header")


router = APIRouter(
    prefix="/_local",
    tags=["local owner"],
    dependencies=[Depends(_owner)],
    include_in_schema=False,  # the library's transport, not a public API
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _answer(compute: Callable[[], Response]) -> Response:
    """``compute()``, or the envelope of the error it raised, naming the error's class."""
    try:
        return compute()
    except CXError as exc:
        status, code = cx_status(exc)
        return error_response(
            status, code, str(exc), _details(exc), {ERROR_CLASS_HEADER: type(exc).__name__}
        )
    except duckdb.Error as exc:  # the query itself: DuckDB's message, as the file would say
        message = str(exc).strip()
        return error_response(
            400, "query_error", message, None, {ERROR_CLASS_HEADER: f"duckdb.{type(exc).__name__}"}
        )


def _duckdb(cx: ApiContext) -> None:
    if cx.ws.store.duckdb_connection is None:
        raise StoreError(
            f"{cx.store_name} is not a DuckDB file: other processes connect to it directly"
        )


def _version(cx: ApiContext) -> str:
    latest, collected = cx.version()
    return f"{latest}.{collected}"


@router.get("/schema", summary="Every table of the store with its columns (local owner)")
def schema(cx: Annotated[ApiContext, Depends(context)]) -> Response:
    def compute() -> Response:
        _duckdb(cx)
        with cx.reading() as backend:
            rows = backend.con.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = current_schema() "
                "ORDER BY table_name, column_index"
            ).fetchall()
            version = _version(cx)
        tables: dict[str, list[dict[str, Any]]] = {}
        for table, column, typ, nullable in rows:
            tables.setdefault(table, []).append(
                {"name": column, "type": typ, "nullable": bool(nullable)}
            )
        return CXJSONResponse({"version": version, "tables": tables})

    return _answer(compute)


@router.post("/sql", summary="One read-only query; an Arrow IPC stream (local owner)")
def sql(
    cx: Annotated[ApiContext, Depends(context)],
    query: Annotated[str, Body(alias="sql", embed=True)],
    params: Annotated[list[Any] | dict[str, Any] | None, Body(embed=True)] = None,
    tables: Annotated[dict[str, str] | None, Body(embed=True)] = None,
) -> Response:
    def compute() -> Response:
        _duckdb(cx)
        with cx.reading() as backend:
            cur = backend.con  # this thread's cursor, inside a read transaction
            statements = cur.extract_statements(query)
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                kinds = ", ".join(s.type.name for s in statements) or "nothing"
                return error_response(
                    400,
                    "read_only",
                    f"/api/_local/sql runs one read-only query (SELECT or WITH ... SELECT); "
                    f"got {kinds}. Writes go through imports, the CLI or the REST API",
                    None,
                    {ERROR_CLASS_HEADER: QueryError.__name__},
                )
            registered = []
            try:
                for name, data in (tables or {}).items():
                    if not _NAME.match(name):
                        raise QueryError(f"an in-memory table may not be called {name!r}")
                    with pa.ipc.open_stream(base64.b64decode(data)) as reader:
                        cur.register(name, reader.read_all())
                    registered.append(name)
                # materialized, not streamed: DuckDB then runs the whole query in parallel
                result = cur.execute(query, params).to_arrow_table()
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, result.schema) as writer:
                    writer.write_table(result)
            finally:
                for name in registered:
                    cur.unregister(name)
            version = _version(cx)
        return Response(
            sink.getvalue().to_pybytes(), media_type=ARROW_STREAM, headers={VERSION_HEADER: version}
        )

    return _answer(compute)


@router.post("/imports/{table}", summary="Import files on this machine (local owner)")
def import_files(
    table: str,
    cx: Annotated[ApiContext, Depends(context)],
    paths: Annotated[list[str], Body(embed=True)],
    source: Annotated[str | None, Body(embed=True)] = None,
    mapping: Annotated[dict[str, str] | None, Body(embed=True)] = None,
    dry_run: Annotated[bool, Body(embed=True)] = False,
) -> Response:
    def compute() -> Response:
        name = table_spec(table).name
        # the workspace takes the write lock only for short steps (survey commits go on)
        report = cx.ws.import_files(
            name, paths, source=source or None, mapping=mapping or None, dry_run=dry_run
        )
        return CXJSONResponse(report.to_dict(), status_code=200 if dry_run else 201)

    return _answer(compute)


@router.post("/models", summary="Keep a fitted model (local owner)")
def save_model(
    cx: Annotated[ApiContext, Depends(context)],
    name: Annotated[str, Body(embed=True)],
    kind: Annotated[str, Body(embed=True)],
    spec: Annotated[dict[str, Any], Body(embed=True)],
    evaluation: Annotated[dict[str, Any], Body(embed=True)],
    model_id: Annotated[str | None, Body(embed=True)] = None,
    created_at: Annotated[dt.datetime | None, Body(embed=True)] = None,
    replace: Annotated[bool, Body(embed=True)] = False,
) -> Response:
    def compute() -> Response:
        with cx.lock:
            row = cx.ws.store.save_model(
                name,
                kind,
                spec,
                evaluation,
                model_id=model_id,
                created_at=created_at,
                replace=replace,
            )
        return CXJSONResponse(row, status_code=201)

    return _answer(compute)
