"""Theme reports, the Text page and /api/text on 1M comments: stored themes vs matching anew.

    python -m benchmarks.text_reports [--rows 1000000] [--repeat 2]

The store is the one ``benchmarks.text_enrich`` builds (1M survey responses with comments
made from real review sentences), enriched once here (sentiment and stored taxonomy
themes; not timed). Each case runs in a fresh process:

* ``report_matching`` (baseline): ``cxray.text.theme_report`` with the ``text_themes`` table
  dropped, so every comment is matched against the taxonomy again (what every report did
  before themes were stored);
* ``report_stored``: the same report reading the stored themes;
* ``api_first``: the first ``GET /api/text/themes`` of a fresh server (report computed);
* ``api_warm_p95``: the 95th percentile of 30 later requests, in turn ``GET /api/text/themes``,
  ``GET /api/text/themes/delivery/rows`` and the dashboard's ``GET /text?theme=delivery``
  (reports served from ``cxray.text.REPORTS`` until the data changes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import text_enrich
from benchmarks._harness import Case, child_main, markdown, run_cases

HERE = text_enrich.HERE


def _enriched(rows: int) -> Path:
    return HERE / f"text_store_{rows}_enriched.duckdb"


def build(rows: int) -> Path:
    from cxray.config import ProgramConfig
    from cxray.store import Store
    from cxray.text import assign_store_themes, enrich_sentiment

    target = _enriched(rows)
    if target.exists():
        return target
    base = text_enrich.build(rows)["store"]
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(base, tmp)
    store = Store(tmp)
    try:
        enrich_sentiment(store)
        assign_store_themes(store, ProgramConfig())
    finally:
        store.close()
    tmp.rename(target)
    return target


def _copy(tag: str) -> Path:
    copy = HERE / f"reports_{tag}_{os.getpid()}.duckdb"
    shutil.copyfile(_enriched(text_enrich._rows()), copy)
    return copy


def _report(drop: bool) -> dict:
    from cxray.config import ProgramConfig
    from cxray.store import Store
    from cxray.text import THEMES_TABLE, theme_report

    db = _copy("report")
    store = Store(db)
    try:
        if drop:
            store.backend.drop_table(THEMES_TABLE)
        t0 = time.perf_counter()
        report = theme_report(store, ProgramConfig())
        seconds = time.perf_counter() - t0
    finally:
        store.close()
        db.unlink()
    return {"seconds": seconds, "texts": report.n_texts, "themes": len(report.themes)}


def case_report_matching() -> dict:
    return _report(drop=True)


def case_report_stored() -> dict:
    return _report(drop=False)


def _client(db: Path):
    from fastapi.testclient import TestClient

    from cxray.access import ApiKeys
    from cxray.api import ApiSettings
    from cxray.app import create_app
    from cxray.workspace import Workspace

    with Workspace.open(db, HERE / "enrich_off.toml") as ws:
        key = ApiKeys(ws.store).create("viewer", name="bench")[1]
    client = TestClient(create_app(db, HERE / "enrich_off.toml", settings=ApiSettings()))
    client.__enter__()
    assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
    return client, {"Authorization": f"Bearer {key}"}


def _get(client, url: str, headers: dict) -> float:
    t0 = time.perf_counter()
    r = client.get(url, headers=headers)
    seconds = time.perf_counter() - t0
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return seconds


def case_api_first() -> dict:
    db = _copy("api")
    client, headers = _client(db)
    try:
        seconds = _get(client, "/api/text/themes", headers)
    finally:
        client.__exit__(None, None, None)
        db.unlink()
    return {"seconds": seconds}


def case_api_warm_p95() -> dict:
    db = _copy("warm")
    client, headers = _client(db)
    urls = ["/api/text/themes", "/api/text/themes/delivery/rows", "/text?theme=delivery"]
    try:
        _get(client, urls[0], headers)  # the first request computes the report
        times = {u: [] for u in urls}
        for i in range(30):
            u = urls[i % 3]
            times[u].append(_get(client, u, headers))
    finally:
        client.__exit__(None, None, None)
        db.unlink()
    every = np.concatenate([np.array(v) for v in times.values()])
    detail = {u: f"p95 {np.percentile(v, 95) * 1000:.0f} ms" for u, v in times.items()}
    return {"seconds": float(np.percentile(every, 95)), **detail}


CASES = {
    "report_matching": case_report_matching,
    "report_stored": case_report_stored,
    "api_first": case_api_first,
    "api_warm_p95": case_api_warm_p95,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=text_enrich.ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--keep-data", action="store_true", help="keep the generated stores")
    args = p.parse_args()
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    t0 = time.perf_counter()
    build(args.rows)
    print(f"built the data in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cases = [
        Case("report_matching", "theme report, every comment matched anew (no text_themes)"),
        Case("report_stored", "theme report reading the stored themes"),
        Case("api_first", "first GET /api/text/themes of a fresh server"),
        Case("api_warm_p95", "p95 of later /api/text/themes, its rows, the Text page"),
    ]
    rows = run_cases("benchmarks.text_reports", cases, repeat=args.repeat)
    print(markdown(rows, f"Theme reports over {args.rows:,} comments"))
    print()
    for r in rows:
        print(f"- {r['case']}: {r['detail']}")
    if not args.keep_data:
        shutil.rmtree(HERE, ignore_errors=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
