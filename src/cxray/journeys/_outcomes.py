"""Outcomes by path: how NPS, CSAT and churn differ between the cases of each path.

Each case is scored by what followed its start: the customer's first NPS answer
and first CSAT answer submitted at or after the case's first touchpoint (before
the window's end), and whether the customer churned at or after it. Cases are
grouped by their path (the variant, as in :mod:`cxray.journeys._paths`) or by each
touchpoint they passed through; each group is compared with all other cases
(NPS: adjusted-Wald difference; CSAT top box and churn: Newcombe interval, pooled
z test), and Benjamini–Hochberg controls the false discovery rate per outcome
across the groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import pandas as pd

from cxray import stats
from cxray.journeys._paths import SEP, _check, case_paths
from cxray.journeys._stream import Stream

__all__ = ["GROUPS", "OUTCOMES", "PathOutcome", "PathOutcomes", "compute_outcomes"]

GROUPS = ("variant", "touchpoint")
OUTCOMES = ("nps", "csat", "churn")
_SUMS = ("_cases", "_cust", "_p", "_q", "_d", "_ct", "_cn", "_ch", "_chn")


@dataclass(frozen=True)
class PathOutcome:
    """One group of cases (a path, or the cases through a touchpoint) and its outcomes."""

    label: str
    steps: tuple[str, ...]
    truncated: bool
    cases: int
    customers: int
    nps: stats.Estimate
    csat: stats.Estimate  # % of CSAT answers in the top box
    churn: stats.Estimate  # % of cases whose customer churned after the start
    #: this group minus all other cases, per outcome (None when either side is empty)
    vs_rest: dict[str, stats.Comparison | None] = field(default_factory=dict)
    q_values: dict[str, float | None] = field(default_factory=dict)
    significant: dict[str, bool | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "steps": list(self.steps),
            "truncated": self.truncated,
            "cases": self.cases,
            "customers": self.customers,
        }
        for name in OUTCOMES:
            e = getattr(self, name).to_dict()
            c = self.vs_rest.get(name)
            cd = c.to_dict() if c is not None else {}
            out.update(
                {
                    name: e["estimate"],
                    f"{name}_ci_low": e["ci_low"],
                    f"{name}_ci_high": e["ci_high"],
                    f"{name}_n": e["n"],
                    f"{name}_reason": e["reason"],
                    f"{name}_vs_rest": cd.get("estimate"),
                    f"{name}_vs_rest_ci_low": cd.get("ci_low"),
                    f"{name}_vs_rest_ci_high": cd.get("ci_high"),
                    f"{name}_p_value": cd.get("p_value"),
                    f"{name}_q_value": self.q_values.get(name)
                    if cd.get("p_value") is not None
                    else None,
                    f"{name}_significant": self.significant.get(name),
                }
            )
        return out


@dataclass(frozen=True)
class PathOutcomes:
    """Outcomes per group. ``records()``/``to_frame()`` one row per group, largest first."""

    rows: list[PathOutcome]
    overall: PathOutcome
    group: str
    case: str
    journey: str | None = None
    include: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    fdr: float = 0.05
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def get(self, label: str) -> PathOutcome:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"no group {label!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "case": self.case,
            "journey": self.journey,
            "include": list(self.include),
            "from": None if self.start is None else str(self.start),
            "to": None if self.end is None else str(self.end),
            "fdr": self.fdr,
            "overall": self.overall.to_dict(),
            "records": self.records(),
            "notes": list(self.notes),
        }


def _ones(flag: ibis.BooleanValue) -> ibis.IntegerValue:
    return ibis.ifelse(flag, 1, 0)


def _first_answer(stream: Stream, per: ibis.Table, column: str) -> ibis.Table:
    """``(_oc, _val)``: per case, the customer's first ``column`` answer at or after its start."""
    ctx = stream.ctx
    r = ctx.tables("responses")
    r = r.filter(r[column].notnull() & r.customer_id.notnull())
    if ctx.end is not None:
        r = r.filter(ctx.local(r.submitted_at) < ibis.timestamp(ctx.end))
    r = r.select(_rc=r.customer_id, _rt=r.submitted_at, _rid=r.response_id, _val=r[column])
    cases = per.select(_oc=per._case, _pc=per.customer_id, _p0=per._t0)
    j = cases.join(r, [cases._pc == r._rc, r._rt >= cases._p0])
    w = ibis.window(group_by=j._oc, order_by=[j._rt, j._rid])
    j = j.mutate(_rn=ibis.row_number().over(w))
    return j.filter(j._rn == 0).select("_oc", "_val")


def _scored(stream: Stream, per: ibis.Table) -> ibis.Table:
    """Each case with ``_nps``, ``_csat_top`` (bool) and ``_churned`` (bool; null if unknown)."""
    ctx = stream.ctx
    lo, hi = ctx.config.scale("csat").top_box_values()
    nps = _first_answer(stream, per, "nps").rename(_nps="_val", _o1="_oc")
    csat = _first_answer(stream, per, "csat").rename(_csat="_val", _o2="_oc")
    c = ctx.tables("customers")
    churned = c.churned_at.notnull()
    if ctx.end is not None:
        churned = churned & (ctx.local(c.churned_at) < ibis.timestamp(ctx.end))
    c = c.select(_cc=c.customer_id, _churn_at=ibis.ifelse(churned, c.churned_at, None))
    t = per.left_join(nps, per._case == nps._o1).drop("_o1")
    t = t.left_join(csat, t._case == csat._o2).drop("_o2")
    t = t.left_join(c, t.customer_id == c._cc)
    known = t._cc.notnull()
    t = t.mutate(
        _csat_top=t._csat.between(lo, hi),
        _churned=ibis.ifelse(
            known, t._churn_at.notnull() & (t._churn_at >= t._t0), ibis.null("boolean")
        ),
    )
    return t.drop("_cc", "_churn_at")


def _sums(t: ibis.Table, per_customer: bool) -> dict[str, Any]:
    return {
        "_cases": t.count(),
        "_cust": t.count() if per_customer else t.customer_id.nunique(),
        "_p": _ones(t._nps >= 9).sum(),
        "_q": _ones((t._nps >= 7) & (t._nps <= 8)).sum(),
        "_d": _ones(t._nps <= 6).sum(),
        "_ct": _ones(t._csat_top).sum(),
        "_cn": t._csat.count(),
        "_ch": _ones(t._churned).sum(),
        "_chn": t._churned.count(),
    }


def compute_outcomes(
    stream: Stream, *, group: str = "variant", max_steps: int = 10, top: int = 10,
    collapse: bool = False,
) -> PathOutcomes:  # fmt: skip
    """NPS, CSAT and churn by path or touchpoint (see the module's docstring)."""
    _check(max_steps, top)
    m = stream.ctx.config.measurement
    level, min_n, fdr = m.confidence, m.min_n, m.fdr
    per = case_paths(stream, max_steps=max_steps, collapse=collapse)
    scored = _scored(stream, per)
    if group == "variant":
        keyed = scored.mutate(_g=scored._path, _more=scored._more)
    else:
        s = stream.table
        pairs = s.group_by(["_case", "_tp"]).aggregate().rename(_pc="_case")
        keyed = scored.join(pairs, scored._case == pairs._pc).drop("_pc")
        keyed = keyed.mutate(_g=keyed._tp, _more=ibis.literal(False))
    g = keyed.group_by(["_g", "_more"]).aggregate(**_sums(keyed, stream.per_customer))
    g = g.order_by([g._cases.desc(), g._g, g._more]).limit(top)
    g = g.select("_g", "_more", *(g[c].cast("int64").name(c) for c in _SUMS))
    all_ = scored.aggregate(**_sums(scored, stream.per_customer))
    all_ = all_.select(
        _g=ibis.literal(None, type="string"),
        _more=ibis.literal(None, type="boolean"),
        **{c: all_[c].cast("int64") for c in _SUMS},
    )
    rows = ibis.union(g, all_, distinct=False).to_pyarrow().to_pylist()
    total = next((r for r in rows if r["_g"] is None and r["_more"] is None), None)
    groups = [r for r in rows if not (r["_g"] is None and r["_more"] is None)]
    groups.sort(key=lambda r: (-r["_cases"], r["_g"] or "", bool(r["_more"])))
    tot = {c: int((total or {}).get(c) or 0) for c in _SUMS}
    overall = _outcome("all cases", (), False, tot, level, min_n)
    out = []
    for r in groups:
        counts = {c: int(r[c] or 0) for c in _SUMS}
        label = r["_g"] or ""
        steps = tuple(label.split(SEP)) if group == "variant" and label else (label,)
        shown = label + (SEP + "…" if r["_more"] else "")
        row = _outcome(shown, steps, bool(r["_more"]), counts, level, min_n)
        rest = {c: tot[c] - counts[c] for c in _SUMS}  # every other case
        row.vs_rest.update(_versus(counts, rest, level, min_n))
        out.append(row)
    _adjust(out, fdr)
    notes = list(stream.notes)
    if group == "touchpoint":
        notes.append("groups overlap: a case counts under every touchpoint it passed through")
    if not tot["_cases"]:
        notes.append("no touchpoints in the window: there are no paths to compare")
    else:
        if not tot["_p"] + tot["_q"] + tot["_d"]:
            notes.append("no NPS answers from these customers after their cases began")
        if not tot["_cn"]:
            notes.append("no CSAT answers from these customers after their cases began")
        if not tot["_chn"]:
            notes.append("churn: none of these customers is in the customers table")
    scope = stream.scope
    return PathOutcomes(
        out, overall, group, scope.case, scope.journey, scope.include,
        stream.ctx.start, stream.ctx.end, fdr, notes,
    )  # fmt: skip


def _outcome(
    label: str, steps: tuple[str, ...], more: bool, c: dict[str, int], level: float, min_n: int
) -> PathOutcome:
    opts: dict[str, Any] = {"confidence": level, "min_n": min_n}
    nps = _relabel(stats.nps(c["_p"], c["_q"], c["_d"], **opts), "NPS", "no NPS answers")
    csat = stats.proportion(c["_ct"], c["_cn"], percent=True, **opts)
    churn = stats.proportion(c["_ch"], c["_chn"], percent=True, **opts)
    csat = _relabel(csat, "CSAT top box", "no CSAT answers")
    churn = _relabel(churn, "churn", "no known customers")
    return PathOutcome(label, steps, more, c["_cases"], c["_cust"], nps, csat, churn)


def _relabel(e: stats.Estimate, metric: str, empty: str) -> stats.Estimate:
    """Name the metric; with nothing to measure, say what is missing."""
    return replace(e, metric=metric, reason=empty if e.n == 0 else e.reason)


def _versus(
    a: dict[str, int], b: dict[str, int], level: float, min_n: int
) -> dict[str, stats.Comparison | None]:
    opts: dict[str, Any] = {"confidence": level, "min_n": min_n}
    out: dict[str, stats.Comparison | None] = {"nps": None, "csat": None, "churn": None}
    pa, pb = (a["_p"], a["_q"], a["_d"]), (b["_p"], b["_q"], b["_d"])
    if sum(pa) and sum(pb):
        out["nps"] = stats.nps_diff(pa, pb, **opts)
    for name, x, n in (("csat", "_ct", "_cn"), ("churn", "_ch", "_chn")):
        if a[n] and b[n]:
            out[name] = stats.proportion_diff((a[x], a[n]), (b[x], b[n]), percent=True, **opts)
    return out


def _adjust(rows: list[PathOutcome], fdr: float) -> None:
    for name in ("nps", "csat", "churn"):
        tested = [
            (r, c)
            for r in rows
            if (c := r.vs_rest.get(name)) is not None
            and not c.suppressed
            and math.isfinite(c.p_value)
        ]
        for r in rows:
            r.significant[name] = False if r.vs_rest.get(name) is not None else None
        if not tested:
            continue
        got = stats.benjamini_hochberg([c.p_value for _, c in tested], fdr)
        for (r, _), q, rej in zip(tested, got.q_values, got.reject, strict=True):
            r.q_values[name] = float(q)
            r.significant[name] = bool(rej)
