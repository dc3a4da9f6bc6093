"""One-sample estimators: NPS, proportions, means, quantiles and the bootstrap.

The estimators take the aggregates a database computes cheaply (counts, sums,
sums of squares), so the KPI layer never has to pull rows into Python. Where a
method needs the raw values (quantiles, the bootstrap) it takes a one-
dimensional array and sorts it first, so results never depend on row order.

Formulas and references are collected in ``docs/statistics.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from cxray.exceptions import StatisticalWarning
from cxray.stats._estimate import Estimate
from cxray.stats._validate import (
    DEFAULT_MIN_N,
    check_confidence,
    check_count,
    check_min_n,
    check_probability,
    check_sample,
    invalid,
    small_sample_reason,
    z_value,
)

__all__ = [
    "Moments",
    "NPSCounts",
    "bootstrap",
    "mean",
    "mean_of",
    "median",
    "nps",
    "proportion",
    "quantile",
]

NPSMethod = Literal["adjusted_wald", "wald"]
ProportionMethod = Literal["wilson", "clopper_pearson"]

#: pseudo-observations of the adjusted-Wald NPS interval (Rocks 2016): 3/4 of
#: a promoter, 3/2 of a passive and 3/4 of a detractor, 3 responses in all
ADJUST_PROMOTERS = 0.75
ADJUST_PASSIVES = 1.5
ADJUST_DETRACTORS = 0.75

_NPS_LABELS = {"adjusted_wald": "adjusted Wald", "wald": "Wald"}
_PROPORTION_LABELS = {"wilson": "Wilson score", "clopper_pearson": "Clopper-Pearson"}


class NPSCounts(NamedTuple):
    """Response counts of one NPS group: the three categories of 0-10 answers."""

    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors


class Moments(NamedTuple):
    """The aggregates of a numeric score: count, sum and sum of squares."""

    n: int
    sum_x: float
    sum_x2: float

    @classmethod
    def from_sample(cls, sample: ArrayLike) -> Moments:
        values = check_sample(sample)
        return cls(int(values.size), float(values.sum()), float(np.square(values).sum()))


def _no_responses(method: str, level: float, min_n: int, **labels: Any) -> Estimate:
    """The suppressed result of an estimator given zero responses."""
    return Estimate(
        math.nan,
        math.nan,
        math.nan,
        0,
        method,
        level,
        suppressed=True,
        reason=small_sample_reason(0, min_n),
        **labels,
    )


# --------------------------------------------------------------------------- NPS
def check_nps_counts(promoters: Any, passives: Any, detractors: Any) -> NPSCounts:
    return NPSCounts(
        check_count("promoters", promoters),
        check_count("passives", passives),
        check_count("detractors", detractors),
    )


def check_nps_method(method: str) -> NPSMethod:
    if method not in _NPS_LABELS:
        raise invalid(f"method must be one of {sorted(_NPS_LABELS)}, got {method!r}")
    return method  # type: ignore[return-value]


def nps_centre_se(counts: NPSCounts, method: NPSMethod) -> tuple[float, float]:
    """Centre and standard error of an NPS on the -1..1 scale.

    The variance of one response scored +1/0/-1 is ``p + d - (p - d)**2``;
    the adjusted-Wald method first adds the pseudo-observations.
    """
    promoters, passives, detractors = (float(c) for c in counts)
    if method == "adjusted_wald":
        promoters += ADJUST_PROMOTERS
        passives += ADJUST_PASSIVES
        detractors += ADJUST_DETRACTORS
    total = promoters + passives + detractors
    p, d = promoters / total, detractors / total
    centre = p - d
    variance = max(p + d - centre * centre, 0.0)
    return centre, math.sqrt(variance / total)


def warn_degenerate_wald(what: str) -> None:
    warnings.warn(
        f"the Wald interval of {what} has zero width because every response falls in one "
        "category; use method='adjusted_wald'",
        StatisticalWarning,
        stacklevel=3,
    )


def nps(
    promoters: int,
    passives: int,
    detractors: int,
    *,
    method: NPSMethod = "adjusted_wald",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> Estimate:
    """Net Promoter Score, in points from -100 to 100, with its confidence interval.

    Parameters
    ----------
    promoters, passives, detractors:
        Counts of answers 9-10, 7-8 and 0-6.
    method:
        ``"adjusted_wald"`` (default; Rocks 2016): add 3/4 promoter, 3/2
        passive and 3/4 detractor before the Wald interval of the trinomial
        difference. ``"wald"``: the plain interval, which collapses to zero
        width when all answers fall in one category.
    confidence:
        Confidence level of the interval.
    min_n:
        Below this many responses the result is suppressed.

    The reported point estimate is always the observed NPS. The adjusted
    interval is centred on the adjusted score; in the rare case (unanimous
    samples) where it would miss the observed NPS, the nearer bound is moved
    out to it, so the interval always contains the estimate.
    """
    counts = check_nps_counts(promoters, passives, detractors)
    method = check_nps_method(method)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    n = counts.n
    label = _NPS_LABELS[method]
    if n == 0:
        return _no_responses(label, level, min_n, metric="NPS", unit="points")
    score = (counts.promoters - counts.detractors) / n
    centre, se = nps_centre_se(counts, method)
    z = z_value(level)
    low, high = max(centre - z * se, -1.0), min(centre + z * se, 1.0)
    if method == "adjusted_wald":
        low, high = min(low, score), max(high, score)
    reason = small_sample_reason(n, min_n)
    if method == "wald" and se == 0.0 and reason is None:
        warn_degenerate_wald("an NPS")
    return Estimate(
        100.0 * score,
        100.0 * low,
        100.0 * high,
        n,
        label,
        level,
        metric="NPS",
        unit="points",
        definition="% promoters (9-10) - % detractors (0-6)",
        suppressed=reason is not None,
        reason=reason,
    )


# ------------------------------------------------------------------- proportion
def wilson_bounds(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927) score interval for a binomial proportion."""
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(centre - half, 0.0)
    high = 1.0 if successes == n else min(centre + half, 1.0)
    # the score interval always contains p; guard against rounding
    return min(low, p), max(high, p)


def clopper_pearson_bounds(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Clopper-Pearson (1934) interval from beta quantiles."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else float(special.betaincinv(successes, n - successes + 1, tail))
    high = (
        1.0 if successes == n else float(special.betaincinv(successes + 1, n - successes, 1 - tail))
    )
    p = successes / n
    return min(low, p), max(high, p)


def proportion(
    successes: int,
    n: int,
    *,
    method: ProportionMethod = "wilson",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    percent: bool = False,
) -> Estimate:
    """A share (CSAT top-2-box, resolution rate, ...) with its confidence interval.

    ``method`` is ``"wilson"`` (score interval, default) or
    ``"clopper_pearson"`` (exact, conservative). With ``percent=True`` the
    result is in percent (unit ``"%"``) instead of a share from 0 to 1.
    """
    successes = check_count("successes", successes)
    n = check_count("n", n)
    if successes > n:
        raise invalid(f"successes ({successes}) must not exceed n ({n})")
    if method not in _PROPORTION_LABELS:
        raise invalid(f"method must be one of {sorted(_PROPORTION_LABELS)}, got {method!r}")
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    scale, unit = (100.0, "%") if percent else (1.0, "share")
    reason = small_sample_reason(n, min_n)
    label = _PROPORTION_LABELS[method]
    if n == 0:
        return _no_responses(label, level, min_n, metric="proportion", unit=unit)
    if method == "wilson":
        low, high = wilson_bounds(successes, n, z_value(level))
    else:
        low, high = clopper_pearson_bounds(successes, n, level)
    return Estimate(
        scale * successes / n,
        scale * low,
        scale * high,
        n,
        label,
        level,
        metric="proportion",
        unit=unit,
        suppressed=reason is not None,
        reason=reason,
    )


# ------------------------------------------------------------------------- mean
def t_value(confidence: float, df: float) -> float:
    """Two-sided Student t critical value."""
    return float(special.stdtrit(df, 1.0 - (1.0 - confidence) / 2.0))


def check_moments(name: str, n: Any, sum_x: Any, sum_x2: Any) -> tuple[int, float, float]:
    """Aggregates that can come from one sample: (Σx)² <= n Σx² (Cauchy-Schwarz)."""
    prefix = f"{name}." if name else ""
    n = check_count(f"{prefix}n", n)
    sum_x, sum_x2 = float(sum_x), float(sum_x2)
    if not (math.isfinite(sum_x) and math.isfinite(sum_x2)):
        raise invalid(f"{prefix}sum_x and {prefix}sum_x2 must be finite numbers")
    if sum_x2 < 0 or sum_x * sum_x > n * sum_x2 * (1 + 1e-9) + 1e-9:
        raise invalid(
            f"{prefix}sum_x2 is smaller than {prefix}sum_x**2 / n: "
            "these cannot be the sums of one sample"
        )
    return n, sum_x, sum_x2


def moments_mean_var(n: int, sum_x: float, sum_x2: float) -> tuple[float, float]:
    """Mean and unbiased variance from aggregates (variance NaN when n < 2)."""
    centre = sum_x / n
    if n < 2:
        return centre, math.nan
    variance = (sum_x2 - sum_x * centre) / (n - 1)
    return centre, max(variance, 0.0)


def _mean_estimate(n: int, centre: float, variance: float, level: float, min_n: int) -> Estimate:
    reason = small_sample_reason(n, min_n)
    if n < 2:
        reason = reason or "a t interval needs at least 2 responses; widen the period"
        return Estimate(
            centre,
            math.nan,
            math.nan,
            n,
            "Student t",
            level,
            metric="mean",
            suppressed=True,
            reason=reason,
        )
    half = t_value(level, n - 1) * math.sqrt(variance / n)
    return Estimate(
        centre,
        centre - half,
        centre + half,
        n,
        "Student t",
        level,
        metric="mean",
        suppressed=reason is not None,
        reason=reason,
    )


def mean(
    n: int,
    sum_x: float,
    sum_x2: float,
    *,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> Estimate:
    """Mean score (CSAT 1-5, CES, LTR 0-10) with a Student t interval, from aggregates.

    ``sum_x`` and ``sum_x2`` are the sum and the sum of squares of the scores.
    For scores on survey scales the one-pass variance formula used here is
    exact enough; for raw values with a large offset use :func:`mean_of`.
    """
    n = check_count("n", n)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    n, sum_x, sum_x2 = check_moments("", n, sum_x, sum_x2)
    if n == 0:
        return _no_responses("Student t", level, min_n, metric="mean")
    centre, variance = moments_mean_var(n, sum_x, sum_x2)
    return _mean_estimate(n, centre, variance, level, min_n)


def mean_of(sample: ArrayLike, *, confidence: float = 0.95, min_n: int = DEFAULT_MIN_N) -> Estimate:
    """Mean of raw values with a Student t interval (two-pass, numerically stable)."""
    values = check_sample(sample)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    n = int(values.size)
    if n == 0:
        return _no_responses("Student t", level, min_n, metric="mean")
    centre = float(values.mean())
    variance = float(values.var(ddof=1)) if n > 1 else math.nan
    return _mean_estimate(n, centre, variance, level, min_n)


# -------------------------------------------------------------------- quantiles
def order_statistic_ranks(n: int, q: float, confidence: float) -> tuple[int, int, float]:
    """1-based ranks ``(l, u)`` of the exact distribution-free interval for a quantile.

    With B ~ Binomial(n, q) the number of values at or below the true
    quantile, ``P(x_(l) <= ξ_q <= x_(u)) >= P(l <= B <= u - 1)``. ``l`` is the
    largest rank with ``P(B <= l - 1) <= α/2`` and ``u`` the smallest with
    ``P(B >= u) <= α/2``. When n is too small for the requested level the ranks
    are clamped to 1 and n and the achieved coverage is returned instead.
    """
    tail = (1.0 - confidence) / 2.0

    def cdf(k: int) -> float:
        if k < 0:
            return 0.0
        if k >= n:
            return 1.0
        return float(special.bdtr(k, n, q))

    # largest k with F(k) <= tail, starting from a normal-approximation guess
    sd = math.sqrt(n * q * (1.0 - q))
    k = math.floor(n * q - z_value(confidence) * sd)
    k = min(max(k, -1), n)
    while k >= 0 and cdf(k) > tail:
        k -= 1
    while k + 1 <= n and cdf(k + 1) <= tail:
        k += 1
    lower = k + 1
    # smallest k with F(k) >= 1 - tail
    k = math.ceil(n * q + z_value(confidence) * sd)
    k = min(max(k, 0), n)
    while k - 1 >= 0 and cdf(k - 1) >= 1.0 - tail:
        k -= 1
    while k < n and cdf(k) < 1.0 - tail:
        k += 1
    upper = k + 1
    lower, upper = max(lower, 1), min(upper, n)
    coverage = cdf(upper - 1) - cdf(lower - 1)
    return lower, upper, coverage


def quantile(
    sample: ArrayLike,
    q: float,
    *,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> Estimate:
    """The q-th quantile of a sample with an exact order-statistic interval.

    The interval is distribution-free (binomial argument, no bootstrap). Its
    coverage is at least ``confidence``; when n is too small for that, the
    interval is the sample range and ``confidence`` reports the coverage
    actually achieved.
    """
    q = check_probability("q", q, open_interval=True)
    values = check_sample(sample)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    n = int(values.size)
    metric = "median" if q == 0.5 else f"quantile {q:g}"
    if n == 0:
        return _no_responses("order statistics", level, min_n, metric=metric)
    point = float(np.quantile(values, q))
    reason = small_sample_reason(n, min_n)
    if n == 1:
        reason = reason or "an interval for a quantile needs at least 2 responses; widen the period"
        return Estimate(
            point,
            math.nan,
            math.nan,
            1,
            "order statistics",
            level,
            metric=metric,
            suppressed=True,
            reason=reason,
        )
    lower, upper, coverage = order_statistic_ranks(n, q, level)
    method = "order statistics"
    if coverage < level:
        method = "order statistics (sample range; n too small for the requested level)"
        level = coverage
    low, high = float(values[lower - 1]), float(values[upper - 1])
    return Estimate(
        point,
        min(low, point),
        max(high, point),
        n,
        method,
        level,
        metric=metric,
        suppressed=reason is not None,
        reason=reason,
    )


def median(sample: ArrayLike, *, confidence: float = 0.95, min_n: int = DEFAULT_MIN_N) -> Estimate:
    """The median with an exact order-statistic interval; see :func:`quantile`."""
    return quantile(sample, 0.5, confidence=confidence, min_n=min_n)


# -------------------------------------------------------------------- bootstrap
#: at most this many resampled values are held in memory at once
_BOOTSTRAP_CHUNK = 2_000_000


def bootstrap(
    sample: ArrayLike,
    statistic: Callable[..., Any] = np.mean,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator = 0,
    vectorized: bool = False,
    min_n: int = DEFAULT_MIN_N,
    metric: str | None = None,
) -> Estimate:
    """Percentile bootstrap interval for any statistic of one sample.

    Parameters
    ----------
    sample:
        One-dimensional raw values; they are sorted first, so the result does
        not depend on row order.
    statistic:
        Function of a 1-D array returning a number. With ``vectorized=True``
        it is called once per chunk as ``statistic(resamples, axis=-1)``.
    n_resamples:
        Number of bootstrap resamples.
    random_state:
        Seed or :class:`numpy.random.Generator`; the same seed gives the same
        interval.

    Prefer the closed-form estimators where one exists: the percentile
    bootstrap under-covers for small samples and skewed statistics.
    """
    values = check_sample(sample)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    n_resamples = check_count("n_resamples", n_resamples)
    if n_resamples < 100:
        raise invalid(f"n_resamples must be at least 100, got {n_resamples}")
    n = int(values.size)
    method = f"percentile bootstrap ({n_resamples} resamples)"
    if n == 0:
        return _no_responses(method, level, min_n, metric=metric)
    rng = np.random.default_rng(random_state)
    point = float(statistic(values))
    replicates = np.empty(n_resamples, dtype=np.float64)
    chunk = max(1, _BOOTSTRAP_CHUNK // n)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        resamples = values[rng.integers(0, n, size=(stop - start, n))]
        if vectorized:
            replicates[start:stop] = np.asarray(statistic(resamples, axis=-1), dtype=np.float64)
        else:
            replicates[start:stop] = [float(statistic(row)) for row in resamples]
    if not np.all(np.isfinite(replicates)):
        raise invalid("the statistic returned NaN or infinity on a bootstrap resample")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    reason = small_sample_reason(n, min_n)
    return Estimate(
        point,
        float(low),
        float(high),
        n,
        method,
        level,
        metric=metric,
        suppressed=reason is not None,
        reason=reason,
    )
