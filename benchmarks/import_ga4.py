"""Benchmark: importing Google Analytics 4 events (the BigQuery export, JSON Lines).

    python -m benchmarks.import_ga4 [--rows 100000] [--repeat 3]

The events are the rows of ``tests/fixtures/vendors/ga4_events.jsonl`` repeated with new
timestamps and users (about 2 KB each, as real export rows are). Cases, each in a fresh
process and a fresh store file:
- ``duckdb_floor``: DuckDB's own ``read_json`` of the file into a table (the floor);
- ``cxray``: ``Workspace.open`` + ``import_files(source="ga4")``: the file read and mapped
  in DuckDB (params, session, page, flattened records), validated and upserted;
- ``cxray_rowwise``: the same import through the row-by-row path (every event a Python
  object), the way it was read before; kept for events under an ``"events"`` key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import duckdb

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases
from cxray.workspace import Workspace

ROWS_DEFAULT = 100_000
FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "vendors" / "ga4_events.jsonl"


def data_file(rows: int) -> Path:
    path = DATA_DIR / f"ga4_events_{rows}.jsonl"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    events = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    with path.open("w") as fh:
        for i in range(rows):
            e = dict(events[i % len(events)])
            e["event_timestamp"] = str(int(e["event_timestamp"]) + i * 1000)
            e["user_pseudo_id"] = f"{i % 7919}.1740990000"
            fh.write(json.dumps(e) + "\n")
    return path


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def case_floor():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "floor.duckdb"))
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_json('{src}', sample_size = -1)")
        n = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
    return {"rows": n}


def case_cxray():
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_files("events", [src], source="ga4")
    return {"rows": report.result.added}


def case_rowwise():
    from cxray.ingest.vendors import ga4

    ga4._stage_in_duckdb = lambda *a: False  # this process only
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "cx.duckdb") as ws:
        report = ws.import_files("events", [src], source="ga4")
    return {"rows": report.result.added}


CASES = {"duckdb_floor": case_floor, "cxray": case_cxray, "cxray_rowwise": case_rowwise}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep-data", action="store_true", help="keep the generated file")
    args = p.parse_args()
    data_file(args.rows)
    cases = [
        Case("duckdb_floor", "DuckDB read_json into a table"),
        Case("cxray", "cxray import --source ga4 (mapped in DuckDB)"),
        Case("cxray_rowwise", "the same import, event by event in Python"),
    ]
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    rows = run_cases("benchmarks.import_ga4", cases, repeat=args.repeat)
    print(markdown(rows, f"Import {args.rows:,} GA4 events (BigQuery export, JSON Lines)"))
    if not args.keep_data:  # only this benchmark's file: _data is shared with the others
        data_file(args.rows).unlink(missing_ok=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
