"""The money of CX: what churn costs by NPS group, revenue at risk, a what-if and the ROI.

``ws.value.money`` (:class:`Money`) joins three things per customer:

* the customer's **NPS group**: their latest NPS answer before the as-of date
  (promoter 9-10, passive 7-8, detractor 0-6, ``no answer``);
* their **value**: the predictive CLV of ``ws.value.clv()`` (BG/NBD or Pareto/NBD with
  Gamma-Gamma, discounted) when a CLV fit is stored, else their historical revenue to
  the as-of date (orders not cancelled or returned); the result's ``method`` says which;
* their **churn**: whether they left in the churn horizon after the as-of date
  (``[features] churn_horizon_days``), or, for customers today, the churn-risk model's
  probability (``ws.churn.risk.score()``), else their group's observed churn rate.

The per-customer rows are one portable Ibis query (customers active at the as-of date,
their latest NPS answer, their revenue to date, the churn flag), run where the data lives;
the few numbers per customer come back and the statistics are done in memory:

* churn rate: Wilson score interval (Wilson 1927, *JASA* 22:209-212);
* mean CLV, churn cost (Σ CLV of the customers who left) and the what-if: percentile
  bootstrap over customers, resampled within each group (Efron & Tibshirani 1993,
  *An Introduction to the Bootstrap*, ch. 13), seeded;
* revenue at risk, Σ CLV × P(churn) (e.g. Gupta, Lehmann & Stuart 2004, *J. Marketing
  Research* 41:7-18, for valuing customers by retention): with the churn-risk model the
  interval sums each customer's CLV times the bounds of their probability (a conservative
  interval: every customer's error taken in the same direction); with observed rates it is
  the group's CLV total times the Wilson bounds of its rate.
* what-if (moving a share ``s`` of the ``source`` group to the ``target`` group):
  ``s · n_source · (churn_source − churn_target) · mean CLV_source``: the value the moved
  customers no longer take away when they leave at the target group's rate. A moved
  customer keeps their own value (what they buy does not change with their answer: groups
  differ in value for other reasons, e.g. frequent buyers meet more late deliveries) and
  takes on the target's churn rate; that is an association measured in the data, not an
  experiment, and the results say so.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxray import stats
from cxray.exceptions import AnalysisError, CXError
from cxray.features import Features
from cxray.metrics import parse_when

__all__ = ["GROUPS", "AtRisk", "GroupMoney", "Money", "MoneyByGroup", "Roi", "WhatIf"]

#: the NPS groups in the order results list them
GROUPS = ("promoter", "passive", "detractor", "no answer")
NOT_REVENUE = ("cancelled", "returned")
_DAY = 86400.0
#: label of a customer without a value for the ``by`` attribute
MISSING = "(missing)"


def _plain(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _est(e: stats.Estimate) -> dict[str, Any]:
    d = e.to_dict()
    return {k: d[k] for k in ("estimate", "ci_low", "ci_high", "n", "method", "suppressed",
                              "reason")}  # fmt: skip


def money_text(x: float | None) -> str:
    """A money amount as a CFO reads it: 1.2M, 45.6k, 830."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{x / 1e3:,.1f}k"
    return f"{x:,.0f}"


@dataclass(frozen=True)
class GroupMoney:
    """One NPS group (or segment): churn rate, mean CLV and the CLV its churners took away."""

    group: str
    n: int
    churned: int
    churn_rate: stats.Estimate
    clv: stats.Estimate
    churn_cost: stats.Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "churned": self.churned,
            "churn_rate": _est(self.churn_rate),
            "clv": _est(self.clv),
            "churn_cost": _est(self.churn_cost),
        }


@dataclass(frozen=True)
class _Result:
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float

    @property
    def interval(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    def _head(self) -> dict[str, Any]:
        return {
            "estimate": _plain(self.estimate),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
            "n": self.n,
            "method": self.method,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class MoneyByGroup(_Result):
    """Churn rate, mean CLV and churn cost per NPS group; ``estimate``: the total churn cost."""

    groups: list[GroupMoney] = field(default_factory=list)
    as_of: str = ""
    horizon_days: float = 0.0
    clv_source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """One row per group: n, churned, churn rate, mean CLV and churn cost with intervals."""
        rows = []
        for g in self.groups:
            row: dict[str, Any] = {"group": g.group, "n": g.n, "churned": g.churned}
            for name, e in (("churn_rate", g.churn_rate), ("clv", g.clv),
                            ("churn_cost", g.churn_cost)):  # fmt: skip
                d = e.to_dict()
                row.update({name: d["estimate"], f"{name}_low": d["ci_low"],
                            f"{name}_high": d["ci_high"]})  # fmt: skip
            rows.append(row)
        return pd.DataFrame(rows)

    def get(self, group: str) -> GroupMoney:
        for g in self.groups:
            if g.group == group:
                return g
        raise KeyError(group)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "clv_source": self.clv_source,
            "notes": list(self.notes),
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass(frozen=True)
class AtRisk(_Result):
    """Revenue at risk (Σ CLV × churn probability) per group; ``estimate``: the total."""

    by: str = "nps_group"
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: str = ""
    horizon_days: float = 0.0
    source: str = "observed"
    clv_source: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "by": self.by,
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "source": self.source,
            "clv_source": self.clv_source,
            "notes": list(self.notes),
            "groups": [
                {k: _plain(v) for k, v in r.items()} for r in self.groups.to_dict("records")
            ],
        }


@dataclass(frozen=True)
class WhatIf(_Result):
    """What moving ``share`` of the ``source`` group to the ``target`` group is worth."""

    share: float = 0.0
    source: str = "detractor"
    target: str = "passive"
    moved: float = 0.0
    value_per_customer: float = math.nan
    as_of: str = ""
    horizon_days: float = 0.0
    sentence: str = ""
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "share": self.share,
            "source": self.source,
            "target": self.target,
            "moved": self.moved,
            "value_per_customer": _plain(self.value_per_customer),
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "sentence": self.sentence,
            "assumptions": list(self.assumptions),
        }


@dataclass(frozen=True)
class Roi(_Result):
    """The CX ROI summary for a CFO; ``estimate``: what the what-if is worth."""

    customers: int = 0
    by_group: MoneyByGroup | None = None
    at_risk: AtRisk | None = None
    what_if: WhatIf | None = None
    sentences: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "customers": self.customers,
            "sentences": list(self.sentences),
            "assumptions": list(self.assumptions),
            "by_nps_group": self.by_group.to_dict() if self.by_group else None,
            "at_risk": self.at_risk.to_dict() if self.at_risk else None,
            "what_if": self.what_if.to_dict() if self.what_if else None,
        }


# ---------------------------------------------------------------------------------- bootstrap
def _replicates(
    values: np.ndarray, churned: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bootstrap resample of one group's customers: mean CLV, churn rate, churn cost."""
    n = len(values)
    rng = np.random.default_rng(seed)
    mean = np.empty(n_boot)
    rate = np.empty(n_boot)
    cost = np.empty(n_boot)
    lost = values * churned
    chunk = max(1, 2_000_000 // max(n, 1))
    for a in range(0, n_boot, chunk):
        b = min(a + chunk, n_boot)
        idx = rng.integers(0, n, size=(b - a, n))
        mean[a:b] = values[idx].mean(axis=1)
        rate[a:b] = churned[idx].mean(axis=1)
        cost[a:b] = lost[idx].sum(axis=1)
    return mean, rate, cost


def _percentile(point: float, reps: np.ndarray, level: float, n: int, min_n: int,
                method: str) -> stats.Estimate:  # fmt: skip
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    reason = None
    if n < min_n:
        reason = f"n={n} < {min_n}; widen the window or merge groups"
    return stats.Estimate(point, float(min(lo, point)), float(max(hi, point)), n, method,
                          level, suppressed=reason is not None, reason=reason)  # fmt: skip


# --------------------------------------------------------------------------------- the service
class Money:
    """The money of CX over one store (``ws.value.money``).

    ``value``: the workspace's :class:`cxray.value.Value` (its ``store``, ``config``,
    ``lock`` and, when a CLV fit is stored, ``clv()``). ``n_boot`` bootstrap resamples,
    seeded with ``seed``: the same data gives the same intervals.
    """

    def __init__(self, value: Any, *, n_boot: int = 1000, seed: int = 0):
        self.value = value
        self.store = value.store
        self.config = value.config
        self.n_boot = int(n_boot)
        self.seed = int(seed)
        self._frames: dict[Any, tuple[pd.DataFrame, str]] = {}

    # ------------------------------------------------------------------ reading the store
    def table(self, name: str) -> ibis.Table:
        return self.store.table(name)

    @property
    def features(self) -> Features:
        return Features(self.table, self.config)

    @property
    def _level(self) -> float:
        return float(self.config.measurement.confidence)

    @property
    def _min_n(self) -> int:
        return int(self.config.measurement.min_n)

    def _horizon(self, horizon_days: float | None) -> float:
        h = horizon_days if horizon_days is not None else self.config.features.churn_horizon_days
        if not (isinstance(h, int | float) and h > 0 and math.isfinite(h)):
            raise AnalysisError(f"horizon_days must be a positive number of days, got {h!r}")
        return float(h)

    def _end(self) -> dt.datetime:
        end = self.features.data_end()
        if end is None:
            raise AnalysisError("the store has no data yet; import data or run `cxray demo`")
        return end

    def _observed_as_of(self, as_of: Any, horizon: float) -> dt.datetime:
        """The as-of date churn is observed after: given, or the end of the data less the
        horizon (the latest date whose horizon the data covers)."""
        when = parse_when(as_of, "as_of")  # None and "" are no date
        if when is not None:
            return when
        return self._end() - dt.timedelta(days=horizon)

    def _attribute(self, by: str) -> str:
        if by == "nps_group":
            return by
        cols = self.table("customers").columns
        if by not in cols or by.startswith("_"):
            known = ", ".join(["nps_group", *(c for c in cols if not c.startswith("_")
                                              and c != "customer_id")])  # fmt: skip
            raise AnalysisError(f"unknown attribute by={by!r}: known customer attributes: {known}")
        return by

    def customers(
        self, at: dt.datetime, horizon_days: float | None, by: str = "nps_group"
    ) -> ibis.Table:
        """Customers active at ``at``: ``customer_id``, ``nps_group``, ``revenue`` (to ``at``),
        ``churned`` (left in the horizon after ``at``; null without a horizon) and ``segment``
        (the ``by`` attribute). A portable Ibis expression."""
        t = ibis.timestamp(at)
        c = self.table("customers")
        c = c.filter((c.created_at < t) & (c.churned_at.isnull() | (c.churned_at >= t)))
        r = self.table("responses")
        r = r.filter(r.nps.notnull() & r.customer_id.notnull() & (r.submitted_at < t))
        w = ibis.window(group_by=r.customer_id,
                        order_by=[ibis.desc(r.submitted_at), ibis.desc(r.response_id)])  # fmt: skip
        latest = (
            r.mutate(_rn=ibis.row_number().over(w))
            .filter(lambda x: x._rn == 0)
            .select(_nc=ibis._.customer_id, _nps=ibis._.nps)
        )
        o = self.table("orders")
        status = o.status.lower().fill_null("")
        o = o.filter((o.ordered_at < t) & ~status.isin(NOT_REVENUE))
        spend = o.group_by(_oc=o.customer_id).aggregate(_rev=o.amount.cast("float64").sum())
        j = c.left_join(latest, c.customer_id == latest._nc).drop("_nc")
        j = j.left_join(spend, j.customer_id == spend._oc).drop("_oc")
        group = ibis.cases(
            (j._nps >= 9, "promoter"),
            (j._nps >= 7, "passive"),
            (j._nps.notnull(), "detractor"),
            else_="no answer",
        )
        if horizon_days is not None:
            until = t + ibis.interval(seconds=round(horizon_days * _DAY))
            churned = ibis.ifelse(j.churned_at.notnull() & (j.churned_at < until), 1, 0)
        else:
            churned = ibis.null("int64")
        segment = group if by == "nps_group" else j[by].cast("string").fill_null(MISSING)
        return j.select(
            customer_id=j.customer_id,
            nps_group=group,
            revenue=j._rev.fill_null(0.0),
            churned=churned,
            segment=segment,
        )

    def _frame(
        self, at: dt.datetime, horizon: float | None, by: str = "nps_group"
    ) -> tuple[pd.DataFrame, str]:
        """The per-customer rows at ``at`` with ``clv``, and where the CLV comes from."""
        key = (at, horizon, by)
        if key not in self._frames:
            frame = self.customers(at, horizon, by).to_pandas()
            frame = frame.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
            clv, source = self._clv(at, frame)
            frame["clv"] = clv
            self._frames[key] = (frame, source)
        return self._frames[key]

    def _clv(self, at: dt.datetime, frame: pd.DataFrame) -> tuple[np.ndarray, str]:
        """Each customer's CLV: predictive when a CLV fit is stored, else revenue to date."""
        why = "no CLV fit is stored: run `cxray clv fit`"
        latest = getattr(self.value, "latest_fit", None)
        stored = latest() if latest is not None else None
        if stored is not None and not frame.empty:
            try:
                got = self.value.clv(as_of=at)
            except CXError as exc:
                why = f"the CLV fit could not be used: {exc}"
            else:
                per = got.customers.set_index("customer_id")["clv"]
                values = frame.customer_id.map(per).astype("float64").fillna(0.0).to_numpy()
                return values, (
                    f"predictive CLV over {got.horizon_days:g} days ({got.model}, "
                    f"{got.source}); customers without an order count as 0"
                )
        revenue = frame["revenue"].to_numpy(dtype="float64")
        no_revenue = frame.empty or not np.any(revenue > 0)
        if no_revenue and self.table("orders").count().to_pyarrow().as_py() == 0:
            raise AnalysisError(
                "no orders: the money of CX needs each customer's value; import orders "
                "(then `cxray clv fit` for a predictive CLV)"
            )
        return revenue, f"historical revenue per customer to date ({why})"

    def values(self) -> tuple[pd.DataFrame, str]:
        """Today's customers (active at the end of the data): ``customer_id``, ``nps_group``,
        ``revenue`` and ``clv``, and where the CLV comes from (the at-risk table's values)."""
        frame, source = self._frame(self._end(), None)
        return frame[["customer_id", "nps_group", "revenue", "clv"]].copy(), source

    def _check_churn_dates(self) -> None:
        c = self.table("customers")
        if int(c.churned_at.count().to_pyarrow().as_py()) == 0:
            raise AnalysisError(
                "no churn dates: no customer has churned_at, so churn cannot be told from "
                "not recorded; import customers with churned_at"
            )

    # ------------------------------------------------------------------ per NPS group
    def by_nps_group(self, *, as_of: Any = None, horizon_days: float | None = None) -> MoneyByGroup:
        """Per NPS group: customers, churn rate in the horizon after ``as_of`` (Wilson), mean
        CLV and churn cost (Σ CLV of those who left) with bootstrap intervals."""
        horizon = self._horizon(horizon_days)
        at = self._observed_as_of(as_of, horizon)
        self._check_churn_dates()
        frame, source = self._frame(at, horizon)
        return self._by_group(frame, source, at, horizon)

    def _by_group(
        self, frame: pd.DataFrame, source: str, at: dt.datetime, horizon: float
    ) -> MoneyByGroup:
        level, min_n = self._level, self._min_n
        boot = f"percentile bootstrap over customers ({self.n_boot} resamples, seed {self.seed})"
        groups: list[GroupMoney] = []
        total_reps = np.zeros(self.n_boot)
        for i, name in enumerate(GROUPS):
            part = frame[frame.nps_group == name]
            n = len(part)
            if n == 0:
                continue
            v = part.clv.to_numpy(dtype="float64")
            y = part.churned.to_numpy(dtype="float64")
            mean, _, cost = _replicates(v, y, self.n_boot, self.seed + i)
            total_reps += cost
            k = int(y.sum())
            groups.append(
                GroupMoney(
                    name,
                    n,
                    k,
                    stats.proportion(k, n, confidence=level, min_n=min_n),
                    _percentile(float(v.mean()), mean, level, n, min_n, boot),
                    _percentile(float((v * y).sum()), cost, level, n, min_n, boot),
                )
            )
        notes = []
        if frame.empty:
            notes.append(f"no customer was active at {at:%Y-%m-%d}: nothing to measure")
            total = lo = hi = math.nan
        else:
            total = float((frame.clv * frame.churned).sum())
            lo, hi = np.quantile(total_reps, [(1 - level) / 2, (1 + level) / 2])
            lo, hi = min(float(lo), total), max(float(hi), total)
        method = (
            f"churn in the {horizon:g} days after {at:%Y-%m-%d} by the latest NPS answer before "
            f"it; churn rate: Wilson score interval; CLV and churn cost: {boot}; "
            f"value: {source}"
        )
        return MoneyByGroup(total, lo, hi, len(frame), method, level, groups,
                            at.isoformat(), horizon, source, notes)  # fmt: skip

    # ------------------------------------------------------------------ revenue at risk
    def at_risk(self, by: str = "nps_group", *, horizon_days: float | None = None) -> AtRisk:
        """Revenue at risk per ``by`` group among today's customers: Σ CLV × P(churn) in the
        horizon. P(churn) is the churn-risk model's probability (``cxray churn model``); without
        a stored model, each group's churn rate observed in the last whole horizon."""
        by = self._attribute(by)
        horizon = self._horizon(horizon_days)
        end = self._end()
        now, source = self._frame(end, None, by)
        notes: list[str] = []
        probs = self._risk_scores()
        level = self._level
        rows = []
        if probs is not None:
            scores, model_method = probs
            now = now.merge(scores, on="customer_id", how="inner")
            kind = "model"
            method = (
                f"Σ CLV × churn probability of the churn-risk model ({model_method}); interval: "
                "Σ CLV × each customer's probability bounds (conservative)"
            )
            for name, part in now.groupby("segment", sort=True):
                v = part.clv.to_numpy(dtype="float64")
                rows.append({
                    "group": name, "n": len(part), "clv_total": float(v.sum()),
                    "probability": float(part.probability.mean()),
                    "probability_low": float(part.ci_low.mean()),
                    "probability_high": float(part.ci_high.mean()),
                    "revenue_at_risk": float((v * part.probability).sum()),
                    "ci_low": float((v * part.ci_low).sum()),
                    "ci_high": float((v * part.ci_high).sum()),
                })  # fmt: skip
        else:
            kind = "observed"
            notes.append(
                "no churn-risk model is stored (run `cxray churn model`): each group's observed "
                "churn rate stands in for its customers' probability"
            )
            self._check_churn_dates()
            at = end - dt.timedelta(days=horizon)
            past, _ = self._frame(at, horizon, by)
            method = (
                f"Σ CLV × the group's churn rate observed in the {horizon:g} days after "
                f"{at:%Y-%m-%d} (Wilson score interval on the rate)"
            )
            rates = {}
            for name, part in past.groupby("segment", sort=True):
                k, n = int(part.churned.sum()), len(part)
                rates[name] = stats.proportion(k, n, confidence=level, min_n=0)
            for name, part in now.groupby("segment", sort=True):
                v = float(part.clv.sum())
                r = rates.get(name)
                if r is None:
                    notes.append(f"{by}={name}: no customer of the group {horizon:g} days ago "
                                 "to observe a churn rate; left out")  # fmt: skip
                    continue
                rows.append({
                    "group": name, "n": len(part), "clv_total": v,
                    "probability": r.estimate, "probability_low": r.ci_low,
                    "probability_high": r.ci_high,
                    "revenue_at_risk": v * r.estimate, "ci_low": v * r.ci_low,
                    "ci_high": v * r.ci_high,
                })  # fmt: skip
        table = pd.DataFrame(rows, columns=["group", "n", "clv_total", "probability",
                                            "probability_low", "probability_high",
                                            "revenue_at_risk", "ci_low", "ci_high"])  # fmt: skip
        if by == "nps_group" and not table.empty:
            order = {g: i for i, g in enumerate(GROUPS)}
            table = table.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)
        if table.empty:
            notes.append(f"no customer is active at {end:%Y-%m-%d}: nothing is at risk")
            est = lo = hi = math.nan
        else:
            est = float(table.revenue_at_risk.sum())
            lo, hi = float(table.ci_low.sum()), float(table.ci_high.sum())
        method = f"{method}; value: {source}"
        return AtRisk(est, lo, hi, int(table.n.sum()) if not table.empty else 0, method, level,
                      by, table, end.isoformat(), horizon, kind, source, notes)  # fmt: skip

    def _risk_scores(self) -> tuple[pd.DataFrame, str] | None:
        """Today's churn-risk scores, or ``None`` when no churn-risk model is stored."""
        from cxray.churn import Churn

        churn = Churn(self.store, self.config, lock=getattr(self.value, "lock", None))
        try:
            scores = churn.risk.score()
        except (ImportError, AttributeError):
            return None
        except AnalysisError as exc:
            if "no churn-risk model" in str(exc):
                return None
            raise
        frame = scores.customers[["customer_id", "probability", "ci_low", "ci_high"]]
        return frame, scores.method

    # ------------------------------------------------------------------ what-if
    def what_if(
        self,
        share: float = 0.10,
        source: str = "detractor",
        target: str = "passive",
        *,
        as_of: Any = None,
        horizon_days: float | None = None,
    ) -> WhatIf:
        """What moving ``share`` of the ``source`` NPS group to ``target`` is worth over the
        horizon: ``share · n_source · (churn_source − churn_target) · mean CLV_source``, with
        a bootstrap interval (both groups resampled; the same seed for every share, so the
        result is exactly linear in ``share``)."""
        if not isinstance(share, int | float) or not 0.0 <= float(share) <= 1.0:
            raise AnalysisError(f"share must be between 0 and 1 (0.10 = 10 %), got {share!r}")
        for what, g in (("source", source), ("target", target)):
            if g not in GROUPS:
                raise AnalysisError(f"{what}={g!r}: not an NPS group; use one of "
                                    f"{', '.join(GROUPS)}")  # fmt: skip
        if source == target:
            raise AnalysisError(f"source and target are both {source!r}: nothing moves")
        horizon = self._horizon(horizon_days)
        at = self._observed_as_of(as_of, horizon)
        self._check_churn_dates()
        frame, clv_source = self._frame(at, horizon)
        return self._what_if(frame, clv_source, float(share), source, target, at, horizon)

    def _what_if(self, frame: pd.DataFrame, clv_source: str, share: float, source: str,
                 target: str, at: dt.datetime, horizon: float) -> WhatIf:  # fmt: skip
        level = self._level
        parts = {g: frame[frame.nps_group == g] for g in (source, target)}
        for g, part in parts.items():
            if part.empty:
                raise AnalysisError(
                    f"no {g} among the {len(frame):,} customers active at {at:%Y-%m-%d}: "
                    "the what-if needs both groups"
                )
        reps = {}
        points = {}
        for g, part in parts.items():
            v = part.clv.to_numpy(dtype="float64")
            y = part.churned.to_numpy(dtype="float64")
            mean, rate, _ = _replicates(v, y, self.n_boot, self.seed + GROUPS.index(g))
            points[g] = (float(y.mean()), float(v.mean()))
            reps[g] = (rate, mean)
        # the moved customers keep their own value; their churn rate becomes the target's
        per = (points[source][0] - points[target][0]) * points[source][1]
        per_reps = (reps[source][0] - reps[target][0]) * reps[source][1]
        n_source = len(parts[source])
        moved = share * n_source
        est = moved * per
        lo, hi = np.quantile(moved * per_reps, [(1 - level) / 2, (1 + level) / 2])
        lo, hi = min(float(lo), est), max(float(hi), est)
        boot = f"percentile bootstrap over customers ({self.n_boot} resamples, seed {self.seed})"
        method = (
            f"share × n_{source} × (churn_{source} − churn_{target}) × mean CLV_{source}, churn "
            f"in the {horizon:g} days after {at:%Y-%m-%d}; {boot}; value: {clv_source}"
        )
        sentence = (
            f"Moving {share:.0%} of {source}s ({moved:,.0f} of {n_source:,}) to {target}s is "
            f"worth {money_text(est)} [{money_text(lo)}, {money_text(hi)}] over {horizon:g} "
            f"days ({money_text(per)} a customer)."
        )
        assumptions = [
            f"a moved customer keeps their value and takes on the {target}s' churn rate: an "
            "association measured in the data, not the result of an experiment",
            f"churn is leaving in the {horizon:g} days after {at:%Y-%m-%d}; NPS group is the "
            "latest answer before it",
            f"value: {clv_source}",
        ]
        return WhatIf(est, lo, hi, n_source, method, level, share, source, target, moved, per,
                      at.isoformat(), horizon, sentence, assumptions)  # fmt: skip

    # ------------------------------------------------------------------ ROI
    def roi(
        self,
        share: float = 0.10,
        source: str = "detractor",
        target: str = "passive",
        *,
        horizon_days: float | None = None,
    ) -> Roi:
        """The summary a CX lead shows a CFO: customers, revenue at risk, churn cost by NPS
        group and the what-if, each with its interval, in plain sentences with assumptions;
        ``estimate``: what the what-if is worth."""
        horizon = self._horizon(horizon_days)
        groups = self.by_nps_group(horizon_days=horizon)
        risk = self.at_risk("nps_group", horizon_days=horizon)
        at = self._observed_as_of(None, horizon)
        frame, clv_source = self._frame(at, horizon)
        wi = self._what_if(frame, clv_source, share, source, target, at, horizon)
        sentences = [
            f"{risk.n:,} customers today carry {money_text(risk.estimate)} "
            f"[{money_text(risk.ci_low)}, {money_text(risk.ci_high)}] of revenue at risk over "
            f"the next {horizon:g} days (CLV × churn "
            f"{'probability' if risk.source == 'model' else 'rate'})."
        ]
        rates = {g.group: g.churn_rate for g in groups.groups}
        if "detractor" in rates and "promoter" in rates:
            d, p = rates["detractor"], rates["promoter"]
            ratio = d.estimate / p.estimate if p.estimate > 0 else math.inf
            times = f" ({ratio:.1f}×)" if math.isfinite(ratio) else ""
            sentences.append(
                f"Detractors left at {d.estimate:.1%} [{d.ci_low:.1%}, {d.ci_high:.1%}] in "
                f"{horizon:g} days, promoters at {p.estimate:.1%} [{p.ci_low:.1%}, "
                f"{p.ci_high:.1%}]{times}."
            )
        if math.isfinite(groups.estimate) and groups.estimate > 0:
            top = max(groups.groups, key=lambda g: g.churn_cost.estimate)
            sentences.append(
                f"Customers who left in the {horizon:g} days after {groups.as_of[:10]} took "
                f"{money_text(groups.estimate)} [{money_text(groups.ci_low)}, "
                f"{money_text(groups.ci_high)}] of value with them; {top.group}s "
                f"{top.churn_cost.estimate / groups.estimate:.0%} of it."
            )
        sentences.append(wi.sentence)
        assumptions = [
            *wi.assumptions,
            f"revenue at risk: {risk.method}",
            f"intervals: {self._level:.0%}",
        ]
        return Roi(wi.estimate, wi.ci_low, wi.ci_high, risk.n, wi.method, self._level,
                   risk.n, groups, risk, wi, sentences, assumptions)  # fmt: skip
