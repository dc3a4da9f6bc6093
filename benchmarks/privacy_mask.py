"""Benchmark: what masking personal data costs an export, against the same export as stored.

    python -m benchmarks.privacy_mask [--rows 300000] [--repeat 3]

Goal: a CSV export for a key without ``pii`` (personal columns masked, free text redacted)
takes at most 4× the export as stored (what a ``pii`` key gets) when one text in fifty holds
an e-mail, a phone or a card number, so masking by default costs no user a slow download
(about 1.7 s per million rows; the figures are in ``benchmarks/README.md``). What makes
it possible: a personal column is replaced by Arrow in C++ (``if_else``); in free text,
Arrow's regex finds the values holding an '@' or 7+ digits and only those go through the
Python patterns (``cxray.privacy._mask``).

Cases, each in a fresh process, read the same DuckDB table in batches of 50,000 rows and
write CSV, as ``GET /api/tables/responses/export?format=csv`` does; the table is
responses-like: ids, a channel, an NPS, a comment (a third with digits, one in fifty
with an e-mail or a phone number), a survey's second text question and an e-mail column
marked personal (``[privacy] personal``):

- ``as_stored`` (the baseline): ``Masking(pii=True).batches`` (nothing changes);
- ``masked``: ``Masking().batches`` (a viewer's);
- ``masked_all_python``: every free-text value through the Python patterns (the way before
  the Arrow pre-filter), for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys

from benchmarks._harness import Case, child_main, markdown, run_cases

ENV = "CXRAY_BENCH_MASK_ROWS"
CASES = [
    Case("as_stored", "CSV export, nothing masked (a pii key)"),
    Case("masked", "CSV export masked for a viewer (personal columns, free text)"),
    Case("masked_all_python", "the same, every text value through the Python patterns"),
]
_TEXTS = (
    [
        "The delivery was late and nobody answered my emails",
        "Great service, quick delivery, will buy again",
        "Waited 3 days for a reply, order 4471 arrived broken",
        "Price went up by 20% since last year",
        "Call me on +44 20 7946 0958 about the refund",
        "Please write to jo.tester@example.com, I never got the invoice",
        "Fine.",
        "The app crashed twice during checkout on 2 March",
        "Support agent was friendly and solved it in 10 minutes",
        "Nothing to add",
        "Box was damaged, the item inside was ok",
        "Second parcel still missing after 2 weeks",
    ]
    + ["Good"] * 70
    + ["Delivery on time, product as described"] * 65
    + ["card 4111 1111 1111 1111 was charged twice"]
)


def _batches() -> list:
    import pyarrow as pa

    n = int(os.environ.get(ENV, "300000"))
    texts = [_TEXTS[(i * 7) % len(_TEXTS)] for i in range(n)]
    notes = [_TEXTS[(i * 11 + 3) % len(_TEXTS)] if i % 4 == 0 else None for i in range(n)]
    table = pa.table(
        {
            "response_id": [f"R{i}" for i in range(n)],
            "channel": ["email", "web", "app"] * (n // 3) + ["web"] * (n % 3),
            "nps": pa.array([i % 11 for i in range(n)], pa.int64()),
            "comment": texts,
            "extra_note": notes,
            "email": [f"customer{i}@example.com" if i % 5 else None for i in range(n)],
        }
    )
    return table.to_batches(50_000)


def _store(n: int) -> str:
    """A DuckDB file with the table (built once per row count, reused by every case)."""
    import tempfile
    from pathlib import Path

    import duckdb

    path = Path(tempfile.gettempdir()) / f"cxray-bench-mask-{n}.duckdb"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        con = duckdb.connect(str(tmp))
        con.register("t", __import__("pyarrow").Table.from_batches(_batches()))
        con.execute("CREATE TABLE responses AS SELECT * FROM t")
        con.close()
        tmp.rename(path)
    return str(path)


def _export(kind: str) -> dict:
    import time

    import duckdb
    import pandas  # noqa: F401 (a server has them loaded: their import is not timed)
    import pyarrow.compute  # noqa: F401

    from cxray.config._privacy import PrivacyConfig
    from cxray.explore import csv_chunks
    from cxray.privacy import Masking, _mask

    n = int(os.environ.get(ENV, "300000"))
    con = duckdb.connect(_store(n), read_only=True)
    if kind == "masked_all_python":

        def all_python(column, fn):  # the earlier way: every value through Python
            import pyarrow as pa

            return pa.array([fn(v) for v in column.to_pylist()], pa.string())

        _mask._mask_array = all_python
    personal = PrivacyConfig(personal=("responses.email",))  # as [privacy] personal would
    masking = Masking(pii=kind == "as_stored", privacy=personal)
    t0 = time.perf_counter()
    # what GET /api/tables/responses/export?format=csv does: read in batches, mask, write
    reader = con.execute("SELECT * FROM responses").to_arrow_reader(50_000)
    size = sum(len(c) for c in csv_chunks(masking.batches("responses", reader)))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n, "csv_mb": round(size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ[ENV] = str(args.rows)
    rows = run_cases("benchmarks.privacy_mask", CASES, repeat=args.repeat)
    print(markdown(rows, f"Masking an export of {args.rows:,} rows"))
    print()
    for r in rows:
        print(f"- {r['case']}: {r['detail']}")


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main({c.name: (lambda k=c.name: _export(k)) for c in CASES})
    else:
        main()
