"""Sentiment on real reviews: macro-F1 of VADER, cxray's default scorer and its domain model,
and texts per second of the default path and of the domain model; and a cross-domain
(leave-one-domain-out) evaluation of the general model shipped in cxray.

    python -m benchmarks.text_sentiment
    python -m benchmarks.text_sentiment --cross-domain [--not-stated] [--max-test 4000]
        [--class-balance] [--min-groups 2]

Data: ``../shared/data/womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv`` (next to
the project root; not copied into the repo). Texts are ``Review Text`` (rows without one are
dropped); labels come from ``Rating``: 1-2 negative, 3 neutral, 4-5 positive. The split is fixed:
80/20, stratified by label, seed 42 (``cxray.text.holdout_split``). The domain model learns from
the 80% only; every figure is measured on the 20%. VADER runs as published, with its standard
thresholds (compound >= 0.05 positive, <= -0.05 negative).

Throughput is measured on 100,000 review texts (the data set repeated), best of three runs, in
this process; the machine is shared, so expect some noise.

**Cross-domain** (``--cross-domain``): every English set of ``../shared/data`` with sentiment
labels given by people is held out in turn (``cxray.text._train_general``: clothing reviews,
UCI Amazon and IMDb sentences, Alexa, ChatGPT-app and British Airways reviews, and the
Financial PhraseBank 66Agree sentences as a neutral-heavy factual proxy for social posts).
A :class:`~cxray.text.GeneralSentiment` is trained on the *other* allowed sets only (the
clearly licensed ones; with ``--not-stated`` also those whose license is not stated; the
PhraseBank is never trained on) and scored on the held-out one, beside VADER and
``LexiconSentiment``. Labels: stars 1-2 negative, 3 neutral, 4-5 positive; British Airways'
``OverallRating`` 1-4 negative, 5-6 neutral, 7-10 positive; the UCI sets are binary, so their
macro-F1 is over the two classes present. Each held-out set is at most ``--max-test`` texts
(a seeded sample). Every macro-F1 comes with a bootstrap 95% interval (1,000 resamples of the
test texts, seed 42), and so does the paired difference general - VADER. The general model's
two neutral rules are chosen inside each fold (``cxray.text._train_general.choose_rules``:
its training sets left out in turn), never on the held-out set; the last column shows them
(neutral-logit boost of a text without sentiment words, the probability below which a call
is neutral).
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


def macro_f1_boot(
    y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = SEED
) -> tuple[float, np.ndarray]:
    """Macro-F1 over the classes present in ``y``, and its value on each bootstrap resample."""
    f1, boot = _boot([pred], y, n_boot=n_boot, seed=seed)
    return f1[0], boot[0]


def _boot(preds: list[np.ndarray], y: np.ndarray, *, n_boot: int, seed: int):
    labels = ("negative", "neutral", "positive")
    code = {c: i for i, c in enumerate(labels)}
    yi = np.array([code[c] for c in y])
    present = np.unique(yi)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(yi), size=(n_boot, len(yi)))
    full, boots = [], []
    for pred in preds:
        pi = np.array([code[c] for c in pred])
        cell = yi * 3 + pi
        full.append(_macro(np.bincount(cell, minlength=9)[None, :], present)[0])
        rows = np.repeat(np.arange(n_boot), len(yi))
        counts = np.bincount(rows * 9 + cell[idx].ravel(), minlength=9 * n_boot)
        boots.append(_macro(counts.reshape(n_boot, 9), present))
    return np.array(full), np.array(boots)


def _macro(counts: np.ndarray, present: np.ndarray) -> np.ndarray:
    cm = counts.reshape(-1, 3, 3).astype(float)  # [resample, true, predicted]
    tp = cm[:, [0, 1, 2], [0, 1, 2]]
    prec_den = cm.sum(axis=1)
    rec_den = cm.sum(axis=2)
    f1 = np.where(prec_den + rec_den > 0, 2 * tp / np.maximum(prec_den + rec_den, 1), 0.0)
    return f1[:, present].mean(axis=1)


def cross_domain(
    *,
    not_stated: bool = False,
    max_test: int = 4000,
    data: Path | None = None,
    save_full: str | None = None,
    **params,
):
    """The leave-one-domain-out table: one row per held-out set."""
    from cxray.text import LexiconSentiment
    from cxray.text._train_general import (
        ALLOWED,
        EVAL_ONLY,
        EVALUATED,
        NOT_STATED,
        load_domains,
        train_general,
    )

    data = data or ROOT.parent / "shared" / "data"
    pool = ALLOWED + (NOT_STATED if not_stated else ())
    domains = load_domains(dict.fromkeys(EVALUATED + pool), data)
    rows, models = [], {}
    order = ("chatgpt", "british_airways", "alexa", "financial_phrasebank", "uci_amazon")
    for held in sorted(EVALUATED, key=lambda h: order.index(h) if h in order else 9):
        d = domains[held]
        train = {k: v for k, v in domains.items() if k in pool and k != held}
        key = tuple(sorted(train))
        t0 = time.perf_counter()
        if key not in models:  # folds with the same training sets share one model
            models[key] = train_general(train, random_state=0, **params)
        model = models[key]
        fit_s = time.perf_counter() - t0
        if save_full and held in EVAL_ONLY:  # trained on the whole pool: the shipped model
            model.save(save_full)
        rng = np.random.default_rng(SEED)
        take = np.sort(rng.permutation(len(d))[:max_test])
        x = [d.texts[i] for i in take]
        y = np.array([d.labels[i] for i in take], dtype=object)
        t0 = time.perf_counter()
        p_vader = vader_labels(x)
        r_vader = len(x) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        p_lex = LexiconSentiment().predict(x)
        r_lex = len(x) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        p_gen = model.predict(x)
        r_gen = len(x) / (time.perf_counter() - t0)
        f1, boot = _boot([p_vader, p_lex, p_gen], y, n_boot=1000, seed=SEED)
        diff = boot[2] - boot[0]
        rows.append(
            {
                "held_out": held,
                "n_test": len(x),
                "trained_on": sorted(train),
                "fit_s": fit_s,
                "scorers": {
                    name: {
                        "estimate": float(f1[i]),
                        "interval": [float(q) for q in np.quantile(boot[i], [0.025, 0.975])],
                        "texts_per_s": rate,
                    }
                    for i, (name, rate) in enumerate(
                        [("vader", r_vader), ("lexicon", r_lex), ("general", r_gen)]
                    )
                },
                "general_minus_vader": {
                    "estimate": float(f1[2] - f1[0]),
                    "interval": [float(q) for q in np.quantile(diff, [0.025, 0.975])],
                },
                "method": "macro-F1 over the classes present; bootstrap 95% (1,000 resamples)",
                "neutral_rules": {
                    k: model.header["params"].get(k) for k in ("neutral_boost", "min_confidence")
                },
            }
        )
        _print_row(rows[-1])
    return rows


def _print_row(r: dict) -> None:
    def cell(s: dict) -> str:
        lo, hi = s["interval"]
        return f"{s['estimate']:.3f} [{lo:.3f}, {hi:.3f}]"

    sc = r["scorers"]
    g = r["general_minus_vader"]
    print(
        f"| {r['held_out']} | {r['n_test']:,} | {cell(sc['vader'])} | {cell(sc['lexicon'])} "
        f"| {cell(sc['general'])} | {g['estimate']:+.3f} [{g['interval'][0]:+.3f}, "
        f"{g['interval'][1]:+.3f}] | +{r['neutral_rules']['neutral_boost']}, "
        f"{r['neutral_rules']['min_confidence']} |",
        flush=True,
    )


def main_cross_domain(argv: list[str]) -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("--cross-domain", action="store_true")
    ap.add_argument("--not-stated", action="store_true")
    ap.add_argument("--max-test", type=int, default=4000)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--save-full", help="save the model trained on every set of the pool here")
    ap.add_argument(
        "--class-balance",
        action="store_true",
        help="train with every class weighing the same in total (measured; not shipped)",
    )
    ap.add_argument(
        "--min-groups",
        type=int,
        default=1,
        help="learn a word only when 2+ texts of this many training sets have it (shipped: 1)",
    )
    args = ap.parse_args(argv)
    what = "clearly licensed + license not stated" if args.not_stated else "clearly licensed"
    print(f"Leave-one-domain-out; the general model is trained on the other {what} sets\n")
    print(
        "| held-out set | texts | VADER | LexiconSentiment | GeneralSentiment | general - VADER "
        "| neutral rules |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    rows = cross_domain(
        not_stated=args.not_stated,
        max_test=args.max_test,
        save_full=args.save_full,
        class_balance=args.class_balance,
        min_groups=args.min_groups,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


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
    from cxray.text import GeneralSentiment

    general = GeneralSentiment()
    rows.append(
        (
            "cxray general model (GeneralSentiment, shipped; its training saw these reviews)",
            f1(general.predict(x_te)),
            _rate(general.score_texts, big),
            len(big),
        )
    )
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
    if "--cross-domain" in sys.argv[1:]:
        main_cross_domain(sys.argv[1:])
    else:
        main()
