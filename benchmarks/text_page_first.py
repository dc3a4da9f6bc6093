"""The first Text page a person opens after `cxray serve` starts and after an import (1M comments).

Data (built once into ``benchmarks/_data/text_page_first``): 1,000,000 survey responses and
50,000 support cases whose comments, subjects and descriptions are made from real review
sentences (``../shared/data/womens_clothing_reviews``, next to the project root; nothing
copied into the repo): each text joins 1 to 3 sentences drawn at random (seeded) from all
reviews. The store is enriched once with ``cxray text enrich`` (sentiment, stored themes and
the Text page's reports, kept in the store).

Each round starts a real ``cxray serve`` on a copy of the store, logs in, waits a few seconds
as a person would, times ``GET /text``; imports a small file of 50 commented responses
through the CLI (which the server runs, scoring and matching them), waits, times ``GET /text``
again. Three servers, in turn:

* ``computes on view``: ``CXRAY_WARM=0`` and no reports kept in the store: the page computes
  its reports on the first view (what every first view did before reports were kept);
* ``kept, no background``: the reports ``cxray text enrich`` kept in the store, ``CXRAY_WARM=0``:
  a fresh server reads them; after an import the page computes anew;
* ``kept + background`` (the default): kept reports, and the server computes the new ones in
  the background after an import.

    python -m benchmarks.text_page_first [--rows 1000000] [--rounds 2] [--wait 8] [--cases ...]
        [--again 10]   # also 10 more views, 2 s apart, while the server computes

Prints a markdown table with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._harness import (
    DATA_DIR,
    first_view_round,
    first_view_table,
    load_line,
    run_measured,
)

ROOT = Path(__file__).resolve().parent.parent
REVIEWS = ROOT.parent / "shared" / "data" / "womens_clothing_reviews"
REVIEWS_CSV = REVIEWS / "Womens Clothing E-Commerce Reviews.csv"
HERE = DATA_DIR / "text_page_first"
SEED = 13
CASES = 50_000


def _sentences() -> np.ndarray:
    import csv
    import re

    out: list[str] = []
    with REVIEWS_CSV.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 3]
    return np.array(out, dtype=object)


def _texts(sentences: np.ndarray, rng: np.random.Generator, n: int) -> list[str]:
    k = rng.integers(1, 4, size=n)
    picks = rng.integers(0, len(sentences), size=(n, 3))
    return [" ".join(sentences[picks[i, : k[i]]]) for i in range(n)]


def build(rows: int) -> Path:
    """A store of ``rows`` commented responses and 50,000 cases, enriched; made once."""
    import pandas as pd

    store = HERE / f"store_{rows}.duckdb"
    if store.exists():
        return store
    HERE.mkdir(parents=True, exist_ok=True)
    off = HERE / "enrich_off.toml"
    off.write_text("[text]\nenrich_on_import = false\n", encoding="utf-8")
    sentences = _sentences()
    rng = np.random.default_rng(SEED)
    start = np.datetime64("2025-01-01T00:00:00")
    responses = pd.DataFrame(
        {
            "response_id": [f"R{i:07d}" for i in range(rows)],
            "customer_id": [f"C{i % (rows // 3 + 1):07d}" for i in range(rows)],
            "submitted_at": (start + rng.integers(0, 365 * 86400, size=rows)).astype(str),
            "nps": rng.integers(0, 11, size=rows),
            "comment": _texts(sentences, rng, rows),
        }
    )
    categories = np.array(["delivery", "billing", "product", "returns", "account"], dtype=object)
    cases = pd.DataFrame(
        {
            "case_id": [f"K{i:06d}" for i in range(CASES)],
            "customer_id": [f"C{i % (rows // 3 + 1):07d}" for i in range(CASES)],
            "opened_at": (start + rng.integers(0, 365 * 86400, size=CASES)).astype(str),
            "category": categories[rng.integers(0, len(categories), size=CASES)],
            "subject": _texts(sentences, rng, CASES),
            "description": _texts(sentences, rng, CASES),
        }
    )
    tmp = HERE / "building.duckdb"
    tmp.unlink(missing_ok=True)
    r_csv, c_csv = HERE / "responses.csv", HERE / "cases.csv"
    responses.to_csv(r_csv, index=False)
    cases.to_csv(c_csv, index=False)
    del responses, cases
    cx = ["cxray", "--db", str(tmp), "--config", str(off)]
    steps = {}
    for step, args in (
        ("import responses", ["import", "responses", str(r_csv)]),
        ("import cases", ["import", "cases", str(c_csv)]),
        ("text enrich", ["text", "enrich"]),
    ):
        steps[step] = run_measured([*cx, *args], stdout=subprocess.DEVNULL)
        print(f"{step}: {steps[step]}", file=sys.stderr)
    r_csv.unlink()
    c_csv.unlink()
    tmp.rename(store)
    size = {"rows": rows, "cases": CASES, "store_mib": round(store.stat().st_size / 2**20, 1)}
    _build_log(rows).write_text(json.dumps({**size, "steps": steps}, indent=1), encoding="utf-8")
    return store


def _build_log(rows: int) -> Path:
    """Where ``build`` keeps each step's seconds and peak memory (JSON)."""
    return HERE / f"store_{rows}.build.json"


CASES_ORDER = (
    ("on_view", "computes on the first view (`CXRAY_WARM=0`, nothing kept)"),
    ("kept", "reports kept in the store, no background (`CXRAY_WARM=0`)"),
    ("background", "kept + computed in the background after an import (default)"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wait", type=float, default=8.0, help="seconds a person takes to look")
    ap.add_argument(
        "--again",
        type=int,
        default=0,
        help="views 2 s apart after the one after the import (while the server computes)",
    )
    ap.add_argument(
        "--cases",
        default=",".join(c for c, _ in CASES_ORDER),
        help="which servers, comma-separated: on_view, kept, background",
    )
    args = ap.parse_args()
    chosen = [c for c in args.cases.split(",") if c]
    if unknown := set(chosen) - {c for c, _ in CASES_ORDER}:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")
    from cxray.access import ApiKeys
    from cxray.store import Store
    from cxray.text._reports import KEPT_TABLE

    t0 = time.perf_counter()
    source = build(args.rows)
    with Store(source, read_only=True) as store:
        kept = KEPT_TABLE in store.backend.list_tables()
    if not kept:  # a store enriched before cxray kept reports: what `cxray text enrich` keeps
        subprocess.run(["cxray", "--db", str(source), "text", "enrich"], check=True)
    print(f"data ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sentences = _sentences()
    rows = []
    before = load_line()
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        for r in range(args.rounds):
            for case in [c for c, _ in CASES_ORDER if c in chosen]:
                db = Path(tmp) / "store.duckdb"
                wal = Path(f"{db}.wal")  # a server stopped mid-write leaves one: DuckDB would
                wal.unlink(missing_ok=True)  # replay the last round's writes onto the copy
                shutil.copyfile(source, db)
                with Store(db) as store:
                    key = ApiKeys(store).create("analyst", name="benchmark")[1]
                    if case == "on_view":  # as before reports were kept
                        store.backend.drop_table(KEPT_TABLE)
                extra = Path(tmp) / "extra.csv"
                rng = np.random.default_rng(r)
                pd_lines = ["response_id,customer_id,submitted_at,nps,comment"]
                for i, comment in enumerate(_texts(sentences, rng, 50)):
                    quoted = '"' + comment.replace('"', '""') + '"'
                    pd_lines.append(f"X{r}_{i},C{i:07d},2025-12-30T10:00:00,{i % 11},{quoted}")
                extra.write_text("\n".join(pd_lines) + "\n", encoding="utf-8")
                one = first_view_round(
                    db,
                    key,
                    path="/text",
                    marker=b'class="data themes"',
                    warm=case == "background",
                    wait=args.wait,
                    extra=extra,
                    again=args.again,
                )
                rows.append({"case": case, **one})
                print(rows[-1], file=sys.stderr)
                db.unlink()
                wal.unlink(missing_ok=True)
    title = (
        f"First Text page over {args.rows:,} comments, {args.rounds} rounds, {args.wait:g} s wait"
    )
    print(first_view_table(rows, list(CASES_ORDER), title=title, what="/text", before=before))


if __name__ == "__main__":
    if "--build-only" in sys.argv:
        print(build(int(os.environ.get("CXRAY_BENCH_ROWS", 1_000_000))))
    else:
        sys.exit(main())
