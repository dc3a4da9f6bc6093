"""Benchmark: key driver analysis of 10M survey responses, 10 drivers, 200 bootstrap replicates.

    python -m benchmarks.drivers [--rows 10000000] [--repeat 2] [--replicates 5]

The data: ``--rows`` responses with an NPS answer and ten 1-5 attribute ratings
(``q1`` ... ``q10``) that share a common factor (so the drivers are correlated,
as real ratings are), generated in DuckDB with a fixed seed and imported into a
cxray store once (``benchmarks/_data/drivers_<rows>.duckdb``, reused). Cases, each
in a fresh process, libraries imported before the clock:

- ``statsmodels`` (the baseline): the same Johnson's relative weights the usual
  way, on a pandas frame of the same rows (read from the store, not timed):
  standardize, orthogonalize, ``statsmodels.OLS`` on the orthogonal predictors,
  and the bootstrap by resampling rows and refitting. A full 200-replicate run
  takes tens of minutes, so ``--replicates`` of them are timed and the time of
  200 is that per replicate times 200 (plus the point fit);
- ``cxray``: ``Workspace.drivers("nps", ["q1", ..., "q10"], bootstrap=200)``:
  one pass in the store for the moments of 1,024 groups of rows, the
  bootstrap over the groups, LMG shares for the ten drivers;
- ``duckdb_pass``: one DuckDB query summing the 66 cross-products of the 11
  columns (a single pass over the data, no groups), for scale.

The point estimates of cxray and statsmodels must agree to 1e-6. Goal (issue
15): cxray at least 5x faster than the statsmodels baseline, under 2 GB.
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

DRIVERS = [f"q{i}" for i in range(1, 11)]
ROWS_DEFAULT = 10_000_000


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def store_file(rows: int) -> Path:
    return DATA_DIR / f"drivers_{rows}.duckdb"


def build(rows: int) -> Path:
    """The store with ``rows`` responses (made once, then reused)."""
    from cxray.workspace import Workspace

    path = store_file(rows)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    parquet = DATA_DIR / f"drivers_{rows}.parquet"
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    loadings = [0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.3, 0.2]
    effects = [0.5, 0.4, 0.35, 0.3, 0.2, 0.15, 0.1, 0.05, 0.02, 0.0]
    normal = "sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"
    ratings = ", ".join(
        f"least(5, greatest(1, round(3 + {a} * f + {normal})))::INTEGER AS q{i + 1}"
        for i, a in enumerate(loadings)
    )
    latent = " + ".join(f"{b} * q{i + 1}" for i, b in enumerate(effects))
    con.execute(
        f"""
        COPY (
            SELECT 'R' || lpad(i::VARCHAR, 9, '0') AS response_id,
                   TIMESTAMP '2026-01-01' + to_seconds(i % 31536000) AS submitted_at,
                   least(10, greatest(0, round(-4.5 + {latent} + 1.5 * ({normal}))))::INTEGER
                       AS nps,
                   * EXCLUDE (i, f)
            FROM (SELECT i, f, {ratings}
                  FROM (SELECT i, {normal} AS f FROM range({rows}) t(i)))
        ) TO '{parquet}' (FORMAT parquet)
        """
    )
    con.close()
    tmp = path.with_suffix(".part.duckdb")
    tmp.unlink(missing_ok=True)
    with Workspace.open(tmp, DATA_DIR / "drivers.toml") as ws:
        ws.import_files("responses", [parquet])
    tmp.rename(path)
    parquet.unlink()
    return path


def _save(case: str, shares: list[float]) -> None:
    (DATA_DIR / f"drivers_{_rows()}_{case}.json").write_text(json.dumps(shares))


def case_cxray() -> dict[str, Any]:
    from cxray.workspace import Workspace

    t0 = time.perf_counter()
    with Workspace.open(store_file(_rows()), read_only=True, create=False) as ws:
        report = ws.drivers("nps", DRIVERS, bootstrap=200, seed=0)
    seconds = time.perf_counter() - t0
    (a,) = report.analyses
    by_name = {d.driver: d.share for d in a.drivers}
    _save("cxray", [by_name[d] for d in DRIVERS])
    return {"seconds": seconds, "n": a.n, "r2": a.r2.estimate}


def _statsmodels_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import statsmodels.api as sm

    xs = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    ys = (y - y.mean()) / y.std(ddof=1)
    r = np.corrcoef(xs, rowvar=False)
    vals, vecs = np.linalg.eigh(r)
    lam = (vecs * np.sqrt(vals)) @ vecs.T
    z = xs @ ((vecs / np.sqrt(vals)) @ vecs.T)
    beta = sm.OLS(ys, z).fit().params
    raw = (lam**2) @ (beta**2)
    return 100 * raw / raw.sum()


def case_statsmodels() -> dict[str, Any]:
    from cxray.workspace import Workspace

    with Workspace.open(store_file(_rows()), read_only=True, create=False) as ws:
        frame = ws.table("responses").select("nps", *DRIVERS).to_pandas()  # not timed
    reps = int(os.environ.get("CXRAY_BENCH_REPLICATES", "5"))
    t0 = time.perf_counter()
    x = frame[DRIVERS].to_numpy(float)
    y = frame["nps"].to_numpy(float)
    shares = _statsmodels_weights(x, y)
    point = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    t1 = time.perf_counter()
    for _ in range(reps):
        pick = rng.integers(0, len(y), len(y))
        _statsmodels_weights(x[pick], y[pick])
    per_replicate = (time.perf_counter() - t1) / reps
    _save("statsmodels", list(shares))
    return {
        "seconds": point + 200 * per_replicate,
        "measured_replicates": reps,
        "seconds_per_replicate": per_replicate,
        "point_fit_seconds": point,
    }


def case_duckdb_pass() -> dict[str, Any]:
    con = duckdb.connect(str(store_file(_rows())), read_only=True)
    cols = ["nps", *DRIVERS]
    sums = [f"sum({a}::DOUBLE * {b})" for i, a in enumerate(cols) for b in cols[i:]]
    t0 = time.perf_counter()
    con.execute(f"SELECT count(*), {', '.join(f'sum({c})' for c in cols)}, "
                f"{', '.join(sums)} FROM responses").fetchall()  # fmt: skip
    seconds = time.perf_counter() - t0
    con.close()
    return {"seconds": seconds}


CASES = {"statsmodels": case_statsmodels, "cxray": case_cxray, "duckdb_pass": case_duckdb_pass}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--replicates", type=int, default=5, help="statsmodels replicates timed")
    args = p.parse_args()
    t0 = time.perf_counter()
    # built in a process of its own: a child forked from a large parent would report the
    # parent's memory as its own peak (Linux keeps the high-water mark across exec)
    subprocess.run(
        [sys.executable, "-m", "benchmarks.drivers", "--build", str(args.rows)],
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    path = store_file(args.rows)
    print(f"store: {path} ({time.perf_counter() - t0:.0f} s to build or find)", file=sys.stderr)
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    os.environ["CXRAY_BENCH_REPLICATES"] = str(args.replicates)
    cases = [
        Case("statsmodels", f"relative weights with statsmodels OLS on a pandas frame, "
             f"200 row-bootstrap refits (time of {args.replicates} x 200/{args.replicates})"),
        Case("cxray", "cxray drivers: moments of 1,024 row groups in one pass, 200 "
             "bootstrap replicates, LMG"),
        Case("duckdb_pass", "one DuckDB pass summing every cross-product (for scale)"),
    ]  # fmt: skip
    rows = run_cases("benchmarks.drivers", cases, repeat=args.repeat)
    print(markdown(rows, f"Key drivers of NPS, {args.rows:,} responses, 10 drivers"))
    a = json.loads((DATA_DIR / f"drivers_{args.rows}_cxray.json").read_text())
    b = json.loads((DATA_DIR / f"drivers_{args.rows}_statsmodels.json").read_text())
    assert np.allclose(a, b, rtol=1e-6, atol=1e-6), (a, b)
    print()
    print(
        "Checked: cxray's shares of R² equal statsmodels' to 1e-6 "
        f"({', '.join(f'{v:.2f}' for v in a)} %)."
    )


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    elif "--build" in sys.argv:
        build(int(sys.argv[sys.argv.index("--build") + 1]))
    else:
        main()
