"""Benchmark: the full scorecard (every KPI by segment x month) over a big demo world.

    python -m benchmarks.scorecard [--size 1] [--repeat 3] [--cases duckdb_sql,cxray,pandas]

The world (``benchmarks/_scorecard_data.py``): the demo company with, at
``--size 1``, 10M responses, 1M cases, 1M orders and 20M events (issue 3) and
about 4.5M customers, built once with ``cxray.demo.generate_chunks`` into
``benchmarks/_data/scorecard_<size>.duckdb`` and reused (``--size 0.05`` is a
quick run). Cases, each in a fresh process, libraries imported before the clock:

- ``duckdb_sql``: hand-written DuckDB SQL computing each KPI's n and estimate
  per segment and month (the floor: no intervals, tests or statuses);
- ``cxray``: ``cxray.metrics.scorecard(by=["segment"], period="month")`` over the
  same file through Ibis: every KPI with its interval, status, change from the
  previous month, its test and Benjamini-Hochberg;
- ``pandas``: the same numbers in straightforward pandas, loading the columns
  the KPIs need from the store;
- ``cxray_overview`` (not by default): the first overview after a start, every
  KPI over all data without slices or periods, in a fresh process.

After the runs, the three results are compared: every cell (KPI, segment,
month) must have the same n and, unless cxray suppresses it, the same
estimate (1e-9 relative). Goals (issue 3): cxray within 1.5x of the floor, at
least 10x faster than pandas, under 4 GB of peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from typing import Any

import duckdb
import ibis

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases
from benchmarks._scorecard_data import build, data_file, row_counts, targets
from benchmarks._scorecard_pandas import load, scorecard_pandas
from benchmarks._scorecard_sql import scorecard_sql
from cxray.config import ProgramConfig
from cxray.metrics import scorecard

SIZE_DEFAULT = 1.0


def _size() -> float:
    return float(os.environ.get("CXRAY_BENCH_SIZE", SIZE_DEFAULT))


def _journey(config: ProgramConfig) -> tuple[str, str, float]:
    j = config.journeys["checkout"]
    return j.start, j.success, j.window_hours


def _calendar(config: ProgramConfig) -> tuple[int, int, tuple[int, ...]]:
    cal = config.business_hours
    assert not cal.holidays and cal.timezone in (None, "UTC") and config.program.timezone == "UTC"

    def second(clock: str) -> int:
        t = dt.time.fromisoformat(clock)
        return t.hour * 3600 + t.minute * 60 + t.second

    return second(cal.start), second(cal.end), cal.weekdays


def _save(case: str, cells: dict[tuple, tuple[int, float | None]]) -> None:
    rows = [[*k, n, est] for k, (n, est) in cells.items()]
    (DATA_DIR / f"scorecard_{_size():g}_{case}.json").write_text(json.dumps(rows))


def case_sql() -> dict[str, Any]:
    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file(_size())), read_only=True)
    config = ProgramConfig()
    cells = scorecard_sql(con, _journey(config), _calendar(config))
    seconds = time.perf_counter() - t0
    con.close()
    _save("duckdb_sql", cells)
    return {"seconds": seconds, "cells": len(cells)}


def case_cxray() -> dict[str, Any]:
    t0 = time.perf_counter()
    con = ibis.duckdb.connect(str(data_file(_size())), read_only=True)
    card = scorecard(con.table, ProgramConfig(), by=["segment"], period="month")
    seconds = time.perf_counter() - t0
    cells = {
        (s.metric, s.slices["segment"], s.slices["period"]): (s.result.n, s.result.estimate)
        for s in card
    }
    _save("cxray", cells)
    return {"seconds": seconds, "cells": len(cells)}


def case_pandas() -> dict[str, Any]:
    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file(_size())), read_only=True)
    frames = load(con)
    con.close()
    config = ProgramConfig()
    cells = scorecard_pandas(frames, _journey(config), _calendar(config))
    seconds = time.perf_counter() - t0
    _save("pandas", cells)
    return {"seconds": seconds, "cells": len(cells)}


def case_overview() -> dict[str, Any]:
    """The first overview after a start: every KPI over all data, no slice, no period."""
    t0 = time.perf_counter()
    con = ibis.duckdb.connect(str(data_file(_size())), read_only=True)
    card = scorecard(con.table, ProgramConfig())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cells": len(card)}


CASES = {
    "duckdb_sql": case_sql,
    "cxray": case_cxray,
    "pandas": case_pandas,
    "cxray_overview": case_overview,
}
DESCRIPTIONS = {
    "duckdb_sql": "hand-written DuckDB SQL, n and estimate per cell (floor)",
    "cxray": "cxray scorecard: intervals, status, change tests, BH",
    "pandas": "straightforward pandas (load needed columns + compute)",
    "cxray_overview": "cxray overview: every KPI, all data, no slice (first after a start)",
}


def check(size: float) -> str:
    """Every case gives the same n and estimate for every cell; returns a summary line."""

    def read(case: str) -> dict[tuple, tuple[int, float | None]]:
        rows = json.loads((DATA_DIR / f"scorecard_{size:g}_{case}.json").read_text())
        return {tuple(r[:3]): (r[3], r[4]) for r in rows}

    cx = read("cxray")
    compared = 0
    for other in ("duckdb_sql", "pandas"):
        got = read(other)
        assert got.keys() == cx.keys(), (other, sorted(got.keys() ^ cx.keys())[:5])
        for key, (n, est) in cx.items():
            n2, est2 = got[key]
            assert n2 == n, (other, key, n2, n)
            if est is not None:
                assert math.isclose(est2, est, rel_tol=1e-9, abs_tol=1e-9), (other, key, est2, est)
                compared += 1
    metrics = len({k[0] for k in cx})
    return (
        f"Checked: the three agree on all {len(cx):,} cells ({metrics} KPIs x segment x month; "
        f"{compared // 2:,} unsuppressed estimates compared, n everywhere)."
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=float, default=SIZE_DEFAULT, help="1 = the issue's sizes")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument(
        "--cases",
        default="duckdb_sql,cxray,pandas",
        help="comma-separated, the first is the baseline (also: cxray_overview); the "
        "agreement check runs when all of duckdb_sql, cxray and pandas do",
    )
    args = p.parse_args()
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        p.error(f"unknown case {unknown[0]!r}; known: {', '.join(CASES)}")
    want = targets(args.size)
    print(
        f"world for --size {args.size:g}: "
        + ", ".join(f"{v:,} {k}" for k, v in want.items())
        + f" ({data_file(args.size)})",
        file=sys.stderr,
    )
    path = build(args.size, log=lambda m: print(m, file=sys.stderr))
    counts = row_counts(path)
    os.environ["CXRAY_BENCH_SIZE"] = str(args.size)
    cases = [Case(name, DESCRIPTIONS[name]) for name in names]
    rows = run_cases("benchmarks.scorecard", cases, repeat=args.repeat)
    title = "Scorecard, every KPI by segment x month: " + ", ".join(
        f"{v / 1e6:.2f}M {k}" for k, v in counts.items()
    )
    print(markdown(rows, title))
    if {"duckdb_sql", "cxray", "pandas"} <= set(names):
        print()
        print(check(args.size))


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
