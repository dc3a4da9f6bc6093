"""Quantiles of times with exact intervals, from the few order statistics they need.

The store ranks the values of each group (``row_number`` over the group, ordered
by value) and returns only the ranks a quantile's point and interval can need:
the two around its linear-interpolation position, and a narrow band around the
normal approximations of the lower and upper ranks of its exact order-statistic
interval (the exact ranks, from the binomial, lie within two of those; the band
keeps three). One query, compact results; :func:`quantile_estimate` then gives
exactly what :func:`cxray.stats.quantile` would give on every raw value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import reduce
from operator import or_
from statistics import NormalDist

import ibis

from cxray import stats

__all__ = ["BAND", "band_filter", "quantile_estimate", "rank_bounds"]

#: ranks kept on each side of the normal approximation of an interval's rank
BAND = 3


def _z(level: float) -> float:
    return NormalDist().inv_cdf(1.0 - (1.0 - level) / 2.0)


def rank_bounds(n: float, q: float, level: float) -> tuple[float, float]:
    """Normal approximations of the exact interval's ranks (1-based), as the store computes."""
    s = math.sqrt(n * q * (1.0 - q))
    z = _z(level)
    return n * q - z * s, n * q + z * s + 1.0


def band_filter(
    rank: ibis.IntegerValue, n: ibis.IntegerValue, level: float, qs: tuple[float, ...]
) -> ibis.BooleanValue:
    """True for the (1-based) ranks the quantiles ``qs`` of a group of ``n`` values may need."""
    nf = n.cast("float64")
    z = _z(level)
    conds = [rank == 1, rank == n]
    for q in qs:
        h = (nf - 1.0) * q + 1.0
        conds.append(rank.between(h.floor(), h.ceil()))
        s = (nf * q * (1.0 - q)).sqrt()
        for approx in (nf * q - z * s, nf * q + z * s + 1.0):
            conds.append(rank.between(approx.floor() - BAND, approx.ceil() + BAND))
    return reduce(or_, conds)


def quantile_estimate(
    n: int,
    q: float,
    values: Mapping[int, float],
    *,
    level: float,
    min_n: int,
    metric: str,
    unit: str = "hours",
) -> stats.Estimate:
    """The ``q`` quantile of ``n`` values with its exact order-statistic interval.

    ``values`` maps 1-based ranks to the sorted values there (at least those
    :func:`band_filter` keeps). Same point, interval, coverage and suppression as
    :func:`cxray.stats.quantile`.
    """
    method = "order statistics"
    labels = {"metric": metric, "unit": unit}
    if n == 0:
        nan = math.nan
        return stats.Estimate(
            nan, nan, nan, 0, method, level, suppressed=True, reason="no cases", **labels
        )
    h = (n - 1) * q
    lo, hi = math.floor(h) + 1, math.ceil(h) + 1
    point = values[lo] + (h - math.floor(h)) * (values[hi] - values[lo])
    reason = f"n={n} < {min_n}; widen the period or merge segments" if n < min_n else None
    if n == 1:
        return stats.Estimate(
            point,
            math.nan,
            math.nan,
            1,
            method,
            level,
            suppressed=True,
            reason=reason or "an interval for a quantile needs at least 2 cases",
            **labels,
        )
    lower, upper, coverage = stats.order_statistic_ranks(n, q, level)
    if lower not in values or upper not in values:  # pragma: no cover - the band holds them
        raise AssertionError(f"ranks {lower}, {upper} of {n} outside the fetched band")
    if coverage < level:
        method = "order statistics (sample range; n too small for the requested level)"
        level = coverage
    return stats.Estimate(
        point,
        min(values[lower], point),
        max(values[upper], point),
        n,
        method,
        level,
        suppressed=reason is not None,
        reason=reason,
        **labels,
    )
