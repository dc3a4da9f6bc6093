"""What one app holds: the workspace, its write lock, keys, sessions and the login limiter.

DuckDB lets one process write a store, so the server opens the workspace once
and keeps it. Its connection is used by one thread at a time, under ``lock``:
imports and key changes. Every read (scorecards, mix shift, status, drill-down,
exports, customer timelines) runs on a cursor of that connection instead, one
per thread, inside a read transaction: it sees one committed snapshot of the
store, so it neither waits for an import nor sees one half-written.

Results that cost a pass over the data (scorecards, mix shift, the columns of
each table) are kept by :meth:`ApiContext.cached`, keyed by the store's latest
import: an import that commits makes every kept result stale at once.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ibis
from fastapi import Request

from cxray.access import ApiKeys, LoginLimiter, SessionSigner
from cxray.api._settings import ApiSettings
from cxray.store import IMPORT_LOG
from cxray.workspace import Workspace

T = TypeVar("T")

__all__ = ["ApiContext", "context"]


@dataclass
class ApiContext:
    ws: Workspace
    settings: ApiSettings
    keys: ApiKeys
    sessions: SessionSigner
    limiter: LoginLimiter
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: results kept by :meth:`cached` (most recently used last)
    cache_size: int = 128
    _local: threading.local = field(default_factory=threading.local)
    _cursors: list[Any] = field(default_factory=list)
    _cache: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)
    _computing: dict[Hashable, threading.Lock] = field(default_factory=dict)

    @classmethod
    def open(cls, ws: Workspace, settings: ApiSettings) -> ApiContext:
        return cls(
            ws=ws,
            settings=settings,
            keys=ApiKeys(ws.store),
            sessions=SessionSigner(
                settings.session_secret, ttl=max(1, int(settings.session_hours * 3600))
            ),
            limiter=LoginLimiter(settings.login_max_failures, settings.login_window_s),
            lock=ws.write_lock,  # the one lock of every writer: imports, keys, survey commits
        )

    @property
    def store_name(self) -> str:
        """The store's URL with any password masked."""
        return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", self.ws.store.url)

    @contextlib.contextmanager
    def reading(self) -> Iterator[ibis.BaseBackend]:
        """An Ibis backend this thread may read from: one committed snapshot on DuckDB.

        On DuckDB it is this thread's own cursor, inside a read transaction for
        as long as the outermost ``reading()`` lasts (nested ones share it), so
        a page's several queries all see the same data and an import that
        commits half-way is seen by none of them. Other backends have one
        connection, used under the lock.
        """
        con = self.ws.store.duckdb_connection
        if con is None:  # other backends: the one connection, one thread at a time
            with self.lock:
                yield self.ws.store.backend
            return
        local = self._local
        backend = getattr(local, "backend", None)
        if backend is None:
            cursor = self.raw_cursor()
            with self._cache_lock:  # not the write lock: an import may hold that
                self._cursors.append(cursor)  # closed with the app
            backend = _KeptTables(ibis.duckdb.from_connection(cursor))
            local.backend, local.cursor, local.depth, local.version = backend, cursor, 0, -1
        if local.depth:
            local.depth += 1
            try:
                yield backend
            finally:
                local.depth -= 1
            return
        # survey commits counted before the snapshot starts: it holds at least these
        collected = self.ws.collected_commits()
        local.cursor.execute("BEGIN TRANSACTION")
        local.depth = 1
        try:
            (latest,) = local.cursor.execute(
                f"SELECT coalesce(max(import_id), 0) FROM {IMPORT_LOG}"
            ).fetchone()
            version = (int(latest), collected)
            if version != local.version:  # an import may have added columns
                backend.forget()
                local.version = version
            yield backend
        finally:
            local.depth = 0
            with contextlib.suppress(Exception):
                local.cursor.execute("ROLLBACK")  # it only read

    @contextlib.contextmanager
    def reader(self) -> Iterator[Workspace]:
        """The workspace, reading through :meth:`reading` (scorecards, mix shift, status).

        It shares the store's settings and config; only its Ibis backend is this
        thread's cursor. Not for writing.
        """
        with self.reading() as backend:
            if backend is self.ws.store.backend:
                yield self.ws
                return
            ws = getattr(self._local, "reader", None)
            if ws is None:
                store = copy.copy(self.ws.store)  # the same store, read through the cursor
                store.backend = backend
                ws = self._local.reader = Workspace(store, self.ws.config)
            yield ws

    def version(self) -> tuple[int, int]:
        """The data this thread's snapshot sees: the latest import id (0: none) and the
        survey commits this server had made when it began."""
        with self.reading() as backend:
            if isinstance(backend, _KeptTables):
                return self._local.version
            log = backend.table(IMPORT_LOG)
            latest = backend.to_pyarrow(log.import_id.max()).as_py()
        return int(latest or 0), self.ws.collected_commits()

    def cached(self, key: Hashable, compute: Callable[[Workspace], T]) -> T:
        """``compute(reader)`` for the latest data, kept until the next import commits.

        ``key`` names the result (e.g. the scorecard's options); the store's
        latest import is added to it. Concurrent requests for the same missing
        result compute it once; the others wait for it. Results are shared:
        callers must not change them.
        """
        with self.reader() as ws:
            full = (self.version(), key)
            with self._cache_lock:
                if full in self._cache:
                    self._cache.move_to_end(full)
                    return self._cache[full]
                gate = self._computing.setdefault(full, threading.Lock())
            with gate:
                with self._cache_lock:
                    if full in self._cache:
                        return self._cache[full]
                try:
                    value = compute(ws)
                    with self._cache_lock:
                        self._cache[full] = value
                        while len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
                finally:
                    with self._cache_lock:
                        self._computing.pop(full, None)
            return value

    def raw_cursor(self) -> Any:
        """A DuckDB cursor of its own (closed by the caller), or None on other backends."""
        con = self.ws.store.duckdb_connection
        if con is None:
            return None
        cursor = con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def close(self) -> None:
        for cursor in self._cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        self._cursors.clear()
        self.ws.close()


class _KeptTables:
    """An Ibis backend that keeps its table expressions (one per thread, per import).

    Looking a table up asks the catalog for its schema, a cost worth paying once
    per import rather than once per query; everything else is the backend's own.
    """

    def __init__(self, backend: ibis.BaseBackend):
        self._backend = backend
        self._tables: dict[str, ibis.Table] = {}

    def table(self, name: str, /, database: Any = None) -> ibis.Table:
        if database is not None:
            return self._backend.table(name, database=database)
        t = self._tables.get(name)
        if t is None:
            t = self._tables[name] = self._backend.table(name)
        return t

    def forget(self) -> None:
        self._tables.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def context(request: Request) -> ApiContext:
    return request.app.state.cx
