"""What one app holds: the workspace, its write lock, keys, sessions and the login limiter.

DuckDB lets one process write a store, so the server opens the workspace once
and keeps it. Its connection is used by one thread at a time, under ``lock``:
imports, status and key changes. Reads of rows (drill-down, export, customer
timelines) run on cursors of that connection instead, one per thread, so they
neither wait for an import nor see one half-written.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ibis
from fastapi import Request

from cxray.access import ApiKeys, LoginLimiter, SessionSigner
from cxray.api._settings import ApiSettings
from cxray.workspace import Workspace

__all__ = ["ApiContext", "context"]


@dataclass
class ApiContext:
    ws: Workspace
    settings: ApiSettings
    keys: ApiKeys
    sessions: SessionSigner
    limiter: LoginLimiter
    lock: threading.RLock = field(default_factory=threading.RLock)
    _local: threading.local = field(default_factory=threading.local)
    _cursors: list[Any] = field(default_factory=list)

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
        )

    @property
    def store_name(self) -> str:
        """The store's URL with any password masked."""
        return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", self.ws.store.url)

    @contextlib.contextmanager
    def reading(self) -> Iterator[ibis.BaseBackend]:
        """An Ibis backend this thread may read from (committed data only on DuckDB)."""
        con = self.ws.store.duckdb_connection
        if con is None:  # other backends: the one connection, one thread at a time
            with self.lock:
                yield self.ws.store.backend
            return
        backend = getattr(self._local, "backend", None)
        if backend is None:
            cursor = self.raw_cursor()
            with self.lock:
                self._cursors.append(cursor)  # closed with the app
            backend = ibis.duckdb.from_connection(cursor)
            self._local.backend = backend
        yield backend

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


def context(request: Request) -> ApiContext:
    return request.app.state.cx
