"""``ws.value``: customer lifetime value over one store (``docs/value.md``).

The store computes the per-customer summary (:mod:`cxray.value._summary`); the models
(:mod:`cxray.value._models`) are fitted on it in memory and kept as JSON in ``_cx_models``
under the name ``clv``; CLV per customer is computed from the latest kept fit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import uuid
from dataclasses import replace
from functools import cached_property
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxray.config import ProgramConfig
from cxray.exceptions import AnalysisError, QueryError
from cxray.stats import Estimate, mean_of
from cxray.store import Store
from cxray.value._models import BetaGeoModel, GammaGammaModel, ParetoNBDModel, model_from_dict
from cxray.value._results import ClvFit, ClvResult, ParamEstimate, plain
from cxray.value._summary import UNITS, purchase_summary, purchases

__all__ = ["MIN_CUSTOMERS", "MODEL_NAME", "Value"]

MODEL_NAME = "clv"
#: the frequency models are fitted across a population: fewer customers than this is an error
MIN_CUSTOMERS = 30
MODELS_ALLOWED = ("auto", "bgnbd", "pareto_nbd")
_ALIASES = {
    "bg/nbd": "bgnbd",
    "bg_nbd": "bgnbd",
    "pareto": "pareto_nbd",
    "pareto/nbd": "pareto_nbd",
}
_NO_ORDERS = (
    "the orders table has no orders to compute lifetime value from (purchases need customer_id, "
    "ordered_at and amount; cancelled and returned orders are left out): import orders or run "
    "`cxray demo`"
)


def _day(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QueryError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise QueryError(f"unit {unit!r}: use one of {', '.join(UNITS)}")
    return unit


def _check_model(model: str) -> str:
    name = _ALIASES.get(str(model).lower(), str(model).lower())
    if name not in MODELS_ALLOWED:
        raise QueryError(f"model {model!r}: use one of {', '.join(MODELS_ALLOWED)}")
    return name


def _frequency_model(name: str) -> Any:
    return BetaGeoModel() if name == "bgnbd" else ParetoNBDModel()


class Value:
    """Customer lifetime value over one store.

    ``store``: the workspace's store; ``config``: its program configuration; ``lock``: the
    workspace's write lock (held while a fit is written).

    >>> fit = ws.value.fit(calibration_end="1997-09-30")    # doctest: +SKIP
    >>> ws.value.clv(horizon_days=365).customers.head()     # doctest: +SKIP
    """

    def __init__(self, store: Store, config: ProgramConfig, *, lock: Any = None):
        self.store = store
        self.config = config
        self.lock = lock

    def table(self, name: str) -> Any:
        """One stored table as an Ibis table."""
        return self.store.table(name)

    @cached_property
    def money(self) -> Any:
        """The money of CX: value by NPS group, revenue at risk, what-if, ROI
        (:class:`cxray.value._money.Money`)."""
        from cxray.value._money import Money

        return Money(self)

    # ------------------------------------------------------------ the summary
    def data_range(self) -> tuple[dt.date, dt.date]:
        """The first and last purchase day in the orders; AnalysisError when there are none."""
        o = purchases(self.table("orders"))
        row = o.aggregate(first=o.ordered_at.min(), last=o.ordered_at.max()).to_pyarrow()
        first, last = row["first"][0].as_py(), row["last"][0].as_py()
        if first is None:
            raise AnalysisError(_NO_ORDERS)
        return first.date(), last.date()

    def _calibration(self, calibration_end: Any, what: str) -> tuple[dt.date, dt.date, dt.date]:
        first, last = self.data_range()
        if calibration_end is None or calibration_end == "":
            return first, last, last
        end = _day(calibration_end, what)
        if end < first or end > last:
            raise QueryError(
                f"{what} {end.isoformat()} is outside the orders' range: purchases run from "
                f"{first.isoformat()} to {last.isoformat()}"
            )
        return first, last, end

    def summary(self, calibration_end: Any = None, unit: str = "week") -> ibis.Table:
        """Per customer: ``frequency`` (repeat purchase days), ``recency`` and ``T`` (in
        ``unit``s, week or day), ``monetary`` (mean repeat-purchase value), the first purchase
        day, and, when ``calibration_end`` leaves a holdout period before the data ends,
        ``holdout_purchases`` and ``holdout_spend`` after it. An Ibis table (run it with
        ``.to_pandas()``); the default calibration end is the last purchase day."""
        unit = _check_unit(unit)
        _, last, end = self._calibration(calibration_end, "calibration end")
        return purchase_summary(self.table("orders"), end, unit=unit, holdout=end < last)

    # ------------------------------------------------------------ fitting
    def fit(
        self,
        calibration_end: Any = None,
        unit: str = "week",
        model: str = "auto",
        *,
        save: bool = True,
    ) -> ClvFit:
        """Fit the purchase model (``bgnbd``, ``pareto_nbd``, or ``auto``: the better of the
        two on the holdout when there is one, by log-likelihood otherwise) and the Gamma-Gamma
        spend model on the summary up to ``calibration_end``; keep it in the store (``save``)."""
        unit = _check_unit(unit)
        name = _check_model(model)
        first, last, end = self._calibration(calibration_end, "calibration end")
        frame = self._frame(end, unit, end < last)
        fit = fit_frame(frame, name, unit=unit, calibration_end=end, data=(first, last))
        if save:
            self.keep(fit)
        return fit

    def _frame(self, end: dt.date, unit: str, holdout: bool) -> pd.DataFrame:
        expr = purchase_summary(self.table("orders"), end, unit=unit, holdout=holdout)
        return expr.to_pandas().sort_values("customer_id", kind="stable").reset_index(drop=True)

    def _data_version(self) -> str:
        return self.store.data_version()

    def keep(self, fit: ClvFit) -> ClvFit:
        """Write a fit to ``_cx_models`` (name ``clv``) under the write lock, in one
        transaction on DuckDB; it becomes the fit ``clv()`` uses. Returns it, with its
        ``model_id``, ``created_at`` and ``data_version`` set."""
        created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        fit.model_id = f"{MODEL_NAME}-{uuid.uuid4().hex[:12]}"
        fit.created_at = created.isoformat()
        fit.data_version = self._data_version()
        spec = {
            "unit": fit.unit,
            "calibration_end": fit.calibration_end,
            "frequency_model": fit.frequency_model.to_dict(),
            "spend_model": fit.spend_model.to_dict(),
        }
        with self.lock or contextlib.nullcontext():
            self.store.save_model(
                MODEL_NAME,
                f"{fit.model}+gamma_gamma",
                spec,
                fit.to_dict(),
                model_id=fit.model_id,
                created_at=created,
            )
        return fit

    def latest_fit(self) -> ClvFit | None:
        """The fit kept last (``cxray clv fit``), or None when there is none."""
        r = self.store.latest_model(MODEL_NAME)
        return None if r is None else _fit_from_json(r["spec"], r["evaluation"])

    # ------------------------------------------------------------ CLV
    def clv(
        self,
        horizon_days: float = 365,
        discount_rate: float = 0.10,
        as_of: Any = None,
    ) -> ClvResult:
        """CLV per customer over ``horizon_days`` at an annual ``discount_rate``, from each
        customer's purchases up to ``as_of`` (default: the last purchase day) and the latest
        kept fit (fitted now, and not kept, when there is none)."""
        horizon = float(horizon_days)
        rate = float(discount_rate)
        if not math.isfinite(horizon) or horizon <= 0 or horizon > 365 * 50:
            raise QueryError(f"horizon_days {horizon_days!r}: use a number of days in (0, 18250]")
        if not math.isfinite(rate) or rate < 0 or rate > 10:
            raise QueryError(
                f"discount_rate {discount_rate!r}: use an annual rate >= 0 (0.10 is 10%)"
            )
        _, _, when = self._calibration(as_of, "as_of")
        fit = self.latest_fit()
        if fit is None:
            fit = self.fit(calibration_end=when, save=False)
            source = "fitted now on the data to the as-of date, not kept: run `cxray clv fit`"
        else:
            source = f"kept fit {fit.model_id} of {fit.created_at} (calibration to " \
                f"{fit.calibration_end})"  # fmt: skip
        frame = self._frame(when, fit.unit, False)
        customers = clv_frame(frame, fit, horizon, rate)
        values = customers["clv"].to_numpy()
        finite = np.isfinite(values)
        warnings = list(fit.warnings)
        if not finite.all():
            warnings.append(
                f"{int((~finite).sum()):,} customers' CLV could not be computed (numerical "
                "overflow); they are left out of the mean and the total"
            )
            values = values[finite]
        mean = replace(mean_of(values), metric="mean CLV", unit="currency",
                       definition=f"expected discounted value over {horizon:g} days")  # fmt: skip
        n = len(values)
        total = Estimate(
            mean.estimate * n, mean.ci_low * n, mean.ci_high * n, n,
            "n x the mean CLV's Student t interval", metric="total CLV", unit="currency",
        )  # fmt: skip
        if fit.data_version is not None and fit.data_version != self._data_version():
            warnings.append(
                "the data changed since the kept fit (newer imports): refit with `cxray clv fit`"
            )
        return ClvResult(
            customers=customers,
            summary=mean,
            total=total,
            horizon_days=horizon,
            discount_rate=rate,
            as_of=when.isoformat(),
            unit=fit.unit,
            model=fit.model,
            model_id=fit.model_id,
            source=source,
            warnings=warnings,
        )


# ---------------------------------------------------------------- fitting a frame


def fit_frame(
    frame: pd.DataFrame,
    model: str = "auto",
    *,
    unit: str = "week",
    calibration_end: dt.date,
    data: tuple[dt.date, dt.date],
) -> ClvFit:
    """Fit on a summary frame (columns of :func:`purchase_summary`)."""
    n = len(frame)
    if n < MIN_CUSTOMERS:
        who = "one customer" if n == 1 else f"{n} customers"
        raise AnalysisError(
            f"only {who} bought by {calibration_end.isoformat()}: BG/NBD, Pareto/NBD and "
            f"Gamma-Gamma describe a population and need many customers (at least "
            f"{MIN_CUSTOMERS}; hundreds are better)"
        )
    x = frame["frequency"].to_numpy("float64")
    tx = frame["recency"].to_numpy("float64")
    t = frame["T"].to_numpy("float64")
    m = frame["monetary"].to_numpy("float64")
    repeat = (x > 0) & (m > 0)
    if int(repeat.sum()) < 2:
        raise AnalysisError(
            f"fewer than two of the {n:,} customers bought again by "
            f"{calibration_end.isoformat()}: repeat purchases are what the models learn from; "
            "choose a later calibration end"
        )
    holdout_t = None
    if "holdout_purchases" in frame.columns:
        holdout_t = (data[1] - calibration_end).days / UNITS[unit]
    names = ["bgnbd", "pareto_nbd"] if model == "auto" else [model]
    fitted = {k: _frequency_model(k).fit(x, tx, t) for k in names}
    candidates = []
    for k, fm in fitted.items():
        c: dict[str, Any] = {
            "model": k,
            "log_likelihood": fm.log_likelihood_,
            "aic": fm.aic_,
            "converged": fm.converged_,
        }
        if holdout_t is not None:
            pred = fm.expected_purchases(holdout_t, x, tx, t)
            actual = frame["holdout_purchases"].to_numpy("float64")
            c["holdout_rmse"] = float(np.sqrt(np.mean((pred - actual) ** 2)))
        candidates.append(c)
    if len(candidates) == 1:
        chosen = candidates[0]["model"]
        selection = f"{_title(chosen)}, as asked"
    elif holdout_t is not None:
        best = min(candidates, key=lambda c: c["holdout_rmse"])
        other = next(c for c in candidates if c is not best)
        chosen = best["model"]
        selection = (
            f"{_title(chosen)}: it predicts the holdout purchases per customer better (RMSE "
            f"{best['holdout_rmse']:.4f} against {other['holdout_rmse']:.4f} for "
            f"{_title(other['model'])})"
        )
    else:
        best = max(candidates, key=lambda c: c["log_likelihood"])
        other = next(c for c in candidates if c is not best)
        chosen = best["model"]
        selection = (
            f"{_title(chosen)}: the higher log-likelihood ({best['log_likelihood']:,.2f} against "
            f"{other['log_likelihood']:,.2f} for {_title(other['model'])}; both have four "
            "parameters, so also the lower AIC); no holdout period to compare predictions on"
        )
    fm = fitted[chosen]
    gg = GammaGammaModel().fit(x[repeat], m[repeat])
    corr = float(np.corrcoef(x[repeat], m[repeat])[0, 1]) if repeat.sum() > 2 else math.nan
    warnings = []
    if math.isfinite(corr) and abs(corr) > 0.3:
        warnings.append(
            f"spend per purchase and purchase frequency correlate (r = {corr:.2f}) among repeat "
            "buyers: the Gamma-Gamma model assumes they are independent, so expected spend "
            "and CLV lean on a doubtful assumption"
        )
    if gg.params_["q"] <= 1:
        warnings.append(
            f"the Gamma-Gamma fit has q = {gg.params_['q']:.3g} <= 1 (spend too heavy-tailed): "
            "its expected spend is infinite for customers without repeat purchases, who get "
            "the observed mean spend per repeat purchase instead"
        )
    for c in candidates:
        if not c["converged"]:
            warnings.append(
                f"{_title(c['model'])}: the optimiser stopped before converging or at a bound; "
                "treat its parameters with care"
            )
    holdout = None
    if holdout_t is not None:
        holdout = _holdout_check(frame, fm, holdout_t, unit)
    return ClvFit(
        model=chosen,
        params=ParamEstimate.of(fm),
        log_likelihood=fm.log_likelihood_,
        aic=fm.aic_,
        n_customers=fm.n_customers_,
        spend_params=ParamEstimate.of(gg),
        spend_log_likelihood=gg.log_likelihood_,
        n_repeat_buyers=gg.n_customers_,
        unit=unit,
        calibration_end=calibration_end.isoformat(),
        data_start=data[0].isoformat(),
        data_end=data[1].isoformat(),
        candidates=[{k: plain(v) for k, v in c.items()} for c in candidates],
        selection=selection,
        spend_frequency_correlation=plain(corr),
        holdout=holdout,
        warnings=warnings,
        frequency_model=fm,
        spend_model=gg,
    )


def _title(name: str) -> str:
    return {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}.get(name, name)


def _holdout_check(frame: pd.DataFrame, fm: Any, length: float, unit: str) -> dict[str, Any]:
    """Predicted against actual purchases in the holdout period: in total, per customer, and
    by the number of repeat purchases in the calibration period (FHL 2005, figure 4)."""
    x = frame["frequency"].to_numpy("float64")
    pred = fm.expected_purchases(length, x, frame["recency"], frame["T"])
    actual = frame["holdout_purchases"].to_numpy("float64")
    groups = []
    bucket = np.minimum(x, 7).astype(int)
    for b in range(8):
        sel = bucket == b
        if not sel.any():
            continue
        groups.append(
            {
                "frequency": f"{b}+" if b == 7 else str(b),
                "n": int(sel.sum()),
                "actual": float(actual[sel].mean()),
                "predicted": float(pred[sel].mean()),
            }
        )
    corr = float(np.corrcoef(pred, actual)[0, 1]) if np.std(actual) > 0 else None
    return {
        "length": length,
        "unit": unit,
        "customers": len(frame),
        "actual_purchases": float(actual.sum()),
        "predicted_purchases": float(pred.sum()),
        "mean_absolute_error": float(np.mean(np.abs(pred - actual))),
        "rmse": float(np.sqrt(np.mean((pred - actual) ** 2))),
        "correlation": corr,
        "by_frequency": groups,
    }


def _fit_from_json(spec: dict[str, Any], ev: dict[str, Any]) -> ClvFit:
    fm = model_from_dict(spec["frequency_model"])
    gg = model_from_dict(spec["spend_model"])
    return ClvFit(
        model=fm.kind,
        params=ParamEstimate.of(fm),
        log_likelihood=fm.log_likelihood_,
        aic=fm.aic_,
        n_customers=fm.n_customers_,
        spend_params=ParamEstimate.of(gg),
        spend_log_likelihood=gg.log_likelihood_,
        n_repeat_buyers=gg.n_customers_,
        unit=spec["unit"],
        calibration_end=spec["calibration_end"],
        data_start=ev["data_start"],
        data_end=ev["data_end"],
        candidates=ev["candidates"],
        selection=ev["selection"],
        spend_frequency_correlation=ev.get("spend_frequency_correlation"),
        holdout=ev.get("holdout"),
        warnings=ev.get("warnings", []),
        model_id=ev.get("model_id"),
        created_at=ev.get("created_at"),
        data_version=ev.get("data_version"),
        frequency_model=fm,
        spend_model=gg,
    )


def clv_frame(frame: pd.DataFrame, fit: ClvFit, horizon_days: float, rate: float) -> pd.DataFrame:
    """Per customer: expected purchases over the horizon, P(alive), expected spend per
    purchase and CLV = expected spend x the discounted expected purchases. The horizon is cut
    into K = ceil(horizon / 30) equal steps; the purchases expected in step k (the difference
    of the conditional expectations at its ends) are discounted by (1 + rate)^(t_k / 365)."""
    fm, gg = fit.frequency_model, fit.spend_model
    per_unit = UNITS[fit.unit]
    x = frame["frequency"].to_numpy("float64")
    tx = frame["recency"].to_numpy("float64")
    t = frame["T"].to_numpy("float64")
    m = frame["monetary"].to_numpy("float64")
    steps = max(1, math.ceil(horizon_days / 30))
    edges = np.linspace(0.0, horizon_days, steps + 1)[1:]
    previous = np.zeros_like(x)
    discounted = np.zeros_like(x)
    for end in edges:
        cum = fm.expected_purchases(end / per_unit, x, tx, t)
        discounted += (cum - previous) / (1 + rate) ** (end / 365.0)
        previous = cum
    repeat = x > 0
    observed = float((x * m)[repeat].sum() / x[repeat].sum()) if repeat.any() else 0.0
    spend = gg.expected_spend(x, m, fallback=observed)
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "frequency": frame["frequency"].astype("int64"),
            "recency": tx,
            "T": t,
            "monetary": m,
            "expected_purchases": previous,
            "p_alive": fm.p_alive(x, tx, t),
            "expected_spend": spend,
            "clv": spend * discounted,
        }
    )
    return out.sort_values(["clv", "customer_id"], ascending=[False, True], kind="stable")\
        .reset_index(drop=True)  # fmt: skip
