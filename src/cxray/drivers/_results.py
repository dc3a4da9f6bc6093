"""Result objects of key driver analysis and of moments of truth.

Every figure comes with its interval, its n and the method that made it;
``records()`` gives one plain dict per driver (or moment and outcome), the
shape ``cxray drivers --format json`` prints and ``GET /api/drivers``
answers; ``to_frame()`` the same as a data frame.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxray.stats import Estimate

__all__ = [
    "DriverAnalysis",
    "DriverReport",
    "DriverResult",
    "MomentResult",
    "MomentsReport",
]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


@dataclass(frozen=True)
class DriverResult:
    """One driver's importance, effect and performance."""

    driver: str
    title: str
    #: Johnson's raw relative weight (its part of R²), with a bootstrap interval
    raw_weight: float
    raw_ci_low: float
    raw_ci_high: float
    #: the raw weight as a percentage of R², with a bootstrap interval
    share: float
    ci_low: float
    ci_high: float
    #: the full model's coefficient: outcome units per unit of the driver (linear), or the
    #: odds ratio per unit (logistic), with a bootstrap interval
    effect: float
    effect_ci_low: float
    effect_ci_high: float
    effect_unit: str
    #: + (more of the driver goes with a higher outcome) or - ; from the coefficient
    direction: str
    #: zero-order correlation with the outcome
    correlation: float
    #: 0-100: how well the company does on this driver (see docs/drivers.md); ``None``
    #: for a driver that is neither good nor bad (how many orders, a channel)
    performance: float | None
    performance_basis: str
    #: fix first, maintain, monitor or lower priority (importance x performance); context
    priority: str
    mean: float
    #: variance inflation factor: above 10 the driver is largely explained by the others
    vif: float
    n: int
    method: str
    #: LMG (Shapley) share of R² in percent, with a bootstrap interval (up to 12 drivers)
    lmg_share: float | None = None
    lmg_ci_low: float | None = None
    lmg_ci_high: float | None = None
    unit: str | None = None
    better: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DriverAnalysis:
    """Key drivers of one outcome (in one slice)."""

    outcome: str
    outcome_title: str
    #: ``responses`` (one row per response) or ``customers`` (one row per customer)
    unit: str
    #: ``linear`` (relative weights of a least-squares model) or ``logistic``
    model: str
    drivers: list[DriverResult]
    #: R² (linear) or the squared correlation of outcome and fitted probability (logistic)
    r2: Estimate
    n: int
    #: rows left out because the outcome or a driver was missing
    n_missing: int
    bootstrap: int
    seed: int
    method: str
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    slice: dict[str, Any] = field(default_factory=dict)
    #: what the features describe: the window before each response, or the as-of date
    basis: str = ""

    def records(self) -> list[dict[str, Any]]:
        out = []
        for d in self.drivers:
            row = {
                **self.slice,
                "outcome": self.outcome,
                **d.to_dict(),
                "r2": _plain(self.r2.estimate),
            }
            out.append(row)
        return out

    def summary(self) -> dict[str, Any]:
        return {
            **self.slice,
            "outcome": self.outcome,
            "outcome_title": self.outcome_title,
            "unit": self.unit,
            "model": self.model,
            "r2": self.r2.to_dict(),
            "n": self.n,
            "n_missing": self.n_missing,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "method": self.method,
            "basis": self.basis,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


def _perf(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


@dataclass(frozen=True)
class DriverReport:
    """Key drivers, one analysis per slice (one without ``by``)."""

    analyses: list[DriverAnalysis]
    by: str | None = None
    #: slices that could not be analysed, each with its value, n and the reason
    left_out: list[dict[str, Any]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [r for a in self.analyses for r in a.records()]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "analyses": [{**a.summary(), "drivers": a.records()} for a in self.analyses],
            "left_out": self.left_out,
        }

    def _repr_html_(self) -> str:
        parts = []
        for a in self.analyses:
            head = " ".join(f"{k}={v}" for k, v in a.slice.items())
            rows = "".join(
                f"<tr><td>{html.escape(d.title)}</td><td>{d.share:.1f}%</td>"
                f"<td>[{d.ci_low:.1f}, {d.ci_high:.1f}]</td><td>{d.direction}</td>"
                f"<td>{_perf(d.performance)}</td><td>{html.escape(d.priority)}</td></tr>"
                for d in a.drivers
            )
            parts.append(
                f"<table><caption>{html.escape(head)} drivers of {html.escape(a.outcome_title)}"
                f" (R² {a.r2.estimate:.3f}, n={a.n})</caption><tr><th>driver</th><th>share</th>"
                f"<th>95% CI</th><th>dir</th><th>performance</th><th>priority</th></tr>"
                f"{rows}</table>"
            )
        return "".join(parts)


@dataclass(frozen=True)
class MomentResult:
    """One touchpoint experience's effect on one outcome."""

    moment: str
    title: str
    outcome: str
    #: exposed minus comparison: NPS points, percentage points (CSAT top box, churn) or
    #: answer points (CES mean)
    effect: float
    ci_low: float
    ci_high: float
    effect_unit: str
    p_value: float
    q_value: float
    significant: bool
    #: the outcome among the exposed and among the comparison group
    exposed_value: float
    comparison_value: float
    n_exposed: int
    n_comparison: int
    #: distinct customers the experience touched (among the exposed)
    customers: int
    #: what it costs overall: NPS/CSAT points of the whole population (effect x share of
    #: exposed), or customers lost (churn)
    impact: float
    impact_ci_low: float
    impact_ci_high: float
    impact_unit: str
    against: str
    method: str
    suppressed: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: _plain(v) for k, v in self.__dict__.items()}
        if self.suppressed:
            for k in ("effect", "ci_low", "ci_high", "p_value", "q_value", "impact",
                      "impact_ci_low", "impact_ci_high"):  # fmt: skip
                out[k] = None
        return out


@dataclass(frozen=True)
class MomentsReport:
    """Moments of truth: every touchpoint experience against every outcome, ranked."""

    moments: list[MomentResult]
    outcomes: list[str]
    #: the outcome the ranking follows (the first asked for that has data)
    rank_by: str
    window_days: float
    as_of: str | None
    fdr: float
    method: str
    warnings: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [m.to_dict() for m in self.moments]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def ranking(self) -> list[str]:
        """Moment names, most costly first on the ranking outcome."""
        seen: list[str] = []
        for m in self.moments:
            if m.moment not in seen:
                seen.append(m.moment)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcomes": self.outcomes,
            "rank_by": self.rank_by,
            "window_days": self.window_days,
            "as_of": self.as_of,
            "fdr": self.fdr,
            "method": self.method,
            "warnings": self.warnings,
            "moments": self.records(),
        }
