"""Learning curves of the domain sentiment model: macro-F1 against the number of labelled texts.

    python -m benchmarks.text_learning_curve                       # every set, every size
    python -m benchmarks.text_learning_curve --sets ba,olist --sizes 1000,2000

Three labelled sets of ``../shared/data`` (next to the project root, never copied into it):

* ``clothing``: women's clothing e-commerce reviews (``Review Text``; ``Rating`` 1-2 negative,
  3 neutral, 4-5 positive);
* ``ba``: British Airways Skytrax reviews (``ReviewBody``; ``OverallRating`` 1-4 negative, 5-6
  neutral, 7-10 positive);
* ``olist``: Olist e-commerce reviews in Portuguese (``review_comment_message``;
  ``review_score`` 1-2 / 3 / 4-5): "the domain model works for any language it is trained on".

Per set, one test split is fixed (stratified, seed 42: 20 % of the set, at most 2,500 texts);
the training sets are nested seeded samples of the rest, of 1,000, 2,000, 5,000, 10,000 and
20,000 texts as far as the set goes. At each size three scorers are scored on the same test
texts:

* ``domain``: ``cxray.text.DomainSentiment`` (seeded);
* ``baseline``: a class-balanced TF-IDF logistic regression on word 1-2-grams and ``char_wb``
  2-5-grams (sublinear TF, every term kept, scikit-learn's defaults otherwise), fitted on the
  same training texts;
* ``out of the box``: cxray's default scorer (no training).

Every macro-F1 has a percentile-bootstrap 95 % interval (1,000 resamples of the test texts,
seed 42); ``domain - baseline`` is the paired bootstrap of the difference. Calibration of the
domain model's probabilities: Brier score and the expected calibration error (10 bins of the
top probability). Fit times and the domain model's scoring speed (texts/s of
``predict_proba`` on the test texts) are wall-clock on this (shared) machine; on a few
hundred texts they are dominated by fixed costs: ``python -m benchmarks.text_domain_speed``
measures the scoring speed on 100,000 texts.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SEED = 42
SIZES = (1_000, 2_000, 5_000, 10_000, 20_000)
MAX_TEST = 2_500


def _three(value: float, neg: float, neu: float) -> str:
    return "negative" if value <= neg else "neutral" if value <= neu else "positive"


def load_clothing() -> tuple[list[str], list[str]]:
    from benchmarks.text_sentiment import load_reviews

    return load_reviews()


def load_ba() -> tuple[list[str], list[str]]:
    path = DATA / "sentiment_train" / "british_airways_reviews" / "BA_AirlineReviews.csv"
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text, rating = (row.get("ReviewBody") or "").strip(), row.get("OverallRating") or ""
            if not text or not rating.strip():
                continue
            texts.append(text)
            labels.append(_three(float(rating), 4, 6))
    return texts, labels


def load_olist() -> tuple[list[str], list[str]]:
    path = DATA / "olist" / "olist_classified_public_dataset.csv"
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text, score = (row.get("review_comment_message") or "").strip(), row["review_score"]
            if not text or not score.strip():
                continue
            texts.append(text)
            labels.append(_three(float(score), 2, 3))
    return texts, labels


SETS: dict[str, Callable[[], tuple[list[str], list[str]]]] = {
    "clothing": load_clothing,
    "ba": load_ba,
    "olist": load_olist,
}


class Baseline:
    """Class-balanced TF-IDF (word 1-2 + char_wb 2-5) logistic regression."""

    def fit(self, texts: list[str], labels: list[str]) -> Baseline:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.w = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.c = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        x = hstack([self.w.fit_transform(texts), self.c.fit_transform(texts)]).tocsr()
        self.lr = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x, labels)
        self._hstack = hstack
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        x = self._hstack([self.w.transform(texts), self.c.transform(texts)]).tocsr()
        return self.lr.predict(x)


def out_of_the_box() -> tuple[object, str]:
    from cxray.text._enrich import DEFAULT_MODEL_ID, default_scorer

    return default_scorer(), DEFAULT_MODEL_ID


def ece(proba: np.ndarray, classes: np.ndarray, truth: list[str], bins: int = 10) -> float:
    conf = proba.max(axis=1)
    right = classes[proba.argmax(axis=1)] == np.asarray(truth, dtype=object)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return float(
        sum(
            abs(conf[which == b].mean() - right[which == b].mean()) * (which == b).mean()
            for b in range(bins)
            if (which == b).any()
        )
    )


def run_set(name: str, sizes: tuple[int, ...], scorer: object) -> list[dict]:
    from sklearn.model_selection import train_test_split

    from cxray.text import DomainSentiment
    from cxray.text._evaluate import (
        brier_score,
        f1_difference,
        macro_f1_estimate,
        per_class_f1,
    )

    texts, labels = SETS[name]()
    idx = np.arange(len(texts))
    test_size = min(0.2, MAX_TEST / len(texts))
    pool, test = train_test_split(
        idx, test_size=test_size, stratify=np.asarray(labels), random_state=SEED
    )
    order = np.random.default_rng(SEED).permutation(pool)
    x_te, y_te = [texts[i] for i in test], [labels[i] for i in test]
    p_box = np.asarray(scorer.predict(x_te), dtype=object)
    box = macro_f1_estimate(y_te, p_box, seed=SEED)
    rows = []
    for n in [s for s in sizes if s <= len(pool)]:
        tr = order[:n]
        x_tr, y_tr = [texts[i] for i in tr], [labels[i] for i in tr]
        t0 = time.perf_counter()
        dom = DomainSentiment(random_state=SEED).fit(x_tr, y_tr)
        t1 = time.perf_counter()
        base = Baseline().fit(x_tr, y_tr)
        t2 = time.perf_counter()
        t3 = time.perf_counter()
        proba = dom.predict_proba(x_te)
        t4 = time.perf_counter()
        p_dom = dom.classes_[proba.argmax(axis=1)]
        p_base = base.predict(x_te)
        row = {
            "set": name,
            "n_train": n,
            "n_test": len(test),
            "domain": macro_f1_estimate(y_te, p_dom, seed=SEED).to_dict(),
            "baseline": macro_f1_estimate(y_te, p_base, seed=SEED).to_dict(),
            "out_of_the_box": box.to_dict(),
            "domain_minus_baseline": f1_difference(y_te, p_dom, p_base, seed=SEED).to_dict(),
            "domain_per_class_f1": per_class_f1(y_te, p_dom),
            "baseline_per_class_f1": per_class_f1(y_te, p_base),
            "brier": brier_score(y_te, proba, dom.classes_),
            "ece": ece(proba, dom.classes_, y_te),
            "temperature": dom.temperature_,
            "languages": list(dom.languages_),
            "fit_s_domain": round(t1 - t0, 1),
            "fit_s_baseline": round(t2 - t1, 1),
            "domain_texts_per_s": round(len(x_te) / (t4 - t3)),
        }
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def gate_chance(n: int, runs: int) -> int:
    """How often the gate activates a model learned from shuffled labels: ``runs`` samples
    of ``n`` clothing reviews (seeds 0, 1, ...), their labels permuted, each candidate
    compared with the out-of-the-box scorer as ``cxray text train`` does."""
    from cxray.text import evaluate_sentiment

    texts, labels = load_clothing()
    scorer, _ = out_of_the_box()
    wins = 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(texts), size=n, replace=False)
        shuffled = list(rng.permutation([labels[i] for i in idx]))
        ev = evaluate_sentiment([texts[i] for i in idx], shuffled, default=scorer)
        wins += ev.beats_baseline
        d = ev.difference
        print(f"seed {seed}: difference {d.estimate:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]")
    print(f"activated {wins} of {runs} models learned from shuffled labels ({n} texts each)")
    return wins


def _ci(e: dict) -> str:
    return f"{e['estimate']:.3f} [{e['ci_low']:.3f}, {e['ci_high']:.3f}]"


HEADER = (
    "| set | train | test | domain | baseline (TF-IDF LR) | out of the box | domain - baseline "
    "| neutral F1 domain / baseline | Brier | ECE | languages | texts/s |\n"
    "| --- | ---: | ---: | --- | --- | --- | --- | --- | ---: | ---: | --- | ---: |"
)


def _line(r: dict) -> str:
    d = r["domain_minus_baseline"]
    diff = f"{d['estimate']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
    neu = f"{r['domain_per_class_f1']['neutral']:.2f} / {r['baseline_per_class_f1']['neutral']:.2f}"
    return (
        f"| {r['set']} | {r['n_train']:,} | {r['n_test']:,} | {_ci(r['domain'])} | "
        f"{_ci(r['baseline'])} | {_ci(r['out_of_the_box'])} | {diff} | {neu} | "
        f"{r['brier']:.3f} | {r['ece']:.3f} | {', '.join(r['languages'])} | "
        f"{r['domain_texts_per_s']:,} |"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="training sizes")
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    ap.add_argument(
        "--gate-chance",
        type=int,
        metavar="N",
        help="instead: how often the gate activates a model of N texts with shuffled labels",
    )
    args = ap.parse_args(argv)
    if args.gate_chance:
        gate_chance(args.gate_chance, 20)
        return 0
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    bad = [s for s in names if s not in SETS]
    if bad:
        ap.error(f"unknown set(s) {', '.join(bad)}; choose from {', '.join(SETS)}")
    missing = [s for s in names if not (DATA).is_dir()]
    if missing:
        print(f"no data at {DATA}; nothing measured", file=sys.stderr)
        return 1
    sizes = tuple(int(s) for s in args.sizes.split(","))
    scorer, scorer_id = out_of_the_box()
    print(f"out of the box: {scorer_id}; intervals: 95 % percentile bootstrap, seed {SEED}")
    print(HEADER, flush=True)
    rows = []
    for name in names:
        rows += run_set(name, sizes, scorer)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
