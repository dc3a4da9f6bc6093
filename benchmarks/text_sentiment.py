"""Sentiment on real reviews: macro-F1 of VADER, cxray's default scorer and its domain model,
and texts per second of the default path and of the domain model.

    python -m benchmarks.text_sentiment

Data: ``../shared/data/womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv`` (next to
the project root; not copied into the repo). Texts are ``Review Text`` (rows without one are
dropped); labels come from ``Rating``: 1-2 negative, 3 neutral, 4-5 positive. The split is fixed:
80/20, stratified by label, seed 42 (``cxray.text.holdout_split``). The domain model learns from
the 80% only; every figure is measured on the 20%. VADER runs as published, with its standard
thresholds (compound >= 0.05 positive, <= -0.05 negative).

Throughput is measured on 100,000 review texts (the data set repeated), best of three runs, in
this process; the machine is shared, so expect some noise.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "womens_clothing_reviews"
REVIEWS = DATA / "Womens Clothing E-Commerce Reviews.csv"
SEED = 42
TEST_SIZE = 0.2


def load_reviews(path: Path = REVIEWS) -> tuple[list[str], list[str]]:
    """Review texts and their 3-class labels from the star rating."""
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            if not text:
                continue
            rating = int(row["Rating"])
            texts.append(text)
            labels.append("negative" if rating <= 2 else "neutral" if rating == 3 else "positive")
    return texts, labels


def vader_labels(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    c = np.array([sia.polarity_scores(t)["compound"] for t in texts])
    return np.where(c >= 0.05, "positive", np.where(c <= -0.05, "negative", "neutral"))


def _rate(fn, texts: list[str], repeat: int = 3) -> float:
    best = min(_timed(fn, texts) for _ in range(repeat))
    return len(texts) / best


def _timed(fn, texts: list[str]) -> float:
    t0 = time.perf_counter()
    fn(texts)
    return time.perf_counter() - t0


def main() -> None:
    from sklearn.metrics import f1_score

    from cxray.text import LABELS, DomainSentiment, LexiconSentiment, holdout_split

    if not REVIEWS.exists():
        sys.exit(f"data not found: {REVIEWS}")
    texts, labels = load_reviews()
    tr, te = holdout_split(labels, test_size=TEST_SIZE, random_state=SEED)
    x_tr, y_tr = [texts[i] for i in tr], [labels[i] for i in tr]
    x_te, y_te = [texts[i] for i in te], [labels[i] for i in te]

    t0 = time.perf_counter()
    vader = vader_labels(x_te)
    vader_rate = len(x_te) / (time.perf_counter() - t0)
    default = LexiconSentiment()
    t0 = time.perf_counter()
    domain = DomainSentiment(random_state=SEED).fit(x_tr, y_tr)
    fit_s = time.perf_counter() - t0

    def f1(pred: np.ndarray) -> float:
        return float(f1_score(y_te, pred, average="macro", labels=LABELS))

    big = (texts * (100_000 // len(texts) + 1))[:100_000]
    rows = [
        ("VADER (vaderSentiment, standard thresholds)", f1(vader), vader_rate, len(x_te)),
        ("cxray default (LexiconSentiment)", f1(default.predict(x_te)), 0.0, len(big)),
        ("cxray domain model (DomainSentiment)", f1(domain.predict(x_te)), 0.0, len(big)),
    ]
    rows[1] = (*rows[1][:2], _rate(default.score_texts, big), len(big))
    rows[2] = (*rows[2][:2], _rate(domain.score_texts, big), len(big))
    print(
        f"Women's clothing reviews: {len(texts):,} texts; train {len(tr):,}, test {len(te):,} "
        f"(stratified, seed {SEED}); domain model fitted in {fit_s:.1f} s\n"
    )
    print("| scorer | macro-F1 (test) | texts/s | measured on |")
    print("|---|---:|---:|---:|")
    for name, score, rate, n in rows:
        print(f"| {name} | {score:.3f} | {rate:,.0f} | {n:,} texts |")
    gain = rows[2][1] - rows[0][1]
    print(f"\ndomain model - VADER: {gain:+.3f} macro-F1 (goal >= +0.10)")


if __name__ == "__main__":
    main()
