"""FAQ candidates on BANKING77: do the groups follow the annotated intents, and does the
knowledge-base check pick the right article?

    python -m benchmarks.text_faq

Data: ``../shared/data/banking77/{train,test}.csv`` (next to the project root; not copied):
10,003 + 3,080 customer questions to a bank, 77 annotated intents.

**Grouping** (train.csv, every query, as ``cxray text faq`` groups question texts): NMI and ARI
of the groups against the intents (texts in no group count as one more group), the share of
texts grouped, and the **purity** of the 20 largest groups (the share of each group's texts
in its most common intent, averaged). Seeds 0, 1, 2: the mean and the range.

**Coverage**: a knowledge base of one article per intent, the title the intent's name
("card arrival") and the text five of its questions from test.csv (never grouped), with a
seeded half of the intents left without an article. A candidate (group of at least 3
texts) is *really covered* when its most common intent has an article; the best article
is *right* when it is that intent's. Reported per threshold of similarity: precision and
recall of "covered", and how often the best article is the right one among the covered.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "banking77"
SEEDS = (0, 1, 2)
THRESHOLDS = (0.10, 0.15, 0.20, 0.25, 0.30, 0.35)


def load(name: str) -> tuple[list[str], list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def grouping(texts: list[str], intents: list[str], seed: int) -> dict[str, float]:
    """NMI, ARI, grouped share and top-20 purity of one seeded grouping."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from cxray.text._faq import group_questions

    t0 = time.perf_counter()
    g = group_questions(texts, random_state=seed)
    secs = time.perf_counter() - t0
    a = g.assigned
    y = np.asarray(intents, dtype=object)
    vol = np.bincount(a[a >= 0], minlength=len(g.ids))
    top = np.argsort(-vol, kind="stable")[:20]
    purity = []
    for j in top:
        _, counts = np.unique(y[a == j], return_counts=True)
        purity.append(counts.max() / vol[j])
    return {
        "groups": len(g.ids),
        "grouped": float((a >= 0).mean()),
        "nmi": normalized_mutual_info_score(y, a),
        "ari": adjusted_rand_score(y, a),
        "purity20": float(np.mean(purity)),
        "seconds": secs,
    }, g


def coverage(texts: list[str], intents: list[str], groups, seed: int = 0) -> list[dict]:
    """Precision / recall of 'covered' and right-article rate per threshold."""
    from cxray.text._faq import FILLER
    from cxray.text._kb import Article, match_articles
    from cxray.text._language import stopwords

    x_te, y_te = load("test.csv")
    names = sorted(set(intents))
    rng = np.random.default_rng(seed)
    kept = set(rng.choice(names, size=len(names) // 2, replace=False).tolist())
    articles = []
    for name in sorted(kept):
        qs = [x for x, y in zip(x_te, y_te, strict=True) if y == name][:5]
        articles.append(
            Article(name.replace("_", " "), f"https://help.example/{name}", " ".join(qs))
        )
    y = np.asarray(intents, dtype=object)
    members, truth = [], []
    for j in range(len(groups.ids)):
        rows = groups.nearest[j]
        if rows.size < 3:
            continue
        vals, counts = np.unique(y[rows], return_counts=True)
        truth.append(str(vals[counts.argmax()]))
        members.append([texts[i] for i in rows[:200]])
    cov = match_articles(members, articles, stop_words=stopwords("en") | FILLER)
    sims = np.array([c.similarity for c in cov])
    best = [c.article.url.rsplit("/", 1)[1] if c.article else "" for c in cov]
    really = np.array([t in kept for t in truth])
    right = np.array([b == t for b, t in zip(best, truth, strict=True)])
    out = []
    for th in THRESHOLDS:
        said = sims >= th
        tp = int((said & really).sum())
        out.append(
            {
                "threshold": th,
                "candidates": len(cov),
                "really_covered": int(really.sum()),
                "precision": tp / max(int(said.sum()), 1),
                "recall": tp / max(int(really.sum()), 1),
                "right_article": float(right[said & really].mean()) if tp else float("nan"),
            }
        )
    return out


def main() -> None:
    if not (DATA / "train.csv").exists():
        sys.exit(f"data not found: {DATA}")
    texts, intents = load("train.csv")
    runs = []
    first = None
    for seed in SEEDS:
        r, g = grouping(texts, intents, seed)
        runs.append(r)
        first = first or g
    print(f"BANKING77 train.csv: {len(texts):,} questions, {len(set(intents))} intents\n")
    print("| seed | groups | grouped | NMI | ARI | purity of top 20 | seconds |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for seed, r in zip(SEEDS, runs, strict=True):
        print(
            f"| {seed} | {r['groups']} | {r['grouped']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} "
            f"| {r['purity20']:.3f} | {r['seconds']:.1f} |"
        )
    for k in ("nmi", "ari", "purity20"):
        v = [r[k] for r in runs]
        print(f"{k}: mean {np.mean(v):.3f} (range {min(v):.3f}-{max(v):.3f})")
    print("\ncoverage (seed 0 groups; half the intents with an article):\n")
    print("| threshold | candidates | really covered | precision | recall | right article |")
    print("|---:|---:|---:|---:|---:|---:|")
    for c in coverage(texts, intents, first):
        print(
            f"| {c['threshold']:.2f} | {c['candidates']} | {c['really_covered']} "
            f"| {c['precision']:.3f} | {c['recall']:.3f} | {c['right_article']:.3f} |"
        )


if __name__ == "__main__":
    main()
