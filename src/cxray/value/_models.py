"""Buy-till-you-die models of purchase frequency and the Gamma-Gamma model of spend.

Each model is fitted by maximum likelihood on the per-customer summary (frequency ``x`` =
repeat purchases, recency ``t_x`` = time of the last purchase after the first, ``T`` = time
since the first purchase; for spend the mean repeat-purchase value ``zbar``):

- :class:`BetaGeoModel`: BG/NBD, Fader, Hardie & Lee (2005), "Counting your customers the
  easy way: an alternative to the Pareto/NBD model", *Marketing Science* 24(2), 275-284.
  Log-likelihood (their eq. 6), written as a log-sum-exp of its two terms; conditional
  expectation (eq. 10), P(alive) and P(X(t)=x) (eq. 8), E[X(t)] (eq. 7).
- :class:`ParetoNBDModel`: Pareto/NBD, Schmittlein, Morrison & Colombo (1987); the
  likelihood as derived in Fader & Hardie (2005), "A note on deriving the Pareto/NBD model
  and related expressions" (eqs. 22-24, the ``A_0`` term through the Gaussian
  hypergeometric function, in logs), P(alive) (eq. 18 of the note) and the conditional
  expectation (Schmittlein et al. 1987, eq. 22).
- :class:`GammaGammaModel`: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves
  for customer base analysis", *Journal of Marketing Research* 42(4), 415-430: spend per
  transaction gamma(p, nu) with nu ~ gamma(q, gamma); the likelihood of a customer's mean
  ``zbar`` of ``x`` transactions and the conditional expected spend (their eq. 5).

Every model follows the scikit-learn estimator contract (``fit`` returns ``self``, learned
state ends in ``_``, ``get_params``), and round-trips through JSON (``to_dict`` /
``from_dict``): no pickles. The likelihoods are vectorised numpy/scipy; BG/NBD and
Gamma-Gamma have analytic gradients (terms that depend on ``x`` only are computed once per
distinct ``x``), Pareto/NBD a numerical one. Parameters are optimised on the log scale with
L-BFGS-B; standard errors come from the inverse Hessian of the negative log-likelihood
(central differences), carried from the log scale by the delta method, and the 95%
intervals are Wald intervals on the log scale (so they stay positive).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from scipy import optimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from cxray.exceptions import AnalysisError, ModelError

__all__ = ["BetaGeoModel", "GammaGammaModel", "ParetoNBDModel", "model_from_dict"]

_Z95 = 1.959963984540054
_BOUND = 15.0  # |log parameter| <= 15: e^15 is 3.3 million
_WARM_START = 200_000  # above this many customers, start from a fit on a quarter of that


def _dot(a: Any, b: Any) -> float:
    """A 1-D dot product without BLAS: a multithreaded BLAS ``ddot`` costs milliseconds on a
    busy machine (thread start-up), the plain multiply-and-sum microseconds."""
    return float(np.add.reduce(np.multiply(a, b), axis=None))


def _array(name: str, values: Any) -> np.ndarray:
    out = np.asarray(values, dtype="float64").ravel()
    if not np.all(np.isfinite(out)):
        raise AnalysisError(f"{name} has missing or infinite values")
    return out


def _check_summary(frequency: Any, recency: Any, T: Any, weights: Any = None) -> tuple:
    x, tx, t = _array("frequency", frequency), _array("recency", recency), _array("T", T)
    if not (x.size == tx.size == t.size):
        raise AnalysisError("frequency, recency and T must have the same length")
    if x.size == 0:
        raise AnalysisError("no customers to fit the model on")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise AnalysisError("frequency must be a whole number of repeat purchases >= 0")
    if np.any(tx < 0) or np.any(tx > t + 1e-9):
        raise AnalysisError("recency must lie between 0 and T for every customer")
    if np.any((x == 0) & (tx > 0)):
        raise AnalysisError("a customer without repeat purchases must have recency 0")
    w = np.ones_like(x) if weights is None else _array("weights", weights)
    if w.size != x.size or np.any(w < 0):
        raise AnalysisError("weights must be one number >= 0 per customer")
    return x, tx, t, w


def _numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray:
    """Forward differences of the gradient (k + 1 evaluations); symmetrised."""
    k = z.size
    h = np.empty((k, k))
    g0 = grad(z)
    for i in range(k):
        step = 1e-5 * max(1.0, abs(z[i]))
        e = np.zeros(k)
        e[i] = step
        with np.errstate(invalid="ignore", over="ignore"):
            h[i] = (grad(z + e) - g0) / step
    return (h + h.T) / 2


def _gradient_of(f: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], np.ndarray]:
    """Forward differences (one evaluation per parameter beyond f(z) itself)."""

    def grad(z: np.ndarray, fz: float | None = None) -> np.ndarray:
        base = f(z) if fz is None else fz
        out = np.empty_like(z)
        for i in range(z.size):
            step = 1e-6 * max(1.0, abs(z[i]))
            e = np.zeros_like(z)
            e[i] = step
            with np.errstate(invalid="ignore", over="ignore"):
                out[i] = (f(z + e) - base) / step
        return out

    return grad


def _function_hessian(f: Callable[[np.ndarray], float], z: np.ndarray) -> np.ndarray:
    """Second differences of ``f`` (1 + 2k + 2k(k-1) evaluations)."""
    k = z.size
    h = np.empty((k, k))
    steps = [1e-4 * max(1.0, abs(v)) for v in z]
    f0 = f(z)
    unit = np.eye(k)
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(k):
            ei = unit[i] * steps[i]
            h[i, i] = (f(z + ei) - 2 * f0 + f(z - ei)) / steps[i] ** 2
            for j in range(i):
                ej = unit[j] * steps[j]
                h[i, j] = h[j, i] = (
                    f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej) + f(z - ei - ej)
                ) / (4 * steps[i] * steps[j])
    return h


class _MLModel(BaseEstimator):
    """What the three models share: fitting on log parameters, errors, JSON."""

    kind: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    title: ClassVar[str]

    def __init__(self, *, max_iter: int = 500, tol: float = 1e-10):
        self.max_iter = max_iter
        self.tol = tol

    # -- to implement: total log-likelihood (and its gradient) on the log parameters
    def _objective(self, z: np.ndarray, data: tuple) -> tuple[float, np.ndarray | None]:
        raise NotImplementedError

    _analytic_gradient: ClassVar[bool] = True

    def _start(self, data: tuple) -> np.ndarray:
        return np.zeros(len(self.param_names))

    def _warm_start(self, prepare: Callable[..., tuple], *columns: np.ndarray) -> Any:
        """For many customers: the optimum on every k-th of them (about 50,000; no randomness)
        and the Hessian per customer there. The fit on all of them then takes Newton steps
        with that Hessian from there: one pass over the data a step, a handful of steps."""
        n = columns[0].size
        if n <= _WARM_START:
            return None
        sub = [c[:: n // (_WARM_START // 4)] for c in columns]
        data = prepare(*sub)
        weight = float(sub[-1].sum())
        z = self._minimise(data, weight, self._start(data)).x
        hess = _numeric_hessian(lambda v: -self._objective(v, data)[1], z)
        return z, hess / weight

    def _newton(self, data: tuple, total_weight: float, start: Any) -> Any:
        """Newton steps from a warm start with its Hessian scaled to all customers (halving a
        step that lowers the likelihood); None when they do not converge in 20 steps."""
        z, hess = start
        h = hess * total_weight
        try:
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            return None
        ll, g = self._objective(z, data)
        for it in range(1, 21):
            step = np.linalg.solve(h, g)
            for _ in range(30):
                z_new = np.clip(z + step, -_BOUND, _BOUND)
                ll_new, g_new = self._objective(z_new, data)
                if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                    break
                step = step / 2
            else:
                return None
            z, ll, g = z_new, ll_new, g_new
            if np.max(np.abs(step)) < 1e-9:
                return optimize.OptimizeResult(x=z, success=True, nit=it, g=g)
        return None

    def _minimise(self, data: tuple, total_weight: float, start: np.ndarray) -> Any:
        scale = 1.0 / total_weight

        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            ll, g = self._objective(z, data)
            if not np.isfinite(ll):
                return 1e300, np.zeros_like(z)
            return -ll * scale, -g * scale  # type: ignore[operator]

        return optimize.minimize(
            fun,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_BOUND, _BOUND)] * len(self.param_names),
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-9},
        )

    def _optimise(self, data: tuple, total_weight: float, start: np.ndarray | None = None) -> None:
        scale = 1.0 / total_weight

        if self._analytic_gradient:
            res = None if start is None else self._newton(data, total_weight, start)
            if res is None:
                z0 = self._start(data) if start is None else start[0]
                res = self._minimise(data, total_weight, z0)

            def grad(z: np.ndarray) -> np.ndarray:
                return -self._objective(z, data)[1]  # type: ignore[operator]
        else:
            neg = _gradient_of(lambda z: -self._objective(z, data)[0])

            def fun_num(z: np.ndarray) -> tuple[float, np.ndarray]:
                ll = self._objective(z, data)[0]
                if not np.isfinite(ll):
                    return 1e300, np.zeros_like(z)
                return -ll * scale, neg(z, -ll) * scale

            res = optimize.minimize(
                fun_num,
                self._start(data),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-_BOUND, _BOUND)] * len(self.param_names),
                options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-8},
            )

            grad = None  # the Hessian from second differences of the log-likelihood

        z = res.x
        ll = self._objective(z, data)[0]
        if not np.isfinite(ll):
            raise ModelError(f"{self.title}: the likelihood could not be maximised")
        theta = np.exp(z)
        self.params_ = dict(zip(self.param_names, map(float, theta), strict=True))
        for name, value in self.params_.items():
            setattr(self, f"{name}_", value)
        self.log_likelihood_ = float(ll)
        self.converged_ = bool(res.success) and bool(np.all(np.abs(z) < _BOUND - 1e-6))
        self.iterations_ = int(getattr(res, "nit", 0))
        self.se_ = dict.fromkeys(self.param_names, math.nan)
        self.ci_ = {k: (math.nan, math.nan) for k in self.param_names}
        try:
            hess = (
                _numeric_hessian(grad, z)
                if grad is not None
                else _function_hessian(lambda v: -self._objective(v, data)[0], z)
            )
            cov = np.linalg.inv(hess)
            var = np.diag(cov)
            if np.all(var > 0) and np.all(np.isfinite(var)):
                se_log = np.sqrt(var)
                names = self.param_names
                self.se_ = {k: float(t * s) for k, t, s in zip(names, theta, se_log, strict=True)}
                self.ci_ = {
                    k: (float(math.exp(zz - _Z95 * s)), float(math.exp(zz + _Z95 * s)))
                    for k, zz, s in zip(self.param_names, z, se_log, strict=True)
                }
        except np.linalg.LinAlgError:
            pass

    # ------------------------------------------------------------ shared views
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ModelError(f"this {self.title} model is not fitted yet: call fit() first")

    @property
    def aic_(self) -> float:
        self._check_fitted()
        return 2 * len(self.param_names) - 2 * self.log_likelihood_

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to use the fitted model, as JSON-ready values."""
        self._check_fitted()

        def plain(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "model": self.kind,
            "params": dict(self.params_),
            "standard_errors": {k: plain(v) for k, v in self.se_.items()},
            "intervals": {k: [plain(lo), plain(hi)] for k, (lo, hi) in self.ci_.items()},
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "converged": self.converged_,
            "iterations": self.iterations_,
            "estimator": self.get_params(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The fitted model back from :meth:`to_dict`'s JSON."""
        if data.get("model") != cls.kind:
            raise ModelError(f"not a {cls.kind} model: {data.get('model')!r}")
        model = cls(**data.get("estimator", {}))
        params = data["params"]
        model.params_ = {k: float(params[k]) for k in cls.param_names}
        for name, value in model.params_.items():
            setattr(model, f"{name}_", value)
        se = data.get("standard_errors", {})
        model.se_ = {k: math.nan if se.get(k) is None else float(se[k]) for k in cls.param_names}
        ci = data.get("intervals", {})
        model.ci_ = {
            k: tuple(math.nan if v is None else float(v) for v in ci.get(k, [None, None]))
            for k in cls.param_names
        }
        model.log_likelihood_ = float(data["log_likelihood"])
        model.n_customers_ = int(data["n_customers"])
        model.converged_ = bool(data.get("converged", True))
        model.iterations_ = int(data.get("iterations", 0))
        return model

    def set_fitted(self, **params: float) -> Any:
        """Use given parameters (e.g. a paper's) without fitting; returns self."""
        self.params_ = {k: float(params[k]) for k in self.param_names}
        for name, value in self.params_.items():
            setattr(self, f"{name}_", value)
        self.se_ = dict.fromkeys(self.param_names, math.nan)
        self.ci_ = {k: (math.nan, math.nan) for k in self.param_names}
        self.log_likelihood_ = math.nan
        self.n_customers_ = 0
        self.converged_ = True
        self.iterations_ = 0
        return self


def _x_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-number frequencies as indexes into tables over 0..max(x)."""
    xi = x.astype(np.int64)
    return xi, np.arange(int(xi.max()) + 1, dtype="float64")


# ==================================================================== BG/NBD


class BetaGeoModel(_MLModel):
    """BG/NBD: purchases Poisson(lambda) while alive, lambda ~ gamma(r, alpha); after each
    purchase the customer drops out with probability p ~ beta(a, b) (Fader, Hardie & Lee 2005).

    >>> m = BetaGeoModel().fit(frequency, recency, T)        # doctest: +SKIP
    >>> m.params_                                             # doctest: +SKIP
    {'r': 0.2426, 'alpha': 4.4136, 'a': 0.7929, 'b': 2.4259}
    """

    kind = "bgnbd"
    title = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> BetaGeoModel:
        x, tx, t, w = _check_summary(frequency, recency, T, weights)
        self.n_customers_ = round(float(w.sum()))
        start = self._warm_start(self._prepare, x, tx, t, w)
        self._optimise(self._prepare(x, tx, t, w), float(w.sum()), start)
        return self

    @staticmethod
    def _prepare(x: np.ndarray, tx: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple:
        """Customers without repeat purchases apart (their likelihood is one term), the
        others with their frequency as an index into per-x tables."""
        zero = x == 0
        pos = ~zero
        xp = x[pos]
        xi, k = _x_index(xp) if xp.size else (np.zeros(0, np.int64), np.zeros(1))
        wp = w[pos]
        wk = np.bincount(xi, weights=wp, minlength=k.size)
        return (t[zero], w[zero], xp, tx[pos], t[pos], wp, xi, k, wk)

    def _start(self, data: tuple) -> np.ndarray:
        t = np.concatenate([data[0], data[4]])
        return np.log([1.0, max(float(np.mean(t)) / 10, 1e-3), 1.0, 1.0])

    def _objective(self, z: np.ndarray, data: tuple) -> tuple[float, np.ndarray]:
        """The log-likelihood of FHL 2005 (eq. 6) and its gradient in the log parameters.

        x = 0: ln L = r ln alpha - r ln(alpha + T) (one term, B(a, b)/B(a, b) = 1);
        x > 0: ln L = A1 + ln(e^l2 + e^l3) with A1 = ln G(r+x) - ln G(r) + r ln alpha,
        l2 = ln B(a, b+x) - ln B(a, b) - (r+x) ln(alpha+T),
        l3 = ln B(a+1, b+x-1) - ln B(a, b) - (r+x) ln(alpha+t_x), as max + log1p(e^-|d|)."""
        t0, w0, x, tx, t, w, xi, k, wk = data
        r, alpha, a, b = np.exp(z)
        la = math.log(alpha)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # x = 0
            w0_sum = float(w0.sum())
            la_t0 = np.log(alpha + t0)
            ll = r * (w0_sum * la - float(_dot(w0, la_t0)))
            dr = w0_sum * la - float(_dot(w0, la_t0))
            dalpha = r * (w0_sum / alpha - float(_dot(w0, 1.0 / (alpha + t0))))
            da = db = 0.0
            if x.size:
                # terms that depend on x only: once per distinct x
                a1 = gammaln(r + k) - gammaln(r) + r * la
                bab = betaln(a, b)
                k1 = np.maximum(k, 1.0)
                b2 = betaln(a, b + k) - bab
                b3 = betaln(a + 1, b + k1 - 1) - bab
                la_t = np.log(alpha + t)
                la_tx = np.log(alpha + tx)
                rx = r + x
                l2 = b2[xi] - rx * la_t
                l3 = b3[xi] - rx * la_tx
                d = l3 - l2
                e = np.exp(-np.abs(d))
                ll += float(_dot(wk, a1)) + float(_dot(w, np.maximum(l2, l3) + np.log1p(e)))
                p3 = np.where(d > 0, 1.0, e) / (1.0 + e)  # share of the second term
                w3 = w * p3
                w2 = w - w3
                dr += float(_dot(wk, digamma(r + k) - digamma(r) + la))
                dr -= float(_dot(w2, la_t) + _dot(w3, la_tx))
                dalpha += r / alpha * float(w.sum())
                dalpha -= float(
                    _dot(w2 * rx, 1.0 / (alpha + t)) + _dot(w3 * rx, 1.0 / (alpha + tx))
                )
                # d/d a, b through per-x sums of the two terms' shares
                p2k = np.bincount(xi, weights=w2, minlength=k.size)
                p3k = np.bincount(xi, weights=w3, minlength=k.size)
                dab = digamma(a + b)
                dabk = digamma(a + b + k)
                d2a = dab - dabk
                d2b = digamma(b + k) - dabk - digamma(b) + dab
                d3a = digamma(a + 1) - dabk - digamma(a) + dab
                d3b = digamma(b + k1 - 1) - dabk - digamma(b) + dab
                da = float(_dot(p2k, d2a) + _dot(p3k, d3a))
                db = float(_dot(p2k, d2b) + _dot(p3k, d3b))
        grad = np.array([dr, dalpha, da, db]) * np.array([r, alpha, a, b])
        return ll, grad

    # ------------------------------------------------------------ predictions
    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Each customer's log-likelihood at the fitted parameters."""
        self._check_fitted()
        x, tx, t, _ = _check_summary(frequency, recency, T)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        with np.errstate(divide="ignore", invalid="ignore"):
            a1 = gammaln(r + x) - gammaln(r) + r * math.log(alpha)
            l2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t)
            l3 = np.where(
                x > 0,
                betaln(a + 1, b + np.maximum(x, 1) - 1)
                - betaln(a, b)
                - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return a1 + np.logaddexp(l2, l3)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(still active | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        self._check_fitted()
        x, tx, t, _ = _check_summary(frequency, recency, T)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (
                np.log(a)
                - np.log(b + np.maximum(x, 1) - 1)
                + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
            )
        return np.where(x > 0, expit(-log_odds), 1.0)

    def expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: purchases in the next ``t`` units (FHL 2005, eq. 10)."""
        self._check_fitted()
        x, tx, big_t, _ = _check_summary(frequency, recency, T)
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        if t <= 0:
            return np.zeros_like(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = t / (alpha + big_t + t)
            log_pow = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
            h = hyp2f1(r + x, b + x, a + b + x - 1, z)
            first = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_pow + np.log(h)))
        return first * self.p_alive(x, tx, big_t)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """E[X(t)] for a customer just acquired (FHL 2005, eq. 7)."""
        self._check_fitted()
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        t = np.asarray(t, dtype="float64")
        return (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )

    def prob_purchases(self, n: int, t: float) -> float:
        """P(X(t) = n) for a customer just acquired (FHL 2005, eq. 8)."""
        self._check_fitted()
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        q = t / (alpha + t)
        lead = math.exp(
            betaln(a, b + n) - betaln(a, b)
            + gammaln(r + n) - gammaln(r) - gammaln(n + 1)
            + r * math.log(alpha / (alpha + t)) + (n * math.log(q) if n else 0.0)
        )  # fmt: skip
        if n == 0:
            return lead
        tail = sum(
            math.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * math.log(q))
            for j in range(n)
        )
        rest = math.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (
            1 - (alpha / (alpha + t)) ** r * tail
        )
        return lead + rest


# ==================================================================== Pareto/NBD


class ParetoNBDModel(_MLModel):
    """Pareto/NBD: purchases Poisson(lambda) while alive, lambda ~ gamma(r, alpha); lifetimes
    exponential(mu), mu ~ gamma(s, beta) (Schmittlein, Morrison & Colombo 1987; likelihood as
    in Fader & Hardie 2005, "A note on deriving the Pareto/NBD model")."""

    kind = "pareto_nbd"
    title = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    _analytic_gradient = False

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> ParetoNBDModel:
        x, tx, t, w = _check_summary(frequency, recency, T, weights)
        # distinct (x, t_x, T) rows once, with their weights: hyp2f1 is the cost here
        rows, inverse = np.unique(np.column_stack([x, tx, t]), axis=0, return_inverse=True)
        wu = np.bincount(inverse.ravel(), weights=w, minlength=len(rows))
        data = (rows[:, 0], rows[:, 1], rows[:, 2], wu)
        self.n_customers_ = round(float(w.sum()))
        self._optimise(data, float(w.sum()))
        return self

    def _start(self, data: tuple) -> np.ndarray:
        t = data[2]
        scale = max(float(np.mean(t)) / 4, 1e-3)
        return np.log([0.5, scale, 0.5, scale])

    @staticmethod
    def _log_a0(r, alpha, s, beta, x, tx, t) -> np.ndarray:
        """log A_0 of Fader & Hardie's note (eq. 24), -inf when t_x = T."""
        rsx = r + s + x
        if alpha >= beta:
            top, second = alpha, s + 1
        else:
            top, second = beta, r + x
        diff = abs(alpha - beta)

        def term(y: np.ndarray) -> np.ndarray:
            z, a, b = np.broadcast_arrays(diff / (top + y), rsx, second)
            log_h = np.log(hyp2f1(a, b, a + 1, z))
            bad = ~np.isfinite(log_h)
            if np.any(bad):
                # Euler's transformation: 2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z),
                # finite where the direct series overflows (many purchases, beta >> alpha)
                zb, ab, bb = z[bad], a[bad], b[bad]
                log_h[bad] = (1 - bb) * np.log1p(-zb) + np.log(hyp2f1(1.0, ab + 1 - bb, ab + 1, zb))
            return log_h - rsx * np.log(top + y)

        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            l1, l2 = term(tx), term(t)
            return np.where(t > tx, l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0))), -np.inf)

    def _objective(self, z: np.ndarray, data: tuple) -> tuple[float, None]:
        x, tx, t, w = data
        r, alpha, s, beta = np.exp(z)
        ll_i = self._ll(r, alpha, s, beta, x, tx, t)
        return float(_dot(w, ll_i)), None

    def _ll(self, r, alpha, s, beta, x, tx, t) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_a0 = self._log_a0(r, alpha, s, beta, x, tx, t)
            head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
            alive = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
            died = math.log(s) - np.log(r + s + x) + log_a0
            return head + np.logaddexp(alive, died)

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Each customer's log-likelihood at the fitted parameters."""
        self._check_fitted()
        x, tx, t, _ = _check_summary(frequency, recency, T)
        return self._ll(*(self.params_[k] for k in self.param_names), x, tx, t)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0)."""
        self._check_fitted()
        x, tx, t, _ = _check_summary(frequency, recency, T)
        r, alpha, s, beta = (self.params_[k] for k in self.param_names)
        log_a0 = self._log_a0(r, alpha, s, beta, x, tx, t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (
                math.log(s) - np.log(r + s + x)
                + (r + x) * np.log(alpha + t) + s * np.log(beta + t) + log_a0
            )  # fmt: skip
        return expit(-log_odds)

    def expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        P(alive) (Schmittlein et al. 1987, eq. 22; the s = 1 limit is a logarithm)."""
        self._check_fitted()
        x, tx, big_t, _ = _check_summary(frequency, recency, T)
        r, alpha, s, beta = (self.params_[k] for k in self.param_names)
        if t <= 0:
            return np.zeros_like(x)
        log_ratio = np.log(beta + big_t) - np.log(beta + big_t + t)  # < 0
        factor = -log_ratio if abs(s - 1) < 1e-8 else -np.expm1((s - 1) * log_ratio) / (s - 1)
        return (r + x) * (beta + big_t) / (alpha + big_t) * factor * self.p_alive(x, tx, big_t)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """E[X(t)] for a customer just acquired:
        r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]."""
        self._check_fitted()
        r, alpha, s, beta = (self.params_[k] for k in self.param_names)
        t = np.asarray(t, dtype="float64")
        log_ratio = np.log(beta) - np.log(beta + t)
        factor = -log_ratio if abs(s - 1) < 1e-8 else -np.expm1((s - 1) * log_ratio) / (s - 1)
        return r * beta / alpha * factor


# ==================================================================== Gamma-Gamma


class GammaGammaModel(_MLModel):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR): each transaction's value is
    gamma(p, nu), nu ~ gamma(q, gamma) across customers; fitted on the repeat buyers' mean
    repeat-transaction value ``zbar`` and their number ``x``. Assumes spend is independent of
    purchase frequency (check the correlation of ``x`` and ``zbar``)."""

    kind = "gamma_gamma"
    title = "Gamma-Gamma"
    param_names = ("p", "q", "gamma")

    def fit(self, frequency: Any, monetary: Any, weights: Any = None) -> GammaGammaModel:
        x = _array("frequency", frequency)
        m = _array("monetary", monetary)
        w = np.ones_like(x) if weights is None else _array("weights", weights)
        if not (x.size == m.size == w.size):
            raise AnalysisError("frequency and monetary must have the same length")
        keep = (x > 0) & (m > 0)
        x, m, w = x[keep], m[keep], w[keep]
        if x.size == 0:
            raise AnalysisError(
                "no repeat buyer with a positive spend: the Gamma-Gamma model needs customers "
                "who bought at least twice"
            )
        self.n_customers_ = round(float(w.sum()))
        start = self._warm_start(self._prepare, x, m, w)
        self._optimise(self._prepare(x, m, w), float(w.sum()), start)
        return self

    @staticmethod
    def _prepare(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> tuple:
        xi, k = _x_index(x)
        wk = np.bincount(xi, weights=w, minlength=k.size)
        # the constant part: (px - 1) log zbar + px log x gathers x (log zbar + log x) per customer
        return (x, m, w, xi, k, wk, _dot(w * x, np.log(m) + np.log(x)), _dot(w, np.log(m)))

    def _start(self, data: tuple) -> np.ndarray:
        m = data[1]
        return np.log([1.0, 1.0, max(float(np.mean(m)), 1e-3)])

    def _objective(self, z: np.ndarray, data: tuple) -> tuple[float, np.ndarray]:
        x, m, w, _xi, k, wk, sum_x_logs, sum_log_m = data
        p, q, g = np.exp(z)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            px = p * k
            tab = np.where(k > 0, gammaln(px + q) - gammaln(np.maximum(px, 1e-300)), 0.0)
            lg = np.log(g + x * m)
            pxq_i = p * x + q
            ll = (
                float(_dot(wk, tab))
                - wk.sum() * (gammaln(q) - q * math.log(g))
                + p * sum_x_logs
                - sum_log_m
                - float(_dot(w * pxq_i, lg))
            )
            dtab = digamma(px + q)
            dp = float(_dot(wk, k * (dtab - digamma(np.maximum(px, 1e-300)))))
            dp += sum_x_logs - float(_dot(w * x, lg))
            dq = float(_dot(wk, dtab)) - wk.sum() * (digamma(q) - math.log(g))
            dq -= float(_dot(w, lg))
            dg = wk.sum() * q / g - float(_dot(w, pxq_i / (g + x * m)))
        return ll, np.array([dp, dq, dg]) * np.array([p, q, g])

    def log_likelihood(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Each repeat buyer's log-likelihood of ``zbar`` (the density of the mean)."""
        self._check_fitted()
        x, m = _array("frequency", frequency), _array("monetary", monetary)
        p, q, g = (self.params_[k] for k in self.param_names)
        return (
            gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * math.log(g)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + x * m)
        )  # fmt: skip

    def expected_spend(
        self, frequency: Any, monetary: Any, *, fallback: float | None = None
    ) -> np.ndarray:
        """E[M | x, zbar] = p (gamma + x zbar) / (p x + q - 1): the customer's mean spend per
        transaction, a weighted mean of the population mean p gamma/(q-1) and zbar
        (FHL 2005 JMR, eq. 5). Customers without repeat purchases get the population mean.
        Where the expectation is infinite (p x + q <= 1, e.g. q <= 1 for x = 0: spend too
        heavy-tailed) ``fallback`` is used, or ModelError raised without one."""
        self._check_fitted()
        x, m = _array("frequency", frequency), _array("monetary", monetary)
        p, q, g = (self.params_[k] for k in self.param_names)
        xm = np.where(x > 0, x * m, 0.0)
        denominator = p * x + q - 1
        undefined = denominator <= 0
        if undefined.any() and fallback is None:
            raise ModelError(
                f"the Gamma-Gamma fit has q = {q:.3g}: the mean spend per transaction is "
                "infinite under it for customers with few purchases; the spend data are too "
                "heavy-tailed for this model"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            out = p * (g + xm) / denominator
        return np.where(undefined, fallback if fallback is not None else np.nan, out)

    def population_mean(self) -> float:
        """E[M] = p gamma / (q - 1)."""
        self._check_fitted()
        p, q, g = (self.params_[k] for k in self.param_names)
        return p * g / (q - 1) if q > 1 else math.inf


_KINDS = {cls.kind: cls for cls in (BetaGeoModel, ParetoNBDModel, GammaGammaModel)}


def model_from_dict(data: dict[str, Any]) -> Any:
    """Any of the three models back from its JSON form."""
    kind = data.get("model")
    if kind not in _KINDS:
        raise ModelError(f"unknown lifetime-value model {kind!r}; known: {', '.join(_KINDS)}")
    return _KINDS[kind].from_dict(data)
