"""Did following up pay off? The closed loop measured (``docs/loop.md``).

:func:`measure` (``Loop.measure``) reads the follow-ups opened in a window, and for each
figure returns an :class:`~cxray.stats.Estimate` or :class:`~cxray.stats.Comparison` with
its n and method, suppressed below ``[measurement] min_n`` as everywhere:

* **follow-up rate**: of the follow-ups whose SLA has run out, the share whose customer
  was contacted (Wilson interval);
* **time to first contact**: hours from opening to the first contact, median (exact
  order-statistic interval) and mean (t interval);
* **SLA met**: of the follow-ups whose SLA has run out, the share contacted or closed by
  the due time (Wilson);
* **recovery**: for follow-ups opened by a response rule (subject ``responses:ID``), what
  the customer did next, by how they were reached: contacted within the SLA
  (``in_time``), contacted after it (``late``), or not contacted (closed without contact,
  or never worked and past due). Outcomes: the next NPS answer is no longer a detractor
  (for follow-ups of NPS detractors), the next CSAT answer is out of the bottom box (for
  responses in it), and churn within ``[features] churn_horizon_days``. ``in_time`` is
  compared with each other group of the **same rule**, opened in the **same window**
  (Newcombe intervals for the differences, pooled z tests), and Benjamini–Hochberg
  adjusts the p-values of every comparison in the report together.

The comparison controls for the rule (what made the customer unhappy enough to fire it)
and the period; it does not make reaching a customer random: agents may reach the
customers who are easier to reach, or were less upset. Read a difference as an
association, and see ``docs/loop.md`` for what would make it causal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import numpy as np

from cxray import stats
from cxray.config import ProgramConfig
from cxray.exceptions import QueryError
from cxray.metrics import (
    Context,
    bottom_box_values,
    data_end,
    followup_rows,
    loop_now,
    parse_when,
    recovery_rows,
)

#: how a follow-up's customer was reached, in the order the groups are reported
GROUPS = ("in_time", "late", "not_contacted")

__all__ = ["COMPARABLE", "LoopMeasures", "Recovery", "measure"]

Outcome = Literal["nps", "csat", "churn"]

#: what "comparable" means in the recovery comparisons, and what it does not
COMPARABLE = (
    "Groups are follow-ups of the same rule opened in the same window, so the customers "
    "were unhappy in the same way at about the same time. Who gets reached is not random: "
    "customers who answer the phone, or were less upset, may be the ones contacted in time, "
    "so a difference is an association, not proof that contacting caused it."
)

#: the comparisons each recovery outcome makes: in_time against the others
VERSUS = ("not_contacted", "late")

_OUTCOMES: dict[str, tuple[str, str]] = {
    "nps": ("% whose next NPS answer is 7 or more (no longer a detractor)", "higher"),
    "csat": ("% whose next CSAT answer is above the bottom box", "higher"),
    "churn": ("% who churned within the churn horizon after the response", "lower"),
}


@dataclass(frozen=True)
class Recovery:
    """One outcome of one rule's follow-ups, by how the customer was reached.

    ``groups``: the outcome's rate (%) in ``in_time``, ``late`` and ``not_contacted``;
    ``comparisons``: ``in_time`` minus each of :data:`VERSUS` (percentage points), with
    ``q_values`` and ``significant`` after Benjamini–Hochberg across the whole report;
    ``without_outcome``: follow-ups of each group left out because the outcome is not
    known (no later answer; churn horizon not over yet).
    """

    rule: str
    outcome: Outcome
    definition: str
    better: Literal["higher", "lower"]
    groups: dict[str, stats.Estimate]
    comparisons: dict[str, stats.Comparison]
    q_values: dict[str, float | None] = field(default_factory=dict)
    significant: dict[str, bool] = field(default_factory=dict)
    without_outcome: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "definition": self.definition,
            "better": self.better,
            "groups": {g: e.to_dict() for g, e in self.groups.items()},
            "comparisons": [
                {
                    "a": "in_time",
                    "b": vs,
                    **c.to_dict(),
                    "q_value": self.q_values.get(vs),
                    "significant": self.significant.get(vs, False),
                }
                for vs, c in self.comparisons.items()
            ],
            "without_outcome": dict(self.without_outcome),
        }


@dataclass(frozen=True)
class LoopMeasures:
    """The closed loop measured over one window (see the module docstring).

    ``to_dict()`` is the stable JSON form (the API and the Inbox page show it)::

        {
          "start": "2026-01-01" | null, "end": "2026-06-30" | null,   # inclusive dates
          "rule": "detractors" | null, "as_of": "2026-12-03T09:00:00",
          "followups": {"opened": 812, "due": 790, "pending": 22,
                        "by_status": {"open": 40, "contacted": 75, "resolved": 610,
                                      "closed_no_contact": 87}},
          "followup_rate": Estimate,      # %, Wilson
          "time_to_contact": {"median": Estimate, "mean": Estimate},   # hours
          "sla_met": Estimate,            # %, Wilson
          "recovery_rate": Estimate,      # %, the recovery_rate KPI
          "recovery": [                   # one per rule and outcome with follow-ups
            {"rule", "outcome": "nps" | "csat" | "churn", "definition",
             "better": "higher" | "lower",
             "groups": {"in_time": Estimate, "late": Estimate, "not_contacted": Estimate},
             "comparisons": [{"a": "in_time", "b": "not_contacted" | "late",
                              ...Comparison, "q_value", "significant"}],
             "without_outcome": {"in_time": 12, "late": 3, "not_contacted": 9}}
          ],
          "fdr": 0.05, "comparable": COMPARABLE, "notes": ["..."]
        }

    An ``Estimate`` is ``cxray.stats.Estimate.to_dict()`` (``estimate``, ``ci_low``,
    ``ci_high``, ``n``, ``method``, ``unit``, ``suppressed``, ``reason``, ...); a
    ``Comparison`` adds ``statistic``, ``p_value``, ``n_a``, ``n_b``, ``estimate_a``,
    ``estimate_b``. Numbers are ``null`` when suppressed. ``significant`` is after
    Benjamini–Hochberg at ``fdr``.
    """

    start: dt.date | None
    end: dt.date | None
    rule: str | None
    as_of: dt.datetime
    opened: int
    due: int
    pending: int
    by_status: dict[str, int]
    followup_rate: stats.Estimate
    time_to_contact: stats.Estimate
    time_to_contact_mean: stats.Estimate
    sla_met: stats.Estimate
    recovery_rate: stats.Estimate
    recovery: list[Recovery]
    fdr: float = 0.05
    notes: list[str] = field(default_factory=list)

    def get(self, outcome: str, rule: str | None = None) -> Recovery:
        """The recovery of ``outcome`` (for ``rule``, or the only rule measured)."""
        found = [r for r in self.recovery if r.outcome == outcome and rule in (None, r.rule)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} recoveries of {outcome!r} for rule {rule!r}")
        return found[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "rule": self.rule,
            "as_of": self.as_of.isoformat(),
            "followups": {
                "opened": self.opened,
                "due": self.due,
                "pending": self.pending,
                "by_status": dict(self.by_status),
            },
            "followup_rate": self.followup_rate.to_dict(),
            "time_to_contact": {
                "median": self.time_to_contact.to_dict(),
                "mean": self.time_to_contact_mean.to_dict(),
            },
            "sla_met": self.sla_met.to_dict(),
            "recovery_rate": self.recovery_rate.to_dict(),
            "recovery": [r.to_dict() for r in self.recovery],
            "fdr": self.fdr,
            "comparable": COMPARABLE,
            "notes": list(self.notes),
        }


def _day(value: Any, what: str) -> dt.date | None:
    when = parse_when(value, what)
    return None if when is None else when.date()


def _label(
    est: Any, metric: str, unit: str, definition: str, groups: tuple[str, str] | None = None
) -> Any:
    """``est`` with its labels; its reason in the loop's words (follow-ups, not responses;
    the comparison's groups by name)."""
    reason = est.reason
    if reason is not None:
        reason = reason.replace("no responses", "no follow-ups")
        if groups is not None:
            reason = reason.replace("group a", groups[0]).replace("group b", groups[1])
    return dataclasses.replace(est, metric=metric, unit=unit, definition=definition, reason=reason)


def _arrays(t: ibis.Table, columns: list[str]) -> dict[str, np.ndarray]:
    """The columns as NumPy arrays: flags with missing as false, numbers as floats with
    missing as NaN (every comparison with it false), texts with missing as ""."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = t.select(*columns).to_pyarrow()
    out = {}
    for c in columns:
        col = data.column(c)
        if pa.types.is_boolean(col.type):
            out[c] = pc.fill_null(col, False).to_numpy(zero_copy_only=False).astype(bool)
        elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            out[c] = pc.fill_null(col.cast(pa.float64()), math.nan).to_numpy(zero_copy_only=False)
        else:
            out[c] = np.asarray(pc.fill_null(col.cast(pa.string()), "").to_pylist(), dtype=object)
    return out


def measure(
    tables: Callable[[str], ibis.Table],
    config: ProgramConfig,
    *,
    start: Any = None,
    end: Any = None,
    rule: str | None = None,
    now: dt.datetime | None = None,
) -> LoopMeasures:
    """The loop's measures over the follow-ups opened from ``start`` to ``end`` (dates in
    the program's time zone, both inclusive; ``None``: all), of one ``rule`` or all, as of
    ``now`` (default: the current time; what "the SLA has run out" is judged against)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    s = None if first is None else dt.datetime.combine(first, dt.time())
    e = None if last is None else dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    ctx = Context(tables, config, start=s, end=e)
    now = now or loop_now()
    m = config.measurement
    opts: dict[str, Any] = {"confidence": m.confidence, "min_n": m.min_n}

    def window(t: ibis.Table) -> ibis.Table:
        keep = ctx.in_window(ctx.local(t.opened_at))
        if keep is not None:
            t = t.filter(keep)
        if rule is not None:
            t = t.filter(t.rule == rule)
        return t

    if rule is not None and rule not in {r.name for r in config.loop.rules}:
        f = tables("followups")
        seen = set(f.select("rule").distinct().to_pyarrow().column(0).to_pylist())
        if rule not in seen:
            known = sorted({r.name for r in config.loop.rules} | {r for r in seen if r})
            raise QueryError(f"unknown rule {rule!r}; known: {', '.join(known) or 'none'}")

    f = window(followup_rows(tables, now))
    a = _arrays(f, ["status", "_due", "_contacted", "_hours", "_sla_met", "_group"])
    due, contacted = a["_due"], a["_contacted"]
    status, counts = np.unique(a["status"].astype(str), return_counts=True)
    by_status = {str(k): int(v) for k, v in zip(status, counts, strict=True)}
    n_due = int(due.sum())

    rate = stats.proportion(int((due & contacted).sum()), n_due, percent=True, **opts)
    rate = _label(rate, "followup_rate", "%", "% of follow-ups whose SLA has run out whose "
                  "customer was contacted (in time or late)")  # fmt: skip
    met = stats.proportion(int((due & a["_sla_met"]).sum()), n_due, percent=True,
                           **opts)  # fmt: skip
    met = _label(met, "sla_met", "%", "% of follow-ups whose SLA has run out that were "
                 "contacted or closed by their due time")  # fmt: skip
    hours = a["_hours"][due & contacted]
    hours = hours[np.isfinite(hours)]
    what = "hours from opening to the first contact, contacted follow-ups whose SLA has run out"
    median = _label(stats.median(hours, **opts), "time_to_contact", "hours", "median " + what)
    mean = _label(stats.mean_of(hours, **opts), "time_to_contact_mean", "hours", "mean " + what)

    until = data_end(tables)
    rows = window(recovery_rows(tables, config, now, churn_until=until))
    r = _arrays(
        rows,
        ["rule", "_group", "_nps0", "_csat0", "_next_nps", "_next_csat", "_churn_known",
         "_churned"],
    )  # fmt: skip
    lo, hi = bottom_box_values(config.scales.csat)
    nps0, next_nps = r["_nps0"], r["_next_nps"]
    csat0, next_csat = r["_csat0"], r["_next_csat"]
    group = r["_group"].astype(str)
    contacted_r = np.isin(group, ("in_time", "late"))
    detractor = nps0 <= 6
    has_next = np.isfinite(next_nps)
    recovered = stats.proportion(
        int((detractor & contacted_r & has_next & (next_nps >= 7)).sum()),
        int((detractor & contacted_r & has_next).sum()),
        percent=True,
        **opts,
    )
    recovered = _label(recovered, "recovery_rate", "%", "% of contacted follow-ups of NPS "
                       "detractors (0-6) whose next NPS answer is 7 or more")  # fmt: skip

    # outcome -> (rows in its population, outcome known, success)
    in_box = (csat0 >= lo) & (csat0 <= hi)
    next_in_box = (next_csat >= lo) & (next_csat <= hi)
    known_churn = r["_churn_known"]
    outcomes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
        "nps": (detractor, has_next, next_nps >= 7),
        "csat": (in_box, np.isfinite(next_csat), ~next_in_box),
        "churn": (np.ones(len(group), bool), known_churn, r["_churned"]),
    }
    recovery: list[Recovery] = []
    rule_of = r["rule"].astype(str)
    for name in sorted(set(rule_of)):
        mine = rule_of == name
        for outcome, (population, known, success) in outcomes.items():
            pop = mine & population
            if not pop.any():
                continue
            definition, better = _OUTCOMES[outcome]
            groups, counts, left_out = {}, {}, {}
            for g in GROUPS:
                sel = pop & (group == g)
                counts[g] = (int((sel & known & success).sum()), int((sel & known).sum()))
                est = stats.proportion(*counts[g], percent=True, **opts)
                groups[g] = _label(est, f"{outcome} {g}", "%", definition)
                left_out[g] = int((sel & ~known).sum())
            comparisons = {}
            for vs in VERSUS:
                comp = stats.proportion_diff(counts["in_time"], counts[vs], percent=True, **opts)
                comparisons[vs] = _label(
                    comp,
                    f"{outcome}: in_time - {vs}",
                    "percentage points",
                    definition,
                    ("in_time", vs),
                )
            recovery.append(
                Recovery(
                    name,
                    outcome,  # type: ignore[arg-type]
                    definition,
                    better,  # type: ignore[arg-type]
                    groups,
                    comparisons,
                    without_outcome=left_out,
                )
            )
    recovery = _adjust(recovery, m.fdr)

    notes = []
    pending = int((a["_group"].astype(str) == "pending").sum())
    if pending:
        notes.append(
            f"{pending} follow-ups are still within their SLA and not yet contacted or closed: "
            "they count once their SLA runs out"
        )
    if until is None:
        notes.append("no activity data: churn after a response cannot be measured")
    return LoopMeasures(
        start=first,
        end=last,
        rule=rule,
        as_of=now,
        opened=len(a["status"]),
        due=n_due,
        pending=pending,
        by_status=by_status,
        followup_rate=rate,
        time_to_contact=median,
        time_to_contact_mean=mean,
        sla_met=met,
        recovery_rate=recovered,
        recovery=recovery,
        fdr=m.fdr,
        notes=notes,
    )


def _adjust(recovery: list[Recovery], fdr: float) -> list[Recovery]:
    """Benjamini–Hochberg across every unsuppressed comparison of the report."""
    keys = [
        (i, vs)
        for i, rec in enumerate(recovery)
        for vs, c in rec.comparisons.items()
        if not c.suppressed and math.isfinite(c.p_value)
    ]
    if not keys:
        return recovery
    result = stats.benjamini_hochberg([recovery[i].comparisons[vs].p_value for i, vs in keys], fdr)
    q: dict[int, dict[str, float | None]] = {}
    sig: dict[int, dict[str, bool]] = {}
    for (i, vs), qv, rej in zip(keys, result.q_values, result.reject, strict=True):
        q.setdefault(i, {})[vs] = float(qv)
        sig.setdefault(i, {})[vs] = bool(rej)
    return [
        dataclasses.replace(
            rec,
            q_values={vs: q.get(i, {}).get(vs) for vs in rec.comparisons},
            significant={vs: sig.get(i, {}).get(vs, False) for vs in rec.comparisons},
        )
        for i, rec in enumerate(recovery)
    ]
