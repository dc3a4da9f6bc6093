"""The churn-risk model: a penalised logistic regression on an additive design, stored as JSON.

The design turns each customer feature into columns the logistic regression reads:

- a *continuous* number (many distinct values: tenure, recency, revenue) becomes a cubic
  B-spline basis on its standardised value (knots at training quantiles, chosen by
  scikit-learn's :class:`~sklearn.preprocessing.SplineTransformer`; constant beyond the
  outer knots), so risk may bend with tenure instead of following a straight line;
- any other number (counts, flags, a 0-10 answer) is standardised (training mean and
  standard deviation);
- a missing number is filled with the training mean, and a ``missing`` indicator column is
  added for a feature that was missing in training (``latest_nps`` without an answer);
- a category (``Contract``, ``region``) is one-hot encoded on its training levels (at most
  :data:`MAX_LEVELS`, the rarer ones pooled as ``other``); an unseen level is all zeros.

The coefficients are those of scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`
(L2 penalty, ``C``), which minimises ``C·Σ logloss + ½‖w‖²``. Everything the model needs to
score again (means, scales, knots, levels, coefficients, the covariance) is plain numbers:
:meth:`RiskModel.to_json` / :meth:`RiskModel.from_json` rebuild it exactly, without pickle.

**Intervals** for a customer's probability come from the delta method on the linear
predictor η = b + xᵀw: Var(η) = x̃ᵀ Σ x̃ with Σ the inverse of the penalised objective's
Hessian at the optimum, H = X̃ᵀ diag(p(1−p)) X̃ + diag(0, 1/C, …, 1/C) (X̃ with a column of
ones); the 95% interval is logistic(η ± 1.96·√Var(η)) (e.g. Hosmer, Lemeshow & Sturdivant,
*Applied Logistic Regression*, 3rd ed., 2013, §1.4; the penalised Hessian as in le Cessie &
van Houwelingen, *Ridge estimators in logistic regression*, Appl. Statist. 41, 1992).

**Reasons**: η − η̄ = Σⱼ wⱼ (x̃ⱼ − x̄ⱼ) over the design columns, with x̄ the training means;
summing the terms of the columns that come from one original feature gives that feature's
exact additive contribution to the customer's log-odds against the average customer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import BSpline
from scipy.special import expit

from cxray.exceptions import AnalysisError, ModelError

__all__ = ["MAX_LEVELS", "RiskModel"]

#: levels kept per category (the rest pooled as "other")
MAX_LEVELS = 15
#: distinct values from which a number gets a spline basis instead of one slope
SPLINE_MIN_DISTINCT = 20
#: the penalties ``C="auto"`` chooses from
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: most training rows the choice of ``C`` looks at
CV_ROWS = 100_000
#: format version of the stored JSON
FORMAT = 1
_Z95 = 1.959963984540054


@dataclass
class _Term:
    """One original feature and the design columns it becomes."""

    name: str
    kind: str  # "spline", "linear" or "category"
    mean: float = 0.0
    scale: float = 1.0
    missing: bool = False  # has a missing-indicator column
    knots: list[float] | None = None
    degree: int = 3
    levels: list[str] | None = None

    def width(self) -> int:
        if self.kind == "category":
            assert self.levels is not None
            return len(self.levels)
        base = len(self.knots) - self.degree - 1 if self.kind == "spline" else 1  # type: ignore[arg-type]
        return base + (1 if self.missing else 0)

    def columns(self) -> list[str]:
        if self.kind == "category":
            return [f"{self.name}={lv}" for lv in self.levels or []]
        n = self.width() - (1 if self.missing else 0)
        cols = [self.name] if self.kind == "linear" else [f"{self.name}[s{i}]" for i in range(n)]
        return cols + ([f"{self.name}[missing]"] if self.missing else [])

    def design(self, values: pd.Series) -> np.ndarray:
        if self.kind == "category":
            text = values.astype("string").fillna("")
            known = set(self.levels or [])
            text = text.where(text.isin(known) | (text == ""), "other")
            return np.column_stack([(text == lv).to_numpy(dtype=float) for lv in self.levels or []])
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        miss = np.isnan(x)
        z = np.where(miss, 0.0, (x - self.mean) / self.scale)
        if self.kind == "linear":
            out = z[:, None]
        else:
            t = np.asarray(self.knots, dtype=float)
            k = self.degree
            zc = np.clip(z, t[k], np.nextafter(t[-k - 1], -np.inf))
            out = BSpline.design_matrix(zc, t, k, extrapolate=False).toarray()
        if self.missing:
            out = np.column_stack([out, miss.astype(float)])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class RiskModel:
    """A penalised logistic regression of churn on customer features (estimator contract).

    ``numeric``/``categorical``: the feature columns of the frame ``fit`` receives;
    ``C``: inverse L2 penalty, or ``"auto"``: chosen from :data:`C_GRID` by the AUC of a
    seeded 3-fold stratified cross-validation on the training rows (at most
    :data:`CV_ROWS` of them, drawn with ``seed``); the choice is ``C_``;
    ``n_knots``/``degree``: the spline bases of continuous features; ``seed``: fixes every
    random choice (the cross-validation folds and rows; the solver is deterministic).
    Fitted attributes end in ``_``.
    """

    def __init__(
        self,
        *,
        numeric: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
        C: float | str = "auto",
        n_knots: int = 5,
        degree: int = 3,
        seed: int = 0,
    ):
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)
        self.C = C
        self.n_knots = n_knots
        self.degree = degree
        self.seed = seed

    # --------------------------------------------------------------- contract
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "C": self.C,
            "n_knots": self.n_knots,
            "degree": self.degree,
            "seed": self.seed,
        }

    def set_params(self, **params: Any) -> RiskModel:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"unknown parameter {k!r} of RiskModel")
            setattr(self, k, v)
        return self

    # --------------------------------------------------------------- fitting
    def _terms(self, frame: pd.DataFrame) -> list[_Term]:
        from sklearn.preprocessing import SplineTransformer

        terms: list[_Term] = []
        kept: set[bytes] = set()
        for name in self.numeric:
            x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            seen = x[~np.isnan(x)]
            if seen.size == 0 or np.ptp(seen) == 0:
                continue  # no information: left out
            if (key := np.nan_to_num(x, nan=np.inf).tobytes()) in kept:
                continue  # a copy of an earlier feature (recency without orders is tenure)
            kept.add(key)
            mean = float(seen.mean())
            scale = float(seen.std()) or 1.0
            missing = bool(np.isnan(x).any())
            if np.unique(seen).size >= SPLINE_MIN_DISTINCT:
                z = ((seen - mean) / scale)[:, None]
                st = SplineTransformer(n_knots=self.n_knots, degree=self.degree, knots="quantile")
                st.fit(z)
                knots = [float(v) for v in st.bsplines_[0].t]
                if len(set(knots)) >= self.n_knots:
                    terms.append(_Term(name, "spline", mean, scale, missing, knots, self.degree))
                    continue
            terms.append(_Term(name, "linear", mean, scale, missing))
        for name in self.categorical:
            counts = frame[name].astype("string").dropna().value_counts()
            counts = counts[counts.index.str.len() > 0]
            if len(counts) < 2:
                continue
            levels = sorted(counts.index[:MAX_LEVELS].tolist())
            if len(counts) > MAX_LEVELS:
                levels.append("other")
            terms.append(_Term(name, "category", levels=levels))
        return terms

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [t.name for t in self.terms_ if t.name not in frame.columns]
        if missing:
            raise AnalysisError(f"the model needs feature(s) the data lacks: {', '.join(missing)}")
        parts = [t.design(frame[t.name]) for t in self.terms_]
        return np.column_stack(parts) if parts else np.zeros((len(frame), 0))

    def fit(self, frame: pd.DataFrame, y: Any) -> RiskModel:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: the design is narrow (tens of columns), so threads gain little,
        # and on a busy machine contending threads made training three times slower at 1M
        # customers and each Hessian 25 times slower at 7k (benchmarks/README.md)
        with threadpool_limits(limits=1):
            return self._fit(frame, y)

    def _fit(self, frame: pd.DataFrame, y: Any) -> RiskModel:
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y, dtype=float)
        if len(y) != len(frame):
            raise AnalysisError("the outcome and the features differ in length")
        if len(np.unique(y)) < 2:
            raise AnalysisError("the training customers all have the same outcome: no model")
        self.terms_ = self._terms(frame)
        if not self.terms_:
            raise AnalysisError("no feature varies among the training customers: no model")
        X = self._design(frame)
        self.C_ = self._choose_c(X, y) if self.C == "auto" else float(self.C)
        if not self.C_ > 0:
            raise AnalysisError(f"C must be positive or 'auto', got {self.C!r}")
        lr = LogisticRegression(C=self.C_, solver="newton-cholesky", max_iter=200, tol=1e-10)
        lr.fit(X, y)
        self.coef_ = lr.coef_[0].astype(float)
        self.intercept_ = float(lr.intercept_[0])
        self.column_means_ = X.mean(axis=0)
        self.columns_ = [c for t in self.terms_ for c in t.columns()]
        # the penalised Hessian, summed over chunks of rows (no second copy of the design)
        k = X.shape[1] + 1
        H = np.zeros((k, k))
        for lo in range(0, len(X), 100_000):
            part = X[lo : lo + 100_000]
            w = expit(part @ self.coef_ + self.intercept_)
            w = w * (1 - w)
            X1 = np.column_stack([np.ones(len(part)), part])
            H += X1.T @ (X1 * w[:, None])
        H[np.arange(1, k), np.arange(1, k)] += 1.0 / self.C_
        self.covariance_ = np.linalg.pinv(H)
        self.n_train_ = len(y)
        self.base_rate_ = float(y.mean())
        return self

    def _choose_c(self, X: np.ndarray, y: np.ndarray) -> float:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        rng = np.random.default_rng(self.seed)
        rows = np.arange(len(y))
        if len(rows) > CV_ROWS:
            rows = np.sort(rng.choice(rows, CV_ROWS, replace=False))
        Xs, ys = X[rows], y[rows]
        folds = int(min(3, np.bincount(ys.astype(int)).min()))
        if folds < 2:
            return 1.0
        cv = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        best, best_auc = 1.0, -1.0
        splits = list(cv.split(Xs, ys))
        for c in C_GRID:
            aucs = []
            for tr, te in splits:
                lr = LogisticRegression(C=c, solver="newton-cholesky", tol=1e-6)
                lr.fit(Xs[tr], ys[tr])
                aucs.append(roc_auc_score(ys[te], lr.decision_function(Xs[te])))
            if np.mean(aucs) > best_auc + 1e-9:
                best, best_auc = c, float(np.mean(aucs))
        return best

    # --------------------------------------------------------------- using
    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise ModelError("the churn-risk model is not fitted")

    def linear_predictor(self, frame: pd.DataFrame) -> np.ndarray:
        self._check()
        return self._design(frame) @ self.coef_ + self.intercept_

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of churn per row (one column, unlike scikit-learn's two)."""
        return expit(self.linear_predictor(frame))

    def explain(self, frame: pd.DataFrame, chunk: int = 200_000) -> dict[str, Any]:
        """Probability, its delta-method 95% interval and the contribution of each original
        feature to the log-odds (against the training average) for every row; the mean
        probability with its delta-method interval (gradient: the mean of p(1−p)·x̃)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._explain(frame, chunk)

    def _explain(self, frame: pd.DataFrame, chunk: int) -> dict[str, Any]:
        self._check()
        n = len(frame)
        eta = np.empty(n)
        se = np.empty(n)
        contrib = np.empty((n, len(self.terms_)))
        gradient = np.zeros(len(self.coef_) + 1)  # of the mean probability, for its interval
        widths = np.cumsum([0] + [t.width() for t in self.terms_])
        for lo in range(0, n, chunk):
            part = frame.iloc[lo : lo + chunk]
            X = self._design(part)
            eta[lo : lo + len(part)] = X @ self.coef_ + self.intercept_
            X1 = np.column_stack([np.ones(len(X)), X])
            pr = expit(eta[lo : lo + len(part)])
            gradient += X1.T @ (pr * (1 - pr))
            se[lo : lo + len(part)] = np.sqrt(
                np.maximum(((X1 @ self.covariance_) * X1).sum(axis=1), 0.0)
            )
            terms = (X - self.column_means_) * self.coef_
            for j in range(len(self.terms_)):
                contrib[lo : lo + len(part), j] = terms[:, widths[j] : widths[j + 1]].sum(axis=1)
        p = expit(eta)
        gradient /= max(n, 1)
        mean_se = float(np.sqrt(max(gradient @ self.covariance_ @ gradient, 0.0)))
        return {
            "probability": p,
            "ci_low": expit(eta - _Z95 * se),
            "ci_high": expit(eta + _Z95 * se),
            "contributions": contrib,
            # the mean probability (the expected churn rate) and its delta-method interval
            "mean": float(p.mean()) if n else float("nan"),
            "mean_ci_low": float(max(0.0, p.mean() - _Z95 * mean_se)) if n else float("nan"),
            "mean_ci_high": float(min(1.0, p.mean() + _Z95 * mean_se)) if n else float("nan"),
        }

    @property
    def features_(self) -> list[str]:
        return [t.name for t in self.terms_]

    # --------------------------------------------------------------- storage
    def to_json(self) -> dict[str, Any]:
        """Every number needed to score again: plain JSON, no pickle."""
        self._check()
        return {
            "format": FORMAT,
            "params": {
                **self.get_params(),
                "numeric": list(self.numeric),
                "categorical": list(self.categorical),
            },
            "terms": [t.to_dict() for t in self.terms_],
            "columns": self.columns_,
            "coef": [float(v) for v in self.coef_],
            "intercept": self.intercept_,
            "column_means": [float(v) for v in self.column_means_],
            "covariance": [[float(v) for v in row] for row in self.covariance_],
            "n_train": self.n_train_,
            "C_": self.C_,
            "base_rate": self.base_rate_,
        }

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> RiskModel:
        if spec.get("format") != FORMAT:
            raise ModelError(
                f"stored churn-risk model has format {spec.get('format')!r}; this cxray reads "
                f"format {FORMAT}: train it again with `cxray churn model`"
            )
        params = dict(spec["params"])
        params["numeric"] = tuple(params["numeric"])
        params["categorical"] = tuple(params["categorical"])
        m = cls(**params)
        m.terms_ = [_Term(**t) for t in spec["terms"]]
        m.columns_ = list(spec["columns"])
        m.coef_ = np.asarray(spec["coef"], dtype=float)
        m.intercept_ = float(spec["intercept"])
        m.column_means_ = np.asarray(spec["column_means"], dtype=float)
        m.covariance_ = np.asarray(spec["covariance"], dtype=float)
        m.n_train_ = int(spec["n_train"])
        m.C_ = float(spec["C_"])
        m.base_rate_ = float(spec["base_rate"])
        if len(m.coef_) != sum(t.width() for t in m.terms_) or not all(
            math.isfinite(v) for v in m.coef_
        ):
            raise ModelError("the stored churn-risk model is damaged: train it again")
        return m
