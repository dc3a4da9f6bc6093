"""Benchmark: the money of CX on the demo world (20,000 customers, 24 months by default).

    python -m benchmarks.money [--customers 20000] [--repeat 2]

The store is built once (``benchmarks/_data/money_<customers>.duckdb``, reused). Cases,
each in a fresh process, libraries imported before the clock:

- ``pandas`` (the baseline): the usual way, the raw customers, responses and orders read
  out of the store into pandas, each customer's latest NPS answer, revenue to date and
  churn in the horizon computed there, then the same statistics per NPS group (Wilson
  rates, 1,000-resample bootstraps of mean value and churn cost);
- ``by_nps_group``: ``ws.value.money.by_nps_group()``: the per-customer rows are one
  Ibis query in the store, one row per active customer comes back;
- ``roi``: ``ws.value.money.roi()``: by NPS group, revenue at risk of today's customers
  (observed rates: no churn-risk model kept) and the what-if.

The baseline and cxray must agree on the total churn cost (to 1e-9). Goal: by NPS group no
slower than the pandas baseline and with less peak memory; the whole ROI within 3x the
baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

CUSTOMERS_DEFAULT = 20_000
HORIZON = 90.0


def _customers() -> int:
    return int(os.environ.get("CXRAY_BENCH_CUSTOMERS", CUSTOMERS_DEFAULT))


def store_file(customers: int) -> Path:
    return DATA_DIR / f"money_{customers}.duckdb"


def build(customers: int) -> Path:
    from cxray.workspace import Workspace

    path = store_file(customers)
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        with Workspace.open(path, path.with_suffix(".toml")) as ws:
            ws.load_demo(seed=42, customers=customers, months=24)
    return path


def _open() -> Any:
    from cxray.workspace import Workspace

    path = store_file(_customers())
    return Workspace.open(path, path.with_suffix(".toml"), read_only=True)


def _save(case: str, total: float) -> None:
    (DATA_DIR / f"money_{case}.json").write_text(json.dumps({"total": total}))


def case_pandas() -> dict[str, Any]:
    from cxray import stats

    with _open() as ws:
        end = ws.features.data_end()
        at = end - dt.timedelta(days=HORIZON)
        c = ws.table("customers").to_pandas()
        r = ws.table("responses").to_pandas()
        o = ws.table("orders").to_pandas()
    naive = lambda s: pd.to_datetime(s).dt.tz_localize(None)  # noqa: E731
    c["created_at"], c["churned_at"] = naive(c.created_at), naive(c.churned_at)
    r["submitted_at"], o["ordered_at"] = naive(r.submitted_at), naive(o.ordered_at)
    c = c[(c.created_at < at) & (c.churned_at.isna() | (c.churned_at >= at))].copy()
    r = r[r.nps.notna() & r.customer_id.notna() & (r.submitted_at < at)]
    last = (
        r.sort_values(["customer_id", "submitted_at", "response_id"])
        .groupby("customer_id")
        .nps.last()
    )
    o = o[(o.ordered_at < at) & ~o.status.fillna("").str.lower().isin(["cancelled", "returned"])]
    revenue = o.groupby("customer_id").amount.sum()
    nps = c.customer_id.map(last)
    c["group"] = np.select([nps >= 9, nps >= 7, nps.notna()],
                           ["promoter", "passive", "detractor"], "no answer")  # fmt: skip
    c["clv"] = c.customer_id.map(revenue).fillna(0.0).astype(float)
    c["churned"] = (c.churned_at.notna()
                    & (c.churned_at < at + dt.timedelta(days=HORIZON))).astype(float)  # fmt: skip
    total = 0.0
    for i, (_, part) in enumerate(sorted(c.groupby("group"), key=lambda kv: kv[0])):
        v, y = part.clv.to_numpy(), part.churned.to_numpy()
        stats.proportion(int(y.sum()), len(y))
        rng = np.random.default_rng(i)
        idx = rng.integers(0, len(v), size=(1000, len(v)))
        np.quantile(v[idx].mean(axis=1), [0.025, 0.975])
        np.quantile((v * y)[idx].sum(axis=1), [0.025, 0.975])
        total += float((v * y).sum())
    _save("pandas", total)
    return {"customers": len(c)}


def case_by_nps_group() -> dict[str, Any]:
    with _open() as ws:
        res = ws.value.money.by_nps_group(horizon_days=HORIZON)
    _save("by_nps_group", res.estimate)
    return {"customers": res.n}


def case_roi() -> dict[str, Any]:
    with _open() as ws:
        res = ws.value.money.roi(horizon_days=HORIZON)
    _save("roi", res.by_group.estimate)
    return {"customers": res.customers}


CASES = {"pandas": case_pandas, "by_nps_group": case_by_nps_group, "roi": case_roi}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ["CXRAY_BENCH_CUSTOMERS"] = str(args.customers)
    build(args.customers)
    cases = [
        Case("pandas", "raw tables into pandas, per customer and per group there"),
        Case("by_nps_group", "ws.value.money.by_nps_group(): per-customer rows in the store"),
        Case("roi", "ws.value.money.roi(): by group, revenue at risk, what-if"),
    ]
    rows = run_cases("benchmarks.money", cases, repeat=args.repeat)
    totals = {c: json.loads((DATA_DIR / f"money_{c}.json").read_text())["total"] for c in CASES}
    assert np.isclose(totals["pandas"], totals["by_nps_group"], rtol=1e-9), totals
    assert np.isclose(totals["pandas"], totals["roi"], rtol=1e-9), totals
    print(markdown(rows, f"The money of CX, demo world of {args.customers:,} customers"))
    print(f"\ntotal churn cost (all cases agree): {totals['by_nps_group']:,.2f}")


if __name__ == "__main__":
    import sys

    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
