"""The first overview a person opens after `cxray serve` starts and after an import.

A real `cxray serve` over a copy of a store, with the background computation of the
overview (the default) and without it (``CXRAY_WARM=0``), alternately: log in, wait a few
seconds as a person would, time ``GET /``; import a small file through the CLI (which the
server runs), wait, time ``GET /`` again. Prints a markdown table with the load average.

    python -m benchmarks.overview_first --db STORE [--rounds 2] [--wait 8]

``STORE`` is any cxray store (``cxray demo --size N`` builds one; the figures in
benchmarks/README.md used the scorecard benchmark's 1M-response world, see there).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks._harness import first_view_round, first_view_table, load_line

CASES = [
    ("cold", "computes on the first view (`CXRAY_WARM=0`)"),
    ("warm", "computes ahead (default)"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wait", type=float, default=8.0, help="seconds a person takes to look")
    args = ap.parse_args()
    from cxray.access import ApiKeys
    from cxray.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.duckdb"
        shutil.copyfile(args.db, db)
        with Store(db) as store:
            key = ApiKeys(store).create("analyst", name="benchmark")[1]
            n = store.table("responses").count().to_pyarrow().as_py()
        before = load_line()
        rows = []
        for r in range(args.rounds):
            extra = Path(tmp) / f"extra_{r}.csv"
            lines = ["response_id,customer_id,submitted_at,nps"]
            lines += [f"B{r}_{i},C{i:07d},2026-10-30T10:00:00,{i % 11}" for i in range(50)]
            extra.write_text("\n".join(lines) + "\n")
            for case, _ in CASES:
                one = first_view_round(
                    db,
                    key,
                    path="/",
                    marker=b'class="tiles"',
                    warm=case == "warm",
                    wait=args.wait,
                    extra=extra,
                )
                rows.append({"case": case, **one})
    title = f"First overview over {n:,} responses, {args.rounds} rounds, {args.wait:g} s wait"
    print(first_view_table(rows, CASES, title=title, what="/", before=before))


if __name__ == "__main__":
    sys.exit(main())
