"""Discovered themes: recurring topics found without a taxonomy, with stable ids.

Method (all seeded, nothing downloaded):

1. the distinct non-empty texts are sorted, so the row order of the store does
   not matter; above ``max_fit`` of them a seeded sample is taken for fitting;
2. words of two or more letters (no digits, so order numbers and amounts drop
   out), English stop words removed, unigrams and bigrams, sublinear TF-IDF,
   terms in at least ``min_df`` texts and at most half of them;
3. non-negative matrix factorization (NMF, ``nndsvda`` start, seeded) into
   ``n_themes`` topics; every text goes to its strongest topic (a text with no
   known term goes to none);
4. a theme's **label** is its three heaviest terms, its **terms** the ten
   heaviest, its **quotes** the texts that load most on it.

**Stable ids.** A theme's id is ``t-`` + the first 8 hex digits of the SHA-1 of
its five heaviest terms, sorted and joined with ``|``. It depends on what the
theme is about, not on the position NMF gave it, so the same data and seed give
the same ids, in any row order; a re-run on slightly changed data keeps the id
of every theme whose top five terms did not change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cxray.exceptions import ModelError

__all__ = ["DiscoveredTheme", "discover_themes", "theme_id"]

_TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"


def theme_id(terms: Sequence[str]) -> str:
    """The stable id of a theme from its heaviest terms (the first five are used)."""
    key = "|".join(sorted(terms[:5]))
    return "t-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class DiscoveredTheme:
    id: str
    label: str
    terms: tuple[str, ...]
    #: index of the texts (in the caller's order) that load most on it, best first
    exemplars: tuple[int, ...] = field(default=())


def distinct_texts(texts: Sequence[str | None], n_themes: int) -> tuple[list[str], list[str]]:
    """The texts stripped (``""`` for none) and their distinct non-empty values, sorted."""
    clean = [t.strip() if isinstance(t, str) else "" for t in texts]
    distinct = sorted({t for t in clean if t})
    if len(distinct) < max(2 * n_themes, 10):
        raise ModelError(
            f"{len(distinct)} distinct texts are too few to discover {n_themes} themes; "
            "use the taxonomy (--source taxonomy)"
        )
    return clean, distinct


def fit_sample(n: int, max_fit: int, random_state: int) -> np.ndarray:
    """Indices (sorted) of the distinct texts a model is fitted on: all, or a seeded sample."""
    if n <= max_fit:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=max_fit, replace=False))


def themes_and_rows(
    clean: list[str],
    distinct: list[str],
    found: list[tuple[tuple[str, ...], np.ndarray]],
    best: np.ndarray,
) -> tuple[list[DiscoveredTheme], list[tuple[str, ...]]]:
    """Themes from ``(terms, exemplar indices into distinct)`` and each row's theme.

    ``best[i]`` is the theme index of ``distinct[i]`` (negative: none). Ids come
    from the terms (:func:`theme_id`); two themes with the same top terms are
    kept apart by an ``x`` suffix.
    """
    ids, seen = [], set()
    for terms, _ in found:
        tid = theme_id(terms) if terms else theme_id((f"theme {len(ids)}",))
        while tid in seen:
            tid += "x"
        seen.add(tid)
        ids.append(tid)
    index = {t: i for i, t in enumerate(distinct)}
    per_distinct = [(ids[b],) if b >= 0 else () for b in best]
    assigned = [per_distinct[index[t]] if t else () for t in clean]
    first_row: dict[str, int] = {}
    for i, t in enumerate(clean):
        if t and t not in first_row:
            first_row[t] = i
    out = [
        DiscoveredTheme(
            tid,
            " / ".join(terms[:3]) if terms else tid,
            terms,
            tuple(first_row[distinct[i]] for i in top),
        )
        for tid, (terms, top) in zip(ids, found, strict=True)
    ]
    return out, assigned


def discover_themes(
    texts: Sequence[str | None],
    *,
    n_themes: int = 8,
    random_state: int = 0,
    max_fit: int = 20_000,
    min_df: int = 3,
    n_exemplars: int = 5,
) -> tuple[list[DiscoveredTheme], list[tuple[str, ...]]]:
    """Find ``n_themes`` recurring themes; return them and each text's theme (or none)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    clean, distinct = distinct_texts(texts, n_themes)
    fit_on = [distinct[i] for i in fit_sample(len(distinct), max_fit, random_state)]
    vec = TfidfVectorizer(
        token_pattern=_TOKENS,
        stop_words="english",
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min(min_df, max(1, len(fit_on) // 100)),
        max_df=0.5,
        max_features=20_000,
        dtype=np.float64,
    )
    x_fit = vec.fit_transform(fit_on)
    if x_fit.shape[1] < n_themes:
        raise ModelError(f"only {x_fit.shape[1]} distinct terms; too few for {n_themes} themes")
    nmf = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=400)
    nmf.fit(x_fit)
    vocab = vec.get_feature_names_out()
    # every distinct text once, then mapped back to the caller's rows
    w = nmf.transform(vec.transform(distinct))
    best = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    found = []
    for j, comp in enumerate(nmf.components_):
        order = np.lexsort((vocab, -comp))  # heaviest first, ties by term
        terms = tuple(str(vocab[i]) for i in order[:10] if comp[i] > 0)
        mine = np.flatnonzero(best == j)
        found.append((terms, mine[np.lexsort((mine, -w[mine, j]))][:n_exemplars]))
    return themes_and_rows(clean, distinct, found, best)
