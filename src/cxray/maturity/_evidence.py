"""Evidence of maturity measured in the store: what no questionnaire can fake.

Each :class:`Evidence` item is a measured figure (a share with its Wilson interval and n, a
count, or an age in days) that belongs to one dimension and implies a level (0 Reactive to 3
Predictive) through documented cut-offs (:data:`CUTS`, ``docs/maturity.md``). A figure that
cannot be measured (no invitations sent, too few follow-ups) implies nothing and says why.

Items (the formulas are in ``docs/maturity.md``):

=========================  ==================  =============================================
item                       dimension           figure
=========================  ==================  =============================================
channel_coverage           customer_insight    % of channels in events and cases that have
                                               survey responses in that channel
touchpoint_coverage        customer_insight    % of event touchpoints that have survey
                                               responses at a touchpoint of the same name
response_rate              customer_insight    % of sent invitations answered
kpis_measurable            measurement         % of the scorecard's KPIs the data supports
kpis_with_targets          leadership_strategy % of measurable KPIs with a target in [targets]
journeys_measured          journey_management  configured journeys whose start and success
                                               touchpoints both occur in events
detractor_followup         closed_loop         % of NPS detractors (last 90 days of answers)
                                               with a follow-up opened
followup_rate              closed_loop         % of follow-ups past their SLA that reached the
                                               customer (``ws.loop.measure()``)
time_to_contact            closed_loop         median hours to first contact
alert_rules                closed_loop         enabled [[loop.rules]] and what they watch
followups_owned            culture_employees   % of follow-ups with an owner or a team
predictive_models          technology_data     churn-risk and lifetime-value fits kept
data_freshness             technology_data     days from the latest row of the stalest table
                                               to today
tables_integrated          technology_data     canonical tables with rows, of six
=========================  ==================  =============================================
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis

from cxray import stats
from cxray.config import ProgramConfig
from cxray.maturity._model import LEVELS, Step
from cxray.metrics import followup_rows, loop_now
from cxray.store import FOLLOWUPS, INVITATIONS, MODELS, Store

__all__ = ["CUTS", "Evidence", "gather"]

#: item -> (cut-offs, higher is better): the level is the number of cut-offs reached
CUTS: dict[str, tuple[tuple[float, float, float], bool]] = {
    "channel_coverage": ((25.0, 50.0, 80.0), True),
    "touchpoint_coverage": ((25.0, 50.0, 80.0), True),
    "response_rate": ((5.0, 10.0, 20.0), True),
    "kpis_measurable": ((25.0, 50.0, 75.0), True),
    "kpis_with_targets": ((25.0, 50.0, 75.0), True),
    "journeys_measured": ((1.0, 2.0, 3.0), True),
    "detractor_followup": ((25.0, 50.0, 80.0), True),
    "followup_rate": ((25.0, 50.0, 80.0), True),
    "time_to_contact": ((72.0, 48.0, 24.0), False),
    "followups_owned": ((25.0, 50.0, 80.0), True),
    "data_freshness": ((90.0, 30.0, 7.0), False),
    "tables_integrated": ((2.0, 4.0, 6.0), True),
}
#: detractors of the last this many days of NPS answers are checked for a follow-up
DETRACTOR_DAYS = 90
_CORE = ("customers", "events", "responses", "cases", "orders", "mentions")


def implied_level(item: str, value: float) -> int:
    """The level a figure implies: how many of the item's cut-offs it reaches."""
    cuts, higher = CUTS[item]
    return sum(1 for c in cuts if (value >= c if higher else value <= c))


@dataclass(frozen=True)
class Evidence:
    """One measured figure, its dimension, and the level it implies (``None``: not measurable)."""

    id: str
    dimension: str
    title: str
    figure: dict[str, Any]  # estimate, ci_low, ci_high, n, method, unit (+ suppressed, reason)
    implies: int | None
    reason: str | None = None  # why it implies nothing, or what it rests on
    detail: dict[str, Any] = field(default_factory=dict)
    remedy: Step | None = None

    @property
    def text(self) -> str:
        """The figure in words: ``12.0 % [9.1, 15.2], n=340``."""
        f = self.figure
        if f.get("estimate") is None or (
            isinstance(f["estimate"], float) and math.isnan(f["estimate"])
        ):
            return f"not measured ({self.reason or f.get('reason') or 'no data'})"
        unit = f.get("unit") or ""
        fmt = _pct if unit == "%" else _num
        if unit.endswith("s") and f["estimate"] == 1:
            unit = unit[:-1]  # 1 journey, 1 rule
        out = f"{fmt(f['estimate'])} {unit}".rstrip()
        lo, hi = f.get("ci_low"), f.get("ci_high")
        if all(isinstance(x, int | float) and math.isfinite(x) for x in (lo, hi)) and lo != hi:
            out += f" [{fmt(lo)}, {fmt(hi)}]"
        return out + f", n={f.get('n', 0):,}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dimension": self.dimension,
            "title": self.title,
            "figure": _finite(self.figure),
            "text": self.text,
            "implies": None if self.implies is None else LEVELS[self.implies].name,
            "implies_index": self.implies,
            "reason": self.reason,
            "detail": dict(self.detail),
            "remedy": None if self.remedy is None else self.remedy.to_dict(),
        }


def _finite(figure: dict[str, Any]) -> dict[str, Any]:
    """The figure with numbers that are not finite (nothing measured) as ``None`` (JSON)."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in figure.items()
    }


def _pct(x: float) -> str:
    return f"{float(x):.1f}"


def _num(x: float) -> str:
    x = float(x)
    return f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"


def _count(value: float, n: int, unit: str, method: str) -> dict[str, Any]:
    """A figure that is a census, not a sample: no interval beyond the value itself."""
    return {
        "estimate": float(value),
        "ci_low": float(value),
        "ci_high": float(value),
        "n": int(n),
        "method": method,
        "unit": unit,
    }


def _share(k: int, n: int, *, min_n: int, confidence: float) -> dict[str, Any]:
    est = stats.proportion(int(k), int(n), percent=True, min_n=min_n, confidence=confidence)
    d = est.to_dict()
    d["successes"] = int(k)
    return d


def _rate_item(
    id: str,
    dimension: str,
    title: str,
    k: int,
    n: int,
    *,
    min_n: int,
    confidence: float,
    empty: str,
    remedy: Step | None,
    detail: dict[str, Any] | None = None,
) -> Evidence:
    fig = _share(k, n, min_n=min_n, confidence=confidence)
    if n == 0:
        return Evidence(id, dimension, title, fig, None, empty, detail or {}, remedy)
    if fig.get("suppressed"):
        return Evidence(id, dimension, title, fig, None, fig.get("reason"), detail or {}, remedy)
    return Evidence(
        id, dimension, title, fig, implied_level(id, fig["estimate"]), None, detail or {}, remedy
    )


def _values(t: ibis.Table, column: str) -> set[str]:
    if column not in t.columns:
        return set()
    col = t[column]
    got = t.filter(col.notnull()).select(v=col.cast("string")).distinct().to_pyarrow()
    return {v for v in got.column("v").to_pylist() if v not in (None, "")}


def gather(
    store: Store,
    config: ProgramConfig,
    *,
    coverage: Any,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> list[Evidence]:
    """Every evidence item over the store (see the module docstring).

    ``coverage``: the workspace's :meth:`~cxray.Workspace.doctor` result;
    ``now``: what "the SLA has run out" is judged against (default: the current time);
    ``today``: the date freshness is judged against (default: today, UTC)."""
    from cxray.metrics._coverage import profile

    today = today or dt.datetime.now(dt.UTC).date()
    m = config.measurement
    opts = {"min_n": m.min_n, "confidence": m.confidence}
    census = {"min_n": 1, "confidence": m.confidence}  # lists of channels: counts, not samples
    tables = set(store.backend.list_tables())

    def t(name: str) -> ibis.Table:  # the canonical tables by contract, cxray's own as kept
        return store.table(name) if name in _CORE else store.backend.table(name)

    out: list[Evidence] = []

    # -------------------------------------------------------------- customer insight
    responses = t("responses")
    used = _values(t("events"), "channel") | _values(t("cases"), "channel")
    heard = _values(responses, "channel")
    covered = sorted(used & heard)
    out.append(
        _rate_item(
            "channel_coverage",
            "customer_insight",
            "Channels with feedback",
            len(covered),
            len(used),
            **census,
            empty="no channels in events or cases: import events or cases with a channel",
            remedy=Step(
                "customer_insight",
                "quick_win",
                "Survey the channels without feedback: " + ", ".join(sorted(used - heard)[:6]),
                "cxray surveys invite",
            )
            if used - heard
            else None,
            detail={
                "channels": sorted(used),
                "with_feedback": covered,
                "without_feedback": sorted(used - heard),
            },
        )
    )
    touch = _values(t("events"), "touchpoint")
    asked = _values(responses, "touchpoint")
    hit = sorted(touch & asked)
    out.append(
        _rate_item(
            "touchpoint_coverage",
            "customer_insight",
            "Touchpoints with feedback",
            len(hit),
            len(touch),
            **census,
            empty="no touchpoints in events: import events (customer_id, timestamp, touchpoint)",
            remedy=Step(
                "customer_insight",
                "foundation",
                "Ask for feedback at the touchpoints "
                "customers pass through (responses.touchpoint named as in events)",
                "[surveys.NAME] in cxray.toml",
            ),
            detail={"touchpoints": len(touch), "with_feedback": hit},
        )
    )
    sent = answered = 0
    if INVITATIONS in tables:
        inv = t(INVITATIONS)
        got = (
            inv.aggregate(
                sent=inv.sent_at.count(),
                answered=(inv.sent_at.notnull() & inv.responded_at.notnull()).ifelse(1, 0).sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        sent, answered = int(got["sent"] or 0), int(got["answered"] or 0)
    out.append(
        _rate_item(
            "response_rate",
            "customer_insight",
            "Survey response rate (invitations answered)",
            answered,
            sent,
            **opts,
            empty="no survey invitations sent through cxray; send them with cxray surveys invite",
            remedy=Step(
                "customer_insight",
                "foundation",
                "Send survey invitations through cxray so response rates are measured",
                "cxray surveys invite",
            ),
        )
    )

    # -------------------------------------------------------------- measurement, leadership
    kpis = [s for s in coverage if s.kind == "kpi"]
    measurable = [s for s in kpis if s.supported]
    out.append(
        _rate_item(
            "kpis_measurable",
            "measurement",
            "KPIs the data supports",
            len(measurable),
            len(kpis),
            **census,
            empty="no KPIs",
            remedy=Step(
                "measurement", "quick_win", "Import what the unsupported KPIs need", "cxray doctor"
            ),
            detail={"unsupported": [s.name for s in kpis if not s.supported]},
        )
    )
    targeted = [s.name for s in measurable if _target(config, s.name) is not None]
    out.append(
        _rate_item(
            "kpis_with_targets",
            "leadership_strategy",
            "Measurable KPIs with a target",
            len(targeted),
            len(measurable),
            **census,
            empty="no measurable KPIs: import data first (cxray doctor)",
            remedy=Step(
                "leadership_strategy",
                "quick_win",
                "Set targets for the measurable KPIs without one",
                "[targets] in cxray.toml",
            ),
            detail={
                "with_target": targeted,
                "without_target": [s.name for s in measurable if s.name not in targeted],
            },
        )
    )

    # -------------------------------------------------------------- journeys
    defined = dict(config.journeys)
    measured = sorted(n for n, j in defined.items() if j.start in touch and j.success in touch)
    fig = _count(
        len(measured),
        len(defined),
        "journeys",
        "count of configured journeys whose start and success touchpoints occur in events",
    )
    out.append(
        Evidence(
            "journeys_measured",
            "journey_management",
            "Journeys defined and measured",
            fig,
            implied_level("journeys_measured", len(measured)),
            None if defined else "no journeys in [journeys] of cxray.toml",
            {"defined": sorted(defined), "measured": measured},
            Step(
                "journey_management",
                "foundation",
                "Define the main journeys as funnels and import their events",
                "[journeys.NAME] in cxray.toml",
            ),
        )
    )

    # -------------------------------------------------------------- the closed loop
    has_f = FOLLOWUPS in tables
    detractors, followed = _detractors(responses, t(FOLLOWUPS) if has_f else None)
    out.append(
        _rate_item(
            "detractor_followup",
            "closed_loop",
            f"NPS detractors with a follow-up (last {DETRACTOR_DAYS} days of answers)",
            followed,
            detractors,
            **opts,
            empty="no NPS detractors (no NPS answers of 0–6)",
            remedy=Step(
                "closed_loop",
                "quick_win",
                "Follow up every detractor: a response rule",
                '[[loop.rules]] on = "responses", where = "nps <= 6"',
            ),
        )
    )
    if has_f:
        k, n_due, hours = _followups(t, now or loop_now())
        out.append(
            _rate_item(
                "followup_rate",
                "closed_loop",
                "Follow-ups that reached the customer",
                k,
                n_due,
                **opts,
                empty="no follow-ups past their SLA yet",
                remedy=Step(
                    "closed_loop",
                    "quick_win",
                    "Work the open follow-ups in the Inbox",
                    "/inbox; cxray loop list",
                ),
            )
        )
        ttc = stats.median(hours, confidence=m.confidence, min_n=m.min_n).to_dict()
        ttc["unit"] = "hours"
        if not ttc["n"]:
            ttc["reason"] = "no follow-up past its SLA has reached the customer yet"
        implies = (
            None
            if ttc.get("suppressed") or ttc["n"] == 0
            else implied_level("time_to_contact", ttc["estimate"])
        )
        out.append(
            Evidence(
                "time_to_contact",
                "closed_loop",
                "Median time to first contact",
                ttc,
                implies,
                ttc.get("reason") if implies is None else None,
                {},
                Step(
                    "closed_loop",
                    "foundation",
                    "Set a follow-up SLA and alert on breaches",
                    "[[loop.rules]] sla_hours",
                ),
            )
        )
    rules = [r for r in config.loop.rules if r.enabled]
    kinds = sorted({str(r.on) for r in rules})
    level = 0
    if rules:
        level = 1
        if set(kinds) & {"kpi", "emerging"}:
            level = 2
            if "churn_risk" in kinds:
                level = 3
    out.append(
        Evidence(
            "alert_rules",
            "closed_loop",
            "Alert rules active",
            _count(len(rules), len(config.loop.rules), "rules", "count of enabled [[loop.rules]]"),
            level,
            None if rules else "no enabled [[loop.rules]] in cxray.toml",
            {"watching": kinds, "rules": [r.name for r in rules]},
            Step(
                "closed_loop",
                "foundation",
                "Add rules on KPIs and emerging issues, then on predicted churn",
                '[[loop.rules]] on = "kpi" | "emerging" | "churn_risk"',
            ),
        )
    )

    # -------------------------------------------------------------- culture
    owned = total = 0
    if has_f:
        f = t(FOLLOWUPS)
        has_owner = (f.owner.notnull() & (f.owner != "")) | (f.team.notnull() & (f.team != ""))
        got = f.aggregate(n=f.count(), owned=has_owner.ifelse(1, 0).sum())
        row = got.to_pyarrow().to_pylist()[0]
        owned, total = int(row["owned"] or 0), int(row["n"] or 0)
    out.append(
        _rate_item(
            "followups_owned",
            "culture_employees",
            "Follow-ups assigned to an owner or team",
            owned,
            total,
            **opts,
            empty="no follow-ups yet",
            remedy=Step(
                "culture_employees",
                "foundation",
                "Route follow-ups to owners and teams",
                "[[loop.rules]] owner / team",
            ),
        )
    )

    # -------------------------------------------------------------- technology and data
    kept = {}
    if MODELS in tables:
        mt = t(MODELS)
        got = mt.group_by("name").aggregate(at=mt.created_at.max()).to_pyarrow().to_pylist()
        kept = {r["name"]: r["at"] for r in got if r["name"] in ("churn_risk", "clv")}
    level = 1 + (len(kept) > 0)
    if len(kept) == 2 and all(
        (today - at.date()).days <= 90 for at in kept.values() if at is not None
    ):
        level = 3
    out.append(
        Evidence(
            "predictive_models",
            "technology_data",
            "Predictive models in use",
            _count(len(kept), 2, "models", "count of kept fits among churn_risk and clv"),
            level,
            None if kept else "no churn-risk or lifetime-value fit kept",
            {"kept": {k: v.isoformat() if v else None for k, v in sorted(kept.items())}},
            Step(
                "technology_data",
                "scale",
                "Fit the churn-risk and lifetime-value models",
                "cxray churn model; cxray clv fit",
            ),
        )
    )
    p = profile(t)
    latest = {name: hi for name, (lo, hi) in p.spans.items() if hi is not None}
    if "mentions" in tables:
        mn = t("mentions")
        hi = mn.posted_at.max().to_pyarrow().as_py()
        if hi is not None:
            latest["mentions"] = hi
    ages = {name: max(0, (today - hi.date()).days) for name, hi in latest.items()}
    if ages:
        stalest = max(ages.values())
        out.append(
            Evidence(
                "data_freshness",
                "technology_data",
                "Days since the stalest table's latest row",
                _count(
                    stalest,
                    len(ages),
                    "days",
                    "today minus the latest time of each table with rows; the largest",
                ),
                implied_level("data_freshness", stalest),
                None,
                {
                    "latest": {k: v.isoformat() for k, v in sorted(latest.items())},
                    "age_days": dict(sorted(ages.items())),
                    "today": today.isoformat(),
                },
                Step(
                    "technology_data",
                    "foundation",
                    "Import new data at least weekly (named sources, a scheduled import)",
                    "[sources.NAME] in cxray.toml",
                ),
            )
        )
    else:
        out.append(
            Evidence(
                "data_freshness",
                "technology_data",
                "Days since the stalest table's latest row",
                _count(math.nan, 0, "days", "no rows"),
                None,
                "the store is empty",
            )
        )
    rows = {name: p.rows.get(name, 0) for name in _CORE}
    filled = [n for n, k in rows.items() if k]
    out.append(
        Evidence(
            "tables_integrated",
            "technology_data",
            "Canonical tables with data",
            _count(
                len(filled), len(_CORE), "tables", "count of the six canonical tables with rows"
            ),
            implied_level("tables_integrated", len(filled)),
            None,
            {"rows": rows, "empty": [n for n, k in rows.items() if not k]},
            Step(
                "technology_data",
                "quick_win",
                "Import the empty tables: " + ", ".join(n for n, k in rows.items() if not k),
                "cxray import TABLE FILE",
            )
            if len(filled) < len(_CORE)
            else None,
        )
    )
    return out


def _followups(t: Callable[[str], ibis.Table], now: dt.datetime) -> tuple[int, int, Any]:
    """Of the follow-ups whose SLA has run out (the loop's own definitions,
    :func:`cxray.metrics.followup_rows`): how many reached the customer, how many there are,
    and the hours to first contact of those reached (as ``cxray loop measure`` counts them)."""
    import numpy as np

    f = followup_rows(t, now)
    f = f.filter(f._due)
    got = f.aggregate(n=f.count(), k=f._contacted.ifelse(1, 0).sum()).to_pyarrow().to_pylist()[0]
    hours = f.filter(f._contacted & f._hours.notnull()).select("_hours").to_pyarrow()
    values = np.asarray(hours.column(0).to_pylist(), dtype=float)
    return int(got["k"] or 0), int(got["n"] or 0), values[np.isfinite(values)]


def _target(config: ProgramConfig, kpi: str) -> float | None:
    th = getattr(config.targets, kpi.split(":", 1)[0], None)
    return None if th is None else th.target


def _detractors(responses: ibis.Table, followups: ibis.Table | None) -> tuple[int, int]:
    """NPS detractors of the last :data:`DETRACTOR_DAYS` days of answers, and how many of
    them have a follow-up (subject ``responses:<response_id>``)."""
    r = responses.filter(responses.nps.notnull())
    end = r.submitted_at.max().to_pyarrow().as_py()
    if end is None:
        return 0, 0
    since = end - dt.timedelta(days=DETRACTOR_DAYS)
    d = r.filter((r.nps <= 6) & (r.submitted_at > since)).select(
        _subject=ibis.literal("responses:") + r.response_id.cast("string")
    )
    n = int(d.count().to_pyarrow().as_py())
    if followups is None or n == 0:
        return n, 0
    subjects = followups.select(subject=followups.subject).distinct()
    k = int(d.semi_join(subjects, d._subject == subjects.subject).count().to_pyarrow().as_py())
    return n, k
