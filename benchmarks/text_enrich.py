"""Sentiment enrichment of 1M comments in the store: time and peak memory.

    python -m benchmarks.text_enrich [--rows 1000000] [--repeat 2]

Data: 1,000,000 survey responses whose comments are made from real review sentences
(``../shared/data/womens_clothing_reviews``, next to the project root; nothing copied into the
repo): each comment joins 1 to 3 sentences drawn at random (seeded) from all reviews, so
comments read like real ones and almost all of them are distinct, as a million customers'
comments would be (scoring each distinct text once gains nothing here). Every case runs in a
fresh process on a fresh copy of the store:

* ``scorer_only`` (baseline): the out-of-the-box scorer on the 1M comments already in a Python
  list: the cost of scoring alone, nothing read or written;
* ``read_only``: reading the 1M comments with their keys and MD5 out of DuckDB, nothing scored;
* ``enrich``: ``cxray.text.enrich_sentiment`` on a store with no scores: read, score, write the
  ``text_sentiment`` table;
* ``enrich_again``: the same once more: every text already scored, nothing to do;
* ``themes``: ``cxray.text.assign_store_themes``: the default taxonomy matched against every
  comment and stored in ``text_themes`` (the other half of ``cxray text enrich``);
* ``import_plain`` / ``import_enrich``: importing the 1M-row CSV into an empty store with
  ``[text] enrich_on_import`` off, and on without a row limit (it scores and matches every
  comment as part of the import); ``import_default``: with the default config, whose
  ``enrich_on_import_max_rows = 200000`` leaves this bulk load to ``cxray text enrich``;
  ``import_changed`` / ``import_changed_plain``: re-importing the file with 1% of the comments
  changed, with scoring on (it scores and matches exactly those) and off.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

ROOT = Path(__file__).resolve().parent.parent
REVIEWS = ROOT.parent / "shared" / "data" / "womens_clothing_reviews"
REVIEWS_CSV = REVIEWS / "Womens Clothing E-Commerce Reviews.csv"
ROWS_DEFAULT = 1_000_000
SEED = 7
#: this benchmark's own folder (other benchmarks keep cached worlds in DATA_DIR)
HERE = DATA_DIR / "text_enrich"


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def _paths(rows: int) -> dict[str, Path]:
    return {
        "csv": HERE / f"text_responses_{rows}.csv",
        "changed": HERE / f"text_responses_{rows}_changed.csv",
        "store": HERE / f"text_store_{rows}.duckdb",
        "off": HERE / "enrich_off.toml",
        "on": HERE / "enrich_on.toml",
        "default": HERE / "enrich_default.toml",
    }


def _sentences() -> list[str]:
    import csv

    out: list[str] = []
    with REVIEWS_CSV.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 3]
    return out


def build(rows: int) -> dict[str, Path]:
    """The CSV (and a 1%-changed copy) and a store holding it, without scores; made once."""
    import pandas as pd

    from cxray.workspace import Workspace

    p = _paths(rows)
    if p["store"].exists() and p["changed"].exists() and p["default"].exists():
        p["on"].write_text(
            "[text]\nenrich_on_import = true\nenrich_on_import_max_rows = 0\n", encoding="utf-8"
        )
        return p
    HERE.mkdir(parents=True, exist_ok=True)
    p["off"].write_text("[text]\nenrich_on_import = false\n", encoding="utf-8")
    p["on"].write_text(
        "[text]\nenrich_on_import = true\nenrich_on_import_max_rows = 0\n", encoding="utf-8"
    )
    p["default"].write_text("", encoding="utf-8")
    sentences = np.array(_sentences(), dtype=object)
    rng = np.random.default_rng(SEED)
    k = rng.integers(1, 4, size=rows)
    picks = rng.integers(0, len(sentences), size=(rows, 3))
    comments = [" ".join(sentences[picks[i, : k[i]]]) for i in range(rows)]
    start = np.datetime64("2025-01-01T00:00:00")
    frame = pd.DataFrame(
        {
            "response_id": [f"R{i:07d}" for i in range(rows)],
            "customer_id": [f"C{i % (rows // 3 + 1):07d}" for i in range(rows)],
            "submitted_at": (start + rng.integers(0, 365 * 86400, size=rows)).astype(str),
            "nps": rng.integers(0, 11, size=rows),
            "comment": comments,
        }
    )
    frame.to_csv(p["csv"], index=False)
    changed = rng.choice(rows, size=rows // 100, replace=False)
    frame.loc[changed, "comment"] = frame.loc[changed, "comment"] + " Update: it broke."
    frame.to_csv(p["changed"], index=False)
    with Workspace.open(p["store"], p["off"]) as ws:
        ws.import_files("responses", [p["csv"]])
    return p


def _fresh_store(tag: str) -> Path:
    p = _paths(_rows())
    copy = HERE / f"case_{tag}_{os.getpid()}.duckdb"
    shutil.copyfile(p["store"], copy)
    return copy


def _comments(db: Path) -> list[str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT comment FROM responses").fetchall()]
    finally:
        con.close()


def case_scorer_only() -> dict:
    from cxray.text import LexiconSentiment

    texts = _comments(_paths(_rows())["store"])
    model = LexiconSentiment()
    t0 = time.perf_counter()
    labels, _ = model.score_texts(texts)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "texts": len(texts), "negative": int((labels == "negative").sum())}


def case_read_only() -> dict:
    from cxray.store import Store
    from cxray.text._enrich import _batches, _pending

    db = _fresh_store("read")
    store = Store(db)
    try:
        from cxray.text._enrich import SENTIMENT_SCHEMA, SENTIMENT_TABLE

        store.backend.create_table(SENTIMENT_TABLE, schema=SENTIMENT_SCHEMA)
        t0 = time.perf_counter()
        n = 0
        for batch in _batches(
            _pending(store, "responses", "response_id", "comment", "lexicon-v1"), 50_000
        ):
            n += len(batch.column("text").to_pylist())
        seconds = time.perf_counter() - t0
    finally:
        store.close()
        db.unlink()
    return {"seconds": seconds, "texts": n}


def _enrich(twice: bool) -> dict:
    from cxray.store import Store
    from cxray.text import enrich_sentiment

    db = _fresh_store("enrich")
    store = Store(db)
    try:
        t0 = time.perf_counter()
        report = enrich_sentiment(store)
        seconds = time.perf_counter() - t0
        if twice:
            t0 = time.perf_counter()
            report = enrich_sentiment(store)
            seconds = time.perf_counter() - t0
    finally:
        store.close()
        db.unlink()
    return {"seconds": seconds, "scored": report.scored}


def case_themes() -> dict:
    from cxray.config import load_program_config
    from cxray.store import Store
    from cxray.text import assign_store_themes

    db = _fresh_store("themes")
    store = Store(db)
    try:
        t0 = time.perf_counter()
        got = assign_store_themes(store, load_program_config(_paths(_rows())["off"]))
        seconds = time.perf_counter() - t0
    finally:
        store.close()
        db.unlink()
    return {"seconds": seconds, **got["responses"]}


def case_enrich() -> dict:
    return _enrich(twice=False)


def case_enrich_again() -> dict:
    return _enrich(twice=True)


def _import(config: str, *, changed: bool = False) -> dict:
    from cxray.workspace import Workspace

    p = _paths(_rows())
    db = HERE / f"case_import_{os.getpid()}.duckdb"
    try:
        with Workspace.open(db, p[config]) as ws:
            if changed:
                ws.import_files("responses", [p["csv"]])
            t0 = time.perf_counter()
            report = ws.import_files("responses", [p["changed" if changed else "csv"]])
            seconds = time.perf_counter() - t0
    finally:
        db.unlink(missing_ok=True)
    sentiment = report.sentiment or {}
    r = report.result
    return {
        "seconds": seconds,
        "added": r.added,
        "updated": r.updated,
        "scored": sentiment.get("scored", 0),
        "left to enrich": "skipped" in sentiment,
    }


def case_import_plain() -> dict:
    return _import("off")


def case_import_enrich() -> dict:
    return _import("on")


def case_import_default() -> dict:
    return _import("default")


def case_import_changed() -> dict:
    return _import("on", changed=True)


def case_import_changed_plain() -> dict:
    return _import("off", changed=True)


CASES = {
    "scorer_only": case_scorer_only,
    "read_only": case_read_only,
    "enrich": case_enrich,
    "enrich_again": case_enrich_again,
    "themes": case_themes,
    "import_plain": case_import_plain,
    "import_enrich": case_import_enrich,
    "import_default": case_import_default,
    "import_changed": case_import_changed,
    "import_changed_plain": case_import_changed_plain,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--keep-data", action="store_true", help="keep the generated CSV and store")
    args = p.parse_args()
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    t0 = time.perf_counter()
    build(args.rows)
    print(f"built the data in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cases = [
        Case("scorer_only", "out-of-the-box scorer on the comments in a Python list"),
        Case("read_only", "read comments, keys and MD5 out of DuckDB; nothing scored"),
        Case("enrich", "`enrich_sentiment`: read, score, write text_sentiment"),
        Case("enrich_again", "the same again: everything scored already"),
        Case("themes", "`assign_store_themes`: match the taxonomy, write text_themes"),
        Case("import_plain", "import the CSV, [text] enrich_on_import = false"),
        Case("import_enrich", "the same, enrich_on_import, no row limit (scores, matches all)"),
        Case("import_default", "the same, default config: over the 200,000-row limit, left"),
        Case("import_changed", "re-import, 1% of comments changed (scores, matches those)"),
        Case("import_changed_plain", "the same re-import, enrich_on_import = false"),
    ]
    rows = run_cases("benchmarks.text_enrich", cases, repeat=args.repeat)
    print(markdown(rows, f"Sentiment enrichment of {args.rows:,} comments"))
    print()
    for r in rows:
        print(f"- {r['case']}: {r['detail']}")
    if not args.keep_data:
        shutil.rmtree(HERE, ignore_errors=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
