"""Mix-shift decomposition: did the score change, or did the mix of customers?

A total score that is a response-weighted mean of segment scores (NPS, CSAT,
CES) can move because segments scored differently (*rate* effect) or because
the shares of the segments changed (*mix* effect). With shares ``w`` and
scores ``s`` of segment i in periods 0 and 1,

    M1 − M0 = Σ Δw_i (s̄_i − c) + Σ w̄_i Δs_i

where ``s̄_i``, ``w̄_i`` are the averages of the two periods and ``c`` any
constant. This is the symmetric (Shapley) split of each product ``w·s`` into
its two factors, so the two parts add up to the total change exactly, with no
interaction residue. cxray takes ``c = (M0 + M1) / 2``: a segment then
contributes a positive mix effect when it gains share and scores above the
average, which keeps the per-segment mix column independent of the scale's
origin (the totals do not depend on ``c`` because the shares sum to 1).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from cxray.stats._validate import invalid

__all__ = ["MixShift", "mix_shift"]


@dataclass(frozen=True, eq=False)
class MixShift:
    """Decomposition of a change in a mean score into mix and rate effects.

    ``change == mix + rate`` up to rounding, and the ``mix``, ``rate`` and
    ``total`` columns of ``table`` (one row per segment) sum to ``mix``,
    ``rate`` and ``change``.
    """

    before: float
    after: float
    change: float
    mix: float
    rate: float
    table: pd.DataFrame
    metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "mix": self.mix,
            "rate": self.rate,
            "segments": self.table.reset_index().to_dict(orient="records"),
        }

    def __str__(self) -> str:
        label = self.metric or "score"
        return (
            f"{label} {self.before:.1f} -> {self.after:.1f}: change {self.change:+.2f} = "
            f"mix {self.mix:+.2f} + rate {self.rate:+.2f} (symmetric split)"
        )

    def _repr_html_(self) -> str:
        head = html.escape(str(self))
        return f"<p><b>{head}</b></p>{self.table.to_html(float_format=lambda v: f'{v:.3f}')}"


def _column(values: ArrayLike, name: str, size: int) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise invalid(f"{name} must have one value per segment ({size}), got shape {array.shape}")
    return array


def _check_counts(counts: NDArray[np.float64], name: str) -> None:
    if np.any(~np.isfinite(counts)) or np.any(counts < 0):
        raise invalid(f"{name} must be non-negative counts")
    if counts.sum() <= 0:
        raise invalid(f"{name} must contain at least one response")


def _check_scores(scores: NDArray[np.float64], counts: NDArray[np.float64], name: str) -> None:
    if np.any(~np.isfinite(scores[counts > 0])):
        raise invalid(f"{name} must be finite for every segment with responses")


def mix_shift(
    segments: Sequence[Any] | ArrayLike,
    n_before: ArrayLike,
    score_before: ArrayLike,
    n_after: ArrayLike,
    score_after: ArrayLike,
    *,
    metric: str | None = None,
) -> MixShift:
    """Split the change of a response-weighted mean score into mix and rate effects.

    Parameters
    ----------
    segments:
        Segment labels, unique (e.g. the ``segment`` column of a data frame).
    n_before, n_after:
        Responses per segment in each period; a segment absent in one period
        has 0 there, and its score there may be NaN.
    score_before, score_after:
        The segment's score in each period (NPS in points, mean CSAT, ...).

    A segment present in only one period is attributed wholly to the mix
    effect (its rate effect is zero). The table is sorted by segment label,
    so the result does not depend on the order of the rows.
    """
    labels = pd.Index(list(segments), name="segment")
    if labels.has_duplicates:
        raise invalid("segment labels must be unique")
    size = len(labels)
    if size == 0:
        raise invalid("mix_shift needs at least one segment")
    n0 = _column(n_before, "n_before", size)
    n1 = _column(n_after, "n_after", size)
    s0 = _column(score_before, "score_before", size)
    s1 = _column(score_after, "score_after", size)
    _check_counts(n0, "n_before")
    _check_counts(n1, "n_after")
    _check_scores(s0, n0, "score_before")
    _check_scores(s1, n1, "score_after")

    try:
        order = np.asarray(labels.argsort(), dtype=np.intp)
    except TypeError:  # labels of mixed types: order by their text
        order = np.asarray(pd.Index(labels.astype(str)).argsort(), dtype=np.intp)
    labels = labels[order]
    n0, n1, s0, s1 = n0[order], n1[order], s0[order], s1[order]

    w0, w1 = n0 / n0.sum(), n1 / n1.sum()
    # a segment absent in one period takes its other period's score there
    f0 = np.where(n0 > 0, s0, s1)
    f1 = np.where(n1 > 0, s1, s0)
    f0 = np.where(np.isfinite(f0), f0, 0.0)
    f1 = np.where(np.isfinite(f1), f1, 0.0)
    before = float(np.dot(w0, f0))
    after = float(np.dot(w1, f1))
    centre = (before + after) / 2.0
    mix = (w1 - w0) * ((f0 + f1) / 2.0 - centre)
    rate = (w0 + w1) / 2.0 * (f1 - f0)

    table = pd.DataFrame(
        {
            "n_before": n0,
            "n_after": n1,
            "share_before": w0,
            "share_after": w1,
            "score_before": np.where(n0 > 0, s0, math.nan),
            "score_after": np.where(n1 > 0, s1, math.nan),
            "mix": mix,
            "rate": rate,
            "total": mix + rate,
        },
        index=labels,
    )
    return MixShift(
        before=before,
        after=after,
        change=after - before,
        mix=float(mix.sum()),
        rate=float(rate.sum()),
        table=table,
        metric=metric,
    )
