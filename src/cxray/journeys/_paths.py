"""Paths: the most common sequences of touchpoints (variants), where cases leave, and loops.

A case's *path* is its touchpoints in time order (ties broken by the row's key),
optionally with immediate repeats collapsed (``a, a, b`` read as ``a, b``). Cases
with the same path form a *variant*. Paths longer than ``max_steps`` are kept to
their first ``max_steps`` touchpoints and marked truncated, so cases that agree
that far share a variant. Per touchpoint: the cases that pass through it, the
cases that *leave* there (their last touchpoint), the cases that come back to it
(a loop: it occurs twice or more) and the arcs from it to itself.

Everything is counted in the store: one grouped query for the variants (the top
ones and the totals), one for the touchpoints.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from cxray import stats
from cxray.exceptions import JourneyError
from cxray.journeys._stream import MAX_STEPS, Stream

__all__ = ["SEP", "Paths", "TouchpointFlow", "Variant", "case_paths", "compute_paths"]

#: how a path is written: ``visit_site → product_viewed → order_placed``
SEP = " → "
#: the most variants a request may ask for
MAX_TOP = 500


def _check(max_steps: int, top: int) -> None:
    if not isinstance(max_steps, int) or not 1 <= max_steps <= MAX_STEPS:
        raise JourneyError(f"max_steps must be a whole number from 1 to {MAX_STEPS}")
    if not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise JourneyError(f"top must be a whole number from 1 to {MAX_TOP}")


def case_paths(stream: Stream, *, max_steps: int, collapse: bool) -> ibis.Table:
    """One row per case: ``_case``, ``customer_id``, ``_t0``/``_t1`` (first and last
    touchpoint), ``_len`` (touchpoints), ``_last``, ``_path`` (first ``max_steps``)
    and ``_more`` (longer than that)."""
    s = stream.table
    if collapse:
        w = ibis.window(group_by=s._case, order_by=[s._ts, s._eid])
        s = s.mutate(_prev=s._tp.lag().over(w))
        s = s.filter(s._prev.isnull() | (s._prev != s._tp)).drop("_prev")
    w = ibis.window(group_by=s._case, order_by=[s._ts, s._eid])
    s = s.mutate(_pos=ibis.row_number().over(w), _nxt=s._tp.lead().over(w))
    customer = {} if stream.per_customer else {"customer_id": s.customer_id.min()}
    per = s.group_by("_case").aggregate(
        **customer,
        _t0=s._ts.min(),
        _t1=s._ts.max(),
        _len=s.count(),
        _last=s._tp.max(where=s._nxt.isnull()),
        **{f"_s{i}": s._tp.max(where=s._pos == i) for i in range(max_steps)},
    )
    if stream.per_customer:
        per = per.mutate(customer_id=per._case)
    path = ibis.literal(SEP).join([per[f"_s{i}"] for i in range(max_steps)])
    return per.mutate(_path=path, _more=per._len > max_steps).drop(
        *(f"_s{i}" for i in range(max_steps))
    )


@dataclass(frozen=True)
class Variant:
    """One path and the cases that took it."""

    rank: int
    steps: tuple[str, ...]
    truncated: bool
    cases: int
    customers: int
    share: stats.Estimate  # of all cases
    #: median hours from the first to the last touchpoint of its cases (descriptive)
    median_hours: float | None

    @property
    def path(self) -> str:
        return SEP.join(self.steps) + (SEP + "…" if self.truncated else "")

    def to_dict(self) -> dict[str, Any]:
        sh = self.share.to_dict()
        return {
            "rank": self.rank,
            "path": self.path,
            "steps": list(self.steps),
            "length": len(self.steps),
            "truncated": self.truncated,
            "cases": self.cases,
            "customers": self.customers,
            "share": sh["estimate"],
            "share_ci_low": sh["ci_low"],
            "share_ci_high": sh["ci_high"],
            "median_hours": self.median_hours,
            "method": self.share.method,
        }


@dataclass(frozen=True)
class TouchpointFlow:
    """A touchpoint: the cases through it, leaving at it, and coming back to it."""

    touchpoint: str
    events: int
    cases: int
    starts: int
    exits: int
    repeats: int
    self_loops: int
    exit_share: stats.Estimate  # of its cases, those whose last touchpoint it is
    repeat_share: stats.Estimate  # of its cases, those where it occurs twice or more

    def to_dict(self) -> dict[str, Any]:
        ex, rp = self.exit_share.to_dict(), self.repeat_share.to_dict()
        return {
            "touchpoint": self.touchpoint,
            "events": self.events,
            "cases": self.cases,
            "starts": self.starts,
            "exits": self.exits,
            "exit_share": ex["estimate"],
            "exit_ci_low": ex["ci_low"],
            "exit_ci_high": ex["ci_high"],
            "repeats": self.repeats,
            "repeat_share": rp["estimate"],
            "repeat_ci_low": rp["ci_low"],
            "repeat_ci_high": rp["ci_high"],
            "self_loops": self.self_loops,
        }


@dataclass(frozen=True)
class Paths:
    """The top variants, and every touchpoint's exits and loops.

    ``records()``/``to_frame()``: the variants; ``touchpoints``: the flows.
    """

    variants: list[Variant]
    touchpoints: list[TouchpointFlow]
    cases: int
    customers: int
    distinct_variants: int
    case: str
    max_steps: int
    collapse: bool = False
    journey: str | None = None
    include: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def covered(self) -> int:
        """Cases whose variant is among the ones shown."""
        return sum(v.cases for v in self.variants)

    def records(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.variants]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def touchpoint_records(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.touchpoints]

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "journey": self.journey,
            "include": list(self.include),
            "from": None if self.start is None else str(self.start),
            "to": None if self.end is None else str(self.end),
            "max_steps": self.max_steps,
            "collapse": self.collapse,
            "cases": self.cases,
            "customers": self.customers,
            "distinct_variants": self.distinct_variants,
            "covered": self.covered,
            "variants": self.records(),
            "touchpoints": self.touchpoint_records(),
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{v.rank}</td><td>{html.escape(v.path)}</td><td>{v.cases:,}</td>"
            f"<td>{v.share.estimate:.1%}</td></tr>"
            for v in self.variants
        )
        return (
            f"<p>{self.cases:,} cases, {self.distinct_variants:,} variants</p><table><tr><th>#"
            f"</th><th>path</th><th>cases</th><th>share</th></tr>{rows}</table>"
        )


def _hours(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    return (b.epoch_seconds() - a.epoch_seconds()).cast("float64") / 3600.0


def compute_paths(
    stream: Stream, *, max_steps: int = 20, top: int = 20, collapse: bool = False
) -> Paths:
    """Variants, exits and loops of ``stream`` (see the module's docstring)."""
    _check(max_steps, top)
    m = stream.ctx.config.measurement
    level, min_n = m.confidence, m.min_n
    per = case_paths(stream, max_steps=max_steps, collapse=collapse)
    v = per.group_by(["_path", "_more"]).aggregate(
        _cases=per.count(),
        _cust=per.count() if stream.per_customer else per.customer_id.nunique(),
        _med=_hours(per._t0, per._t1).median(),
    )
    shown = v.order_by([v._cases.desc(), v._path, v._more]).limit(top)
    shown = shown.select(
        _kind=ibis.literal(0, type="int64"),
        _path="_path",
        _more="_more",
        _cases=shown._cases.cast("int64"),
        _cust=shown._cust.cast("int64"),
        _med=shown._med.cast("float64"),
    )
    totals = per.aggregate(
        _cases=per.count(),
        _cust=per.count() if stream.per_customer else per.customer_id.nunique(),
    ).select(
        _kind=ibis.literal(1, type="int64"),
        _path=ibis.literal(None, type="string"),
        _more=ibis.literal(None, type="boolean"),
        _cases=ibis._._cases.cast("int64"),
        _cust=ibis._._cust.cast("int64"),
        _med=ibis.literal(None, type="float64"),
    )
    count = v.aggregate(_cases=v.count()).select(
        _kind=ibis.literal(2, type="int64"),
        _path=ibis.literal(None, type="string"),
        _more=ibis.literal(None, type="boolean"),
        _cases=ibis._._cases.cast("int64"),
        _cust=ibis.literal(None, type="int64"),
        _med=ibis.literal(None, type="float64"),
    )
    rows = ibis.union(shown, totals, count, distinct=False).to_pyarrow().to_pylist()
    total = customers = distinct = 0
    found = []
    for r in rows:
        if r["_kind"] == 1:
            total, customers = int(r["_cases"] or 0), int(r["_cust"] or 0)
        elif r["_kind"] == 2:
            distinct = int(r["_cases"] or 0)
        else:
            found.append(r)
    found.sort(key=lambda r: (-r["_cases"], r["_path"] or "", bool(r["_more"])))
    variants = []
    for i, r in enumerate(found, 1):
        steps = tuple(r["_path"].split(SEP)) if r["_path"] else ()
        share = _share(int(r["_cases"]), total, level, min_n, "share of cases")
        med = r["_med"]
        variants.append(
            Variant(
                i,
                steps,
                bool(r["_more"]),
                int(r["_cases"]),
                int(r["_cust"]),
                share,
                None if med is None or not math.isfinite(med) else float(med),
            )
        )
    flows = _flows(stream, level, min_n)
    notes = list(stream.notes)
    if not total:
        notes.append("no touchpoints in the window: there are no paths")
    if any(v.truncated for v in variants):
        notes.append(
            f"paths longer than {max_steps} touchpoints are shown to their first {max_steps} "
            "(marked …); raise --max-steps to tell them apart"
        )
    scope = stream.scope
    return Paths(
        variants,
        flows,
        total,
        customers,
        distinct,
        scope.case,
        max_steps,
        collapse,
        scope.journey,
        scope.include,
        stream.ctx.start,
        stream.ctx.end,
        notes,
    )


def _share(x: int, n: int, level: float, min_n: int, metric: str) -> stats.Estimate:
    est = stats.proportion(x, n, confidence=level, min_n=min_n)
    return stats.Estimate(
        est.estimate,
        est.ci_low,
        est.ci_high,
        est.n,
        est.method,
        est.confidence,
        metric=metric,
        unit="share",
        suppressed=est.suppressed,
        reason=est.reason,
    )


def _ones(flag: ibis.BooleanValue) -> ibis.IntegerValue:
    return ibis.ifelse(flag, 1, 0)


def _flows(stream: Stream, level: float, min_n: int) -> list[TouchpointFlow]:
    s = stream.table
    w = ibis.window(group_by=s._case, order_by=[s._ts, s._eid])
    s = s.mutate(_nxt=s._tp.lead().over(w), _pos=ibis.row_number().over(w))
    per = s.group_by(["_case", "_tp"]).aggregate(
        _k=s.count(),
        _end=_ones(s._nxt.isnull()).max(),
        _start=_ones(s._pos == 0).max(),
        _self=_ones(s._nxt.notnull() & (s._nxt == s._tp)).sum(),
    )
    g = per.group_by("_tp").aggregate(
        _events=per._k.sum(),
        _cases=per.count(),
        _starts=per._start.sum(),
        _exits=per._end.sum(),
        _repeats=_ones(per._k > 1).sum(),
        _self=per._self.sum(),
    )
    out = []
    for r in g.to_pyarrow().to_pylist():
        cases = int(r["_cases"])
        out.append(
            TouchpointFlow(
                r["_tp"],
                int(r["_events"]),
                cases,
                int(r["_starts"]),
                int(r["_exits"]),
                int(r["_repeats"]),
                int(r["_self"]),
                _share(int(r["_exits"]), cases, level, min_n, "share of its cases leaving there"),
                _share(int(r["_repeats"]), cases, level, min_n, "share of its cases coming back"),
            )
        )
    out.sort(key=lambda f: (-f.cases, f.touchpoint))
    return out
