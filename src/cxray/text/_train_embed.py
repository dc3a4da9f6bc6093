"""Rebuild the shipped embedding sentiment head from public labelled feedback.

    python -m cxray.text._train_embed --data ../shared/data \\
        --out src/cxray/text/models/embed-v1.npz [--cache /tmp/cxray-embed-cache]

Needs ``cxray[text]`` (all-MiniLM-L6-v2). Trains on the same clearly licensed sets as the
general model (:data:`cxray.text._train_general.ALLOWED`: clothing reviews, UCI Amazon and
IMDb sentences, BANKING77 queries mapped to neutral / negative), read by the same loaders,
at most :data:`MAX_PER_SET` texts of each (a seeded sample; every set weighs the same in
the model anyway). Sets whose license is not stated and the Financial PhraseBank
(non-commercial) are never trained on. Seeded and deterministic: the same data and the
same embeddings give the same file.

Embedding ~10,000 texts takes minutes on a small CPU; ``--cache DIR`` keeps every text's
vector (keyed by the SHA-1 of the text as embedded) in ``DIR/<set>.npz`` so that a second
run, or the cross-domain benchmark, embeds nothing twice.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxray.exceptions import ModelError
from cxray.text._train_general import ALLOWED, EVAL_ONLY, LICENSES, Domain, load_domains

__all__ = [
    "MAX_PER_SET",
    "cached_embeddings",
    "choose_params",
    "main",
    "train_embed",
    "training_sample",
]

#: the most texts taken from one set (a seeded sample)
MAX_PER_SET = 3000


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached_embeddings(
    texts: Sequence[str], *, cache: str | Path | None = None, name: str = "texts", chunk: int = 256
) -> np.ndarray:
    """Embeddings of ``texts`` as :class:`~cxray.text.EmbeddingSentiment` embeds them
    (first words only), read from / added to ``cache/<name>.npz`` when ``cache`` is given."""
    from cxray.text._embed_sentiment import embed_for_sentiment, sentiment_input

    prepared = [sentiment_input(t) for t in texts]
    if cache is None:
        return embed_for_sentiment(prepared, prepared_=True)
    path = Path(cache) / f"{name}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            known = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    keys = [_key(t) for t in prepared]
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    by_key = dict(zip(keys, prepared, strict=True))
    for i in range(0, len(missing), chunk):
        part = missing[i : i + chunk]
        vec = embed_for_sentiment([by_key[k] for k in part], prepared_=True)
        known.update(zip(part, vec, strict=True))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.vstack(list(known.values())))
        tmp.replace(path)
        print(f"  {name}: embedded {min(i + chunk, len(missing)):,}/{len(missing):,}", flush=True)
    return np.vstack([known[k] for k in keys]).astype(np.float32)


def training_sample(d: Domain, *, max_per_set: int = MAX_PER_SET, random_state: int = 0):
    """The rows of ``d`` a model is trained on: all, or a seeded sample of ``max_per_set``."""
    take = np.arange(len(d))
    if max_per_set and len(d) > max_per_set:
        rng = np.random.default_rng(random_state)
        take = np.sort(rng.permutation(len(d))[:max_per_set])
    return take


#: the parameters compared, inside the training sets only (leave-one-training-set-out)
GRID_FIT = tuple((c, lex) for c in (0.05, 0.5) for lex in (True, False))
GRID_RULES = tuple((b, t) for b in (0.0, 1.5, 3.0) for t in (0.0, 0.5, 0.6))


def _fit(names, samples, random_state, **params):
    from cxray.text._embed_sentiment import EmbeddingSentiment

    texts, labels, groups, vectors, feats = [], [], [], [], []
    for name in names:
        x, y, v, f = samples[name]
        texts += x
        labels += y
        groups += [name] * len(x)
        vectors.append(v)
        feats.append(f)
    return EmbeddingSentiment.train(
        texts,
        labels,
        groups=groups,
        embeddings=np.vstack(vectors),
        features=np.vstack(feats),
        random_state=random_state,
        **params,
    )


def choose_params(samples: dict, *, random_state: int = 0) -> dict:
    """Pick C, lexicon features and the two neutral rules by leave-one-training-set-out.

    Each candidate is trained on all but one of the training sets and scored (macro-F1 over
    the classes present) on the one left out; the candidate with the best mean wins. A fold
    whose training sets lack a class (e.g. only binary sets left) is skipped. Nothing
    outside ``samples`` is looked at.
    """
    from sklearn.metrics import f1_score

    from cxray.text._embed_sentiment import _decide, _logits_of
    from cxray.text._general import _softmax
    from cxray.text._labels import LABELS

    names = list(samples)
    folds = []
    for held in names:
        rest = [n for n in names if n != held]
        if set().union(*(set(samples[n][1]) for n in rest)) == set(LABELS):
            folds.append((held, rest))
    if not folds:
        raise ModelError("no training set can be held out with all three classes left")
    scores: dict[tuple, list[float]] = {}
    for held, rest in folds:
        _, y, v, f = samples[held]
        present = [c for c in LABELS if c in set(y)]
        for c, lex in GRID_FIT:
            head = _fit(rest, samples, random_state, C=c, lexicon=lex)
            for b, t in GRID_RULES:
                st = head.with_rules(neutral_boost=b, min_confidence=t)._state()
                pred = _decide(_softmax(_logits_of(st, v.astype(np.float64), f)), t)[0]
                f1 = f1_score(y, pred, average="macro", labels=present)
                scores.setdefault((c, lex, b, t), []).append(float(f1))
    best = max(scores, key=lambda k: (np.mean(scores[k]), -k[0], k[1], -k[2], -k[3]))
    c, lex, b, t = best
    return {
        "params": {"C": c, "lexicon": lex, "neutral_boost": b, "min_confidence": t},
        "method": "leave-one-training-set-out inside the training sets; mean macro-F1 over "
        "the classes present of the set left out",
        "folds": [held for held, _ in folds],
        "mean_f1": float(np.mean(scores[best])),
        "f1_per_fold": dict(zip([h for h, _ in folds], scores[best], strict=True)),
        "candidates": len(scores),
    }


def train_embed(
    domains: dict[str, Domain],
    *,
    random_state: int = 0,
    max_per_set: int = MAX_PER_SET,
    cache: str | Path | None = None,
    **params,
):
    """Fit an :class:`~cxray.text.EmbeddingSentiment` on the given sets, each one domain.

    Without ``params`` the parameters are chosen by :func:`choose_params` on these sets
    only; the choice and its scores go into the model file's header.
    """
    from cxray.text._embed_sentiment import lexicon_features

    bad = sorted(set(domains) & set(EVAL_ONLY))
    if bad:
        raise ModelError(f"{', '.join(bad)} may be used for evaluation only")
    samples = {}
    for name, d in domains.items():
        take = training_sample(d, max_per_set=max_per_set, random_state=random_state)
        x = [d.texts[i] for i in take]
        y = [d.labels[i] for i in take]
        vec = cached_embeddings(x, cache=cache, name=name)
        samples[name] = (x, y, vec, lexicon_features(x))
    selection = None
    if not params:
        selection = choose_params(samples, random_state=random_state)
        params = selection["params"]
    model = _fit(list(samples), samples, random_state, **params)
    model.selection_ = selection
    model.training_sets_ = [
        {
            "name": name,
            "rows": len(samples[name][0]),
            "rows_in_set": len(d),
            "files": d.files,
            "license": LICENSES.get(name, "unknown"),
            "sha256_16": hashlib.sha256("\n".join(d.texts).encode()).hexdigest()[:16],
        }
        for name, d in domains.items()
    ]
    return model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default="src/cxray/text/models/embed-v1.npz")
    ap.add_argument("--cache", help="keep the texts' embeddings in this folder")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    domains = load_domains(ALLOWED, args.data)
    model = train_embed(domains, random_state=args.seed, cache=args.cache)
    out = model.save(args.out)
    rows = ", ".join(f"{t['name']} {t['rows']:,}" for t in model.training_sets_)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); trained on {rows}")


if __name__ == "__main__":
    main()
