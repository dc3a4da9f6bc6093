"""Kaplan–Meier curves and log-rank tests from a compact table of counts, in numpy.

The store sums, per group and per duration (whole days), how many customers left
(``events``) and how many were still customers when observation ended (``censored``).
Everything here works on that table, whose size is groups × distinct durations, never on
the customers themselves.

Formulas
--------
* Kaplan–Meier (Kaplan & Meier 1958): ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)`` with
  ``n_i`` at risk just before ``t_i`` and ``d_i`` events at ``t_i``.
* Greenwood (1926): ``Var S(t) = S(t)^2 sum_{t_i <= t} d_i / (n_i (n_i - d_i))``.
* The log-log ("exponential Greenwood") band of Kalbfleisch & Prentice (2002, §1.3):
  ``S(t)^{exp(±z sigma(t))}`` with ``sigma^2 = sum d_i/(n_i(n_i-d_i)) / (log S(t))^2``; it
  stays inside [0, 1]. The same band lifelines' ``KaplanMeierFitter`` reports.
* Median survival: the first ``t`` with ``S(t) <= 0.5``; its interval (Brookmeyer & Crowley
  1982) is read off the band: from the first ``t`` where the lower band is ``<= 0.5`` to the
  first where the upper band is (no upper end when the upper band never gets there).
* Log-rank (Mantel 1966; Peto & Peto 1972): at each event time the observed events of each
  group against those expected under one common hazard, ``E_g = d n_g / n``, with the
  hypergeometric covariance ``V_gh = d (n - d) / (n - 1) * n_g / n * (delta_gh - n_h / n)``;
  ``chi2 = (O - E)' V^- (O - E)`` on ``k - 1`` degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Curve", "kaplan_meier", "logrank", "survival_at"]


@dataclass(frozen=True)
class Curve:
    """One Kaplan–Meier curve at the distinct durations of its group (and day 0)."""

    days: np.ndarray  # durations, ascending, starting at 0
    at_risk: np.ndarray  # customers at risk just before each duration
    events: np.ndarray  # customers who left at that duration
    censored: np.ndarray  # observation ended at that duration
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: int
    median: float  # nan when the curve never reaches 0.5
    median_low: float
    median_high: float  # inf when the upper band never reaches 0.5


def _first_at_or_below(days: np.ndarray, values: np.ndarray, q: float) -> float:
    hit = np.flatnonzero(values <= q)
    return float(days[hit[0]]) if hit.size else float("inf")


def kaplan_meier(
    days: np.ndarray, events: np.ndarray, censored: np.ndarray, *, confidence: float = 0.95
) -> Curve:
    """The Kaplan–Meier curve of one group from its counts per duration.

    ``days``: distinct durations (any order; non-negative); ``events``/``censored``: counts
    at each. Returns the curve at day 0 and at every duration."""
    order = np.argsort(days, kind="stable")
    t = np.asarray(days, dtype=np.float64)[order]
    d = np.asarray(events, dtype=np.float64)[order]
    c = np.asarray(censored, dtype=np.float64)[order]
    if t.size == 0 or t[0] > 0:
        t = np.concatenate([[0.0], t])
        d = np.concatenate([[0.0], d])
        c = np.concatenate([[0.0], c])
    n = float(d.sum() + c.sum())
    removed = np.cumsum(d + c)
    at_risk = n - np.concatenate([[0.0], removed[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - d / at_risk, 1.0)
        s = np.cumprod(factor)
        term = np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0)
        green = np.cumsum(term)  # inf once a step takes the curve to 0
        z = stats.norm.ppf(0.5 + confidence / 2)
        log_s = np.log(s)
        sigma = np.sqrt(green) / np.abs(log_s)
        lo = np.exp(-np.exp(np.log(-log_s) + z * sigma))
        hi = np.exp(-np.exp(np.log(-log_s) - z * sigma))
    one = s >= 1.0
    lo = np.where(one, 1.0, lo)
    hi = np.where(one, 1.0, hi)
    zero = s <= 0.0
    lo = np.where(zero, 0.0, lo)
    hi = np.where(zero, 0.0, hi)
    median = _first_at_or_below(t, s, 0.5)
    return Curve(
        days=t,
        at_risk=at_risk,
        events=d,
        censored=c,
        survival=s,
        ci_low=lo,
        ci_high=hi,
        n=int(n),
        median=median if np.isfinite(median) else float("nan"),
        median_low=_first_at_or_below(t, lo, 0.5),
        median_high=_first_at_or_below(t, hi, 0.5),
    )


def survival_at(curve: Curve, day: float) -> tuple[float, float, float]:
    """``S(day)`` with its band (the step function); NaN beyond the last duration."""
    if day > curve.days[-1]:
        return (float("nan"),) * 3
    i = int(np.searchsorted(curve.days, day, side="right")) - 1
    return float(curve.survival[i]), float(curve.ci_low[i]), float(curve.ci_high[i])


def logrank(
    days: np.ndarray, events: np.ndarray, censored: np.ndarray
) -> tuple[float, int, float, np.ndarray, np.ndarray]:
    """The k-group log-rank test from counts per group (rows) and duration (columns).

    ``days``: the distinct durations (columns); ``events``/``censored``: ``k × T`` counts.
    Returns ``(chi2, df, p, observed, expected)``."""
    order = np.argsort(days, kind="stable")
    d = np.asarray(events, dtype=np.float64)[:, order]
    c = np.asarray(censored, dtype=np.float64)[:, order]
    k = d.shape[0]
    n_g = d.sum(axis=1) + c.sum(axis=1)
    removed = np.cumsum(d + c, axis=1)
    at_risk = n_g[:, None] - np.concatenate([np.zeros((k, 1)), removed[:, :-1]], axis=1)
    n = at_risk.sum(axis=0)
    dt = d.sum(axis=0)
    keep = (dt > 0) & (n > 0)
    d, at_risk, n, dt = d[:, keep], at_risk[:, keep], n[keep], dt[keep]
    observed = d.sum(axis=1)
    share = at_risk / n
    expected = (share * dt).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > 1, dt * (n - dt) / (n - 1), 0.0)
    cov = -(share * w) @ share.T
    cov[np.diag_indices(k)] += (share * w).sum(axis=1)
    diff = observed - expected
    df = k - 1
    if df < 1:
        return float("nan"), 0, float("nan"), observed, expected
    v = cov[:-1, :-1]
    try:
        chi2 = float(diff[:-1] @ np.linalg.solve(v, diff[:-1]))
    except np.linalg.LinAlgError:
        chi2 = float(diff[:-1] @ np.linalg.pinv(v) @ diff[:-1])
    if not np.isfinite(chi2):
        return float("nan"), df, float("nan"), observed, expected
    return chi2, df, float(stats.chi2.sf(chi2, df)), observed, expected
