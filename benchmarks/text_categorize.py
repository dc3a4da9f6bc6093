"""Case categorization on BANKING77: test accuracy of ``cxray.text.CaseCategorizer``.

    python -m benchmarks.text_categorize

Data: ``../shared/data/banking77/{train,test}.csv`` (next to the project root; not copied). The
model learns from train.csv only (10,003 queries, 77 intents) and is scored on test.csv (3,080
queries, 40 per intent).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "banking77"


def load(name: str) -> tuple[list[str], list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def main() -> None:
    from cxray.text import CaseCategorizer

    if not (DATA / "train.csv").exists():
        sys.exit(f"data not found: {DATA}")
    x_tr, y_tr = load("train.csv")
    x_te, y_te = load("test.csv")
    t0 = time.perf_counter()
    model = CaseCategorizer(random_state=0).fit(x_tr, y_tr)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    acc = model.score(x_te, y_te)
    rate = len(x_te) / (time.perf_counter() - t0)
    print("| data | train | test | classes | test accuracy | fit s | texts/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| BANKING77 | {len(x_tr):,} | {len(x_te):,} | {len(set(y_tr))} | {acc:.3f} "
        f"| {fit_s:.1f} | {rate:,.0f} |"
    )
    print(f"\ngoal: accuracy >= 0.88 ({'met' if acc >= 0.88 else 'NOT met'})")


if __name__ == "__main__":
    main()
