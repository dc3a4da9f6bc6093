"""Benchmark: what the audit log costs a read, against the same reads unrecorded.

    python -m benchmarks.audit_overhead [--requests 3000] [--repeat 3]

Goal: recording every authenticated request costs a read at most 10 % (``audited`` ≤ 1.10×
``unaudited``), on the cheapest authenticated route there is (``GET /api/me``: the key is
checked, nothing is computed), so any other read pays relatively less. What makes it
possible: the middleware puts one event on an in-memory queue and returns; a background
thread writes the queue in batches (every 0.5 s or 500 events), one insert under the write
lock each (``docs/audit.md``).

Cases, each in a fresh process over a fresh store with one viewer key, the requests made
in-process with Starlette's TestClient (one thread, one request after another):

- ``unaudited`` (the baseline): ``--requests`` reads with the audit middleware taken out;
- ``audited``: the same reads recorded; detail: the events written, the batches (times the
  write lock was taken for them) and the seconds spent inside those inserts;
- ``record_only``: ``AuditLog.record()`` called ``--requests`` times alone (detail: µs each).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Case, child_main, markdown, run_cases

ENV = "CXRAY_BENCH_AUDIT_REQUESTS"
CASES = [
    Case("unaudited", "authenticated `GET /api/me`, audit middleware taken out"),
    Case("audited", "the same reads, each recorded in the audit log"),
    Case("record_only", "`AuditLog.record()` alone, as many times"),
]


def _requests() -> int:
    return int(os.environ.get(ENV, "3000"))


def _reads(audited: bool) -> dict:
    from fastapi.testclient import TestClient

    from cxray.access import ApiKeys
    from cxray.api import ApiSettings, create_app
    from cxray.api._audit import AuditTrail
    from cxray.workspace import Workspace

    folder = Path(tempfile.mkdtemp(prefix="cxray-bench-audit-"))
    db = folder / "a.duckdb"
    with Workspace.open(db) as ws:
        key = ApiKeys(ws.store).create("viewer", name="bench")[1]
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    if not audited:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not AuditTrail]
    headers = {"Authorization": f"Bearer {key}"}
    n = _requests()
    with TestClient(app) as client:
        for _ in range(50):  # warm up
            client.get("/api/me", headers=headers)
        t0 = time.perf_counter()
        for _ in range(n):
            assert client.get("/api/me", headers=headers).status_code == 200
        seconds = time.perf_counter() - t0
        log = app.state.cx.ws.audit
        log.flush()
        detail = {
            "seconds": seconds,
            "requests": n,
            "events": log.written,
            "batches": log.flushes,
            "lock_held_s": round(log.locked_seconds, 4),
            "longest_hold_ms": round(log.longest_lock * 1000, 2),
        }
    return detail


def _record_only() -> dict:
    from cxray.access import AuditLog
    from cxray.store import Store

    folder = Path(tempfile.mkdtemp(prefix="cxray-bench-audit-"))
    n = _requests()
    with Store(folder / "a.duckdb") as store:
        log = AuditLog(store)
        t0 = time.perf_counter()
        for i in range(n):
            log.record("read", actor="bench", key_id=1, role="viewer", target=f"/api/x/{i}")
        seconds = time.perf_counter() - t0
        log.close()
        return {"seconds": seconds, "us_each": round(seconds / n * 1e6, 1), "events": log.written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ[ENV] = str(args.requests)
    rows = run_cases("benchmarks.audit_overhead", CASES, repeat=args.repeat)
    print(markdown(rows, f"The audit log's cost: {args.requests:,} authenticated reads"))
    print()
    for r in rows:
        print(f"- {r['case']}: {r['detail']}")


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(
            {
                "unaudited": lambda: _reads(False),
                "audited": lambda: _reads(True),
                "record_only": _record_only,
            }
        )
    else:
        main()
