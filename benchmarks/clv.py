"""Benchmark: lifetime value, the fit on 1M customers and the summary at 20M orders.

    python -m benchmarks.clv [--customers 1000000] [--orders 20000000] [--repeat 2]

Two parts, each case in a fresh process with its libraries imported before the clock:

1. **Fitting** BG/NBD and Gamma-Gamma on ``--customers`` per-customer summaries drawn from
   the two models' generative processes (seeded: r 0.25, alpha 4, a 0.8, b 2.5; p 6, q 3.7,
   gamma 15; T uniform on 1-78 weeks), kept in ``benchmarks/_data/`` and read, untimed:

   - ``lifetimes`` (the baseline): ``BetaGeoFitter().fit(x, t_x, T)`` and
     ``GammaGammaFitter().fit(x, zbar)`` on the repeat buyers (lifetimes 0.11.3: autograd
     gradients, its variance matrix). lifetimes is not a dependency of cxray: install it in
     a virtualenv of its own (``pip install lifetimes==0.11.3``) and run this script there;
   - ``cxray``: ``BetaGeoModel().fit`` and ``GammaGammaModel().fit`` (vectorised
     log-likelihoods with analytic gradients, L-BFGS-B, standard errors from the Hessian).

   The parameters of the two must agree to 1e-3 (relative). Goal: cxray >= 5x faster.

2. **The summary** (frequency, recency, T, monetary, holdout purchases and spend per customer)
   of ``--orders`` orders of 1M customers over two years (5% cancelled), in a cxray store
   (DuckDB), with a calibration end a year before the data ends:

   - ``duckdb_sql`` (the baseline): the same summary as one hand-written DuckDB query
     (``arg_min`` for the first purchase's value), fetched as Arrow;
   - ``cxray_summary``: ``ws.value.summary(calibration_end)`` (the portable Ibis
     expression, the data-range check included), fetched as Arrow.

   Both must give the same rows. Goal: cxray <= 1.5x the hand-written SQL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

TRUTH = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
SPEND = {"p": 6.0, "q": 3.7, "gamma": 15.0}
CALIBRATION_END = "2025-12-31"


def _customers() -> int:
    return int(os.environ.get("CXRAY_BENCH_CUSTOMERS", 1_000_000))


def _orders() -> int:
    return int(os.environ.get("CXRAY_BENCH_ORDERS", 20_000_000))


def summaries_file(n: int) -> Path:
    return DATA_DIR / f"clv_summaries_{n}.npz"


def store_file(n: int) -> Path:
    return DATA_DIR / f"clv_orders_{n}.duckdb"


def build_summaries(n: int, seed: int = 20260101) -> Path:
    """Customers from BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma's processes."""
    path = summaries_file(n)
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    t = rng.uniform(1, 78, n)
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    k = rng.poisson(lam * t)  # repeat purchases in (0, T] had they stayed
    life = rng.geometric(p)  # the purchase after which they drop out
    x = np.minimum(k, life)
    tx = np.where(x > 0, t * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
    nu = rng.gamma(SPEND["q"], 1 / SPEND["gamma"], n)
    zbar = np.where(x > 0, rng.gamma(SPEND["p"] * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x.astype(float), tx=tx, t=t, m=zbar)
    return path


def build_store(n: int) -> Path:
    """A cxray store whose orders table holds ``n`` orders (written by DuckDB directly)."""
    path = store_file(n)
    if path.exists():
        return path
    import duckdb

    from cxray.workspace import Workspace

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with Workspace.open(path, DATA_DIR / "cxray.toml"):
        pass  # the schema
    con = duckdb.connect(str(path))
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""
        INSERT INTO orders (order_id, customer_id, ordered_at, amount, currency, status)
        SELECT 'O' || i::VARCHAR,
               'C' || lpad((hash(i) % 1000000)::VARCHAR, 7, '0'),
               TIMESTAMP '2025-01-01' + to_seconds((random() * 730 * 86400)::BIGINT),
               round(5 + random() * 95, 2)::DECIMAL(18, 4),
               'EUR',
               CASE WHEN random() < 0.05 THEN 'cancelled' ELSE 'completed' END
        FROM range({n}) t(i)
        """
    )
    con.close()
    return path


# ------------------------------------------------------------------ fitting cases


def _load() -> dict[str, np.ndarray]:
    data = np.load(summaries_file(_customers()))
    return {k: data[k] for k in ("x", "tx", "t", "m")}


def _save(case: str, params: dict[str, float]) -> None:
    (DATA_DIR / f"clv_{case}_{_customers()}.json").write_text(json.dumps(params))


def case_lifetimes() -> dict[str, Any]:
    import time

    from lifetimes import BetaGeoFitter, GammaGammaFitter

    d = _load()
    rep = d["x"] > 0
    t0 = time.perf_counter()
    bg = BetaGeoFitter().fit(d["x"], d["tx"], d["t"])
    gg = GammaGammaFitter().fit(d["x"][rep], d["m"][rep])
    seconds = time.perf_counter() - t0
    params = {**bg.params_.to_dict(), **{("gamma" if k == "v" else k): v
                                         for k, v in gg.params_.to_dict().items()}}  # fmt: skip
    _save("lifetimes", params)
    return {"seconds": seconds, "params": params}


def case_cxray() -> dict[str, Any]:
    import time

    from cxray.value import BetaGeoModel, GammaGammaModel

    d = _load()
    rep = d["x"] > 0
    t0 = time.perf_counter()
    bg = BetaGeoModel().fit(d["x"], d["tx"], d["t"])
    gg = GammaGammaModel().fit(d["x"][rep], d["m"][rep])
    seconds = time.perf_counter() - t0
    params = {**bg.params_, **gg.params_}
    _save("cxray", params)
    return {"seconds": seconds, "params": params}


# ------------------------------------------------------------------ summary cases

SQL = f"""
WITH d AS (
    SELECT customer_id, CAST(ordered_at AS DATE) AS day, SUM(CAST(amount AS DOUBLE)) AS spend
    FROM orders
    WHERE coalesce(lower(status), '') NOT IN ('cancelled', 'canceled', 'returned')
    GROUP BY 1, 2
), c AS (
    SELECT customer_id, min(day) AS first, max(day) AS last, count(*) AS n, sum(spend) AS total,
           arg_min(spend, day) AS first_spend
    FROM d WHERE day <= DATE '{CALIBRATION_END}' GROUP BY 1
), h AS (
    SELECT customer_id, count(*) AS hp, sum(spend) AS hs
    FROM d WHERE day > DATE '{CALIBRATION_END}' GROUP BY 1
)
SELECT c.customer_id, n - 1 AS frequency,
       date_diff('day', first, last) / 7.0 AS recency,
       date_diff('day', first, DATE '{CALIBRATION_END}') / 7.0 AS T,
       CASE WHEN n > 1 THEN (total - first_spend) / (n - 1) ELSE 0 END AS monetary,
       first AS first_purchase,
       coalesce(hp, 0) AS holdout_purchases, coalesce(hs, 0) AS holdout_spend
FROM c LEFT JOIN h USING (customer_id)
"""


def _check_rows(table: Any, case: str) -> dict[str, Any]:
    import pyarrow.compute as pc

    out = {
        "rows": table.num_rows,
        "frequency": int(pc.sum(table["frequency"]).as_py()),
        "T": round(float(pc.sum(table["T"]).as_py()), 3),
        "monetary": round(float(pc.sum(table["monetary"]).as_py()), 2),
        "holdout_purchases": int(pc.sum(table["holdout_purchases"]).as_py()),
    }
    (DATA_DIR / f"clv_{case}_{_orders()}.json").write_text(json.dumps(out))
    return out


def case_duckdb_sql() -> dict[str, Any]:
    import time

    import duckdb

    con = duckdb.connect(str(store_file(_orders())), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    table = con.execute(SQL).fetch_arrow_table()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, **_check_rows(table, "duckdb_sql")}


def case_cxray_summary() -> dict[str, Any]:
    import time

    from cxray.workspace import Workspace

    with Workspace.open(store_file(_orders()), DATA_DIR / "cxray.toml", read_only=True) as ws:
        ws.table("orders").count().to_pyarrow()  # connected, catalogue read
        t0 = time.perf_counter()
        table = ws.value.summary(CALIBRATION_END).to_pyarrow()
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, **_check_rows(table, "cxray_summary")}


CASES = {
    "lifetimes": case_lifetimes,
    "cxray": case_cxray,
    "duckdb_sql": case_duckdb_sql,
    "cxray_summary": case_cxray_summary,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=20_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--part", choices=["fit", "summary", "both"], default="both")
    args = ap.parse_args()
    os.environ["CXRAY_BENCH_CUSTOMERS"] = str(args.customers)
    os.environ["CXRAY_BENCH_ORDERS"] = str(args.orders)
    if args.part in ("fit", "both"):
        build_summaries(args.customers)
        rows = run_cases(
            "benchmarks.clv",
            [
                Case("lifetimes", "lifetimes 0.11.3 BetaGeoFitter + GammaGammaFitter"),
                Case("cxray", "cxray BetaGeoModel + GammaGammaModel (with standard errors)"),
            ],
            repeat=args.repeat,
        )
        print(markdown(rows, f"BG/NBD + Gamma-Gamma fit, {args.customers:,} customers"))
        a = json.loads((DATA_DIR / f"clv_lifetimes_{args.customers}.json").read_text())
        b = json.loads((DATA_DIR / f"clv_cxray_{args.customers}.json").read_text())
        diff = max(abs(a[k] - b[k]) / abs(a[k]) for k in b)
        print(f"\nparameters: cxray {b}\nlifetimes {a}\nlargest relative difference {diff:.2e}")
        print(f"truth: {TRUTH} {SPEND}\n")
    if args.part in ("summary", "both"):
        build_store(args.orders)
        rows = run_cases(
            "benchmarks.clv",
            [
                Case("duckdb_sql", "one hand-written DuckDB query"),
                Case("cxray_summary", "ws.value.summary(calibration_end) (Ibis)"),
            ],
            repeat=args.repeat,
        )
        print(markdown(rows, f"Per-customer summary with holdout, {args.orders:,} orders"))
        a = json.loads((DATA_DIR / f"clv_duckdb_sql_{args.orders}.json").read_text())
        b = json.loads((DATA_DIR / f"clv_cxray_summary_{args.orders}.json").read_text())
        same = a.keys() == b.keys() and all(
            abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in a
        )
        print(f"\nsame rows: {same} ({a}; cxray {b})")


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
