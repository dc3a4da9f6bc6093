"""Relative importance of correlated predictors: Johnson's relative weights and LMG/Shapley.

Both work on a correlation matrix, so the store can compute the one pass of
moments (counts, sums, cross-products) and hand back a few numbers, however
many rows there are.

* :func:`relative_weights` — Johnson (2000): the predictors are replaced by
  their closest orthogonal counterparts ``Z = X Λ⁻¹`` with ``Λ = R^{1/2}``
  (the symmetric square root of the predictors' correlation matrix); the
  outcome is regressed on ``Z`` (``β = Λ⁻¹ r_xy``) and each ``β_k²`` is shared
  back to the predictors in proportion to ``Λ_jk²``. The raw weights
  ``ε_j = Σ_k Λ_jk² β_k²`` sum to the model's R².
* :func:`lmg` — Lindeman, Merenda & Gold (1980), the Shapley value of R²:
  the mean gain in R² from adding a predictor, over every order in which the
  predictors can enter. Exact; ``2^k`` sub-models, so ``k ≤ 12`` by default.
* :func:`logistic_weights_from_fit` — Tonidandel & LeBreton (2010): for a
  binary outcome, the logistic regression on ``Z`` takes the place of the
  least-squares one; its coefficients are fully standardized (Menard 2004:
  ``b · s_Z · R / s_logit``, with ``R`` the correlation between the outcome
  and the predicted probability), so the raw weights sum to that ``R²``.

References: J. W. Johnson (2000), *A heuristic method for estimating the
relative weight of predictor variables in multiple regression*, Multivariate
Behavioral Research 35(1), 1–19. R. H. Lindeman, P. F. Merenda, R. Z. Gold
(1980), *Introduction to Bivariate and Multivariate Analysis*. U. Grömping
(2006), *Relative importance for linear regression in R: the package
relaimpo*, JSS 17(1). S. Tonidandel, J. M. LeBreton (2010), *Determining the
relative importance of predictors in logistic regression: an extension of
relative weight analysis*, Organizational Research Methods 13(4), 767–781.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CrossMoments",
    "RelativeWeights",
    "correlation_from_moments",
    "lmg",
    "logistic_weights_from_fit",
    "r_squared_subsets",
    "relative_weights",
    "sqrtm_psd",
    "vif",
]

#: eigenvalues below this (relative to the largest) make the predictors collinear
_SINGULAR = 1e-10


@dataclass(frozen=True)
class CrossMoments:
    """Sums over rows that determine means, covariances and correlations.

    ``n`` rows; ``s`` the sum of each column; ``ss`` the sums of cross-products
    (``ss[i, j] = Σ x_i x_j``). Several sets add up (``a + b``), which is what a
    bootstrap over groups of rows needs.
    """

    n: float
    s: np.ndarray
    ss: np.ndarray

    def __add__(self, other: CrossMoments) -> CrossMoments:
        return CrossMoments(self.n + other.n, self.s + other.s, self.ss + other.ss)

    @property
    def mean(self) -> np.ndarray:
        return self.s / self.n

    @property
    def cov(self) -> np.ndarray:
        """The sample covariance matrix (``n - 1`` in the denominator)."""
        m = self.mean
        return (self.ss - self.n * np.outer(m, m)) / (self.n - 1)


def correlation_from_moments(m: CrossMoments) -> tuple[np.ndarray, np.ndarray]:
    """``(correlation matrix, standard deviations)``; a constant column gives sd 0."""
    cov = m.cov
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0), sd


def sqrtm_psd(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Λ, eigenvalues, eigenvectors)`` with ``Λ = V diag(√λ) Vᵀ``, the symmetric root."""
    vals, vecs = np.linalg.eigh(r)
    vals = np.clip(vals, 0.0, None)
    return (vecs * np.sqrt(vals)) @ vecs.T, vals, vecs


@dataclass(frozen=True)
class RelativeWeights:
    """Johnson's relative weights of ``k`` predictors for one outcome."""

    #: raw weights ε_j (they sum to ``r2``)
    raw: np.ndarray
    #: R² of the full model
    r2: float
    #: standardized regression coefficients of the full model
    beta: np.ndarray
    #: variance inflation factors (diagonal of R⁻¹): collinearity per predictor
    vif: np.ndarray
    #: condition number of the predictors' correlation matrix (largest / smallest eigenvalue)
    condition: float

    @property
    def share(self) -> np.ndarray:
        """Each raw weight as a percentage of R² (they sum to 100)."""
        if self.r2 <= 0:
            return np.full_like(self.raw, np.nan)
        return 100.0 * self.raw / self.r2


def relative_weights(rxx: np.ndarray, rxy: np.ndarray) -> RelativeWeights:
    """Johnson's relative weights from the predictors' correlations ``rxx`` (k × k) and
    their correlations with the outcome ``rxy`` (k).

    Collinear predictors (a singular ``rxx``) are allowed: their share of the
    variance is split between them, and ``condition`` is infinite.
    """
    rxx = np.asarray(rxx, dtype=float)
    rxy = np.asarray(rxy, dtype=float)
    lam, vals, vecs = sqrtm_psd(rxx)
    top = vals.max() if vals.size else 0.0
    keep = vals > _SINGULAR * max(top, 1.0)
    # Λ⁻¹ r_xy on the non-null eigen-space (a pseudo-inverse where predictors are collinear)
    inv_root = (vecs[:, keep] / np.sqrt(vals[keep])) @ vecs[:, keep].T
    b = inv_root @ rxy
    raw = (lam**2) @ (b**2)
    pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    beta = pinv @ rxy
    r2 = float(rxy @ beta)
    condition = math.inf if not keep.all() else float(top / vals.min())
    return RelativeWeights(raw=raw, r2=r2, beta=beta, vif=vif(rxx), condition=condition)


def vif(rxx: np.ndarray) -> np.ndarray:
    """Variance inflation factors: ``1 / (1 - R²_j)``, with ``R²_j`` the share of predictor
    ``j`` the others explain. Infinite only for predictors the others determine exactly."""
    rxx = np.asarray(rxx, dtype=float)
    k = len(rxx)
    out = np.ones(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        if not others:
            continue
        r = rxx[j, others]
        explained = float(r @ np.linalg.pinv(rxx[np.ix_(others, others)], hermitian=True) @ r)
        left = 1.0 - explained
        out[j] = math.inf if left <= 1e-10 else 1.0 / left
    return out


def _subset_r2(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R² of every subset of the predictors, indexed by bit mask (bit ``i``: predictor ``i``).

    Sub-models of the same size are solved together (one batched solve per
    size); a singular sub-model uses the pseudo-inverse.
    """
    k = len(rxy)
    out = np.zeros(1 << k)
    for size in range(1, k + 1):
        idx = np.array(list(itertools.combinations(range(k), size)))
        sub = rxx[idx[:, :, None], idx[:, None, :]]
        rhs = rxy[idx]
        try:
            coef = np.linalg.solve(sub, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            coef = np.einsum("bij,bj->bi", np.linalg.pinv(sub), rhs)
        masks = (1 << idx).sum(axis=1)
        out[masks] = np.einsum("bi,bi->b", rhs, coef)
    return out


def r_squared_subsets(rxx: np.ndarray, rxy: np.ndarray) -> dict[int, float]:
    """R² of the regression on every subset of the predictors, keyed by bit mask."""
    r2 = _subset_r2(np.asarray(rxx, float), np.asarray(rxy, float))
    return {mask: float(v) for mask, v in enumerate(r2)}


def lmg(rxx: np.ndarray, rxy: np.ndarray, *, max_predictors: int = 12) -> np.ndarray:
    """LMG (Shapley) shares of R², one per predictor; they sum to the full model's R².

    Share ``j`` is ``Σ_S |S|! (k-|S|-1)! / k! · (R²(S ∪ j) - R²(S))`` over the
    subsets ``S`` of the other predictors.
    """
    rxx = np.asarray(rxx, dtype=float)
    rxy = np.asarray(rxy, dtype=float)
    k = len(rxy)
    if k > max_predictors:
        raise ValueError(f"LMG needs 2^k sub-models; {k} predictors > {max_predictors}")
    r2 = _subset_r2(rxx, rxy)
    masks = np.arange(1 << k)
    sizes = np.array([int(m).bit_count() for m in masks])
    weight = np.array(
        [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    )
    shares = np.zeros(k)
    for j in range(k):
        without = masks[(masks >> j) & 1 == 0]
        gains = r2[without | (1 << j)] - r2[without]
        shares[j] = weight[sizes[without]] @ gains
    return shares


def logistic_weights_from_fit(
    lam: np.ndarray,
    coef: np.ndarray,
    linear: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Raw logistic relative weights and their ``R²`` from a logistic fit on ``Z``.

    ``lam`` is ``Λ`` of the predictors, ``coef`` the fitted coefficients on the
    standardized orthogonal predictors ``Z``, ``linear`` the fitted log-odds,
    ``p`` the fitted probabilities and ``y`` the 0/1 outcome (``weights``:
    row weights, e.g. a bootstrap's counts). ``R²`` is the squared correlation
    between ``y`` and ``p``.
    """
    w = np.ones_like(y, dtype=float) if weights is None else np.asarray(weights, float)

    def wcov(a: np.ndarray, b: np.ndarray) -> float:
        ma = np.average(a, weights=w)
        mb = np.average(b, weights=w)
        return float(np.average((a - ma) * (b - mb), weights=w))

    var_y, var_p, var_l = wcov(y, y), wcov(p, p), wcov(linear, linear)
    if var_y <= 0 or var_p <= 0 or var_l <= 0:
        return np.zeros(len(coef)), 0.0
    r = wcov(y, p) / math.sqrt(var_y * var_p)
    beta = coef * r / math.sqrt(var_l)
    raw = (lam**2) @ (beta**2)
    return raw, float(raw.sum())
