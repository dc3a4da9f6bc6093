"""How good a churn-risk score is: AUC with DeLong's interval, PR-AUC, Brier, reliability, lift.

- **AUC** with its 95% interval by DeLong's method (DeLong, DeLong & Clarke-Pearson,
  *Comparing the areas under two or more correlated ROC curves*, Biometrics 44, 1988), in the
  fast O(n log n) form of Sun & Xu (*Fast implementation of DeLong's algorithm*, IEEE Signal
  Processing Letters 21, 2014); the difference of two scores' AUCs on the same customers
  with the paired DeLong interval.
- **PR-AUC**: average precision (scikit-learn's ``average_precision_score``).
- **Brier score**: the mean squared difference of probability and outcome (Brier, 1950).
- **Reliability**: ten bins of equal count by predicted probability, each with its mean
  prediction and the observed churn rate with a Wilson interval.
- **Lift at the top decile**: the churn rate of the 10% highest scores over the overall
  rate; **capture**: the share of all churners among them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm

from cxray.stats import proportion

__all__ = ["delong", "scores"]

_Z95 = norm.ppf(0.975)


def _midrank(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.empty(n)
    # ties share the mean of their positions (1-based)
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], n]
    mid = (starts + ends + 1) / 2.0
    ranks_sorted = np.repeat(mid, ends - starts)
    ranks[order] = ranks_sorted
    return ranks


def delong(y: np.ndarray, *preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of ``preds`` for the binary ``y`` and their DeLong covariance matrix."""
    y = np.asarray(y).astype(bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    m, n = len(pos), len(neg)
    k = len(preds)
    aucs = np.empty(k)
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for i, p in enumerate(preds):
        p = np.asarray(p, dtype=float)
        x, z = p[pos], p[neg]
        tx, tz, tall = _midrank(x), _midrank(z), _midrank(np.r_[x, z])
        aucs[i] = (tall[:m].sum() - m * (m + 1) / 2) / (m * n)
        v10[i] = (tall[:m] - tx) / n
        v01[i] = 1.0 - (tall[m:] - tz) / m
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return aucs, s10 / m + s01 / n


def _interval(value: float, var: float) -> tuple[float, float]:
    se = float(np.sqrt(max(var, 0.0)))
    return max(0.0, value - _Z95 * se), min(1.0, value + _Z95 * se)


def scores(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """Every figure of one score ``p`` against the outcome ``y`` (0/1)."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n, churners = len(y), int(y.sum())
    aucs, cov = delong(y, p)
    lo, hi = _interval(float(aucs[0]), float(cov[0, 0]))
    order = np.argsort(-p, kind="mergesort")
    top = order[: max(1, round(n * 0.10))]
    rate = churners / n
    top_rate = float(y[top].mean())
    reliability = []
    for part in np.array_split(np.argsort(p, kind="mergesort"), min(bins, n)):
        if not len(part):
            continue
        k = int(y[part].sum())
        est = proportion(k, len(part), min_n=1)
        reliability.append({
            "bin": len(reliability) + 1, "n": len(part),
            "predicted": float(p[part].mean()), "observed": k / len(part),
            "observed_ci_low": est.ci_low, "observed_ci_high": est.ci_high,
            "p_min": float(p[part].min()), "p_max": float(p[part].max()),
        })  # fmt: skip
    return {
        "auc": float(aucs[0]),
        "auc_ci_low": lo,
        "auc_ci_high": hi,
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "lift_top_decile": top_rate / rate if rate else None,
        "capture_top_decile": float(y[top].sum()) / churners if churners else None,
        "churn_rate": rate,
        "n": n,
        "churners": churners,
        "reliability": reliability,
    }


def compare(y: np.ndarray, model: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """The model's AUC minus the baseline's on the same customers, with DeLong's paired
    95% interval."""
    aucs, cov = delong(y, model, baseline)
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    return {"auc_gain": diff, "ci_low": diff - _Z95 * se, "ci_high": diff + _Z95 * se}
