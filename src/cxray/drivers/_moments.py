"""Moments of truth: which touchpoint experiences move the next answer, and churn, the most.

Each :class:`~cxray.features.Moment` compares the units that had a bad
experience of a touchpoint in the window before them (a response after a
late delivery) with the units that had the same touchpoint without it (a
response after deliveries that were all on time). The comparison group
controls for *having* the touchpoint: both groups ordered, or both contacted
support; it does not control for anything else.

For survey outcomes the unit is a response and the window the ``[features]
window_days`` before it; for churn the unit is a customer active at the
as-of date, the window its ``lookback_days``, and the outcome leaving within
``churn_horizon_days``. All counts come from one aggregate query per unit,
in the store. Effects: NPS difference (adjusted Wald), CSAT top-box and
churn differences (Newcombe), CES mean difference (Welch); p-values are
adjusted across the moments of each outcome by Benjamini–Hochberg.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import ibis

from cxray.config import ProgramConfig
from cxray.drivers._results import MomentResult, MomentsReport
from cxray.exceptions import AnalysisError
from cxray.features import Features, Moment
from cxray.stats import benjamini_hochberg, mean_diff, nps_diff, proportion_diff

__all__ = ["MOMENT_OUTCOMES", "moments_of_truth"]

TableSource = Callable[[str], ibis.Table]

#: outcomes moments of truth can be measured on, in the default order of ranking: CSAT, the
#: satisfaction with the touchpoint itself, first; then NPS, CES and churn
MOMENT_OUTCOMES = ("csat", "nps", "ces", "churn")
_RESPONSE_OUTCOMES = ("nps", "csat", "ces")


def _n(cond: ibis.BooleanValue) -> ibis.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def _groups(t: ibis.Table, m: Moment) -> tuple[ibis.BooleanValue, ibis.BooleanValue]:
    exposed = t[m.exposed] > 0
    comparison = (t[m.base] > 0) & (t[m.exposed] == 0)
    return exposed, comparison


def _response_aggregates(
    t: ibis.Table, moments: list[Moment], outcomes: list[str], config: ProgramConfig
) -> dict[str, Any]:
    lo, hi = config.scales.csat.top_box_values()
    aggs: dict[str, ibis.Value] = {}
    for o in outcomes:
        aggs[f"{o}__all"] = _n(t[o].notnull())
    for i, m in enumerate(moments):
        exposed, comparison = _groups(t, m)
        for g, cond in (("e", exposed), ("c", comparison)):
            if "nps" in outcomes:
                has = cond & t.nps.notnull()
                aggs[f"nps_{i}_{g}_p"] = _n(has & (t.nps >= 9))
                aggs[f"nps_{i}_{g}_pa"] = _n(has & t.nps.between(7, 8))
                aggs[f"nps_{i}_{g}_d"] = _n(has & (t.nps <= 6))
            if "csat" in outcomes:
                has = cond & t.csat.notnull()
                aggs[f"csat_{i}_{g}_n"] = _n(has)
                aggs[f"csat_{i}_{g}_x"] = _n(has & t.csat.between(lo, hi))
            if "ces" in outcomes:
                has = cond & t.ces.notnull()
                v = t.ces.cast("float64")
                aggs[f"ces_{i}_{g}_n"] = _n(has)
                aggs[f"ces_{i}_{g}_s"] = ibis.ifelse(has, v, 0.0).sum()
                aggs[f"ces_{i}_{g}_q"] = ibis.ifelse(has, v * v, 0.0).sum()
        for o in outcomes:
            who = ibis.ifelse(exposed & t[o].notnull(), t.customer_id, ibis.null("string"))
            aggs[f"{o}_{i}_cust"] = who.nunique()
    return t.aggregate(**aggs).to_pyarrow().to_pylist()[0]


def _churn_aggregates(t: ibis.Table, moments: list[Moment]) -> dict[str, Any]:
    aggs: dict[str, ibis.Value] = {"churn__all": t.count(), "churn__pos": _n(t.churned == 1)}
    for i, m in enumerate(moments):
        exposed, comparison = _groups(t, m)
        for g, cond in (("e", exposed), ("c", comparison)):
            aggs[f"churn_{i}_{g}_n"] = _n(cond)
            aggs[f"churn_{i}_{g}_x"] = _n(cond & (t.churned == 1))
    return t.aggregate(**aggs).to_pyarrow().to_pylist()[0]


def moments_of_truth(
    tables: TableSource,
    config: ProgramConfig,
    outcomes: Sequence[str] = MOMENT_OUTCOMES,
    *,
    start: Any = None,
    end: Any = None,
    window_days: float | None = None,
    as_of: Any = None,
) -> MomentsReport:
    """Every touchpoint experience against every outcome (see module docstring)."""
    asked = list(dict.fromkeys(outcomes))
    if not asked:
        raise AnalysisError("name at least one outcome")
    bad = [o for o in asked if o not in MOMENT_OUTCOMES]
    if bad:
        raise AnalysisError(
            f"unknown outcome(s) {', '.join(map(repr, bad))} for moments of truth; use "
            f"{', '.join(MOMENT_OUTCOMES)}"
        )
    features = Features(tables, config)
    moments = features.moments()
    if not moments:
        raise AnalysisError(
            "no touchpoint to compare: moments of truth need orders with promised or "
            "delivered dates, support cases, or journeys ([journeys] in cxray.toml) in events"
        )
    level = config.measurement.confidence
    min_n = config.measurement.min_n
    cfg = config.features
    days = window_days if window_days is not None else cfg.window_days
    counts: dict[str, Any] = {}
    notes: list[str] = []
    survey = [o for o in asked if o in _RESPONSE_OUTCOMES]
    if survey:
        t = features.responses(start=start, end=end, window_days=days)
        t = t.filter(t.customer_id.notnull())
        counts.update(_response_aggregates(t, moments, survey, config))
    as_of_text = None
    if "churn" in asked:
        when = features.as_of(as_of)
        as_of_text = when.isoformat(sep=" ", timespec="minutes")
        c = features.customers(as_of=when, lookback_days=window_days)
        counts.update(_churn_aggregates(c, moments))
        if not counts["churn__pos"]:
            notes.append(
                f"churn left out: no customer active at {as_of_text} UTC left in the "
                f"{cfg.churn_horizon_days:g} days after (customers.churned_at)"
            )
            counts["churn__all"] = 0
    results: list[MomentResult] = []
    for o in asked:
        row: list[MomentResult] = []
        total = counts.get(f"{o}__all") or 0  # a sum over no rows is NULL
        if total == 0:
            if o != "churn":
                notes.append(
                    f"{o} left out: no response of a known customer has an answer in the selection"
                )
            continue
        for i, m in enumerate(moments):
            row.append(_one(o, i, m, counts, total, level, min_n, config))
        shown = [r for r in row if not r.suppressed and math.isfinite(r.p_value)]
        if shown:
            fdr = benjamini_hochberg([r.p_value for r in shown], config.measurement.fdr)
            q = dict(zip((r.moment for r in shown), fdr.q_values, strict=True))
            rejected = dict(zip((r.moment for r in shown), fdr.reject, strict=True))
            row = [
                _with_q(r, q.get(r.moment, math.nan), bool(rejected.get(r.moment, False)))
                for r in row
            ]
        results.extend(row)
    if not results:
        raise AnalysisError("nothing to compare: " + "; ".join(notes))
    measured = [o for o in asked if any(r.outcome == o for r in results)]
    rank_by = measured[0]
    order = _ranking(results, rank_by, config)
    results.sort(key=lambda r: (order[r.moment], measured.index(r.outcome)))
    method = (
        f"exposed against the same touchpoint without the experience, in the {days:g} days "
        "before each response"
        + (
            f" (churn: customers active at {as_of_text} UTC, {cfg.churn_horizon_days:g} days after)"
            if as_of_text
            else ""
        )
        + f"; Benjamini-Hochberg at FDR {config.measurement.fdr:g} across moments"
    )
    return MomentsReport(
        moments=results,
        outcomes=measured,
        rank_by=rank_by,
        window_days=days,
        as_of=as_of_text,
        fdr=config.measurement.fdr,
        method=method,
        warnings=notes,
    )


def _bad_sign(outcome: str, config: ProgramConfig) -> float:
    """+1 when a higher value of the outcome is worse (churn; an effort scale), else -1."""
    if outcome == "churn":
        return 1.0
    if outcome == "ces" and config.scales.ces.direction == "lower_is_better":
        return 1.0
    return -1.0


def _ranking(results: list[MomentResult], outcome: str, config: ProgramConfig) -> dict[str, int]:
    """Moments by what they cost on ``outcome``: significant harms first, largest first."""
    sign = _bad_sign(outcome, config)

    def key(r: MomentResult) -> tuple[int, float]:
        harm = sign * r.impact if math.isfinite(r.impact) and not r.suppressed else -math.inf
        return (0 if r.significant and harm > 0 else 1, -harm)

    ranked = sorted((r for r in results if r.outcome == outcome), key=key)
    return {r.moment: i for i, r in enumerate(ranked)}


def _with_q(r: MomentResult, q: float, reject: bool) -> MomentResult:
    from dataclasses import replace

    return replace(r, q_value=float(q), significant=reject and not r.suppressed)


def _one(
    o: str,
    i: int,
    m: Moment,
    counts: dict[str, Any],
    total: int,
    level: float,
    min_n: int,
    config: ProgramConfig,
) -> MomentResult:
    def c(suffix: str) -> int:
        return int(counts.get(f"{o}_{i}_{suffix}") or 0)

    def f(suffix: str) -> float:
        return float(counts.get(f"{o}_{i}_{suffix}") or 0.0)

    if o == "nps":
        a = (c("e_p"), c("e_pa"), c("e_d"))
        b = (c("c_p"), c("c_pa"), c("c_d"))
        cmp = nps_diff(a, b, confidence=level, min_n=min_n)
        unit, impact_unit = "NPS points", "NPS points overall"
        n_e, n_c = sum(a), sum(b)
    elif o == "csat":
        a2, b2 = (c("e_x"), c("e_n")), (c("c_x"), c("c_n"))
        cmp = proportion_diff(a2, b2, confidence=level, min_n=min_n, percent=True)
        unit, impact_unit = "percentage points of CSAT top box", "CSAT points overall"
        n_e, n_c = a2[1], b2[1]
    elif o == "ces":
        a3, b3 = (c("e_n"), f("e_s"), f("e_q")), (c("c_n"), f("c_s"), f("c_q"))
        cmp = mean_diff(a3, b3, confidence=level, min_n=min_n)
        unit, impact_unit = "CES answer points", "CES points of the mean overall"
        n_e, n_c = a3[0], b3[0]
    else:
        a2, b2 = (c("e_x"), c("e_n")), (c("c_x"), c("c_n"))
        cmp = proportion_diff(a2, b2, confidence=level, min_n=min_n, percent=True)
        unit = "percentage points of churn"
        impact_unit = f"customers lost in {config.features.churn_horizon_days:g} days"
        n_e, n_c = a2[1], b2[1]
    customers = n_e if o == "churn" else c("cust")
    factor = n_e / 100.0 if o == "churn" else n_e / total if total else math.nan
    ea, eb = cmp.estimate_a, cmp.estimate_b
    return MomentResult(
        moment=m.name,
        title=m.title,
        outcome=o,
        effect=cmp.estimate,
        ci_low=cmp.ci_low,
        ci_high=cmp.ci_high,
        effect_unit=unit,
        p_value=cmp.p_value,
        q_value=math.nan,
        significant=False,
        exposed_value=ea,
        comparison_value=eb,
        n_exposed=n_e,
        n_comparison=n_c,
        customers=customers,
        impact=cmp.estimate * factor,
        impact_ci_low=cmp.ci_low * factor,
        impact_ci_high=cmp.ci_high * factor,
        impact_unit=impact_unit,
        against=m.against,
        method=cmp.method,
        suppressed=cmp.suppressed,
        reason=_reason(cmp.reason),
    )


def _reason(text: str | None) -> str | None:
    """A suppression reason in the words of this comparison."""
    if text is None:
        return None
    return text.replace("group a:", "with the experience:").replace("group b:", "without it:")
