"""Result objects of lifetime value: a fit (:class:`ClvFit`) and CLV per customer
(:class:`ClvResult`).

Every figure comes with its interval, its n and the method that made it. ``to_dict()``
gives the JSON of ``cxray clv fit --format json`` / ``cxray clv --format json`` and of the
API; ``records()`` one plain dict per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxray.stats import Estimate

__all__ = ["ClvFit", "ClvResult", "ParamEstimate"]

MODEL_TITLES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma"}


def plain(value: Any) -> Any:
    """JSON-friendly: NaN and infinities become ``None``, numpy scalars Python ones."""
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class ParamEstimate:
    """One fitted parameter: maximum-likelihood estimate, standard error and 95% interval."""

    model: str
    name: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    method: str = "maximum likelihood; SE from the inverse Hessian, Wald interval on the log scale"

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(v) for k, v in self.__dict__.items()}

    @classmethod
    def of(cls, model: Any) -> list[ParamEstimate]:
        return [
            cls(
                model=model.kind,
                name=k,
                estimate=model.params_[k],
                se=model.se_[k],
                ci_low=model.ci_[k][0],
                ci_high=model.ci_[k][1],
                n=model.n_customers_,
            )
            for k in model.param_names
        ]


@dataclass
class ClvFit:
    """A lifetime-value fit: the purchase model (BG/NBD or Pareto/NBD) and the spend model
    (Gamma-Gamma), how well they fit, the holdout check and why the model was chosen."""

    model: str
    params: list[ParamEstimate]
    log_likelihood: float
    aic: float
    n_customers: int
    spend_params: list[ParamEstimate]
    spend_log_likelihood: float
    n_repeat_buyers: int
    unit: str
    calibration_end: str
    data_start: str
    data_end: str
    candidates: list[dict[str, Any]]
    selection: str
    spend_frequency_correlation: float | None
    holdout: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    model_id: str | None = None
    created_at: str | None = None
    data_version: str | None = None
    frequency_model: Any = field(default=None, repr=False, compare=False)
    spend_model: Any = field(default=None, repr=False, compare=False)

    @property
    def title(self) -> str:
        return MODEL_TITLES.get(self.model, self.model)

    @property
    def method(self) -> str:
        return (
            f"{self.title} (purchases, P(alive)) and Gamma-Gamma (spend per purchase), "
            "maximum likelihood on the per-customer summary"
        )

    def records(self) -> list[dict[str, Any]]:
        """One row per parameter of both models."""
        return [p.to_dict() for p in (*self.params, *self.spend_params)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "title": self.title,
            "params": {p.name: p.estimate for p in self.params},
            "standard_errors": {p.name: plain(p.se) for p in self.params},
            "intervals": {p.name: [plain(p.ci_low), plain(p.ci_high)] for p in self.params},
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "n_customers": self.n_customers,
            "spend_model": {
                "model": "gamma_gamma",
                "params": {p.name: p.estimate for p in self.spend_params},
                "standard_errors": {p.name: plain(p.se) for p in self.spend_params},
                "intervals": {
                    p.name: [plain(p.ci_low), plain(p.ci_high)] for p in self.spend_params
                },
                "log_likelihood": self.spend_log_likelihood,
                "n_customers": self.n_repeat_buyers,
            },
            "spend_frequency_correlation": plain(self.spend_frequency_correlation),
            "unit": self.unit,
            "calibration_end": self.calibration_end,
            "data_start": self.data_start,
            "data_end": self.data_end,
            "holdout": self.holdout,
            "candidates": self.candidates,
            "selection": self.selection,
            "method": self.method,
            "warnings": list(self.warnings),
            "model_id": self.model_id,
            "created_at": self.created_at,
            "data_version": self.data_version,
        }

    def __str__(self) -> str:
        ps = ", ".join(f"{p.name}={p.estimate:.4g}" for p in self.params)
        ss = ", ".join(f"{p.name}={p.estimate:.4g}" for p in self.spend_params)
        return (
            f"{self.title} ({ps}; LL {self.log_likelihood:,.2f}, n={self.n_customers:,}) and "
            f"Gamma-Gamma ({ss}; n={self.n_repeat_buyers:,}), {self.unit}s, calibration to "
            f"{self.calibration_end}"
        )


@dataclass
class ClvResult:
    """Customer lifetime value per customer over a horizon, and the mean CLV."""

    customers: pd.DataFrame
    #: mean CLV per customer, with a Student t interval over customers, n = customers
    summary: Estimate
    #: the CLV of all customers together, with the interval of n x the mean
    total: Estimate
    horizon_days: float
    discount_rate: float
    as_of: str
    unit: str
    model: str
    model_id: str | None
    source: str
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.customers)

    @property
    def method(self) -> str:
        title = MODEL_TITLES.get(self.model, self.model)
        return (
            f"{title} expected purchases x Gamma-Gamma expected spend; purchases over the "
            f"{self.horizon_days:g}-day horizon counted in steps of at most 30 days, each "
            f"discounted at {100 * self.discount_rate:g}% a year to the end of its step"
        )

    def records(self, top: int | None = None) -> list[dict[str, Any]]:
        frame = self.customers if top is None else self.customers.head(top)
        return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        return {
            "summary": self.summary.to_dict(),
            "total": self.total.to_dict(),
            "n": self.n,
            "horizon_days": self.horizon_days,
            "discount_rate": self.discount_rate,
            "as_of": self.as_of,
            "unit": self.unit,
            "model": self.model,
            "model_id": self.model_id,
            "source": self.source,
            "method": self.method,
            "warnings": list(self.warnings),
            "customers": self.records(top),
        }
