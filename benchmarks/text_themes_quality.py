"""Do discovered themes follow annotated reasons, and does the taxonomy spread its matches?

    python -m benchmarks.text_themes_quality [--json out.json] [--sample 6000]

Data (``../shared/data``; each part is skipped when its files are absent):

* **BANKING77** ``banking77/test.csv``: 3,080 support questions, 77 annotated intents (the
  intent stands for the reason of the contact); 10 and 20 discovered themes;
* **clothing reviews**: ``Department Name`` (6) and ``Class Name`` (about 20) of the
  reviews with text (a seeded sample of ``--sample``), 8 themes;
* **Olist** (Portuguese): ``most_voted_subclass`` (9 annotated reasons: late, early,
  partial delivery, not as advertised, ...), 8 themes;
* **British Airways** reviews (``sentiment_train/british_airways_reviews``): taxonomy only.

Per discovery: normalized mutual information (NMI) and adjusted Rand index (ARI) of each
text's theme against the annotation (texts with a theme and an annotation), and the share of
theme labels that name an entity or a stop word: a label word that is a stop word of the
corpus's language, an @handle, a URL, a number, or a word written with a capital
mid-sentence in most of its occurrences in the corpus (a name). Per taxonomy (the built-in
default): the unmatched share and the largest theme's share of texts.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
BANKING = DATA / "banking77" / "test.csv"
CLOTHING = DATA / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"
OLIST = DATA / "olist" / "olist_classified_public_dataset.csv"
AIRWAYS = DATA / "sentiment_train" / "british_airways_reviews" / "BA_AirlineReviews.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def banking() -> tuple[list[str], list[str]]:
    rows = _rows(BANKING)
    return [r["text"] for r in rows], [r["category"] for r in rows]


def clothing(sample: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    import numpy as np

    rows = [r for r in _rows(CLOTHING) if (r.get("Review Text") or "").strip()]
    if sample and len(rows) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), sample, replace=False))
        rows = [rows[i] for i in pick]
    return (
        [r["Review Text"] for r in rows],
        [r.get("Department Name") or "" for r in rows],
        [r.get("Class Name") or "" for r in rows],
    )


def olist() -> tuple[list[str], list[str]]:
    rows = [r for r in _rows(OLIST) if (r.get("review_comment_message") or "").strip()]
    return [r["review_comment_message"] for r in rows], [
        r.get("most_voted_subclass") or "" for r in rows
    ]


def airways() -> list[str]:
    return [r["ReviewBody"] for r in _rows(AIRWAYS) if (r.get("ReviewBody") or "").strip()]


def agreement(themes: list[tuple[str, ...]], truth: list[str]) -> tuple[float, float, int]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    keep = [i for i, (a, t) in enumerate(zip(themes, truth, strict=True)) if a and t]
    pred = [themes[i][0] for i in keep]
    true = [truth[i] for i in keep]
    return normalized_mutual_info_score(true, pred), adjusted_rand_score(true, pred), len(keep)


def _stop_words(code: str) -> frozenset[str]:
    try:
        from cxray.text._language import stopwords

        got = stopwords(code)
        if got:
            return frozenset(got)
    except ImportError:
        pass
    if code == "en":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS)
    from stop_words import get_stop_words

    return frozenset(get_stop_words(code))


def capitalised_mid_sentence(texts: list[str]) -> frozenset[str]:
    """Words (lower-cased) written with a capital mid-sentence in most of their occurrences."""
    cap: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for t in texts:
        for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b([^\W\d_][\w'-]*)", t.strip()):
            w = m.group(1)
            if m.start() == 0:
                continue
            seen[w.lower()] += 1
            if w[0].isupper() and not w.isupper():
                cap[w.lower()] += 1
    return frozenset(w for w, n in seen.items() if n >= 3 and cap[w] > 0.5 * n)


def bad_label(label: str, stops: frozenset[str], names: frozenset[str]) -> bool:
    for w in re.split(r"[\s/]+", label.lower()):
        if not w:
            continue
        if (
            w in stops
            or w.startswith("@")
            or "http" in w
            or "www" in w
            or any(c.isdigit() for c in w)
            or w in names
        ):
            return True
    return False


def discovery(
    name: str,
    texts: list[str],
    truths: dict[str, list[str]],
    n_themes: int,
    lang: str,
) -> dict[str, Any]:
    from cxray.text import discover_themes

    t0 = time.perf_counter()
    found, assigned = discover_themes(texts, n_themes=n_themes, random_state=0)
    seconds = time.perf_counter() - t0
    stops, names = _stop_words(lang), capitalised_mid_sentence(texts)
    bad = [t.label for t in found if bad_label(t.label, stops, names)]
    out: dict[str, Any] = {
        "set": name,
        "themes": n_themes,
        "found": len(found),
        "seconds": round(seconds, 1),
        "labels": [t.label for t in found],
        "bad_labels": bad,
        "bad_share": round(len(bad) / max(len(found), 1), 3),
    }
    for key, truth in truths.items():
        nmi, ari, n = agreement(assigned, truth)
        out[f"nmi_{key}"] = round(nmi, 3)
        out[f"ari_{key}"] = round(ari, 3)
        out[f"n_{key}"] = n
    return out


def taxonomy(name: str, texts: list[str]) -> dict[str, Any]:
    import numpy as np

    from cxray.config import ProgramConfig
    from cxray.text import Taxonomy

    tx = Taxonomy.from_config(ProgramConfig())
    assigned = tx.assign(texts)
    n = len(texts)
    m = np.array([[tid in a for tid in tx.ids] for a in assigned], dtype=bool)
    rates = m.mean(axis=0)
    top = int(rates.argmax())
    return {
        "set": name,
        "texts": n,
        "unmatched": round(float((~m.any(axis=1)).mean()), 3),
        "largest": tx.ids[top],
        "largest_rate": round(float(rates[top]), 3),
        "over_40": [tx.ids[j] for j in np.flatnonzero(rates > 0.4)],
        "rates": {tid: round(float(r), 3) for tid, r in zip(tx.ids, rates, strict=True)},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sample", type=int, default=6000, help="clothing reviews (seeded sample)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"discovery": [], "taxonomy": []}
    if BANKING.exists():
        texts, intent = banking()
        for k in (10, 20):
            results["discovery"].append(discovery("BANKING77", texts, {"intent": intent}, k, "en"))
        results["taxonomy"].append(taxonomy("BANKING77", texts))
    if CLOTHING.exists():
        texts, dept, cls = clothing(args.sample)
        results["discovery"].append(
            discovery("clothing reviews", texts, {"department": dept, "class": cls}, 8, "en")
        )
        results["taxonomy"].append(taxonomy("clothing reviews", texts))
    if OLIST.exists():
        texts, reason = olist()
        results["discovery"].append(discovery("Olist (pt)", texts, {"reason": reason}, 8, "pt"))
    if AIRWAYS.exists():
        results["taxonomy"].append(taxonomy("British Airways reviews", airways()))

    print("### Discovered themes against annotated reasons\n")
    print("| set | themes | annotation | NMI | ARI | labels naming an entity or stop word |")
    print("|---|---:|---|---:|---:|---:|")
    for r in results["discovery"]:
        for key in [k[4:] for k in r if k.startswith("nmi_")]:
            print(
                f"| {r['set']} | {r['themes']} | {key} | {r[f'nmi_{key}']:.3f} | "
                f"{r[f'ari_{key}']:.3f} | {r['bad_share']:.0%} |"
            )
    for r in results["discovery"]:
        print(f"\n{r['set']} ({r['themes']}): " + "; ".join(r["labels"]))
    print("\n### Built-in taxonomy: match rates\n")
    print("| set | texts | unmatched | largest theme | its share | themes over 40 % |")
    print("|---|---:|---:|---|---:|---|")
    for r in results["taxonomy"]:
        print(
            f"| {r['set']} | {r['texts']:,} | {r['unmatched']:.1%} | {r['largest']} | "
            f"{r['largest_rate']:.1%} | {', '.join(r['over_40']) or 'none'} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
