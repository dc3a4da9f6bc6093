"""Benchmark: importing 1M survey responses from CSV.

    python -m benchmarks.import_responses [--rows 1000000] [--repeat 3]

Cases, each in a fresh process and a fresh store file; libraries are imported
before the clock starts, so the figures compare the work, not interpreter start-up:
- ``duckdb_floor``: DuckDB's own ``read_csv`` of the file into a table (the floor);
- ``cxray``: ``Workspace.open`` + ``import_files``: parse, convert and validate every
  cell against the contract, upsert into the store and log the import;
- ``pandas``: ``pandas.read_csv`` plus the same validation rules written in pandas,
  then the same table written into DuckDB;
- ``cxray_cli``: the ``cxray import`` command end to end, interpreter start-up and
  imports included (what a user waits for at the terminal);
- ``cxray_reimport``: importing the same file again into the store that holds it
  (every row compared, all unchanged): the path of every later, overlapping import.
Goal (issue 2): cxray within 2× of the floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases
from cxray.workspace import Workspace

ROWS_DEFAULT = 1_000_000


def data_file(rows: int) -> Path:
    path = DATA_DIR / f"responses_{rows}.csv"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""
        COPY (
          SELECT 'R' || lpad(i::VARCHAR, 8, '0') AS response_id,
                 strftime(TIMESTAMP '2024-01-01' + to_seconds((random() * 63072000)::BIGINT),
                          '%Y-%m-%dT%H:%M:%SZ') AS submitted_at,
                 'C' || lpad((random() * 200000)::INT::VARCHAR, 6, '0') AS customer_id,
                 ['relationship', 'post_case', 'post_delivery'][1 + (i % 3)] AS survey,
                 ['email', 'web', 'app'][1 + (i % 3)] AS channel,
                 (random() * 10)::INT AS nps,
                 CASE WHEN i % 2 = 0 THEN 1 + (random() * 4)::INT END AS csat,
                 CASE WHEN i % 3 = 0 THEN 1 + (random() * 6)::INT END AS ces,
                 CASE WHEN i % 5 < 2 THEN
                   ['Delivery was late again', 'Great service, thank you!',
                    'The agent solved it quickly', 'Too expensive for what it is',
                    'App keeps crashing at checkout'][1 + (i % 5)] END AS comment
          FROM range({rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')
        """
    )
    return path


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def case_floor():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "floor.duckdb"))
        con.execute(f"CREATE TABLE responses AS SELECT * FROM read_csv('{src}')")
        n = con.execute("SELECT count(*) FROM responses").fetchone()[0]
        con.close()
    return {"rows": n}


def case_cxray():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_files("responses", [src])
    return {"rows": report.result.added}


def case_reimport():
    import time

    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        ws.import_files("responses", [src])
        t0 = time.perf_counter()
        report = ws.import_files("responses", [src])
        seconds = time.perf_counter() - t0
    assert report.result.unchanged == report.result.rows_in
    return {"rows": report.result.unchanged, "seconds": seconds}


def case_pandas():
    src = data_file(_rows())
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    errors = 0
    for col in df.columns:
        df[col] = df[col].str.strip().replace("", None)
    errors += df["response_id"].isna().sum()
    ts = pd.to_datetime(df["submitted_at"], utc=True, errors="coerce", format="ISO8601")
    errors += (df["submitted_at"].notna() & ts.isna()).sum()
    df["submitted_at"] = ts.dt.tz_localize(None)
    for col, lo, hi in (("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & (num.isna() | (num != num.round()))
        errors += bad.sum() + ((num < lo) | (num > hi)).sum()
        df[col] = num.astype("Int64")
    errors += df["response_id"].duplicated().sum()
    assert errors == 0
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "pd.duckdb"))
        con.register("df", df)
        con.execute("CREATE TABLE responses AS SELECT * FROM df")
        con.close()
    return {"rows": len(df)}


def case_cli():
    import subprocess

    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cxray",
                "--db",
                str(Path(d) / "cli.duckdb"),
                "import",
                "responses",
                str(src),
            ],
            check=True,
            capture_output=True,
        )
    return {}


CASES = {
    "duckdb_floor": case_floor,
    "cxray": case_cxray,
    "pandas": case_pandas,
    "cxray_cli": case_cli,
    "cxray_reimport": case_reimport,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep-data", action="store_true", help="keep the generated CSV")
    args = p.parse_args()
    data_file(args.rows)
    cases = [
        Case("duckdb_floor", "DuckDB read_csv into a table"),
        Case("cxray", "cxray import (validate + upsert + log)"),
        Case("pandas", "pandas read_csv + same validation + write"),
        Case("cxray_cli", "`cxray import` command, start-up included"),
        Case("cxray_reimport", "the same file again: every row compared, all unchanged"),
    ]
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    rows = run_cases("benchmarks.import_responses", cases, repeat=args.repeat)
    print(markdown(rows, f"Import {args.rows:,} survey responses from CSV"))
    if not args.keep_data:
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
