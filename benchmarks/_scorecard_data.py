"""The scorecard benchmark's world: the demo company at issue scale, built once into DuckDB.

The demo world's tables grow together (per 1,000 customers: ~2,100 responses,
~1,070 cases, ~6,150 orders, ~64,000 events), so no single world has the
benchmark's mix of 10M responses, 1M cases, 1M orders and 20M events. The
builder walks :func:`cxray.demo.generate_chunks` and keeps each table's rows,
chunk by chunk in generation order, until that table reaches its quota; every
customer generated is kept. At ``--size 1`` that is about 4.5 million
customers, all with their responses, and the cases, orders and events of the
first customers. The file is cached under ``benchmarks/_data/`` and reused.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from benchmarks._harness import DATA_DIR

__all__ = ["QUOTAS", "build", "data_file", "targets"]

#: rows per table at --size 1 (issue 3, item 10)
QUOTAS = {"responses": 10_000_000, "cases": 1_000_000, "orders": 1_000_000, "events": 20_000_000}
SEED = 42
MONTHS = 24
CHUNK = 100_000


def targets(size: float) -> dict[str, int]:
    return {name: max(1, round(rows * size)) for name, rows in QUOTAS.items()}


def data_file(size: float) -> Path:
    return DATA_DIR / f"scorecard_{size:g}.duckdb"


def build(size: float, *, log=print) -> Path:
    """The world for ``size`` (cached): a DuckDB file with the five tables the KPIs read."""
    path = data_file(size)
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as con:
            done = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'bench_meta'"
            ).fetchone()[0]
        if done:
            return path
        path.unlink()
    from cxray.demo import generate_chunks

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    want = targets(size)
    have = dict.fromkeys(want, 0)
    # enough customers for the responses quota (the table that needs the most); the walk
    # stops as soon as every quota is met
    customers = math.ceil(want["responses"] / 2.05 * 1.3 / CHUNK) * CHUNK
    started = time.perf_counter()
    con = duckdb.connect(str(tmp))
    created: set[str] = set()
    try:
        for i, world in enumerate(
            generate_chunks(seed=SEED, customers=customers, months=MONTHS, chunk_customers=CHUNK)
        ):
            _append(con, created, "customers", world.customers, None)
            for name, quota in want.items():
                left = quota - have[name]
                if left > 0:
                    have[name] += _append(con, created, name, getattr(world, name), left)
            log(
                f"  chunk {i + 1}: "
                + ", ".join(f"{k} {v:,}" for k, v in have.items())
                + f" ({time.perf_counter() - started:.0f} s)"
            )
            if all(have[k] >= want[k] for k in want):
                break
        for name in ("customers", *want):
            if name not in created:  # pragma: no cover - a quota of rows never generated
                raise RuntimeError(f"no {name} generated")
        con.execute("CREATE TABLE bench_meta AS SELECT ? AS size, ? AS seconds", [size, 0.0])
        con.execute("UPDATE bench_meta SET seconds = ?", [time.perf_counter() - started])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.rename(path)
    return path


def row_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("customers", "responses", "cases", "orders", "events")
        }


def _append(
    con: duckdb.DuckDBPyConnection, created: set[str], name: str, table: pa.Table, left: int | None
) -> int:
    """Append ``table`` to ``name``; over ``left`` rows, only whole customers up to it."""
    con.register("chunk", table)
    rows = "SELECT * FROM chunk"
    if left is not None and table.num_rows > left:
        # rows come ordered by time within blocks of customers: cut by customer, not by row
        rows = f"""
            WITH per AS (SELECT customer_id, count(*) AS n FROM chunk
                         WHERE customer_id IS NOT NULL GROUP BY customer_id),
                 cum AS (SELECT customer_id, sum(n) OVER (ORDER BY customer_id) AS upto FROM per)
            SELECT chunk.* FROM chunk SEMI JOIN cum
              ON chunk.customer_id = cum.customer_id AND cum.upto <= {int(left)}"""
    if name in created:
        n = con.execute(f"INSERT INTO {name} BY NAME {rows}").fetchone()[0]
    else:
        con.execute(f"CREATE TABLE {name} AS {rows}")
        n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        created.add(name)
    con.unregister("chunk")
    return int(n)
