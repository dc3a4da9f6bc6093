"""Do discovered themes follow annotated reasons, and does the taxonomy spread its matches?

    python -m benchmarks.text_themes_quality [--json out.json] [--sample 6000]
        [--baseline old_discover.py] [--embeddings] [--only-banking]

Data (``../shared/data``; each part is skipped when its files are absent):

* **BANKING77** ``banking77/test.csv``: 3,080 support questions, 77 annotated intents (the
  intent stands for the reason of the contact); 10 and 20 discovered themes;
* **BANKING77 social posts**: the same texts and intents made into short social-style posts
  to a company (:func:`social_posts`: handles of the company at the start of 90 % of them,
  other handles, links, hashtags, reference numbers, place names, retweets of 5 posts; the
  rates are stated there), built anew for each seed, a stand-in for the social posts with
  annotated complaint reasons that cxray does not have; 10 and 20 themes. ``--baseline
  FILE`` measures another ``discover_themes`` next to today's on both (the discovery before
  the rebuild: ``git show 516699e:src/cxray/text/_discover.py > /tmp/old_discover.py``);
  ``--embeddings`` also embedding discovery (``cxray[text]``);
* **clothing reviews**: ``Department Name`` (6) and ``Class Name`` (about 20) of the
  reviews with text (a seeded sample of ``--sample``), 8 themes;
* **Olist** (Portuguese): ``most_voted_subclass`` (9 annotated reasons: late, early,
  partial delivery, not as advertised, ...), 8 themes;
* **British Airways** reviews (``sentiment_train/british_airways_reviews``): taxonomy match
  rates, and **aspect sentiment** against the reviews' own 1-5 sub-ratings: for the reviews
  with a theme and its sub-rating (food ↔ Food&Beverages, comfort ↔ SeatComfort, staff ↔
  CabinStaffService, price_billing ↔ ValueForMoney), Spearman's correlation of the rating
  with the whole-text score and with the theme's aspect score (clauses about the theme),
  both from the out-of-the-box scorer, with a bootstrap interval of the difference.

Per discovery, the mean over seeds 0, 1 and 2 (NMF's start depends on the seed; single runs
vary by a few hundredths): normalized mutual information (NMI) and adjusted Rand index (ARI)
of each text's theme against the annotation (texts with a theme and an annotation), and the
share of theme labels that name an entity or a stop word: a part of the label (between
" / ") made only of stop words of the corpus's language, or a label word that is an
@handle, a URL, a number, or written with a capital mid-sentence in most of its
occurrences in the corpus (a name). Per taxonomy (the built-in
default): the unmatched share and the largest theme's share of texts.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
BANKING = DATA / "banking77" / "test.csv"
CLOTHING = DATA / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"
OLIST = DATA / "olist" / "olist_classified_public_dataset.csv"
SEEDS = (0, 1, 2)
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


#: the company of the social-style posts: a brand that is also an English word, with a main
#: handle, a support handle and two regional ones (first handle of a post, drawn with these
#: probabilities)
BRAND = "Harbor"
BRAND_HANDLES = (("@harbor", 0.55), ("@HarborHelp", 0.2), ("@AskHarbor", 0.15), ("@HarborUK", 0.1))
OTHER_HANDLES = tuple(
    f"@{h}"
    for h in (
        "jess_m", "moneysavingtom", "dan_k", "SarahB", "finance_daily", "mike1987", "lucyloo",
        "consumerwatch", "ravi_p", "BBCWatchdog", "annaj", "techcrunchfan", "paulw", "nina_r",
        "theboss", "kate_m", "ombudsman_help", "liamg", "chloe_x", "ukmoneynews",
    )
)  # fmt: skip
HASHTAGS = (
    "#fail", "#banking", "#customerservice", "#help", "#harborbank", "#mondaymotivation",
    "#annoyed", "#fintech", "#worstbank", "#frustrated",
)  # fmt: skip
PLACES = (
    "Leeds", "Bristol", "Manchester", "Glasgow", "Cardiff", "Denver", "Dublin", "Madrid",
    "Lisbon", "Berlin", "Austin", "Toronto", "Sydney", "Brighton", "Oxford", "Boston",
    "Chicago", "Paris", "Lagos", "Mumbai",
)  # fmt: skip
PLACE_FORMS = ("in {}", "at the {} branch", "here in {}", "from {}", "on holiday in {}")
NUMBER_FORMS = ("ref {}", "case #{}", "order {}", "account ending {}", "ticket no. {}")
COURTESY = ("thanks!", "pls help!!", "thx", "cheers", "anyone?", "so annoying")
BRAND_FORMS = ("come on {}", "{} app", "{} pls", "shame on you {}", "{} support")
#: each transformation's rate (per post, independent): see :func:`social_posts`
SOCIAL_RATES = {
    "brand_handle": 0.90,
    "other_handle": 0.15,
    "url": 0.15,
    "hashtag": 0.20,
    "number": 0.15,
    "place": 0.15,
    "brand_word": 0.10,
    "courtesy": 0.15,
    "retweet": 0.05,
}


def social_posts(
    texts: list[str], reasons: list[str], *, seed: int = 0, memes: int = 5
) -> tuple[list[str], list[str]]:
    """Short social-style posts to a company, with the annotated reason of each text kept.

    A stand-in for the set of the issue (short social posts to a service company with
    annotated complaint reasons; not available to cxray): each text, independently with
    the rates of :data:`SOCIAL_RATES`, gets

    * a handle of the company at its start (90 %): ``@harbor`` (a brand that is also an
      English word), ``@HarborHelp``, ``@AskHarbor`` or ``@HarborUK`` (55/20/15/10 %);
    * another handle (15 %, one of 20 users or accounts), at its start or end;
    * a link ``https://t.co/`` + 10 random letters (15 %);
    * one or two hashtags (20 %, of 10: ``#fail``, ``#banking``...);
    * a case, order or reference number (15 %, "ref 4839201", "account ending 4421");
    * a place name (15 %, one of 20 cities: "at the Leeds branch", "here in Denver");
    * the brand as a word (10 %: "come on Harbor", "Harbor app");
    * a courtesy or exclamation (15 %: "thanks!", "pls help!!");

    then 5 % of the posts are replaced by retweets ``RT @user: <post>`` of one of ``memes``
    (5) posts drawn from the others, which keep the reason of the retweeted post. Seeded
    (``numpy.random.default_rng(seed)``); returns the posts and their reasons.
    """
    import numpy as np

    if len(texts) != len(reasons):
        raise ValueError(f"{len(texts)} texts but {len(reasons)} reasons")
    rng = np.random.default_rng(seed)
    r = SOCIAL_RATES
    handles = [h for h, _ in BRAND_HANDLES]
    p_handle = [p for _, p in BRAND_HANDLES]

    def pick(seq: tuple[str, ...] | list[str]) -> str:
        return seq[int(rng.integers(len(seq)))]

    posts = []
    for text in texts:
        head: list[str] = []
        tail: list[str] = []
        body = text.strip()
        if rng.random() < r["brand_handle"]:
            head.append(handles[int(rng.choice(len(handles), p=p_handle))])
        if rng.random() < r["other_handle"]:
            (head if rng.random() < 0.5 else tail).append(pick(OTHER_HANDLES))
        if rng.random() < r["place"]:
            tail.append(pick(PLACE_FORMS).format(pick(PLACES)))
        if rng.random() < r["number"]:
            tail.append(pick(NUMBER_FORMS).format(int(rng.integers(1_000, 10_000_000))))
        if rng.random() < r["brand_word"]:
            tail.append(pick(BRAND_FORMS).format(BRAND))
        if rng.random() < r["courtesy"]:
            tail.append(pick(COURTESY))
        if rng.random() < r["hashtag"]:
            tail += [pick(HASHTAGS) for _ in range(1 + int(rng.random() < 0.3))]
        if rng.random() < r["url"]:
            letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
            tail.append("https://t.co/" + "".join(pick(letters) for _ in range(10)))
        posts.append(" ".join([*head, body, *tail]))
    reasons = list(reasons)
    chosen = rng.choice(len(posts), size=memes, replace=False)
    for i in range(len(posts)):
        if i not in chosen and rng.random() < r["retweet"]:
            m = int(pick(list(chosen)))
            posts[i] = f"RT {pick(OTHER_HANDLES)}: {posts[m]}"
            reasons[i] = reasons[m]
    return posts, reasons


def _number(value: str | None) -> float:
    try:
        return float(value or "nan")
    except ValueError:  # "N/A"
        return float("nan")


SUB_RATINGS = {
    "food": "Food&Beverages",
    "comfort": "SeatComfort",
    "staff": "CabinStaffService",
    "price_billing": "ValueForMoney",
}


def aspects_vs_ratings() -> list[dict[str, Any]]:
    """Spearman of each sub-rating with the whole-text and the aspect score (see above)."""
    import numpy as np
    from scipy.stats import spearmanr

    from cxray.config import ProgramConfig
    from cxray.text import LexiconSentiment, Taxonomy
    from cxray.text._aspects import text_aspect_scores

    rows = [r for r in _rows(AIRWAYS) if (r.get("ReviewBody") or "").strip()]
    texts = [r["ReviewBody"] for r in rows]
    tx = Taxonomy.from_config(ProgramConfig())
    scorer = LexiconSentiment()
    whole = np.asarray(scorer.score_texts(texts)[1], dtype=float)
    has = tx.matrix(texts)
    aspect, _ = text_aspect_scores(texts, has, tx, scorer, whole_score=whole)
    rng = np.random.default_rng(0)
    out = []
    for theme, column in SUB_RATINGS.items():
        j = tx.ids.index(theme)
        rating = np.array([_number(r.get(column)) for r in rows])
        keep = np.flatnonzero(has[:, j] & np.isfinite(rating))
        y, a, w = rating[keep], aspect[keep, j], whole[keep]
        rho_w, rho_a = spearmanr(y, w)[0], spearmanr(y, a)[0]
        diffs = []
        for _ in range(300):
            b = rng.integers(0, keep.size, keep.size)
            diffs.append(spearmanr(y[b], a[b])[0] - spearmanr(y[b], w[b])[0])
        lo, hi = np.quantile(diffs, [0.025, 0.975])
        out.append(
            {
                "theme": theme,
                "rating": column,
                "n": int(keep.size),
                "rho_whole": round(float(rho_w), 3),
                "rho_aspect": round(float(rho_a), 3),
                "gain": round(float(rho_a - rho_w), 3),
                "gain_interval": [round(float(lo), 3), round(float(hi), 3)],
            }
        )
    return out


def agreement(themes: list[tuple[str, ...]], truth: list[str]) -> tuple[float, float, int]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    keep = [i for i, (a, t) in enumerate(zip(themes, truth, strict=True)) if a and t]
    pred = [themes[i][0] for i in keep]
    true = [truth[i] for i in keep]
    return normalized_mutual_info_score(true, pred), adjusted_rand_score(true, pred), len(keep)


def _stop_words(code: str) -> frozenset[str]:
    """The same list before and after: scikit-learn's for English, stopwords-iso's else."""
    if code == "en":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS)
    import stopwordsiso

    return frozenset(w.lower() for w in stopwordsiso.stopwords(code))


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
    """A part of the label (between " / ") made of stop words only, or any word an entity."""
    for part in label.lower().split(" / "):
        words = [w for w in re.split(r"\s+", part) if w]
        if words and all(w in stops for w in words):
            return True
        for w in words:
            if (
                w.startswith("@")
                or "http" in w
                or "www" in w
                or any(c.isdigit() for c in w)
                or w in names
            ):
                return True
    return False


def discovery(
    name: str,
    texts: list[str] | Callable[[int], tuple[list[str], list[str]]],
    truths: dict[str, list[str]],
    n_themes: int,
    lang: str,
    *,
    discover: Callable[..., Any] | None = None,
    method: str = "NMF",
) -> dict[str, Any]:
    """NMI/ARI of one discovery over :data:`SEEDS`; ``texts`` may be a function of the seed
    giving ``(texts, reasons)`` (the social-style posts, built anew per seed)."""
    import numpy as np

    if discover is None:
        from cxray.text import discover_themes as discover

    seconds, labels, bad, scores = [], [], [], {}
    for seed in SEEDS:
        if callable(texts):
            these, reasons = texts(seed)
            truth_now = {key: reasons for key in truths}
        else:
            these, truth_now = texts, truths
        stops, names = _stop_words(lang), capitalised_mid_sentence(these)
        t0 = time.perf_counter()
        found, assigned = discover(these, n_themes=n_themes, random_state=seed)
        seconds.append(time.perf_counter() - t0)
        if seed == SEEDS[0]:
            labels = [t.label for t in found]
        bad += [bad_label(t.label, stops, names) for t in found]
        for key, truth in truth_now.items():
            scores.setdefault(key, []).append(agreement(assigned, truth))
    out: dict[str, Any] = {
        "set": name,
        "method": method,
        "themes": n_themes,
        "found": len(labels),
        "seconds": round(float(np.mean(seconds)), 1),
        "labels": labels,
        "bad_labels": [x for x, b in zip(labels, bad, strict=False) if b],
        "bad_share": round(float(np.mean(bad)), 3),
    }
    for key, got in scores.items():
        out[f"nmi_{key}"] = round(float(np.mean([g[0] for g in got])), 3)
        out[f"nmi_{key}_range"] = [
            round(min(g[0] for g in got), 3),
            round(max(g[0] for g in got), 3),
        ]
        out[f"ari_{key}"] = round(float(np.mean([g[1] for g in got])), 3)
        out[f"n_{key}"] = got[0][2]
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
    p.add_argument(
        "--baseline",
        type=Path,
        help="a Python file with another discover_themes (an older cxray's _discover.py) to "
        "measure on BANKING77 and the social-style posts next to today's",
    )
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="also measure embedding discovery (needs cxray[text]) on BANKING77 and the posts",
    )
    p.add_argument("--only-banking", action="store_true", help="BANKING77 and the posts only")
    args = p.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"discovery": [], "taxonomy": [], "aspects": []}
    methods: list[tuple[str, Callable[..., Any] | None]] = [("NMF", None)]
    if args.baseline:
        methods.insert(0, (f"baseline {args.baseline.name}", _load_discover(args.baseline)))
    if args.embeddings:
        from cxray.text import discover_embedded_themes

        methods.append(("embeddings", discover_embedded_themes))
    if BANKING.exists():
        texts, intent = banking()

        def posts(seed: int) -> tuple[list[str], list[str]]:
            return social_posts(texts, intent, seed=seed)

        for k in (10, 20):
            for method, fn in methods:
                for name, data in (("BANKING77", texts), ("BANKING77 social posts", posts)):
                    results["discovery"].append(
                        discovery(
                            name, data, {"intent": intent}, k, "en", discover=fn, method=method
                        )
                    )
        results["taxonomy"].append(taxonomy("BANKING77", texts))
    if args.only_banking:
        _print(results)
        return
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
        with contextlib.suppress(ImportError):  # a cxray without aspect sentiment
            results["aspects"] = aspects_vs_ratings()

    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


def _load_discover(path: Path) -> Callable[..., Any]:
    """``discover_themes`` of a Python file (an older cxray's ``_discover.py``)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("baseline_discover", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_discover"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.discover_themes


def _print(results: dict[str, list[dict[str, Any]]]) -> None:
    print("### Discovered themes against annotated reasons\n")
    print(
        "| set | method | themes | annotation | NMI mean (seeds 0-2, min-max) | ARI "
        "| entity or stop-word labels |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for r in results["discovery"]:
        for key in [k[4:] for k in r if k.startswith("nmi_") and not k.endswith("_range")]:
            print(
                f"| {r['set']} | {r['method']} | {r['themes']} | {key} | {r[f'nmi_{key}']:.3f} "
                f"({r[f'nmi_{key}_range'][0]:.3f}-{r[f'nmi_{key}_range'][1]:.3f}) | "
                f"{r[f'ari_{key}']:.3f} | {r['bad_share']:.0%} |"
            )
    for r in results["discovery"]:
        print(f"\n{r['set']}, {r['method']} ({r['themes']}): " + "; ".join(r["labels"]))
    print("\n### Built-in taxonomy: match rates\n")
    print("| set | texts | unmatched | largest theme | its share | themes over 40 % |")
    print("|---|---:|---:|---|---:|---|")
    for r in results["taxonomy"]:
        print(
            f"| {r['set']} | {r['texts']:,} | {r['unmatched']:.1%} | {r['largest']} | "
            f"{r['largest_rate']:.1%} | {', '.join(r['over_40']) or 'none'} |"
        )
    if results["aspects"]:
        print("\n### Aspect sentiment against British Airways sub-ratings (Spearman)\n")
        print("| theme | sub-rating | reviews | whole text | aspect | gain (95 % bootstrap) |")
        print("|---|---|---:|---:|---:|---:|")
        for r in results["aspects"]:
            lo, hi = r["gain_interval"]
            print(
                f"| {r['theme']} | {r['rating']} | {r['n']:,} | {r['rho_whole']:.3f} | "
                f"{r['rho_aspect']:.3f} | {r['gain']:+.3f} ({lo:+.3f} to {hi:+.3f}) |"
            )


if __name__ == "__main__":
    main()
