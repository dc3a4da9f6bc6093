"""The executive digest: what a CX lead reads about one period, assembled from the workspace.

Each section is computed on its own and says why when its data is absent (no survey in
the period, no stored churn model, no lifetime-value fit); one section failing never
stops the others. The workspace is passed in (any object with ``scorecard``, ``drivers``,
``loop``, ``churn``, ``value``, ``store`` and ``config``), so this module sits below it.

KPI changes
    For a calendar week, month or quarter, the scorecard of that granularity from seven
    periods before to the period's end: each KPI's figure *is* the scorecard's for the
    period, its change and two-sample test are the scorecard's against the period
    before. For a free range ``A..B``, the scorecards of the range and of the range of
    equal length just before it; the change is the difference of the two estimates, its
    interval and p-value from the two intervals read as normal estimates (Altman & Bland,
    BMJ 2003;326:219), medians not tested. Either way the digest adjusts the p-values of
    its KPIs together by Benjamini-Hochberg at ``[measurement] fdr``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxray import stats
from cxray.config._reports import ReportPeriod
from cxray.privacy import Masking

__all__ = ["Digest", "Section", "build_digest"]

log = logging.getLogger("cxray.reports")

#: periods of history in the trend chart (the period and the ones before it)
TREND_PERIODS = 8
TOP = 5
#: what the scorecard says of a KPI against its industry benchmark (docs/benchmarks.md)
BENCHMARK_FIELDS = (
    "benchmark", "benchmark_set", "gap", "gap_ci_low", "gap_ci_high", "vs_benchmark"
)  # fmt: skip


@dataclass(frozen=True)
class Section:
    """One part of the digest: its data, or why it has none (``available`` False, ``note``)."""

    key: str
    title: str
    available: bool
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "available": self.available,
            "note": self.note,
            "data": self.data,
        }


@dataclass(frozen=True)
class Digest:
    """The digest of one period for one reader (``pii``: personal data shown as stored)."""

    title: str
    period: ReportPeriod
    generated_at: dt.datetime
    pii: bool
    sections: list[Section]

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": self.period.to_dict(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "pii": self.pii,
            "sections": [s.to_dict() for s in self.sections],
        }


def build_digest(
    ws: Any,
    period: ReportPeriod,
    *,
    pii: bool = False,
    now: dt.datetime | None = None,
    title: str = "CX executive digest",
) -> Digest:
    """The digest of ``period`` over the workspace ``ws`` for a reader with (or without)
    the ``pii`` permission."""
    masking = Masking.for_caller(ws.config, pii=pii)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    steps: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        ("kpis", "KPIs against the previous period", lambda: kpi_section(ws, period)),
        ("drivers", "Top drivers of NPS", lambda: drivers_section(ws, period)),
        ("themes", "Top themes in what customers wrote", lambda: themes_section(ws, masking)),
        ("emerging", "Emerging issues", lambda: emerging_section(ws, period, masking)),
        ("loop", "Alerts and follow-ups", lambda: loop_section(ws, period, masking)),
        ("churn", "Churn risk", lambda: churn_section(ws)),
        ("value", "Revenue at risk", lambda: value_section(ws)),
    ]
    sections = []
    for key, name, make in steps:
        try:
            data = make()
        except Exception as exc:  # a section without its data says so; the others go on
            log.debug("digest section %s: %s", key, exc, exc_info=True)
            sections.append(Section(key, name, False, _why(exc)))
            continue
        note = data.pop("_note", None)
        if data.pop("_absent", False):
            sections.append(Section(key, name, False, note))
        else:
            sections.append(Section(key, name, True, note, data))
    return Digest(title, period, now, pii, sections)


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"not available: {text}"


def _plain(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ------------------------------------------------------------------------------- KPIs
def _label(start: dt.date, granularity: str) -> str:
    if granularity == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if granularity == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    return start.isoformat()


def _back(start: dt.date, granularity: str, n: int) -> dt.date:
    if granularity == "week":
        return start - dt.timedelta(days=7 * n)
    months = n * (1 if granularity == "month" else 3)
    m = start.month - 1 - months
    return dt.date(start.year + m // 12, m % 12 + 1, 1)


def _kpi_row(ws: Any, rec: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    metric = rec["metric"]
    try:
        th = ws.config.threshold(metric)
        target, action = th.target, th.action
    except Exception:
        target = action = None
    row = {
        "metric": metric,
        "title": rec["title"],
        "unit": rec.get("unit"),
        "estimate": _plain(rec["estimate"]),
        "ci_low": _plain(rec["ci_low"]),
        "ci_high": _plain(rec["ci_high"]),
        "n": rec["n"],
        "method": rec["method"],
        "suppressed": bool(rec["suppressed"]),
        "reason": rec.get("reason"),
        "status": rec.get("status"),
        "target": target,
        "action": action,
        "previous": _plain(before["estimate"]) if before else None,
        "change": _plain(rec.get("change")),
        "change_ci_low": _plain(rec.get("change_ci_low")),
        "change_ci_high": _plain(rec.get("change_ci_high")),
        "p_value": _plain(rec.get("p_value")),
    }
    # the benchmark of [program] industry and the gap to it, when the scorecard carries one
    for k in BENCHMARK_FIELDS:
        if k in rec:
            row[k] = _plain(rec[k])
    return row


def kpi_section(ws: Any, period: ReportPeriod) -> dict[str, Any]:
    """Each KPI in the period with interval, n, status, target, the previous period's value,
    the change with its test and the digest's Benjamini-Hochberg q-value."""
    trend: dict[str, list[dict[str, Any]]] = {}
    rows: list[dict[str, Any]] = []
    if period.granularity is not None:
        g = period.granularity
        first = _back(period.start, g, TREND_PERIODS - 1)
        sc = ws.scorecard(period=g, start=first, end=period.end)
        now_label, prev_label = _label(period.start, g), _label(period.previous_start, g)
        by_metric: dict[str, dict[str, dict[str, Any]]] = {}
        for rec in sc.records():
            if rec.get("period") is None:
                continue
            by_metric.setdefault(rec["metric"], {})[rec["period"]] = rec
            trend.setdefault(rec["metric"], []).append(
                {k: _plain(rec[k]) for k in ("period", "estimate", "ci_low", "ci_high", "n")}
            )
        for recs in by_metric.values():
            if now_label in recs:
                rows.append(_kpi_row(ws, recs[now_label], recs.get(prev_label)))
        method = (
            f"the scorecard by {g}: each KPI's change from the {g} before with the "
            "scorecard's two-sample test"
        )
    else:
        now_sc = ws.scorecard(start=period.start, end=period.end)
        prev_sc = ws.scorecard(start=period.previous_start, end=period.previous_end)
        before = {r["metric"]: r for r in prev_sc.records()}
        conf = ws.config.measurement.confidence
        for rec in now_sc.records():
            rec = dict(rec)
            b = before.get(rec["metric"])
            rec.update(_window_change(rec, b, conf))
            rows.append(_kpi_row(ws, rec, b))
        method = (
            "the scorecards of the range and of the range of equal length before it; the "
            "change's interval and p-value from the two intervals (Altman & Bland 2003)"
        )
    stale = _stale_tables(ws, period)
    if stale:
        _suppress_stale(ws, rows, stale)
    measured = [r for r in rows if not r["suppressed"] and r["estimate"] is not None]
    if not measured:
        note = f"no KPI could be measured in {period.label}"
        if stale:
            latest = max(d for d in stale.values() if d is not None)
            note += f" ({_through_text(stale)}; a period with data: {latest:%Y-%m})"
        return {"_absent": True, "_note": note}
    fdr = ws.config.measurement.fdr
    tested = [r for r in rows if r["p_value"] is not None]
    if tested:
        res = stats.benjamini_hochberg([r["p_value"] for r in tested], fdr)
        for r, q, rej in zip(tested, res.q_values, res.reject, strict=True):
            r["q_value"], r["significant"] = float(q), bool(rej)
    for r in rows:
        r.setdefault("q_value", None)
        r.setdefault("significant", None if r["p_value"] is None else False)
    out: dict[str, Any] = {}
    if stale:
        out["_note"] = (
            f"{_through_text(stale)}: KPIs that read only these tables are left out of "
            f"{period.label} instead of shown as measured on no data"
        )
    return out | {
        "rows": rows,
        "trend": trend,
        "method": method,
        "fdr": fdr,
        "significant": [r["metric"] for r in rows if r["significant"]],
        "on_target": sum(r["status"] == "on_target" for r in rows),
        "watch": sum(r["status"] == "watch" for r in rows),
        "action": sum(r["status"] == "action" for r in rows),
    }


#: the tables whose last row says how far the data reaches, and what a customer KPI rests on
_ACTIVITY = ("responses", "cases", "orders", "events")


def _stale_tables(ws: Any, period: ReportPeriod) -> dict[str, dt.date | None]:
    """The tables with rows whose data ends before ``period`` starts: table -> last day;
    and ``"customers"`` (what a customer KPI rests on) when every activity table with rows
    is among them, at the latest of their last days."""
    out: dict[str, dt.date | None] = {}
    active = []
    for t in ws.status().tables:
        if not t.rows:
            continue
        if t.table in _ACTIVITY:
            active.append(t.table)
        if t.last is not None and t.last.date() < period.start:
            out[t.table] = t.last.date()
    if active and all(t in out for t in active):
        out["customers"] = max(d for t, d in out.items() if t in active and d is not None)
    else:
        out.pop("customers", None)
    return out


def _through_text(stale: dict[str, dt.date | None]) -> str:
    parts = ", ".join(f"{t} {d.isoformat()}" for t, d in sorted(stale.items()) if d)
    return f"the data ends before the period: {parts}"


def _suppress_stale(ws: Any, rows: list[dict[str, Any]], stale: dict[str, dt.date | None]) -> None:
    """A KPI whose table holds nothing after the period's start is not measured in it: a
    churn rate of 0 % over a month with no data would read as a good month. A customer KPI
    (churn, health, lifetime value) rests on the activity tables: stale when all of them are."""
    from cxray.metrics import kpis

    config = ws.config
    registry = kpis(config.journeys, surveys=True, loop=True, custom=config.kpis)
    tables = {k.name: k.table for k in registry}
    for r in rows:
        table = tables.get(r["metric"])
        if table not in stale or r["suppressed"]:
            continue
        r.update(
            suppressed=True,
            estimate=None,
            ci_low=None,
            ci_high=None,
            change=None,
            change_ci_low=None,
            change_ci_high=None,
            p_value=None,
            status=None,
            reason=f"no {table} data after {stale[table]}",
        )


def _window_change(
    now: dict[str, Any], before: dict[str, Any] | None, confidence: float
) -> dict[str, Any]:
    """The change between two windows' estimates, its interval and two-sided p-value."""
    from scipy import stats as sps

    empty = {"change": None, "change_ci_low": None, "change_ci_high": None, "p_value": None}
    if before is None or now["suppressed"] or before["suppressed"]:
        return empty
    if "median" in str(now.get("method", "")).lower() or "order statistic" in str(
        now.get("method", "")
    ):
        return empty
    vals = [now.get(k) for k in ("estimate", "ci_low", "ci_high")]
    vals += [before.get(k) for k in ("estimate", "ci_low", "ci_high")]
    if any(v is None or not math.isfinite(v) for v in vals):
        return empty
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    se = math.hypot((vals[2] - vals[1]) / (2 * z), (vals[5] - vals[4]) / (2 * z))
    d = vals[0] - vals[3]
    if se <= 0:
        return empty
    p = float(2 * sps.norm.sf(abs(d) / se))
    return {"change": d, "change_ci_low": d - z * se, "change_ci_high": d + z * se, "p_value": p}


# ---------------------------------------------------------------------------- drivers
def drivers_section(ws: Any, period: ReportPeriod) -> dict[str, Any]:
    """The key drivers of NPS among the period's responses (Johnson's relative weights)."""
    report = ws.drivers(outcome="nps", start=period.start, end=period.end, bootstrap=50)
    d = report.to_dict()
    analyses = d.get("analyses") or [d]
    a = analyses[0]
    drivers = a.get("drivers") or []
    rows = []
    for x in drivers[:TOP]:
        rows.append(
            {
                "driver": x.get("title") or x.get("name"),
                "share": _plain(x.get("share")),
                "ci_low": _plain(x.get("ci_low")),
                "ci_high": _plain(x.get("ci_high")),
                "direction": x.get("direction"),
                "priority": x.get("priority"),
            }
        )
    if not rows:
        return {"_absent": True, "_note": f"no driver analysis for {period.label}"}
    return {
        "rows": rows,
        "n": a.get("n"),
        "r2": _plain((a.get("r2") or {}).get("estimate"))
        if isinstance(a.get("r2"), dict)
        else _plain(a.get("r2")),
        "method": a.get("method") or "Johnson's relative weights",
    }


# ----------------------------------------------------------------------------- text
def themes_section(ws: Any, masking: Masking) -> dict[str, Any]:
    """The taxonomy's themes by volume over the comments (all kept texts)."""
    from cxray import text

    report = text.REPORTS.themes(ws.store, masking.report_config(ws.config))
    themes = sorted(report.get("themes") or [], key=lambda t: -(t.get("volume") or 0))
    rows = []
    for t in themes[:TOP]:
        share = t.get("share") or {}
        sent = t.get("sentiment") or {}
        rows.append(
            {
                "theme": t.get("label") or t.get("id"),
                "volume": t.get("volume"),
                "share": share.get("estimate"),
                "share_ci_low": share.get("ci_low"),
                "share_ci_high": share.get("ci_high"),
                "sentiment": None if sent.get("suppressed") else sent.get("estimate"),
            }
        )
    rows = [r for r in rows if r["volume"]]
    if not rows:
        return {"_absent": True, "_note": "no comments with themes in the store"}
    return {
        "rows": rows,
        "n_texts": report.get("n_texts"),
        "_note": "over every comment kept in the store (shares: Wilson intervals)",
    }


def emerging_section(ws: Any, period: ReportPeriod, masking: Masking) -> dict[str, Any]:
    """Case categories rising above their baseline (``cxray.text.case_trends``)."""
    from cxray import text

    g = "month" if period.granularity in ("month", "quarter") else "week"
    report = text.REPORTS.trends(ws.store, masking.report_config(ws.config), period=g)
    if not report.get("n_cases"):
        return {"_absent": True, "_note": "no cases in the store to look for emerging issues"}
    emerging = report.get("emerging") or []
    rows = []
    for e in emerging:
        when = _period_start(e.get("period"))
        if when is None or not period.start <= when <= period.end:
            continue  # risen in another period
        rows.append(
            {
                "category": e.get("category"),
                g: e.get("period"),
                "cases": e.get("cases"),
                "share": e.get("share"),
                "baseline share": e.get("baseline_share"),
                "ratio": e.get("ratio"),
                "q": e.get("q_value"),
            }
        )
    return {
        "rows": rows[:TOP],
        "n_cases": report.get("n_cases"),
        "tests": report.get("tests"),
        "_note": None
        if rows
        else f"no case category rose above its baseline in {period.label} "
        f"({len(emerging)} emerging in other periods)",
    }


def _period_start(label: Any) -> dt.date | None:
    """The first day of a trend period's label (``2026-10`` or ``2026-10-05``)."""
    try:
        text = str(label)
        return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        return None


# ------------------------------------------------------------------------------- loop
def loop_section(ws: Any, period: ReportPeriod, masking: Masking) -> dict[str, Any]:
    """Alerts fired in the period by rule, the latest ones, and the follow-up measures."""
    import ibis

    from cxray.store import ALERTS

    backend = ws.store.backend
    if ALERTS not in backend.list_tables():
        return {"_absent": True, "_note": "the closed loop has not run (no alerts table)"}
    t = backend.table(ALERTS)
    lo = dt.datetime.combine(period.start, dt.time())
    hi = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time())
    w = t.filter((t.fired_at >= ibis.timestamp(lo)) & (t.fired_at < ibis.timestamp(hi)))
    by_rule = w.group_by("rule").aggregate(alerts=w.count()).order_by(ibis.desc("alerts"))
    counts = by_rule.to_pyarrow().to_pylist()
    latest = (
        w.order_by([ibis.desc("fired_at"), "alert_id"])
        .limit(TOP)
        .select("alert_id", "rule", "title", "fired_at", "source", "details", "customer_id")
        .to_pyarrow()
        .to_pylist()
    )
    shown = []
    for a in latest:
        a["details"] = {}
        m = masking.alert(a)
        shown.append(
            {
                "rule": m["rule"],
                "title": m["title"],
                "fired_at": str(m["fired_at"])[:16],
                # not printed: the archive records whom a digest names (an erasure reads it)
                "customer_id": a.get("customer_id"),
            }
        )
    try:
        measures = ws.loop.measure(period.start, period.end).to_dict()
    except Exception:
        if not counts:
            return {"_absent": True, "_note": f"no alerts or follow-ups in {period.label}"}
        raise
    return {
        "alerts": sum(c["alerts"] for c in counts),
        "by_rule": counts,
        "latest": shown,
        "followups": measures.get("followups"),
        "followup_rate": measures.get("followup_rate"),
        "time_to_contact": (measures.get("time_to_contact") or {}).get("median"),
        "sla_met": measures.get("sla_met"),
    }


# ----------------------------------------------------------------------- prediction
def churn_section(ws: Any) -> dict[str, Any]:
    """Customers most at risk by the stored churn-risk model (``cxray churn model``)."""
    risk = ws.churn.risk
    try:
        stored = risk.stored()
    except Exception:
        return {"_absent": True, "_note": "no churn-risk model is stored (cxray churn model)"}
    scores = risk.score(reasons=1).to_dict(limit=TOP)
    rows = []
    for r in scores.get("customers") or scores.get("records") or []:
        p = r.get("probability") if "probability" in r else r.get("risk")
        rows.append({"customer_id": r.get("customer_id"), "probability": p})
    return {
        "model_id": stored["model_id"],
        "customers": scores.get("n"),
        "mean_probability": _plain(scores.get("estimate")),
        "ci_low": _plain(scores.get("ci_low")),
        "ci_high": _plain(scores.get("ci_high")),
        "method": scores.get("method"),
        "top": rows,
    }


def value_section(ws: Any) -> dict[str, Any]:
    """Revenue at risk: Σ CLV × P(churn) by NPS group (``cxray clv at-risk``)."""
    if ws.value.latest_fit() is None:
        return {"_absent": True, "_note": "no lifetime-value fit is stored (cxray clv fit)"}
    d = ws.value.money.at_risk().to_dict()
    return {
        "estimate": d.get("estimate"),
        "ci_low": d.get("ci_low"),
        "ci_high": d.get("ci_high"),
        "n": d.get("n"),
        "method": d.get("method"),
        "groups": [
            {
                "group": g.get("group"),
                "customers": g.get("n"),
                "churn probability": g.get("probability"),
                "revenue at risk": g.get("revenue_at_risk"),
                "95% CI": (g.get("ci_low"), g.get("ci_high")),
            }
            for g in d.get("groups") or []
        ],
    }
