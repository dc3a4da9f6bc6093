"""The three sentiment classes, and how scores people gave map onto them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LABELS", "label_scores", "labels_from_nps", "labels_from_scale"]

#: the three sentiment classes, in the order of every probability column
LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


def label_scores(scores: Sequence[float] | np.ndarray, *, threshold: float = 0.05) -> np.ndarray:
    """Labels for scores in -1..1: >= threshold positive, <= -threshold negative, else neutral."""
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, LABELS[1], dtype=object)
    out[s >= threshold] = LABELS[2]
    out[s <= -threshold] = LABELS[0]
    return out


def labels_from_nps(values: Sequence[float | None]) -> np.ndarray:
    """NPS 0-6 detractors -> negative, 7-8 passives -> neutral, 9-10 promoters -> positive.

    Missing values give ``None``.
    """
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    out = np.full(v.shape, None, dtype=object)
    out[v <= 6] = LABELS[0]
    out[(v >= 7) & (v <= 8)] = LABELS[1]
    out[v >= 9] = LABELS[2]
    return out


def labels_from_scale(values: Sequence[float | None], *, low: float, high: float) -> np.ndarray:
    """A rating on a ``low``..``high`` scale (CSAT, stars) -> three classes.

    The scale is cut at its midpoint: below it negative, above it positive, the
    midpoint itself (3 of 1-5, 4 of 1-7) neutral. A 1-5 star rating gives
    1-2 negative, 3 neutral, 4-5 positive; fractional stars round to the
    nearer side (2.5 is neutral). Missing values give ``None``.
    """
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    mid = (low + high) / 2
    half_step = 0.5 if (high - low) % 2 == 0 else 0.0
    out = np.full(v.shape, None, dtype=object)
    ok = ~np.isnan(v)
    out[ok & (v < mid - half_step)] = LABELS[0]
    out[ok & (v > mid + half_step)] = LABELS[2]
    out[ok & (v >= mid - half_step) & (v <= mid + half_step)] = LABELS[1]
    return out
