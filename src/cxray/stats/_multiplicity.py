"""Multiplicity control across many comparisons (segments, themes, drivers).

When cxray tests a change in every segment at once, some "significant"
changes are noise. :func:`benjamini_hochberg` controls the false discovery
rate: among the changes flagged, the expected share of false ones stays at
or below ``alpha`` (for independent or positively dependent tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cxray.stats._validate import check_probability, invalid

__all__ = ["FDRResult", "benjamini_hochberg"]


@dataclass(frozen=True, eq=False)
class FDRResult:
    """Benjamini-Hochberg adjusted p-values (q-values) and decisions, in input order."""

    q_values: NDArray[np.float64]
    reject: NDArray[np.bool_]
    alpha: float

    @property
    def n_rejected(self) -> int:
        return int(self.reject.sum())

    def __str__(self) -> str:
        return (
            f"Benjamini-Hochberg at FDR {self.alpha:g}: "
            f"{self.n_rejected} of {self.reject.size} rejected"
        )


def benjamini_hochberg(p_values: ArrayLike, alpha: float = 0.05) -> FDRResult:
    """Benjamini-Hochberg (1995) step-up procedure.

    With the m p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value
    of rank i is ``q_(i) = min_{j >= i} min(1, m * p_(j) / j)``; a hypothesis
    is rejected when its q-value is at most ``alpha``, which is the same as
    rejecting the k smallest p-values for the largest k with
    ``p_(k) <= k * alpha / m``.
    """
    alpha = check_probability("alpha", alpha, open_interval=True)
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise invalid(f"p_values must be one-dimensional, got shape {p.shape}")
    if np.any(~np.isfinite(p)) or np.any((p < 0.0) | (p > 1.0)):
        raise invalid("p_values must be numbers in [0, 1]; drop suppressed results first")
    m = p.size
    if m == 0:
        return FDRResult(np.empty(0), np.empty(0, dtype=bool), alpha)
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, m + 1, dtype=np.float64)
    scaled = p[order] * m / ranks
    # running minimum from the largest p-value down enforces monotonicity
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    q_values = np.empty(m, dtype=np.float64)
    q_values[order] = adjusted
    return FDRResult(q_values, q_values <= alpha, alpha)
