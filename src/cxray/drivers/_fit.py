"""Fitting relative weights, their effects and their bootstrap intervals.

Linear outcomes are fitted from the moments the store summed
(:mod:`cxray.drivers._moments_store`): one correlation matrix, Johnson's
relative weights, LMG shares for a few drivers, the full model's
coefficients, and the same again on every bootstrap replicate of the
moments. Binary outcomes follow Tonidandel & LeBreton (2010): a logistic
regression on the orthogonalized drivers, fitted on the rows themselves (a
deterministic sample of them when there are many), the bootstrap resampling
those rows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from cxray.stats import (
    CrossMoments,
    correlation_from_moments,
    lmg,
    logistic_weights_from_fit,
    relative_weights,
    sqrtm_psd,
    vif,
)

__all__ = ["Fit", "fit_linear", "fit_logistic", "percentile_interval"]


@dataclass(frozen=True)
class Fit:
    """One fit of ``k`` drivers: raw weights, R², coefficients, correlations."""

    raw: np.ndarray
    r2: float
    #: per unit of the driver: outcome units (linear) or log-odds (logistic)
    coef: np.ndarray
    corr: np.ndarray
    vif: np.ndarray
    condition: float
    lmg: np.ndarray | None = None

    @property
    def share(self) -> np.ndarray:
        if self.r2 <= 0:
            return np.full_like(self.raw, np.nan)
        return 100.0 * self.raw / self.r2


def fit_linear(m: CrossMoments, *, with_lmg: bool) -> Fit | None:
    """Relative weights of variables ``0..k-1`` for variable ``k`` (the outcome).

    ``None`` when a variable does not vary in these moments (a replicate
    that drew no row with a rare value).
    """
    r, sd = correlation_from_moments(m)
    if not np.all(sd > 0) or not np.all(np.isfinite(r)):
        return None
    k = len(sd) - 1
    rxx, rxy = r[:k, :k], r[:k, k]
    rw = relative_weights(rxx, rxy)
    coef = rw.beta * sd[k] / sd[:k]
    shares = lmg(rxx, rxy) if with_lmg else None
    return Fit(rw.raw, rw.r2, coef, rxy, rw.vif, rw.condition, shares)


def _weighted(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    total = w.sum()
    mean = (w @ x) / total
    centred = x - mean
    cov = (centred * w[:, None]).T @ centred / (total - 1.0)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return mean, cov, sd


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> Fit | None:
    """Logistic relative weights of the columns of ``x`` for the 0/1 outcome ``y``.

    The drivers are standardized and orthogonalized (``Z = X_s Λ⁻¹``), ``y``
    is regressed on the standardized ``Z`` by maximum likelihood (a negligible
    ridge keeps perfectly separated data finite), and the coefficients are
    standardized as Tonidandel & LeBreton prescribe. ``w``: row weights (a
    bootstrap's counts).
    """
    w = np.ones(len(y)) if w is None else np.asarray(w, float)
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    if len(np.unique(y)) < 2:
        return None
    mean, cov, sd = _weighted(x, w)
    if not np.all(sd > 0):
        return None
    r = cov / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    lam, vals, vecs = sqrtm_psd(r)
    ok = vals > 1e-10 * max(vals.max(), 1.0)
    inv_root = (vecs[:, ok] / np.sqrt(vals[ok])) @ vecs[:, ok].T
    xs = (x - mean) / sd
    z = xs @ inv_root
    z_mean, _, z_sd = _weighted(z, w)
    z_sd = np.where(z_sd > 0, z_sd, 1.0)
    zs = (z - z_mean) / z_sd
    c0, c = logistic_mle(zs, y, w)
    linear = c0 + zs @ c
    p = special.expit(linear)
    raw, r2 = logistic_weights_from_fit(lam, c, linear, y, p, w)
    # the same model on the drivers' own units: log-odds per unit of each driver
    coef = (inv_root @ (c / z_sd)) / sd
    corr = np.array(
        [np.corrcoef(x[:, j], y)[0, 1] if w is None else _wcorr(x[:, j], y, w)
         for j in range(x.shape[1])]
    )  # fmt: skip
    condition = math.inf if not ok.all() else float(vals.max() / vals.min())
    return Fit(raw, r2, coef, corr, vif(r), condition)


def logistic_mle(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, *, ridge: float = 1e-6, max_iter: int = 50
) -> tuple[float, np.ndarray]:
    """``(intercept, coefficients)`` of a weighted logistic regression by Newton-Raphson.

    A tiny ridge on the coefficients (not the intercept), ``ridge`` times the
    total weight, keeps the estimates finite when the outcome is perfectly
    separated; otherwise it changes nothing that matters. Steps are halved
    whenever they would lower the likelihood.
    """
    n, k = x.shape
    design = np.column_stack([np.ones(n), x])
    beta = np.zeros(k + 1)
    mean = float(np.average(y, weights=w))
    beta[0] = math.log(mean / (1.0 - mean))
    penalty = np.full(k + 1, ridge * w.sum())
    penalty[0] = 0.0

    def loglik(b: np.ndarray) -> float:
        eta = design @ b
        return float(w @ (y * eta - np.logaddexp(0.0, eta)) - 0.5 * penalty @ (b * b))

    current = loglik(beta)
    for _ in range(max_iter):
        eta = design @ beta
        p = special.expit(eta)
        grad = design.T @ (w * (y - p)) - penalty * beta
        hess = (design * (w * p * (1.0 - p))[:, None]).T @ design + np.diag(penalty)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        size = 1.0
        while True:
            trial = beta + size * step
            value = loglik(trial)
            if value >= current - 1e-12 or size < 1e-6:
                break
            size /= 2.0
        beta, previous, current = trial, current, value
        if abs(current - previous) < 1e-10 * (1.0 + abs(current)):
            break
    return float(beta[0]), beta[1:]


def _wcorr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    _, cov, sd = _weighted(np.column_stack([a, b]), w)
    if sd[0] <= 0 or sd[1] <= 0:
        return math.nan
    return float(cov[0, 1] / (sd[0] * sd[1]))


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap bounds along the first axis, ignoring failed replicates (NaN)."""
    tail = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column stays NaN
        lo = np.nanquantile(values, tail, axis=0)
        hi = np.nanquantile(values, 1.0 - tail, axis=0)
    return lo, hi
