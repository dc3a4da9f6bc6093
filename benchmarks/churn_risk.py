"""Benchmark: churn risk on 1M customers: features in the store, train, evaluate, score.

    python -m benchmarks.churn_risk [--customers 1000000] [--repeat 1]

The data (``benchmarks/_data/churn_risk_<n>.duckdb``, made once and reused, fixed seed):
``--customers`` customers who joined over 18 months of 2024-2025, with a segment, region
and plan, one to four orders each in their lifetime and, for 60% of them, one survey answer
whose NPS moves their churn hazard (detractors leave about three times as fast as
promoters); two years of data end on 2025-12-31. Cases, each in a fresh process, libraries
imported before the clock:

- ``features`` (the baseline): the feature layer's per-customer frame at one as-of date,
  computed in DuckDB and read into memory (``Features.customers(...).to_pyarrow()``): what
  any model on these features must pay at least;
- ``train``: ``ws.churn.risk.train()``: the time split's two frames, the choice of the
  penalty by cross-validation (100k rows), the fit, DeLong's AUC, the baseline, the refit
  on the latest customers and the model stored as JSON;
- ``score``: ``ws.churn.risk.score()``: every active customer's probability, interval and
  top three reasons.

Goal (the churn issue): training on 1M customers in minutes, not hours, under 4 GB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

CUSTOMERS_DEFAULT = 1_000_000


def _n() -> int:
    return int(os.environ.get("CXRAY_BENCH_CUSTOMERS", CUSTOMERS_DEFAULT))


def store_file(n: int) -> Path:
    return DATA_DIR / f"churn_risk_{n}.duckdb"


def build(n: int) -> Path:
    """The store with ``n`` customers, their orders and answers (made once, then reused)."""
    from cxray.workspace import Workspace

    path = store_file(n)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    folder = DATA_DIR / f"churn_risk_{n}_files"
    folder.mkdir(exist_ok=True)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.17)")
    con.execute(
        f"""
        CREATE TABLE c AS
        SELECT 'C' || lpad(i::VARCHAR, 8, '0') AS customer_id,
               TIMESTAMP '2024-01-01' + to_seconds((random() * 540 * 86400)::BIGINT)
                   AS created_at,
               ['consumer', 'small_business', 'enterprise'][1 + (i % 3)] AS segment,
               ['north', 'south', 'east', 'west', 'central'][1 + (i % 5)] AS region,
               ['basic', 'plus', 'pro'][1 + floor(random() * 3)::INTEGER] AS plan,
               floor(random() * 11)::INTEGER AS nps,
               random() < 0.6 AS answered,
               1 + floor(random() * 4)::INTEGER AS orders,
               random() AS u
        FROM range({n}) t(i)
        """
    )
    # churn after an exponential time whose mean depends on the NPS group and the plan
    con.execute(
        """
        CREATE TABLE cc AS
        SELECT *, CASE WHEN created_at + to_seconds(life::BIGINT) < TIMESTAMP '2025-12-31'
                       THEN created_at + to_seconds(life::BIGINT) END AS churned_at
        FROM (SELECT *, -ln(1 - u) * 86400 * (CASE WHEN NOT answered THEN 700
                  WHEN nps <= 6 THEN 350 WHEN nps >= 9 THEN 1100 ELSE 700 END)
                  * (CASE plan WHEN 'pro' THEN 1.5 WHEN 'plus' THEN 1.2 ELSE 1 END) AS life
              FROM c)
        """
    )
    con.execute(
        f"""COPY (SELECT customer_id, created_at, churned_at, segment, region, plan FROM cc)
            TO '{folder}/customers.parquet' (FORMAT parquet)"""
    )
    span = "epoch(coalesce(churned_at, TIMESTAMP '2025-12-31') - created_at)"
    con.execute(
        f"""COPY (
            SELECT customer_id || '-' || k AS order_id, customer_id,
                   created_at + to_seconds((random() * {span})::BIGINT) AS ordered_at,
                   round(10 + random() * 190, 2) AS amount
            FROM cc, range(orders) r(k)
        ) TO '{folder}/orders.parquet' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (
            SELECT 'R' || customer_id AS response_id, customer_id,
                   created_at + to_seconds((random() * least({span}, 200 * 86400))::BIGINT)
                       AS submitted_at,
                   nps
            FROM cc WHERE answered
        ) TO '{folder}/responses.parquet' (FORMAT parquet)"""
    )
    con.close()
    tmp = path.with_suffix(".part.duckdb")
    tmp.unlink(missing_ok=True)
    with Workspace.open(tmp, DATA_DIR / "churn_risk.toml") as ws:
        for table in ("customers", "orders", "responses"):
            ws.import_files(table, [folder / f"{table}.parquet"])
    tmp.rename(path)
    shutil.rmtree(folder)
    return path


def _open() -> Any:
    from cxray.workspace import Workspace

    return Workspace.open(store_file(_n()), DATA_DIR / "churn_risk.toml", create=False)


def case_features() -> dict[str, Any]:
    with _open() as ws:
        f = ws.churn.risk.features
        at = f.default_as_of()
        t0 = time.perf_counter()
        frame = f.customers(as_of=at).to_pyarrow()
        return {"seconds": time.perf_counter() - t0, "rows": frame.num_rows,
                "columns": frame.num_columns}  # fmt: skip


def case_train() -> dict[str, Any]:
    with _open() as ws:
        ws.churn.risk.features.data_end()  # the connection warmed, as in the baseline
        t0 = time.perf_counter()
        r = ws.churn.risk.train()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "n_train": r.n_train, "n": r.n, "auc": round(r.auc, 4),
                "ci": [round(r.ci_low, 4), round(r.ci_high, 4)],
                "baseline_auc": round(r.baseline["auc"], 4), "kept": r.kept,
                "split": r.split, "method": r.method}  # fmt: skip


def case_score() -> dict[str, Any]:
    with _open() as ws:
        ws.churn.risk.features.data_end()
        t0 = time.perf_counter()
        s = ws.churn.risk.score()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "n": s.n, "mean": round(s.estimate or 0, 4)}


CASES = {"features": case_features, "train": case_train, "score": case_score}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.churn_risk", "--build", str(args.customers)],
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    print(f"store: {store_file(args.customers)} ({time.perf_counter() - t0:.0f} s to build "
          "or find)", file=sys.stderr)  # fmt: skip
    os.environ["CXRAY_BENCH_CUSTOMERS"] = str(args.customers)
    cases = [
        Case("features", "the feature layer's frame at one as-of date, read into memory"),
        Case("train", "cxray churn model: two frames, penalty by CV, fit, evaluate, refit, "
             "store"),
        Case("score", "cxray churn risk: every active customer, interval and reasons"),
    ]  # fmt: skip
    rows = run_cases("benchmarks.churn_risk", cases, repeat=args.repeat)
    print(markdown(rows, f"Churn risk, {args.customers:,} customers"))
    print()
    for r in rows:
        print(f"- {r['case']}: {r['detail']}")


if __name__ == "__main__":
    if "--build" in sys.argv:
        build(int(sys.argv[sys.argv.index("--build") + 1]))
    elif "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
