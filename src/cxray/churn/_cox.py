"""The Cox proportional hazards model of customer churn (Cox 1972), fitted by lifelines.

:class:`CoxModel` is a scikit-learn style estimator around ``lifelines.CoxPHFitter``
(Efron's handling of tied durations, as R's ``coxph``): ``fit`` returns ``self``, the fitted
state ends in ``_``, ``get_params`` gives the settings, and ``to_json``/``from_json`` store it
without pickle. :func:`cox` builds the per-customer rows in the store (the population of a
survival analysis, :func:`cxray.churn._survival.population`), fits on them in memory and
reports hazard ratios with 95% intervals, the concordance, and a check of the proportional
hazards assumption (the scaled Schoenfeld residual test of Grambsch & Therneau 1994 against
the rank of time, per covariate).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from cxray.churn._survival import MAX_GROUPS, MISSING, population
from cxray.config import ProgramConfig
from cxray.exceptions import AnalysisError, ModelError

__all__ = ["CoxModel", "CoxResult", "cox"]

TableSource = Callable[[str], ibis.Table]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class CoxModel(BaseEstimator):
    """Cox proportional hazards: ``h(t | x) = h0(t) exp(x'beta)`` (Cox 1972).

    ``penalizer``: ridge penalty on the coefficients (0: the plain partial likelihood, as
    R's ``coxph``); ``alpha``: 1 - the confidence of the intervals. Deterministic: the
    Newton-Raphson fit starts at zero and draws nothing at random (``random_state`` is kept
    for the estimator contract)."""

    def __init__(self, *, penalizer: float = 0.0, alpha: float = 0.05, random_state: int = 0):
        self.penalizer = penalizer
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, durations: Sequence[float], events: Sequence[int]) -> CoxModel:
        from lifelines import CoxPHFitter

        frame = pd.DataFrame(X).astype("float64").reset_index(drop=True)
        if frame.shape[1] == 0:
            raise ModelError("a Cox model needs at least one covariate")
        frame["_T"] = np.asarray(durations, dtype="float64")
        frame["_E"] = np.asarray(events, dtype="int64")
        fitter = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines' convergence notes: reported below
            fitter.fit(frame, duration_col="_T", event_col="_E")
        s = fitter.summary
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        self.coef_ = s["coef"].to_numpy()
        self.se_ = s["se(coef)"].to_numpy()
        self.p_values_ = s["p"].to_numpy()
        self.hazard_ratios_ = np.exp(self.coef_)
        self.ci_low_ = s[f"exp(coef) lower {1 - self.alpha:.0%}"].to_numpy()
        self.ci_high_ = s[f"exp(coef) upper {1 - self.alpha:.0%}"].to_numpy()
        self.concordance_ = float(fitter.concordance_index_)
        self.log_likelihood_ = float(fitter.log_likelihood_)
        self.n_ = len(frame)
        self.events_ = int(frame["_E"].sum())
        self.ph_p_values_ = self._ph_test(fitter, frame)
        return self

    @staticmethod
    def _ph_test(fitter: Any, frame: pd.DataFrame) -> np.ndarray:
        """Grambsch–Therneau test per covariate (rank of time); NaN when it cannot run."""
        from lifelines.statistics import proportional_hazard_test

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = proportional_hazard_test(fitter, frame, time_transform="rank")
            p = res.summary["p"]
            return np.array([float(p.get(name, np.nan)) for name in fitter.params_.index])
        except Exception:
            return np.full(len(fitter.params_), np.nan)

    def to_json(self) -> str:
        """Everything needed to use the fitted model, as JSON (no pickle)."""
        return json.dumps(
            {
                "params": self.get_params(),
                "feature_names_in_": [str(x) for x in self.feature_names_in_],
                **{
                    k: [_plain(v) for v in getattr(self, k)]
                    for k in ("coef_", "se_", "p_values_", "ci_low_", "ci_high_", "ph_p_values_")
                },
                "concordance_": self.concordance_,
                "log_likelihood_": self.log_likelihood_,
                "n_": self.n_,
                "events_": self.events_,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CoxModel:
        data = json.loads(text)
        model = cls(**data["params"])
        model.feature_names_in_ = np.array(data["feature_names_in_"], dtype=object)
        for k in ("coef_", "se_", "p_values_", "ci_low_", "ci_high_", "ph_p_values_"):
            setattr(model, k, np.array([np.nan if v is None else v for v in data[k]], dtype=float))
        model.hazard_ratios_ = np.exp(model.coef_)
        model.concordance_ = data["concordance_"]
        model.log_likelihood_ = data["log_likelihood_"]
        model.n_ = data["n_"]
        model.events_ = data["events_"]
        return model

    def predict_log_partial_hazard(self, X: pd.DataFrame) -> np.ndarray:
        """``x'beta`` per row (relative risk on the log scale; no baseline needed)."""
        cols = [str(x) for x in self.feature_names_in_]
        return pd.DataFrame(X)[cols].astype("float64").to_numpy() @ self.coef_


@dataclass
class CoxResult:
    """Hazard ratios of a Cox model of churn (``ws.churn.cox()``).

    ``table``: one row per covariate: ``covariate``, ``hazard_ratio`` (the estimate) with
    ``ci_low``/``ci_high``, ``coef``, ``se``, ``p_value``, ``ph_p_value`` (the proportional
    hazards check); ``n`` customers, ``events`` churned, ``concordance``."""

    table: pd.DataFrame
    n: int
    events: int
    concordance: float
    by: str | None
    reference: str | None
    covariates: list[str]
    origin: str
    end: dt.datetime
    landmark: dt.datetime | None
    model_id: str | None = None
    left_out: int = 0
    notes: list[str] = field(default_factory=list)
    method: str = (
        "Cox proportional hazards (partial likelihood, Efron ties; lifelines CoxPHFitter); "
        "95% Wald intervals of the hazard ratios; Harrell's concordance; Grambsch-Therneau "
        "test of proportional hazards (scaled Schoenfeld residuals against the rank of time)"
    )

    @property
    def estimate(self) -> pd.Series:
        return self.table.set_index("covariate")["hazard_ratio"]

    def hazard_ratio(self, covariate: str) -> tuple[float, float, float]:
        """``(hazard_ratio, ci_low, ci_high)`` of one covariate (a group: ``by=value``)."""
        row = self.table[self.table.covariate == covariate]
        if row.empty:
            raise AnalysisError(
                f"no covariate {covariate!r}; there are {list(self.table.covariate)}"
            )
        r = row.iloc[0]
        return float(r.hazard_ratio), float(r.ci_low), float(r.ci_high)

    def records(self) -> list[dict[str, Any]]:
        return [{k: _plain(v) for k, v in r.items()} for r in self.table.to_dict("records")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "covariates": self.records(),
            "n": self.n,
            "events": self.events,
            "concordance": _plain(self.concordance),
            "by": self.by,
            "reference": self.reference,
            "origin": self.origin,
            "end": self.end.isoformat(),
            "landmark": self.landmark.isoformat() if self.landmark else None,
            "model_id": self.model_id,
            "left_out": self.left_out,
            "notes": list(self.notes),
            "method": self.method,
        }


def cox(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: str | None = "nps_group",
    covariates: Sequence[str] = (),
    as_of: Any = None,
    landmark: Any = None,
    reference: str | None = None,
    bands: int = 3,
    penalizer: float = 0.0,
) -> tuple[CoxResult, CoxModel]:
    """Fit a Cox model of churn on the groups of ``by`` (dummies against ``reference``,
    default the first group: promoters for ``nps_group``, else the largest) and the numeric
    ``covariates`` (customer columns or features of the feature layer)."""
    covs = list(dict.fromkeys(covariates))
    if not by and not covs:
        raise AnalysisError("name a --by group or at least one --covariate for the Cox model")
    pop = population(tables, config, by=by or "nps_group", as_of=as_of, landmark=landmark,
                     bands=bands, features=tuple(covs))  # fmt: skip
    covs = list(pop.features)
    by = pop.by if by else None
    cols = ["days", "event", *covs] + (["group"] if by else [])
    frame = pop.table.select(*cols).to_pandas()
    if by:
        frame["group"] = frame["group"].astype(object).where(frame["group"].notna(), MISSING)
    if frame.empty:
        raise AnalysisError(f"no customers to follow before {pop.end:%Y-%m-%d}")
    if (frame.days < 0).any():
        raise AnalysisError(
            f"{int((frame.days < 0).sum())} customer(s) have churned_at before created_at "
            "(customers table); fix those dates and import again"
        )
    for c in covs:
        frame[c] = _as_number(frame[c], c)
    before = len(frame)
    frame = frame.dropna(subset=covs)
    left_out = before - len(frame)
    notes = [f"{left_out} customer(s) left out: a covariate is missing"] if left_out else []
    if len(frame) < 2 or int(frame.event.sum()) == 0:
        raise AnalysisError(
            f"{len(frame)} customer(s), {int(frame.event.sum())} churned before "
            f"{pop.end:%Y-%m-%d}: a Cox model needs customers who left (customers.churned_at)"
        )
    X = frame[covs].copy()
    ref = None
    if by:
        sizes = frame.group.value_counts()
        if len(sizes) > MAX_GROUPS:
            raise AnalysisError(
                f"{by} has {len(sizes)} values: too many groups for the model (at most "
                f"{MAX_GROUPS}); choose an attribute with fewer values, or a number (banded)"
            )
        seen = [g for g in pop.order if g in sizes.index] or list(sizes.index)
        # default reference: the first group in its natural order (promoters), else the
        # largest known group (ties: alphabetical)
        largest = sorted((g for g in sizes.index if g != MISSING), key=lambda g: (-sizes[g], g))
        ref = reference if reference is not None else (
            seen[0] if pop.order and seen[0] != MISSING else (largest or [MISSING])[0]
        )  # fmt: skip
        if ref not in sizes.index:
            raise AnalysisError(
                f"reference {ref!r} is not a group of {by}; groups: "
                + ", ".join(map(str, sizes.index))
            )
        levels = [g for g in _ordered(list(sizes.index), pop.order) if g != ref]
        for g in levels:
            X[f"{by}={g}"] = (frame.group == g).astype("float64").to_numpy()
        if not levels:
            raise AnalysisError(f"{by} has one group only ({ref}): nothing to compare")
    X = X.loc[:, X.std(ddof=0) > 0] if len(X) > 1 else X
    dropped = [c for c in [*covs] if c not in X.columns]
    if dropped:
        notes.append(f"left out (the same for every customer): {', '.join(dropped)}")
    if X.shape[1] == 0:
        raise AnalysisError("no covariate varies across the customers: nothing to model")
    model = CoxModel(penalizer=penalizer).fit(X, frame.days.to_numpy(), frame.event.to_numpy())
    table = pd.DataFrame({
        "covariate": [str(x) for x in model.feature_names_in_],
        "hazard_ratio": model.hazard_ratios_, "ci_low": model.ci_low_, "ci_high": model.ci_high_,
        "coef": model.coef_, "se": model.se_, "p_value": model.p_values_,
        "ph_p_value": model.ph_p_values_,
    })  # fmt: skip
    if by:
        ev = frame.groupby("group").event.sum()
        for g in [ref, *levels]:
            if ev.get(g, 0) == 0:
                notes.append(
                    f"no customer in {by}={g} left: hazard ratios against it are not "
                    "estimable (near 0 or infinite, with no upper bound)"
                )
    if model.events_ < 10 * X.shape[1]:
        notes.append(
            f"{model.events_} customers left for {X.shape[1]} covariates (fewer than 10 per "
            "covariate): the hazard ratios are rough"
        )
    bad_ph = table[table.ph_p_value < 0.05].covariate.tolist()
    if bad_ph:
        notes.append(
            "proportional hazards doubtful (Schoenfeld test p < 0.05) for "
            + ", ".join(bad_ph)
            + ": their hazard ratio is an average over time; compare the Kaplan-Meier curves"
        )
    result = CoxResult(
        table=table, n=model.n_, events=model.events_, concordance=model.concordance_,
        by=by, reference=ref, covariates=covs, origin=pop.origin, end=pop.end,
        landmark=pop.landmark, left_out=left_out, notes=notes,
    )  # fmt: skip
    return result, model


def _as_number(values: pd.Series, name: str) -> pd.Series:
    """A covariate as floats: numbers, true/false, or numbers as text (blanks missing)."""
    if values.dtype == object:
        text = values.astype("string").str.strip()
        text = text.mask(text == "")
        num = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & num.isna()
        if bad.any():
            raise AnalysisError(
                f"covariate {name!r} is not numeric (a value: {text[bad].iloc[0]!r}); "
                f"group by it instead (--by {name})"
            )
        return num.astype("float64")
    try:
        return values.astype("float64")
    except (TypeError, ValueError):
        raise AnalysisError(f"covariate {name!r} is not numeric; group by it instead") from None


def _ordered(seen: list[str], order: list[str]) -> list[str]:
    first = [g for g in order if g in seen]
    return first + sorted(str(g) for g in seen if g not in first)


def save_model(store: Any, lock: Any, result: CoxResult, model: CoxModel) -> str:
    """Write the fitted model to ``_cx_models`` (name ``churn_cox``, replacing the last one)
    under the workspace write lock, in one transaction on DuckDB. Returns its id."""
    from contextlib import nullcontext

    model_id = uuid.uuid4().hex
    spec = json.loads(model.to_json())
    spec.update({"by": result.by, "reference": result.reference, "covariates": result.covariates,
                 "origin": result.origin, "end": result.end.isoformat(),
                 "landmark": result.landmark.isoformat() if result.landmark else None})  # fmt: skip
    evaluation = {"concordance": result.concordance, "n": result.n, "events": result.events,
                  "ph_p_values": dict(zip(result.table.covariate,
                                          [_plain(p) for p in result.table.ph_p_value],
                                          strict=True))}  # fmt: skip
    with lock if lock is not None else nullcontext():
        store.save_model("churn_cox", "cox_ph", spec, evaluation, model_id=model_id, replace=True)
    return model_id
