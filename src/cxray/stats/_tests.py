"""Two-sample tests: did NPS, a share or a mean score differ between two groups?

Each test returns a :class:`~cxray.stats.Comparison` whose ``estimate`` is the
difference *a − b* (pass the current period as ``a`` to read it as a change),
with a confidence interval, the test statistic and a two-sided p-value. The
groups are independent samples (two periods, two segments, two channels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from scipy import special

from cxray.stats._estimate import Comparison
from cxray.stats._intervals import (
    NPSCounts,
    NPSMethod,
    check_moments,
    check_nps_counts,
    check_nps_method,
    moments_mean_var,
    nps_centre_se,
    t_value,
    warn_degenerate_wald,
    wilson_bounds,
)
from cxray.stats._validate import (
    DEFAULT_MIN_N,
    as_pair,
    check_confidence,
    check_count,
    check_min_n,
    invalid,
    small_sample_reason,
    z_value,
)

__all__ = ["mean_diff", "nps_diff", "proportion_diff", "proportion_exact"]

_NPS_TEST_LABELS = {"adjusted_wald": "adjusted Wald z", "wald": "Wald z"}


def _two_sided_normal_p(z: float) -> float:
    return float(2.0 * special.ndtr(-abs(z)))


def _ratio(difference: float, se: float) -> float:
    """Test statistic; a difference with zero standard error is infinitely large."""
    if se > 0.0:
        return difference / se
    return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)


def _group_reason(n_a: int, n_b: int, min_n: int) -> str | None:
    smaller = min(n_a, n_b)
    reason = small_sample_reason(smaller, min_n)
    if reason is None:
        return None
    which = "group a" if n_a <= n_b else "group b"
    return f"{which}: {reason}"


def _empty(method: str, level: float, n_a: int, n_b: int, min_n: int, **labels: Any) -> Comparison:
    return Comparison(
        math.nan,
        math.nan,
        math.nan,
        n_a + n_b,
        method,
        level,
        suppressed=True,
        reason=_group_reason(n_a, n_b, min_n),
        statistic=math.nan,
        p_value=math.nan,
        n_a=n_a,
        n_b=n_b,
        **labels,
    )


def nps_diff(
    a: Sequence[int],
    b: Sequence[int],
    *,
    method: NPSMethod = "adjusted_wald",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> Comparison:
    """Difference of two independent Net Promoter Scores (a − b), in points, with a z test.

    ``a`` and ``b`` are ``(promoters, passives, detractors)`` counts (or
    :class:`NPSCounts`). The standard error is that of two independent
    trinomial differences, ``sqrt(var_a / n_a + var_b / n_b)``; with the
    default ``"adjusted_wald"`` each group first receives the pseudo-
    observations of Rocks (2016), and both the interval and the z statistic
    use the adjusted scores. The reported ``estimate`` is the observed
    difference; the adjusted interval is widened to contain it if needed.
    """
    counts_a = check_nps_counts(*as_pair("a", a, 3))
    counts_b = check_nps_counts(*as_pair("b", b, 3))
    method = check_nps_method(method)
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    label = _NPS_TEST_LABELS[method]
    n_a, n_b = counts_a.n, counts_b.n
    labels: dict[str, Any] = {"metric": "NPS difference", "unit": "points"}
    if n_a == 0 or n_b == 0:
        return _empty(label, level, n_a, n_b, min_n, **labels)
    score_a = _observed_nps(counts_a)
    score_b = _observed_nps(counts_b)
    observed = score_a - score_b
    centre_a, se_a = nps_centre_se(counts_a, method)
    centre_b, se_b = nps_centre_se(counts_b, method)
    centre, se = centre_a - centre_b, math.hypot(se_a, se_b)
    statistic = _ratio(centre, se)
    z = z_value(level)
    low, high = max(centre - z * se, -2.0), min(centre + z * se, 2.0)
    if method == "adjusted_wald":
        low, high = min(low, observed), max(high, observed)
    reason = _group_reason(n_a, n_b, min_n)
    if method == "wald" and se == 0.0 and reason is None:
        warn_degenerate_wald("an NPS difference")
    return Comparison(
        100.0 * observed,
        100.0 * low,
        100.0 * high,
        n_a + n_b,
        label,
        level,
        suppressed=reason is not None,
        reason=reason,
        statistic=statistic,
        p_value=_two_sided_normal_p(statistic),
        n_a=n_a,
        n_b=n_b,
        estimate_a=100.0 * score_a,
        estimate_b=100.0 * score_b,
        **labels,
    )


def _observed_nps(counts: NPSCounts) -> float:
    return (counts.promoters - counts.detractors) / counts.n


def proportion_diff(
    a: Sequence[int],
    b: Sequence[int],
    *,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    percent: bool = False,
) -> Comparison:
    """Difference of two independent proportions (a − b).

    ``a`` and ``b`` are ``(successes, n)``. The p-value is that of the pooled
    two-proportion z test; the interval is Newcombe's (1998) hybrid score
    interval built from the two Wilson intervals, which stays inside [-1, 1]
    and behaves well near 0 and 1. With ``percent=True`` the difference is
    in percentage points.
    """
    x_a, n_a = (check_count(f"a[{i}]", v) for i, v in enumerate(as_pair("a", a, 2)))
    x_b, n_b = (check_count(f"b[{i}]", v) for i, v in enumerate(as_pair("b", b, 2)))
    if x_a > n_a or x_b > n_b:
        raise invalid("successes must not exceed n in either group")
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    label = "pooled z; Newcombe hybrid score interval"
    scale, unit = (100.0, "percentage points") if percent else (1.0, "share")
    labels: dict[str, Any] = {"metric": "proportion difference", "unit": unit}
    if n_a == 0 or n_b == 0:
        return _empty(label, level, n_a, n_b, min_n, **labels)
    p_a, p_b = x_a / n_a, x_b / n_b
    difference = p_a - p_b
    z = z_value(level)
    low_a, high_a = wilson_bounds(x_a, n_a, z)
    low_b, high_b = wilson_bounds(x_b, n_b, z)
    low = difference - math.hypot(p_a - low_a, high_b - p_b)
    high = difference + math.hypot(high_a - p_a, p_b - low_b)
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b))
    statistic = _ratio(difference, se0)
    reason = _group_reason(n_a, n_b, min_n)
    return Comparison(
        scale * difference,
        scale * max(low, -1.0),
        scale * min(high, 1.0),
        n_a + n_b,
        label,
        level,
        suppressed=reason is not None,
        reason=reason,
        statistic=statistic,
        p_value=_two_sided_normal_p(statistic),
        n_a=n_a,
        n_b=n_b,
        estimate_a=scale * p_a,
        estimate_b=scale * p_b,
        **labels,
    )


def proportion_exact(
    a: Sequence[int],
    b: Sequence[int],
    *,
    alternative: str = "two-sided",
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
    percent: bool = False,
) -> Comparison:
    """Difference of two proportions (a − b) with Fisher's exact test.

    Like :func:`proportion_diff` (estimate, Newcombe interval), but the p-value
    is exact: given both groups' sizes and the total of successes, the
    successes of ``a`` follow a hypergeometric distribution, and the p-value
    is the probability of a count at least as extreme as the observed one.
    ``alternative``: ``"greater"`` (a's share is higher), ``"less"``, or
    ``"two-sided"`` (every count no more likely than the observed one, as in
    Fisher's definition). Right for small counts, where the z test's normal
    approximation fails; never anti-conservative.
    """
    from scipy.stats import hypergeom

    if alternative not in ("two-sided", "greater", "less"):
        raise invalid(f"alternative must be two-sided, greater or less, got {alternative!r}")
    base = proportion_diff(a, b, confidence=confidence, min_n=min_n, percent=percent)
    x_a, n_a = (int(v) for v in a)
    x_b, n_b = (int(v) for v in b)
    label = f"Fisher exact ({alternative}); Newcombe hybrid score interval"
    if n_a == 0 or n_b == 0:
        return replace(base, method=label)
    dist = hypergeom(n_a + n_b, x_a + x_b, n_a)
    if alternative == "greater":
        p = float(dist.sf(x_a - 1))
    elif alternative == "less":
        p = float(dist.cdf(x_a))
    else:
        lo, hi = max(0, x_a + x_b - n_b), min(n_a, x_a + x_b)
        support = range(lo, hi + 1)
        probs = dist.pmf(list(support))
        observed = float(dist.pmf(x_a))
        p = float(probs[probs <= observed * (1 + 1e-7)].sum())
    return replace(base, method=label, p_value=min(1.0, p))


def mean_diff(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    min_n: int = DEFAULT_MIN_N,
) -> Comparison:
    """Difference of two independent means (a − b) by Welch's t test, from aggregates.

    ``a`` and ``b`` are ``(n, sum_x, sum_x2)`` (or :class:`Moments`, e.g.
    ``Moments.from_sample(values)``). Variances are not assumed equal; the
    degrees of freedom are Welch-Satterthwaite's.
    """
    n_a, sum_a, sum_sq_a = check_moments("a", *as_pair("a", a, 3))
    n_b, sum_b, sum_sq_b = check_moments("b", *as_pair("b", b, 3))
    level = check_confidence(confidence)
    min_n = check_min_n(min_n)
    label = "Welch t"
    labels: dict[str, Any] = {"metric": "mean difference"}
    if n_a < 2 or n_b < 2:
        return _empty(label, level, n_a, n_b, max(min_n, 2), **labels)
    mean_a, var_a = moments_mean_var(n_a, sum_a, sum_sq_a)
    mean_b, var_b = moments_mean_var(n_b, sum_b, sum_sq_b)
    difference = mean_a - mean_b
    share_a, share_b = var_a / n_a, var_b / n_b
    se = math.sqrt(share_a + share_b)
    if se > 0.0:
        df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    else:
        df = float(n_a + n_b - 2)
    statistic = _ratio(difference, se)
    p_value = float(2.0 * special.stdtr(df, -abs(statistic))) if math.isfinite(statistic) else 0.0
    half = t_value(level, df) * se
    reason = _group_reason(n_a, n_b, min_n)
    return Comparison(
        difference,
        difference - half,
        difference + half,
        n_a + n_b,
        label,
        level,
        suppressed=reason is not None,
        reason=reason,
        statistic=statistic,
        p_value=p_value,
        n_a=n_a,
        n_b=n_b,
        estimate_a=mean_a,
        estimate_b=mean_b,
        df=df,
        **labels,
    )
