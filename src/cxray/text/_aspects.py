"""Aspect-based sentiment: a theme's sentiment from the clauses that speak of it.

"Great staff but a dirty room" is positive about the staff and negative about the
room; the whole text's score (about neutral) says neither. Method:

1. every text is split into clauses (:func:`cxray.text._taxonomy.split_clauses`:
   sentence ends, ``;``, line breaks and contrast words such as "but", "however",
   "although", "though", "yet", with their Portuguese, Spanish, French and German
   counterparts, the contrast word itself dropped; and commas between two evaluations,
   "great staff, dirty room");
2. each clause gets its themes: a taxonomy's matching rules applied to the clause
   alone (:meth:`cxray.text.Taxonomy.matrix`); for discovered themes, a clause has
   a theme when it holds one of the theme's terms (:func:`terms_taxonomy`). A clause
   counts for a theme only when its text has the theme;
3. the clauses with a theme are scored in one batch by the active scorer (the one
   ``cxray text score`` and enrichment use: ``resolve_model(None, store)``);
4. a text's **aspect score** for a theme is the mean score of its clauses with the
   theme that say something (score at least 0.05 from 0: "we had the chicken" says
   nothing of the food); a text with the theme but no such clause (the theme came from
   words that span clauses, or from NMF weights, or its clauses are neutral) keeps its
   whole-text score;
5. a theme's **aspect sentiment** is the mean aspect score over its texts, with a
   Student t interval over texts (clauses of one text are not independent, texts
   are); its **aspect negative share** the share of its texts whose aspect score is
   at most −0.05, with a Wilson interval.

Above ``max_texts`` texts with any theme, a seeded uniform sample of them is used
(the estimate stays unbiased; the interval widens), so a report on a million texts
scores a bounded number of clauses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxray import stats
from cxray.exceptions import ModelError
from cxray.text._taxonomy import Taxonomy, TaxonomyTheme, split_clauses

__all__ = [
    "AspectSentiment",
    "aspect_sentiment",
    "split_clauses",
    "terms_taxonomy",
    "text_aspect_scores",
]

#: at most this many themed texts are split and scored for a report (a seeded sample)
MAX_TEXTS = 20_000
NEGATIVE_AT = -0.05
#: a clause about a theme that scores closer to 0 than this says nothing of it
SKIP_NEUTRAL_BELOW = 0.05


@dataclass(frozen=True)
class AspectSentiment:
    """A theme's sentiment measured on the clauses that speak of it."""

    theme: str
    #: mean aspect score (−1..1) of the theme's texts, Student t interval over texts
    sentiment: stats.Estimate
    #: share of the theme's texts whose aspect score is negative (≤ −0.05), Wilson interval
    negative: stats.Estimate
    #: clauses with the theme that were scored
    clauses: int


def terms_taxonomy(themes: Sequence[tuple[str, Sequence[str]]]) -> Taxonomy:
    """A taxonomy whose keywords are discovered themes' terms (a clause holds one: a match)."""
    return Taxonomy(
        [TaxonomyTheme(tid, tid, tuple(terms) or (tid,)) for tid, terms in themes if tid]
    )


def text_aspect_scores(
    texts: Sequence[str],
    has: np.ndarray,
    taxonomy: Taxonomy,
    scorer: Any,
    *,
    whole_score: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's aspect score per theme (texts x themes; NaN where the text lacks the
    theme) and the number of clauses scored per theme. See the module docstring."""
    has = np.asarray(has, dtype=bool)
    if has.ndim != 2 or has.shape != (len(texts), len(taxonomy.ids)):
        raise ModelError(
            f"has must be texts x themes ({len(texts)} x {len(taxonomy.ids)}), got {has.shape}"
        )
    n = len(texts)
    clauses, doc = split_clauses(texts)
    cm = taxonomy.matrix(clauses) if clauses else np.zeros((0, has.shape[1]), dtype=bool)
    if len(doc):
        cm &= has[doc]
    scored = np.flatnonzero(cm.any(axis=1))
    clause_score = np.zeros(len(clauses))
    if scored.size:
        _, sc = scorer.score_texts([clauses[i] for i in scored])
        clause_score[scored] = np.asarray(sc, dtype=float)
    if whole_score is None:
        _, ws = scorer.score_texts(list(texts)) if n else ([], [])
        whole = np.asarray(ws, dtype=float)
    else:
        whole = np.asarray(whole_score, dtype=float)
    out = np.full(has.shape, np.nan)
    clause_counts = np.zeros(has.shape[1], dtype=np.int64)
    opinion = np.abs(clause_score) >= SKIP_NEUTRAL_BELOW
    for j in range(has.shape[1]):
        mine = np.flatnonzero(cm[:, j])
        clause_counts[j] = mine.size
        mine = mine[opinion[mine]]
        total = np.bincount(doc[mine], weights=clause_score[mine], minlength=n)
        count = np.bincount(doc[mine], minlength=n)
        per_text = np.where(count > 0, total / np.maximum(count, 1), whole)
        out[has[:, j], j] = per_text[has[:, j]]
    return out, clause_counts


def aspect_sentiment(
    texts: Sequence[str],
    has: np.ndarray,
    taxonomy: Taxonomy,
    scorer: Any,
    *,
    whole_score: np.ndarray | None = None,
    confidence: float = 0.95,
    min_n: int = 30,
    max_texts: int = MAX_TEXTS,
    random_state: int = 0,
) -> list[AspectSentiment]:
    """Per theme (the columns of ``has``, in ``taxonomy`` order): its aspect sentiment.

    ``has`` is text x theme (boolean); ``scorer`` has ``score_texts(texts) -> (labels,
    scores)``; ``whole_score`` is each text's whole-text score (scored here when missing)
    for texts with the theme but no clause of it.
    """
    has = np.asarray(has, dtype=bool)
    if has.ndim != 2 or has.shape != (len(texts), len(taxonomy.ids)):
        raise ModelError(
            f"has must be texts x themes ({len(texts)} x {len(taxonomy.ids)}), got {has.shape}"
        )
    rows = np.flatnonzero(has.any(axis=1))
    if rows.size > max_texts:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(rows, size=max_texts, replace=False))
    scores, clauses = text_aspect_scores(
        [texts[i] for i in rows],
        has[rows],
        taxonomy,
        scorer,
        whole_score=None if whole_score is None else np.asarray(whole_score, dtype=float)[rows],
    )
    out = []
    for j, tid in enumerate(taxonomy.ids):
        per_text = scores[:, j]
        per_text = per_text[np.isfinite(per_text)]
        k = int(per_text.size)
        senti = stats.mean(
            k,
            float(per_text.sum()),
            float((per_text * per_text).sum()),
            confidence=confidence,
            min_n=min_n,
        )
        neg = stats.proportion(
            int((per_text <= NEGATIVE_AT).sum()), k, confidence=confidence, min_n=min_n
        )
        out.append(AspectSentiment(tid, senti, neg, int(clauses[j])))
    return out
