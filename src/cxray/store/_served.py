"""The serve file: how other processes find a running ``cxray serve`` over a DuckDB store.

DuckDB lets one process open a store file for writing, so while ``cxray serve``
holds it every other process would meet a lock error. Instead, once the server
listens it writes ``<store>.serve.json`` beside the store (atomically, mode
0600)::

    {"url": "http://127.0.0.1:8000", "pid": 4242, "token": "...",
     "store": "/abs/path/cxray.duckdb", "started": "2026-12-03T14:00:00+00:00"}

The CLI (and the library's remote store) read it with :func:`find_server` and
work through that server instead. The token makes a request the store's local
owner (admin) when sent in the ``X-Cxray-Local-Token`` header from a loopback
address: the file is readable only by the user who started the server, which
is exactly who may open the store file itself.

This module is standard library only: the CLI calls :func:`find_server` before
anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LOCAL_TOKEN_HEADER",
    "ServedStore",
    "announce",
    "find_server",
    "serve_file",
    "withdraw",
]

#: the header whose value, equal to the serve file's token, makes a loopback request the owner
LOCAL_TOKEN_HEADER = "X-Cxray-Local-Token"

_SUFFIX = ".serve.json"


@dataclass(frozen=True)
class ServedStore:
    """A running server over a store: where it listens, its local token, its process."""

    url: str
    token: str
    pid: int
    store: str


def _store_path(db: str | Path) -> Path | None:
    """The DuckDB file behind ``db``, absolute; None for in-memory stores and other backends."""
    text = str(db)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        if not text.startswith("duckdb://"):
            return None  # PostgreSQL and friends: many processes connect, nothing to find
        text = text.removeprefix("duckdb://")
        if text.startswith("//"):
            text = text[1:]
    if text in ("", ":memory:") or text.startswith(":memory:"):
        return None
    return Path(os.path.abspath(os.path.expanduser(text)))


def serve_file(db: str | Path) -> Path:
    """``<store path>.serve.json``, beside the store (absolute)."""
    path = _store_path(db)
    if path is None:
        raise ValueError(f"{db} is not a DuckDB file; only a file store has a serve file")
    return path.with_name(path.name + _SUFFIX)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    except OSError:
        return False
    return True


def announce(db: str | Path, url: str) -> ServedStore:
    """Write the serve file for this process, serving ``db`` at ``url``; return what it says."""
    path = serve_file(db)
    served = ServedStore(
        url=url.rstrip("/"),
        token=secrets.token_urlsafe(32),
        pid=os.getpid(),
        store=str(_store_path(db)),
    )
    body = {
        "url": served.url,
        "pid": served.pid,
        "token": served.token,
        "store": served.store,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    # a private temporary file in the same folder, renamed over the serve file: readers
    # see the old file or the whole new one, and never a moment of wider permissions
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return served


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def withdraw(db: str | Path, served: ServedStore) -> None:
    """Remove the serve file, only if it is still ``served``'s (another server may own it now)."""
    path = serve_file(db)
    data = _read(path)
    if data is None:
        return
    if data.get("token") == served.token and data.get("pid") == served.pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def find_server(db: str | Path | None) -> ServedStore | None:
    """The running server over ``db``, or None.

    None for stores that are not a DuckDB file, when there is no serve file, when
    it cannot be read, or when its process is gone (a server that was killed
    leaves its file behind: it is ignored, never trusted).
    """
    if db is None:
        return None
    path = _store_path(db)
    if path is None:
        return None
    data = _read(path.with_name(path.name + _SUFFIX))
    if data is None:
        return None
    try:
        served = ServedStore(
            url=str(data["url"]).rstrip("/"),
            token=str(data["token"]),
            pid=int(data["pid"]),
            store=str(data.get("store") or path),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if not served.url.startswith("http://") or not served.token:
        return None
    if not _pid_alive(served.pid):
        return None
    return served
