"""A DuckDB store held by ``cxray serve``, read and written through that server.

DuckDB lets one process open a store file for writing, and no other process may
open it at the same time, not even to read. When :class:`~cxray.store.Store`
finds the file locked and a live ``cxray serve`` announced beside it (the serve
file, :func:`cxray.store._served.find_server`), it connects through the server
instead of failing:

- **Reads** use :class:`RemoteBackend`, Ibis's own DuckDB backend over a local
  in-memory DuckDB that holds no data. Table schemas come from the server
  (``GET /api/_local/schema``); every query is compiled to SQL here, as on the
  store itself, sent to the server (``POST /api/_local/sql``, with any in-memory
  tables it reads as Arrow) and answered as an Arrow IPC stream, which is handed
  on as a local DuckDB relation or cursor. So every capability of the workspace
  runs unchanged, and on the same SQL as on the file.
- **Writes** go to the server as whole operations, each done by the server's own
  workspace under its write lock in one transaction: an import of files
  (``POST /api/_local/imports/{table}``) and keeping a fitted model
  (``POST /api/_local/models``). Any other write statement is refused here with a
  :class:`~cxray.exceptions.StoreError` that says what to use instead.

The server answers these endpoints only to its local owner: a loopback client that
sends the token of the serve file (``X-Cxray-Local-Token``). Errors it raises come
back as the same :mod:`cxray.exceptions` class with the same message.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import duckdb
import httpx
import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from cxray import exceptions as cx_exceptions
from cxray.exceptions import (
    AuthenticationError,
    CXError,
    ImportValidationError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    RowError,
    RuleSummary,
    SourceError,
    StoreError,
    StoreLockedError,
    UnknownTableError,
)
from cxray.store._served import LOCAL_TOKEN_HEADER

__all__ = ["ARROW_STREAM", "ERROR_CLASS_HEADER", "VERSION_HEADER", "RemoteBackend"]

#: the media type of query results: Arrow's IPC stream format
ARROW_STREAM = "application/vnd.apache.arrow.stream"
#: names the exception class of an error answered by the local endpoints
ERROR_CLASS_HEADER = "X-Cxray-Error-Class"
#: the data a query saw (the latest import, survey commits): schemas kept until it changes
VERSION_HEADER = "X-Cxray-Data-Version"


#: statements run on the local, empty DuckDB (session settings); reads go to the server
_LOCAL_STATEMENTS = {
    duckdb.StatementType.SET,
    duckdb.StatementType.VARIABLE_SET,
    duckdb.StatementType.LOAD,
    duckdb.StatementType.PRAGMA,
}

#: the API's error codes (``cxray.api._errors``) for answers that name no class
_BY_CODE: dict[str, type[CXError]] = {
    "import_validation": ImportValidationError,
    "source_error": SourceError,
    "invalid_request": QueryError,
    "unknown_table": UnknownTableError,
    "not_found": NotFoundError,
    "unauthenticated": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "store_locked": StoreLockedError,
    "store_error": StoreError,
}


class _Client:
    """HTTP to the server's local-owner endpoints; errors mapped to cxray's own."""

    def __init__(self, url: str, token: str, db: str):
        self.url = url.rstrip("/")
        self.db = db
        self._http = httpx.Client(
            base_url=self.url,
            headers={LOCAL_TOKEN_HEADER: token},
            # queries and imports take as long as they take; a dead server is found at once
            timeout=httpx.Timeout(None, connect=5.0),
            trust_env=False,  # loopback: never through a proxy named in the environment
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = self._http.request(method, f"/api/_local{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise StoreError(
                f"{self.db} is held by `cxray serve` at {self.url}, which does not answer "
                f"({exc.__class__.__name__}: {exc}); is it still running?"
            ) from exc
        if r.status_code >= 400:
            raise _error(r)
        return r

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        content = json.dumps(body, allow_nan=False, default=str)
        r = self.request(
            "POST", path, content=content, headers={"Content-Type": "application/json"}
        )
        return r.json()


def _error(r: httpx.Response) -> Exception:
    """The exception the server raised, rebuilt from its JSON envelope."""
    try:
        err = r.json()["error"]
        code, message, details = err["code"], err["message"], err.get("details") or []
    except (ValueError, KeyError, TypeError):
        return StoreError(f"the cxray server answered {r.status_code}: {r.text[:300]}")
    name = r.headers.get(ERROR_CLASS_HEADER, "")
    if name.startswith("duckdb."):  # a query the store itself refused: DuckDB's own error
        cls = getattr(duckdb, name.removeprefix("duckdb."), None)
        if isinstance(cls, type) and issubclass(cls, duckdb.Error):
            return cls(message)
    cls = getattr(cx_exceptions, name, None)
    if not (isinstance(cls, type) and issubclass(cls, CXError)):
        cls = _BY_CODE.get(code, StoreError if r.status_code < 500 else CXError)
    if cls is ImportValidationError:
        errors = [
            RuleSummary(
                RowError(d.get("file"), d.get("row"), d.get("column"), d.get("value"), d["rule"]),
                int(d.get("count", 1)),
            )
            for d in details
            if "rule" in d
        ]
        if errors:
            return ImportValidationError(errors)
        return SourceError(message)
    if cls is cx_exceptions.RateLimitedError:
        return cls(message, retry_after=int(r.headers.get("Retry-After", "60")))
    if cls is cx_exceptions.SubmissionError:
        return cls(message, details)
    try:
        return cls(message)
    except TypeError:  # a class that wants more than a message
        return StoreError(message)


class _RemoteConnection:
    """Stands in for the DuckDB connection of :class:`RemoteBackend`.

    A SELECT goes to the server and its Arrow answer comes back as a cursor of the
    local DuckDB (``fetchall``, ``fetch_arrow_table`` ... work as on the store's own
    connection); session settings run locally; anything that would write is refused.
    Everything else is the local connection's.
    """

    def __init__(self, local: duckdb.DuckDBPyConnection, backend: RemoteBackend):
        self._local = local
        self._backend = backend

    def _remote(self, query: str) -> bool:
        try:
            kinds = {s.type for s in self._backend._cursor().extract_statements(query)}
        except duckdb.Error:
            return True  # the server says what is wrong with it
        if kinds == {duckdb.StatementType.SELECT}:
            return True
        if kinds <= _LOCAL_STATEMENTS:
            return False
        raise self._backend.write_refused(f"a {'/'.join(sorted(k.name for k in kinds))} statement")

    def execute(self, query: Any, parameters: Any = None, **kwargs: Any) -> Any:
        query = str(query)
        if not self._remote(query):
            return self._local.execute(query, parameters, **kwargs)
        data = self._backend.fetch(query, parameters)
        cursor = self._backend._cursor().cursor()  # the caller's: lives as long as the result
        cursor.register("_cx_remote_result", data)
        return cursor.execute("SELECT * FROM _cx_remote_result")

    def sql(self, query: Any, **kwargs: Any) -> Any:
        query = str(query)
        if not self._remote(query):
            return self._local.sql(query, **kwargs)
        return self._backend.relation(self._backend.fetch(query, kwargs.get("params")))

    def cursor(self) -> _RemoteConnection:
        return _RemoteConnection(self._local.cursor(), self._backend)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._local, name)


class RemoteBackend(DuckDBBackend):
    """Ibis's DuckDB backend whose queries run on the store ``cxray serve`` holds.

    Expressions compile here exactly as on the store's own file; only execution
    goes over HTTP, and results come back as Arrow. Build it with :meth:`open`.
    """

    server_url: str
    served: Any

    @classmethod
    def open(cls, served: Any, *, db: str, read_only: bool = False) -> RemoteBackend:
        """Connect through ``served`` (a ``ServedStore``: url, token, pid, store);
        ``read_only``: refuse the imports and models the server would otherwise write."""
        local = duckdb.connect(":memory:")
        local.execute("SET TimeZone = 'UTC'")
        local.execute("SET enable_progress_bar = false")
        backend = cls()
        backend._can_reconnect = False
        backend.server_url = str(served.url).rstrip("/")
        backend.served = served
        backend.db = db
        backend.read_only = read_only
        backend._client = _Client(backend.server_url, served.token, db)
        backend._local_con = local
        backend._threads = threading.local()
        backend._schemas = None
        backend._version = None
        backend.con = _RemoteConnection(local, backend)
        backend._post_connect(None)
        backend._load_schemas()  # a server that does not answer fails here, at open
        return backend

    def __repr__(self) -> str:
        return f"<RemoteBackend {self.db} through {self.server_url}>"

    # ------------------------------------------------------------ the server

    def write_refused(self, what: str) -> StoreError:
        return StoreError(
            f"{self.db} is held by `cxray serve` at {self.server_url}: the library cannot "
            f"write to it directly ({what}). Write through the server: Workspace.import_files "
            "for files and the model fits (churn risk, Cox, lifetime value) work as usual; "
            "for anything else use the `cxray` command, which goes through the server, or "
            "the REST API"
        )

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.db} is open read-only")

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor of the local DuckDB (relations live on it)."""
        cur = getattr(self._threads, "cursor", None)
        if cur is None:
            cur = self._threads.cursor = self._local_con.cursor()
        return cur

    def fetch(
        self,
        sql: str,
        params: Any = None,
        tables: dict[str, pa.Table] | None = None,
    ) -> pa.Table:
        """Run one SELECT on the server; its result as an Arrow table."""
        body: dict[str, Any] = {"sql": sql}
        if params is not None:
            body["params"] = list(params) if not isinstance(params, dict) else params
        if tables:
            body["tables"] = {n: base64.b64encode(_ipc(t)).decode() for n, t in tables.items()}
        content = json.dumps(body, default=str)
        r = self._client.request(
            "POST", "/sql", content=content, headers={"Content-Type": "application/json"}
        )
        version = r.headers.get(VERSION_HEADER)
        if version is not None and version != self._version:
            self._version = version  # new data, maybe new columns: ask for schemas again
            self._schemas = None
        with pa.ipc.open_stream(r.content) as reader:
            return reader.read_all()

    def relation(self, data: pa.Table) -> duckdb.DuckDBPyRelation:
        return self._cursor().from_arrow(data)

    def _load_schemas(self) -> dict[str, ibis.Schema]:
        schemas = self._schemas
        if schemas is None:
            answer = self._client.request("GET", "/schema").json()
            mapper = self.compiler.type_mapper
            schemas = {
                name: ibis.schema(
                    {
                        c["name"]: mapper.from_string(c["type"], nullable=c["nullable"])
                        for c in columns
                    }
                )
                for name, columns in answer["tables"].items()
            }
            self._schemas = schemas
            self._version = answer.get("version")
        return schemas

    # ------------------------------------------------------------ Ibis hooks

    def get_schema(
        self, table_name: str, *, catalog: str | None = None, database: str | None = None
    ) -> ibis.Schema:
        schema = self._load_schemas().get(table_name)
        if schema is None:  # made since the schemas were read?
            self._schemas = None
            schema = self._load_schemas().get(table_name)
        if schema is None:
            from ibis.common.exceptions import TableNotFound

            raise TableNotFound(table_name)
        return schema

    def list_tables(self, *, like: str | None = None, database: Any = None) -> list[str]:
        self._schemas = None  # always what the server holds now
        return self._filter_with_like(sorted(self._load_schemas()), like)

    def _remote_arrow(self, expr: Any, *, params: Any, limit: Any, **kwargs: Any) -> pa.Table:
        self._run_pre_execute_hooks(expr)
        table_expr = expr.as_table()
        sql = self.compile(table_expr, limit=limit, params=params, **kwargs)
        tables = {
            op.name: op.data.to_pyarrow(op.schema)
            for op in table_expr.op().find(ibis.expr.operations.InMemoryTable)
        }
        return self.fetch(sql, tables=tables)

    def _to_duckdb_relation(
        self, expr: Any, *, params: Any = None, limit: Any = None, **kwargs: Any
    ) -> duckdb.DuckDBPyRelation:
        return self.relation(self._remote_arrow(expr, params=params, limit=limit, **kwargs))

    def to_pyarrow(self, expr: Any, /, *, params: Any = None, limit: Any = None, **kwargs: Any):
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        table = self._remote_arrow(expr, params=params, limit=limit, **kwargs)
        return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)

    def to_pyarrow_batches(
        self,
        expr: Any,
        /,
        *,
        params: Any = None,
        limit: Any = None,
        chunk_size: int = 1_000_000,
        **kwargs: Any,
    ) -> pa.RecordBatchReader:
        table = self._remote_arrow(expr, params=params, limit=limit)
        schema = expr.as_table().schema().to_pyarrow()
        return pa.RecordBatchReader.from_batches(
            schema, table.cast(schema).to_batches(max_chunksize=chunk_size)
        )

    def _register_in_memory_table(self, op: Any) -> None:
        pass  # in-memory tables travel with the query that reads them (``_remote_arrow``)

    def _make_memtable_finalizer(self, name: str) -> None:
        return None

    def _get_schema_using_query(self, query: str) -> ibis.Schema:
        data = self.fetch(f"SELECT * FROM ({query}) AS _cx_q LIMIT 0")
        return ibis.Schema.from_pyarrow(data.schema)

    def disconnect(self) -> None:
        self._client.close()
        self._local_con.close()

    # ------------------------------------------------------------ writes (whole operations)

    def import_files(
        self,
        table: str,
        paths: list[str | Path],
        *,
        source: str | None,
        mapping: dict[str, str] | None,
        dry_run: bool,
    ) -> dict[str, Any]:
        """Import files through the server: the report of ``Workspace.import_files``."""
        self._writable()
        body = {
            # the server runs on this machine: it reads the files where they are
            "paths": [str(Path(p).expanduser().absolute()) for p in paths],
            "source": source,
            "mapping": mapping or {},
            "dry_run": dry_run,
        }
        try:
            return self._client.post_json(f"/imports/{table}", body)
        finally:
            self._schemas = None  # an import may add attribute columns

    def save_model(self, **fields: Any) -> dict[str, Any]:
        """Keep a fitted model through the server (``Store.save_model``): the row kept."""
        self._writable()
        created = fields.get("created_at")
        if isinstance(created, dt.datetime):
            fields["created_at"] = created.isoformat()
        row = self._client.post_json("/models", fields)
        row["created_at"] = dt.datetime.fromisoformat(row["created_at"].removesuffix("Z"))
        return row


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
