"""Reads run on snapshots: an import in progress blocks none and shows through none.

The import below is real (``POST /api/imports``), held open after its rows are
written and before it commits; meanwhile scorecards (cached and new ones),
status and drill-down rows must answer at once, with the data as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import cxray.store._store as store_module

ADDED = 40


def _nps_n(records: list[dict]) -> int:
    return sum(r["n"] for r in records if r["metric"] == "nps")


def _within(seconds: float, fn: Callable[[], Any]) -> Any:
    """fn() in a thread; fails (instead of hanging) when it does not return in time."""
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"a read waited more than {seconds} s for the import"
    return out[0]


def test_a_long_import_blocks_no_read_and_shows_nothing_half_written(make_api, monkeypatch):
    api = make_api(lambda ws: ws.load_demo(seed=3, customers=300, months=2))
    n0 = _nps_n(api.get("/api/scorecard?metric=nps").json())
    rows0 = api.get("/api/tables/responses/rows?limit=0").json()["total"]
    last = next(
        t["last"] for t in api.get("/api/status").json()["tables"] if t["table"] == "responses"
    )
    day = last[:10]
    csv = "response_id,submitted_at,nps\n" + "".join(
        f"LATE{i},{day}T00:00:00Z,10\n" for i in range(ADDED)
    )

    written, release = threading.Event(), threading.Event()
    real = store_module._log_row

    def held(*args, **kwargs):  # inside the import's transaction, after its rows
        written.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "_log_row", held)
    result: list[Any] = []
    importer = threading.Thread(
        target=lambda: result.append(
            api.post("/api/imports/responses", files=[("files", ("late.csv", csv, "text/csv"))])
        ),
        daemon=True,
    )
    importer.start()
    try:
        assert written.wait(60), "the import never got to write"
        # the write lock is held by the import now; reads go on, on the last snapshot
        cached = _within(30, lambda: api.get("/api/scorecard?metric=nps"))
        fresh = _within(30, lambda: api.get("/api/scorecard?metric=nps&by=region"))
        status = _within(30, lambda: api.get("/api/status"))
        rows = _within(30, lambda: api.get("/api/tables/responses/rows?limit=0&has=nps"))
        assert cached.status_code == fresh.status_code == status.status_code == 200
        assert _nps_n(cached.json()) == n0
        assert _nps_n(fresh.json()) == n0  # computed during the import: none of its rows
        responses = next(t for t in status.json()["tables"] if t["table"] == "responses")
        assert responses["rows"] == rows0
        assert rows.json()["total"] == n0
        assert importer.is_alive()  # still not committed
    finally:
        release.set()
        importer.join(60)
    assert result and result[0].status_code == 201, result and result[0].text
    # the commit makes every kept result stale: the new rows count at once
    assert _nps_n(api.get("/api/scorecard?metric=nps").json()) == n0 + ADDED
    assert _nps_n(api.get("/api/scorecard?metric=nps&by=region").json()) == n0 + ADDED
    assert api.get("/api/tables/responses/rows?limit=0").json()["total"] == rows0 + ADDED


def test_kept_results_are_shared_and_dropped_by_an_import(make_api):
    api = make_api(lambda ws: ws.load_demo(seed=4, customers=200, months=2))
    cx = api.client.app.state.cx
    calls: list[int] = []

    def compute(ws) -> int:
        calls.append(1)
        return ws.store.status()[0].rows

    first = cx.cached(("test", 1), compute)
    assert cx.cached(("test", 1), compute) == first and len(calls) == 1
    v = cx.version()
    csv = "response_id,submitted_at,nps\nZ1,2025-01-01T00:00:00Z,3\n"
    r = api.post("/api/imports/responses", files=[("files", ("z.csv", csv, "text/csv"))])
    assert r.status_code == 201, r.text
    assert cx.version() != v  # a new import: a new version
    cx.cached(("test", 1), compute)
    assert len(calls) == 2
