"""Benchmark: Kaplan–Meier survival by a three-level group over 5M customers.

    python -m benchmarks.churn_survival [--customers 5000000] [--repeat 2]

The data: ``--customers`` customers who joined over four years, about 45% of whom have left
(exponential times whose rate depends on the plan: basic, plus, business), generated in
DuckDB with a fixed seed and imported into a cxray store once
(``benchmarks/_data/churn_<n>.duckdb``, reused). Cases, each in a fresh process, libraries
imported before the clock:

- ``lifelines`` (the baseline): ``KaplanMeierFitter`` per plan (curve, log-log band, median
  and its interval) and ``multivariate_logrank_test`` across the plans, on a pandas frame of
  each customer's duration, event and plan already in memory (read from the store before
  the clock; that read is the ``pandas_read`` case);
- ``cxray``: ``Workspace.churn.survival(by="plan")``: one aggregation in the store (plan ×
  day: events, censored), then the curves, bands, medians, log-rank tests (overall and
  pairwise, BH) in numpy — from opening the store;
- ``pandas_read``: reading the per-customer frame the baseline needs from the store.

Before the clock: the libraries are imported (lifelines, scipy, cxray) and Ibis's SQL
compiler is built once (sqlglot makes its tokenizer tables on a process's first query).

The curves and medians of cxray and lifelines must agree (checked). Goal (the churn issue):
cxray at least 5x faster than lifelines on the frame in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

CUSTOMERS_DEFAULT = 5_000_000


def _n() -> int:
    return int(os.environ.get("CXRAY_BENCH_CUSTOMERS", CUSTOMERS_DEFAULT))


def store_file(n: int) -> Path:
    return DATA_DIR / f"churn_{n}.duckdb"


def build(n: int) -> Path:
    """The store with ``n`` customers (made once, then reused)."""
    from cxray.workspace import Workspace

    path = store_file(n)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    parquet = DATA_DIR / f"churn_{n}.parquet"
    con = duckdb.connect()
    con.execute("SELECT setseed(0.17)")
    con.execute(
        f"""
        COPY (
            SELECT 'C' || lpad(i::VARCHAR, 9, '0') AS customer_id,
                   created_at,
                   plan,
                   CASE WHEN created_at + to_days(life::INTEGER) < TIMESTAMP '2026-01-01'
                        THEN created_at + to_days(life::INTEGER) END AS churned_at
            FROM (
                SELECT i, plan,
                       TIMESTAMP '2022-01-01' + to_seconds((random() * 126144000)::BIGINT)
                           AS created_at,
                       -ln(1 - random()) * CASE plan WHEN 'basic' THEN 700
                                                     WHEN 'plus' THEN 1200 ELSE 2000 END
                           AS life
                FROM (SELECT i, ['basic', 'plus', 'business'][1 + (i % 3)::INTEGER] AS plan
                      FROM range({n}) t(i))
            )
        ) TO '{parquet}' (FORMAT parquet)
        """
    )
    con.close()
    tmp = path.with_suffix(".part.duckdb")
    tmp.unlink(missing_ok=True)
    with Workspace.open(tmp, DATA_DIR / "churn.toml") as ws:
        ws.import_files("customers", [parquet])
    tmp.rename(path)
    parquet.unlink()
    return path


def _save(case: str, data: dict[str, Any]) -> None:
    (DATA_DIR / f"churn_{_n()}_{case}.json").write_text(json.dumps(data))


def _warm_ibis() -> None:
    """Import the libraries and build Ibis's SQL compiler for DuckDB (sqlglot makes its
    tokenizer tables on the first query of a process) before the clock."""
    import ibis

    import cxray.churn._survival  # noqa: F401

    ibis.to_sql(ibis.table({"a": "int64"}, name="t").a.sum(), dialect="duckdb")


def case_cxray() -> dict[str, Any]:
    from cxray.workspace import Workspace

    _warm_ibis()
    t0 = time.perf_counter()
    with Workspace.open(store_file(_n()), DATA_DIR / "churn.toml", read_only=True,
                        create=False) as ws:  # fmt: skip
        result = ws.churn.survival(by="plan")
    seconds = time.perf_counter() - t0
    g = result.groups.set_index("group")
    _save("cxray", {p: [float(g.loc[p, "median_days"]), float(g.loc[p, "survival_365d"])]
                    for p in g.index})  # fmt: skip
    overall = result.tests.iloc[0]
    return {"seconds": seconds, "n": result.n, "chi2": float(overall.chi2)}


def _frame() -> Any:
    from cxray.churn._survival import population
    from cxray.workspace import Workspace

    with Workspace.open(store_file(_n()), DATA_DIR / "churn.toml", read_only=True,
                        create=False) as ws:  # fmt: skip
        pop = population(ws.table, ws.config, by="plan")
        return pop.table.select("group", "days", "event").to_pandas()


def case_pandas_read() -> dict[str, Any]:
    _warm_ibis()
    t0 = time.perf_counter()
    frame = _frame()
    return {"seconds": time.perf_counter() - t0, "rows": len(frame)}


def case_lifelines() -> dict[str, Any]:
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    frame = _frame()  # not timed (the pandas_read case)
    t0 = time.perf_counter()
    out = {}
    for plan, part in frame.groupby("group"):
        kmf = KaplanMeierFitter().fit(part["days"], part["event"])
        median_survival_times(kmf.confidence_interval_)
        out[plan] = [float(kmf.median_survival_time_), float(kmf.predict(365))]
    test = multivariate_logrank_test(frame["days"], frame["group"], frame["event"])
    seconds = time.perf_counter() - t0
    _save("lifelines", out)
    return {"seconds": seconds, "rows": len(frame), "chi2": float(test.test_statistic)}


CASES = {"lifelines": case_lifelines, "cxray": case_cxray, "pandas_read": case_pandas_read}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.churn_survival", "--build", str(args.customers)],
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    print(f"store: {store_file(args.customers)} ({time.perf_counter() - t0:.0f} s to build "
          "or find)", file=sys.stderr)  # fmt: skip
    os.environ["CXRAY_BENCH_CUSTOMERS"] = str(args.customers)
    cases = [
        Case("lifelines", "KaplanMeierFitter per plan (curve, band, median with interval) "
             "and multivariate_logrank_test, on a pandas frame in memory"),
        Case("cxray", "ws.churn.survival(by='plan'): one store aggregation, numpy curves, "
             "bands, medians, log-rank overall and pairwise (BH), from opening the store"),
        Case("pandas_read", "reading the per-customer frame lifelines needs from the store"),
    ]  # fmt: skip
    rows = run_cases("benchmarks.churn_survival", cases, repeat=args.repeat)
    print(markdown(rows, f"Kaplan–Meier by plan (3 groups), {args.customers:,} customers"))
    a = json.loads((DATA_DIR / f"churn_{args.customers}_cxray.json").read_text())
    b = json.loads((DATA_DIR / f"churn_{args.customers}_lifelines.json").read_text())
    assert a.keys() == b.keys(), (a, b)
    for plan in a:
        assert np.allclose(a[plan], b[plan], rtol=1e-9), (plan, a[plan], b[plan])
    chi = {r["case"]: r["detail"].get("chi2") for r in rows}
    assert np.isclose(chi["cxray"], chi["lifelines"], rtol=1e-9), chi
    print()
    print(
        "Checked: medians, survival at 365 days and the log-rank chi-square equal lifelines' "
        f"({', '.join(f'{k}: median {v[0]:g} d' for k, v in a.items())})."
    )


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    elif "--build" in sys.argv:
        build(int(sys.argv[sys.argv.index("--build") + 1]))
    else:
        main()
