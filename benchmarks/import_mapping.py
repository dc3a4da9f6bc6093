"""Benchmark: what ``--map`` expressions cost on an import of survey responses from CSV.

    python -m benchmarks.import_mapping [--rows 1000000] [--repeat 3]

Cases, each in a fresh process and a fresh store file, on the file of
``benchmarks/import_responses.py``:
- ``plain``: ``import_files`` with the file's own column names (the baseline);
- ``mapped``: the same file with one mapping of every computed kind: a SQL expression
  that parses the timestamp (``strptime``), one that rounds a number, a value map with a
  catch-all, a constant, and one column feeding a second target;
- ``pandas_mapped``: what a user did before: ``pandas.read_csv``, the same mapping in
  pandas, then ``import_frame``.
Goal: a mapped import costs little more than a plain one, and less than pandas.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks._harness import Case, child_main, markdown, run_cases
from benchmarks.import_responses import data_file
from cxray.workspace import Workspace

ROWS_DEFAULT = 1_000_000
MAPPING = {
    "submitted_at": "sql:strptime(submitted_at, '%Y-%m-%dT%H:%M:%SZ')",
    "nps": "sql:round(nps::DOUBLE)",
    "channel": "channel:email->e-mail,*->digital",
    "touchpoint": "const:pulse",
    "survey": "customer_id",
    "customer_id": "customer_id",
}


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def case_plain():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_files("responses", [src])
    return {"rows": report.result.added}


def case_mapped():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_files("responses", [src], mapping=MAPPING)
        t = ws.table("responses")
        top = t.filter(t.channel == "e-mail").count().to_pyarrow().as_py()
    assert top > 0
    return {"rows": report.result.added}


def case_pandas_mapped():
    src = data_file(_rows())
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    df["submitted_at"] = pd.to_datetime(df["submitted_at"], format="%Y-%m-%dT%H:%M:%SZ")
    df["nps"] = pd.to_numeric(df["nps"]).round()
    df["channel"] = df["channel"].map(lambda v: "e-mail" if v.lower() == "email" else "digital")
    df["touchpoint"] = "pulse"
    df["survey"] = df["customer_id"]
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_frame("responses", df)
    return {"rows": report.result.added}


CASES = {"plain": case_plain, "mapped": case_mapped, "pandas_mapped": case_pandas_mapped}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep-data", action="store_true", help="keep the generated CSV")
    args = p.parse_args()
    data_file(args.rows)
    cases = [
        Case("plain", "cxray import, the file's own names"),
        Case("mapped", "cxray import with 2 sql:, a value map, a constant, a copy"),
        Case("pandas_mapped", "pandas read_csv + the same mapping + import_frame"),
    ]
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    rows = run_cases("benchmarks.import_mapping", cases, repeat=args.repeat)
    print(markdown(rows, f"Import {args.rows:,} survey responses with --map expressions"))
    if not args.keep_data:  # only this file: other benchmarks may be using the folder
        data_file(args.rows).unlink(missing_ok=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
