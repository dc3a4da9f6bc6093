"""The funnel: how many cases reach each step in order, conversion with intervals, time between.

A case *enters* at its first touchpoint of step 1 in the window; it reaches step k
when step k follows the step before it (at the same instant or later; strictly
later when the touchpoint already appeared as an earlier step), taking the first
such touchpoint each time. With ``within_hours`` every step must come within that
many hours of the entry, and entries whose window is not over by the last
touchpoint in the data are left out (they cannot be judged yet).

The store does the whole chain (one join per step on the case, only the step's
touchpoints) and returns, per step and slice, the counts and the few order
statistics the times' quantiles need (:mod:`cxray.journeys._quantiles`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import pandas as pd

from cxray import stats
from cxray.exceptions import JourneyError
from cxray.journeys._quantiles import band_filter, quantile_estimate
from cxray.journeys._stream import MAX_STEPS, Stream, check_hours, unlabel

__all__ = ["Funnel", "FunnelStep", "compute_funnel", "parse_steps"]

QUANTILES = (0.5, 0.9)


def parse_steps(steps: Sequence[str] | str) -> list[str]:
    """Funnel steps from a list or a comma-separated string; at least two, none empty."""
    if isinstance(steps, str):
        parts = steps.split(",")
    else:
        parts = [p for s in steps for p in str(s).split(",")] if steps else []
    out = [p.strip() for p in parts]
    if any(not p for p in out):
        raise JourneyError(f"steps {','.join(out)!r} has an empty step; name every step")
    if len(out) < 2:
        shown = f" (got {out[0]!r})" if out else ""
        raise JourneyError(f"a funnel needs at least two steps{shown}, e.g. steps A,B,C")
    if len(out) > MAX_STEPS:
        raise JourneyError(f"a funnel has at most {MAX_STEPS} steps, got {len(out)}")
    return out


def _num(e: stats.Estimate | None, name: str) -> float | None:
    if e is None:
        return None
    return e.to_dict()[name]


@dataclass(frozen=True)
class FunnelStep:
    """One step of a funnel, for one slice."""

    index: int  # 1-based
    step: str
    slices: dict[str, Any]
    #: cases (traces) that reached the step, and the distinct customers among them
    cases: int
    customers: int
    #: cases at the previous step (the conversion's n), at step 1 (from_first's n)
    previous: int
    entered: int
    conversion: stats.Estimate | None  # from the previous step (None at step 1)
    from_first: stats.Estimate | None
    median: stats.Estimate | None  # hours from the previous step
    p90: stats.Estimate | None
    vs_rest: stats.Comparison | None = None  # this slice's conversion minus the other slices'
    q_value: float | None = None
    significant: bool | None = None

    @property
    def dropped(self) -> int:
        """Cases at the previous step that did not reach this one."""
        return self.previous - self.cases

    def to_dict(self) -> dict[str, Any]:
        conv = self.conversion
        out: dict[str, Any] = {"step_index": self.index, "step": self.step, **self.slices}
        out.update(
            cases=self.cases,
            customers=self.customers,
            previous=self.previous if self.index > 1 else None,
            dropped=self.dropped if self.index > 1 else None,
            conversion=_num(conv, "estimate"),
            ci_low=_num(conv, "ci_low"),
            ci_high=_num(conv, "ci_high"),
            n=self.previous if self.index > 1 else self.cases,
            conversion_from_first=_num(self.from_first, "estimate"),
            from_first_ci_low=_num(self.from_first, "ci_low"),
            from_first_ci_high=_num(self.from_first, "ci_high"),
            median_hours=_num(self.median, "estimate"),
            median_ci_low=_num(self.median, "ci_low"),
            median_ci_high=_num(self.median, "ci_high"),
            p90_hours=_num(self.p90, "estimate"),
            p90_ci_low=_num(self.p90, "ci_low"),
            p90_ci_high=_num(self.p90, "ci_high"),
            suppressed=bool(conv is not None and conv.suppressed),
            reason=self._reason(),
            method=conv.method if conv is not None else None,
            times_method=self.median.method if self.median is not None else None,
            confidence=conv.confidence if conv is not None else None,
        )
        c = self.vs_rest.to_dict() if self.vs_rest is not None else {}
        out.update(
            diff_vs_rest=c.get("estimate"),
            diff_ci_low=c.get("ci_low"),
            diff_ci_high=c.get("ci_high"),
            p_value=c.get("p_value"),
            q_value=self.q_value if c.get("p_value") is not None else None,
            significant=self.significant,
        )
        return out

    def _reason(self) -> str | None:
        for e in (self.conversion, self.from_first, self.median):
            if e is not None and e.suppressed:
                return e.reason
        return None


@dataclass(frozen=True)
class Funnel:
    """Cases through ordered steps, per slice. ``records()`` for JSON, ``to_frame()`` for pandas."""

    steps: tuple[str, ...]
    rows: list[FunnelStep]
    case: str
    by: tuple[str, ...] = ()
    within_hours: float | None = None
    journey: str | None = None
    include: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    #: entries left out because their ``within_hours`` window is not over in the data
    censored: int = 0
    confidence: float = 0.95
    fdr: float = 0.05
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    @property
    def entered(self) -> int:
        """Cases that entered the funnel (every slice)."""
        return sum(r.cases for r in self.rows if r.index == 1)

    @property
    def empty(self) -> bool:
        return self.entered == 0

    def records(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def get(self, step: str | int, **slices: Any) -> FunnelStep:
        """The row of ``step`` (its name, or its 1-based index) for the given slice values."""
        for r in self.rows:
            if (r.index == step or r.step == step) and all(
                r.slices.get(k) == v for k, v in slices.items()
            ):
                return r
        raise KeyError(f"no funnel row for {step!r} {slices}")

    def to_dict(self) -> dict[str, Any]:
        """What the API answers: the request as understood, notes, and the records."""
        return {
            "steps": list(self.steps),
            "case": self.case,
            "by": list(self.by),
            "within_hours": self.within_hours,
            "journey": self.journey,
            "include": list(self.include),
            "from": None if self.start is None else str(self.start),
            "to": None if self.end is None else str(self.end),
            "entered": self.entered,
            "censored": self.censored,
            "confidence": self.confidence,
            "fdr": self.fdr,
            "notes": list(self.notes),
            "records": self.records(),
        }

    def _repr_html_(self) -> str:
        head = [*self.by, "step", "cases", "conversion", "95% CI", "from first", "median h"]
        rows = []
        for r in self.rows:
            d = r.to_dict()
            conv = "—" if d["conversion"] is None else f"{d['conversion']:.1%}"
            ci = "" if d["ci_low"] is None else f"[{d['ci_low']:.1%}, {d['ci_high']:.1%}]"
            first = d["conversion_from_first"]
            med = d["median_hours"]
            cells = [*(str(d.get(k, "")) for k in self.by), r.step, f"{r.cases:,}", conv, ci]
            cells += [
                "—" if first is None else f"{first:.1%}",
                "—" if med is None else f"{med:.2f}",
            ]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def compute_funnel(
    stream: Stream,
    steps: Sequence[str],
    *,
    within_hours: float | None = None,
) -> Funnel:
    """The funnel of ``steps`` over ``stream`` (see the module's docstring)."""
    steps = parse_steps(steps)
    within = check_hours(within_hours)
    ctx = stream.ctx
    m = ctx.config.measurement
    level, min_n = m.confidence, m.min_n
    slices = list(stream.slices)
    s = stream.table
    e = s.filter(s._tp.isin(sorted(set(steps))))
    first = e.filter(e._tp == steps[0])
    if stream.event_slices:  # the slice of the entry itself
        w = ibis.window(group_by=first._case, order_by=[first._ts, first._eid])
        first = first.mutate(_rn=ibis.row_number().over(w))
        first = first.filter(first._rn == 0)
        wide = first.select("_case", "customer_id", *slices, _t0=first._ts)
    elif stream.per_customer:
        wide = first.group_by(["_case", *slices]).aggregate(_t0=first._ts.min())
        wide = wide.mutate(customer_id=wide._case)
    else:
        wide = first.group_by(["_case", *slices]).aggregate(
            _t0=first._ts.min(), customer_id=first.customer_id.min()
        )
    # One table per step, each built from the one before it by an inner join with that
    # step's touchpoints (only the cases still in the funnel are joined): the cases that
    # reached the step, when, and the hours it took. Their union, one row per case and
    # step reached, is read once below (step -1 holds the entries left out).
    span = None
    late = None
    if within is not None:
        span = ibis.interval(seconds=round(within * 3600))
        last = s._ts.max().as_scalar()
        judged = wide._t0 + span <= last
        late = wide.filter(~judged)
        wide = wide.filter(judged)
    carry = ["customer_id", *slices]
    reached = wide.select("_case", *carry, "_t0", _t=wide._t0)
    parts = [_part(reached, 0, slices)]
    if late is not None:
        parts.append(_part(late, -1, slices))
    for k in range(1, len(steps)):
        ek = e.filter(e._tp == steps[k]).select(_c=e._case, _tk=e._ts)
        after = ek._tk > reached._t if steps[k] in steps[:k] else ek._tk >= reached._t
        conds = [reached._case == ek._c, after]
        if span is not None:
            conds.append(ek._tk <= reached._t0 + span)
        j = reached.join(ek, conds)
        nxt = j.group_by(["_case", *carry, "_t0", "_t"]).aggregate(_next=j._tk.min())
        hours = (nxt._next.epoch_seconds() - nxt._t.epoch_seconds()).cast("float64") / 3600.0
        parts.append(_part(nxt, k, slices, hours))
        reached = nxt.select("_case", *carry, "_t0", _t=nxt._next)
    long = ibis.union(*parts, distinct=False)
    group = [long._k, *(long[c] for c in slices)]
    whole = ibis.window(group_by=group)
    cols = {
        "_rank": ibis.row_number().over(ibis.window(group_by=group, order_by=long._v)) + 1,
        "_m": long._k.count().over(whole),
    }
    if not stream.per_customer:  # distinct customers: the top dense rank, less a null
        cols["_dr"] = ibis.dense_rank().over(ibis.window(group_by=group, order_by=long._cid))
        cols["_nul"] = ibis.ifelse(long._cid.isnull(), 1, 0).max().over(whole)
    long = long.mutate(**cols)
    if not stream.per_customer:
        g2 = [long._k, *(long[c] for c in slices)]
        long = long.mutate(_cust=(long._dr.max().over(ibis.window(group_by=g2)) + 1 - long._nul))
    else:
        long = long.mutate(_cust=long._m)
    band = band_filter(long._rank, long._m, level, QUANTILES)
    long = long.filter(((long._k <= 0) & (long._rank == 1)) | ((long._k > 0) & band))
    got = long.select(
        "_k", *slices, _n=long._m.cast("int64"), _cust=long._cust.cast("int64"),
        _rank=long._rank.cast("int64"), _v=long._v,
    )  # fmt: skip
    censored = 0
    counts: dict[tuple[Any, ...], dict[int, tuple[int, int]]] = {}
    values: dict[tuple[Any, ...], dict[int, dict[int, float]]] = {}
    for r in got.to_pyarrow().to_pylist():
        key = tuple(r[c] for c in slices)
        k = r["_k"]
        if k == -1:
            if r["_rank"] == 1:
                censored += int(r["_n"])
            continue
        if r["_rank"] == 1:
            counts.setdefault(key, {})[k] = (int(r["_n"]), int(r["_cust"]))
        if k > 0:
            values.setdefault(key, {}).setdefault(k, {})[r["_rank"]] = r["_v"]
    if not counts:
        _check_occurs(stream, steps)
    else:
        reached = {k for per in counts.values() for k in per}
        if len(reached) < len(steps):
            _check_occurs(stream, [steps[k] for k in range(len(steps)) if k not in reached])
    out = _rows(steps, slices, stream.by, counts, values, level, min_n)
    fdr = m.fdr
    if len(counts) > 1:
        out = _compare(out, fdr, level, min_n)
    notes = list(stream.notes)
    if censored:
        notes.append(
            f"{censored:,} entries in the last {within:g} h of the data left out: their window "
            "is not over"
        )
    if not counts:
        notes.append(f"no case has {steps[0]!r} in the window: the funnel is empty")
    scope = stream.scope
    return Funnel(
        tuple(steps),
        out,
        scope.case,
        stream.by,
        within,
        scope.journey,
        scope.include,
        ctx.start,
        ctx.end,
        censored,
        level,
        fdr,
        notes,
    )


def _part(t: ibis.Table, k: int, slices: list[str], hours: Any = None) -> ibis.Table:
    """The rows of step ``k``: slices, ``_k``, the customer and the hours from the step before."""
    v = ibis.literal(None, type="float64") if hours is None else hours
    return t.select(*slices, _k=ibis.literal(k, type="int64"), _cid=t.customer_id, _v=v)


def _check_occurs(stream: Stream, steps: Sequence[str]) -> None:
    """Raise when a step's touchpoint never occurs in the stream (a typo, most likely)."""
    t = stream.table
    seen = t.group_by("_tp").aggregate(_n=t.count()).order_by(ibis.desc("_n"), "_tp")
    known = [r["_tp"] for r in seen.to_pyarrow().to_pylist()]
    missing = [s for s in dict.fromkeys(steps) if s not in known]
    if not missing:
        return
    where = _where(stream)
    if not known:
        scope = stream.scope
        if scope.journey:
            e = stream.ctx.tables("events")
            tags = e.filter(e.journey.notnull()).select("journey").distinct().order_by("journey")
            names = [r["journey"] for r in tags.to_pyarrow().to_pylist()]
            raise JourneyError(
                f"no events of journey {scope.journey!r}; journeys in events: "
                f"{', '.join(names) or '(none)'}"
            )
        if stream.ctx.start or stream.ctx.end:
            raise JourneyError("no touchpoints in the window: widen it (--from, --to)")
        raise JourneyError("no touchpoints in the data: import events or run `cxray demo`")
    shown = ", ".join(known[:25]) + (f", ... ({len(known)} in all)" if len(known) > 25 else "")
    names = ", ".join(repr(s) for s in missing)
    raise JourneyError(f"step {names} never occurs{where}; touchpoints that do: {shown}")


def _where(stream: Stream) -> str:
    parts = []
    if stream.scope.journey:
        parts.append(f"journey {stream.scope.journey!r}")
    if stream.ctx.start or stream.ctx.end:
        parts.append("the window")
    return (" in " + " and ".join(parts)) if parts else " in the data"


def _rows(
    steps: Sequence[str],
    slices: list[str],
    by: tuple[str, ...],
    counts: dict[tuple[Any, ...], dict[int, tuple[int, int]]],
    values: dict[tuple[Any, ...], dict[int, dict[int, float]]],
    level: float,
    min_n: int,
) -> list[FunnelStep]:
    keys = sorted(counts, key=lambda k: tuple((v is None, str(v)) for v in map(unlabel, k)))
    if not slices and not keys:
        keys = [()]
    out = []
    for key in keys:
        per = counts.get(key, {})
        labels = {a: unlabel(v) for a, v in zip(by, key, strict=True)}
        entered = per.get(0, (0, 0))[0]
        previous = entered
        for k, step in enumerate(steps):
            n, cust = per.get(k, (0, 0))
            conv = first = med = p90 = None
            if k:
                conv = _share(n, previous, level, min_n, "conversion from the previous step")
                first = _share(n, entered, level, min_n, "conversion from the first step")
                v = values.get(key, {}).get(k, {})
                med = quantile_estimate(
                    n, 0.5, v, level=level, min_n=min_n, metric="median hours from previous step"
                )
                p90 = quantile_estimate(
                    n, 0.9, v, level=level, min_n=min_n, metric="p90 hours from previous step"
                )
            elif entered:
                first = stats.Estimate(
                    1.0, math.nan, math.nan, entered, "the entry step", level, unit="share"
                )
            out.append(
                FunnelStep(k + 1, step, labels, n, cust, previous, entered, conv, first, med, p90)
            )
            previous = n
    return out


def _share(x: int, n: int, level: float, min_n: int, metric: str) -> stats.Estimate | None:
    if n == 0:
        return None
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


def _compare(rows: list[FunnelStep], fdr: float, level: float, min_n: int) -> list[FunnelStep]:
    """Each slice's step conversion against the other slices pooled; BH across all tests."""
    totals: dict[int, tuple[int, int]] = {}
    for r in rows:
        if r.index > 1:
            x, n = totals.get(r.index, (0, 0))
            totals[r.index] = (x + r.cases, n + r.previous)
    tests: dict[int, stats.Comparison] = {}
    for i, r in enumerate(rows):
        if r.index == 1 or r.previous == 0:
            continue
        x, n = totals[r.index]
        rest = (x - r.cases, n - r.previous)
        if rest[1] == 0:
            continue
        tests[i] = stats.proportion_diff((r.cases, r.previous), rest, confidence=level, min_n=min_n)
    usable = [i for i, c in tests.items() if not c.suppressed and math.isfinite(c.p_value)]
    q: dict[int, tuple[float, bool]] = {}
    if usable:
        got = stats.benjamini_hochberg([tests[i].p_value for i in usable], fdr)
        q = {
            i: (float(v), bool(rej))
            for i, v, rej in zip(usable, got.q_values, got.reject, strict=True)
        }
    out = []
    for i, r in enumerate(rows):
        comp = tests.get(i)
        if comp is None:
            out.append(r)
            continue
        qv, rej = q.get(i, (None, False))
        out.append(replace(r, vs_rest=comp, q_value=qv, significant=rej))
    return out
