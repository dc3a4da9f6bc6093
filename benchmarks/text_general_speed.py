"""Texts per second of the shipped general sentiment model, start-up included.

    python -m benchmarks.text_general_speed [--n 200000]

The texts are the women's clothing reviews (``../shared/data/womens_clothing_reviews``)
repeated to ``--n`` (200,000 by default), written one per line to a temporary file. A fresh
Python process then does what ``cxray text score`` does for a file: imports cxray, reads the
texts, loads the shipped model (``cxray/text/models/general-v2.npz``) and scores every
text. The figure is texts / wall-clock seconds of that whole process, best of three; the
same is measured for ``LexiconSentiment`` (the VADER-like scorer) for scale, since the
machine is shared and its absolute speed varies. Beside wall-clock time, the CPU time
(user + system) of the process is reported: on a busy shared machine it is the better
estimate of what an idle one would do.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.text_sentiment import REVIEWS, load_reviews

_CHILD = """
import sys, time
t0 = time.perf_counter()
from cxray.text import {cls}
texts = open(sys.argv[1], encoding="utf-8").read().split("\\n")
labels, scores = {cls}().score_texts(texts)
print(len(texts), time.perf_counter() - t0)
"""


def run(cls: str, path: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one scoring process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _CHILD.format(cls=cls), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if not REVIEWS.exists():
        sys.exit(f"data not found: {REVIEWS}")
    texts, _ = load_reviews()
    texts = [" ".join(t.split()) for t in texts]  # one text per line
    big = (texts * (args.n // len(texts) + 1))[: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.txt"
        path.write_text("\n".join(big), encoding="utf-8")
        print(
            f"{args.n:,} clothing-review texts; process start to last score, best of "
            f"{args.repeat}\n"
        )
        print("| scorer | wall s | texts/s (wall) | CPU s | texts per CPU-second |")
        print("|---|---:|---:|---:|---:|")
        for cls in ("GeneralSentiment", "LexiconSentiment"):
            runs = [run(cls, path) for _ in range(args.repeat)]
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            print(
                f"| {cls} | {wall:.1f} | {args.n / wall:,.0f} | {cpu:.1f} | {args.n / cpu:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
