"""The overview as a morning view: date presets, the change from the previous window, the
date each KPI's data runs to, and its unit.

* **Presets** (``preset=7d|30d|90d|quarter``) end on the day of the latest data in the
  store (not today: an export imported last week still shows its own last 30 days); the
  tile of each KPI says how far its own data runs.
* **The previous window** of a range is the one of equal length that ends the day before
  it starts.
* **The change** of a range is the difference of the two windows' scorecard estimates.
  Its interval and two-sided p-value come from the two windows' intervals, each read as a
  normal estimate with standard error ``(high - low) / (2 z)`` (Altman & Bland, "Interaction
  revisited: the difference between two estimates", BMJ 2003;326:219). Without a range the
  tiles cover all the data and the change is the scorecard's own test of the latest month
  against the month before. Either way the p-values of the KPIs on the page are adjusted
  together by Benjamini–Hochberg at the configured false discovery rate; medians are not
  tested (as in the scorecard).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from scipy import special

from cxray import stats
from cxray.config import ProgramConfig
from cxray.exceptions import QueryError
from cxray.metrics import data_end, kpis

__all__ = [
    "PRESETS",
    "change_rows",
    "compare_windows",
    "data_through",
    "good_direction",
    "monthly_changes",
    "preset_window",
    "previous_window",
    "unit_label",
]

#: the presets of the filter bar, in order: URL value -> label
PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "quarter": "This quarter",
}

#: activity tables and their time columns (a customer's KPIs rest on their activity)
_ACTIVITY = {
    "responses": "submitted_at",
    "cases": "opened_at",
    "orders": "ordered_at",
    "events": "timestamp",
}


def preset_window(preset: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive first and last day of a preset ending on ``anchor``."""
    if preset == "quarter":
        return dt.date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1), anchor
    days = {"7d": 7, "30d": 30, "90d": 90}.get(preset)
    if days is None:
        raise QueryError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
    return anchor - dt.timedelta(days=days - 1), anchor


def previous_window(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The window of equal length that ends the day before ``start`` (both inclusive)."""
    if end < start:
        raise QueryError(f"the range ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    last = start - dt.timedelta(days=1)
    return last - dt.timedelta(days=days - 1), last


def good_direction(config: ProgramConfig, metric: str) -> str | None:
    """``higher_is_better``, ``lower_is_better``, or None for a KPI without a direction."""
    try:
        return config.direction(metric.split(":", 1)[0])
    except KeyError:
        return None


def unit_label(unit: str | None, metric: str, config: ProgramConfig) -> str:
    """What a KPI's number is counted in, as a tile says it."""
    if metric in config.kpis:  # a KPI defined in config ([kpis.NAME])
        spec = config.kpis[metric]
        if unit == "%":
            return f"% of {spec.table} counted" if spec.kind == "share" else "%"
        if unit == "points" and spec.kind == "nps":
            return "points, −100 to 100"
    if unit == "points":
        return "points, −100 to 100" if metric == "nps" else "points"
    if unit == "%":
        return "% of " + _PERCENT_OF.get(metric.split(":", 1)[0], "cases counted")
    if unit == "score":
        if metric == "ces_mean":
            s = config.scales.ces
            return f"score, {s.min} to {s.max}"
        return "score out of 100"
    if unit == "hours":
        return "hours"
    if unit == "currency":
        return config.program.currency
    return unit or ""


_PERCENT_OF = {
    "csat": "answers in the top box",
    "ces_easy": "answers in the top box",
    "fcr": "resolved cases",
    "completion": "journeys started",
    "abandonment": "journeys started",
    "response_rate": "surveys sent",
    "followup_rate": "follow-ups",
    "sla_met": "follow-ups",
    "recovery_rate": "detractors followed up",
    "churn_rate": "customers",
    "referral_rate": "customers",
}


def _bounds(start: dt.date | None, end: dt.date | None, zone: str) -> tuple[Any, Any]:
    """Local dates as naive UTC times (stored times are naive UTC): [first, after last)."""
    tz = ZoneInfo(zone)

    def utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    return (
        utc(start) if start else None,
        utc(end + dt.timedelta(days=1)) if end else None,
    )


def data_through(
    ws: Any, start: dt.date | None, end: dt.date | None
) -> dict[str, dt.datetime | None]:
    """The last time of the data behind each KPI within the dates (naive UTC; one query per
    table). A customer KPI (churn, CLV, health) rests on the customers' activity: the latest
    of the activity tables. Attribute filters are not applied: it is the table's last row."""
    config: ProgramConfig = ws.config
    lo, hi = _bounds(start, end, config.program.timezone)
    wanted: dict[str, set[str]] = {t: {c} for t, c in _ACTIVITY.items()}
    registry = kpis(config.journeys, surveys=True, loop=True, custom=config.kpis)
    for k in registry:
        if k.table in _ACTIVITY:
            wanted[k.table].add(k.time_column)
    found: dict[tuple[str, str], dt.datetime | None] = {}
    for table, cols in wanted.items():
        t = ws.table(table)
        aggs = {}
        for c in sorted(cols):
            if c not in t.columns:
                continue
            cond = t[c].notnull()
            if lo is not None:
                cond &= t[c] >= lo
            if hi is not None:
                cond &= t[c] < hi
            aggs[c] = t[c].max(where=cond)
        row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0] if aggs else {}
        for c in cols:
            found[(table, c)] = row.get(c)
    activity = [v for (t, c), v in found.items() if v is not None and c == _ACTIVITY.get(t)]
    latest = max(activity) if activity else None
    out: dict[str, dt.datetime | None] = {}
    for k in registry:
        if k.table in _ACTIVITY:
            out[k.name] = found.get((k.table, k.time_column))
        else:
            out[k.name] = latest
    out[""] = latest
    return out


def store_end(ws: Any) -> dt.date | None:
    """The local date of the latest activity in the store: where presets end."""
    end = data_end(ws.table)
    return None if end is None else local_date(end, ws.config.program.timezone)


def local_date(value: dt.datetime, zone: str) -> dt.date:
    return value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).date()


def _se(r: dict[str, Any]) -> float | None:
    if r.get("ci_low") is None or r.get("ci_high") is None:
        return None
    z = float(special.ndtri(0.5 + float(r.get("confidence") or 0.95) / 2))
    return (r["ci_high"] - r["ci_low"]) / (2 * z)


def compare_windows(now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any] | None:
    """The change from ``before`` to ``now`` (two scorecard records of one KPI) with its
    interval and two-sided p-value from their intervals; None when either is suppressed."""
    if before is None or now["suppressed"] or before["suppressed"]:
        return None
    if now["estimate"] is None or before["estimate"] is None:
        return None
    change = now["estimate"] - before["estimate"]
    out = {
        "change": change,
        "before": before["estimate"],
        "now": now["estimate"],
        "low": None,
        "high": None,
        "p": None,
    }
    if "median" in now["metric"]:
        return out  # medians are not tested (as in the scorecard)
    se_a, se_b = _se(now), _se(before)
    if se_a is None or se_b is None:
        return out
    se = math.hypot(se_a, se_b)
    z = float(special.ndtri(0.5 + float(now.get("confidence") or 0.95) / 2))
    out.update(low=change - z * se, high=change + z * se)
    if se > 0:
        out["p"] = float(2.0 * special.ndtr(-abs(change / se)))
    else:
        out["p"] = 1.0 if change == 0 else 0.0
    return out


def monthly_changes(monthly: list[dict[str, Any]]) -> tuple[str | None, dict[str, dict]]:
    """The latest month's change of each KPI from the monthly scorecard (its own test)."""
    labels = sorted({r["period"] for r in monthly if r.get("period")})
    if len(labels) < 2:
        return None, {}
    last = labels[-1]
    out: dict[str, dict[str, Any]] = {}
    for r in monthly:
        if r.get("period") != last or r["change"] is None or r["suppressed"]:
            continue
        out[r["metric"]] = {
            "change": r["change"],
            "before": r["estimate"] - r["change"],
            "now": r["estimate"],
            "low": r["change_ci_low"],
            "high": r["change_ci_high"],
            "p": r["p_value"],
        }
    return last, out


def change_rows(
    changes: dict[str, dict[str, Any]], config: ProgramConfig
) -> dict[str, dict[str, Any]]:
    """Each change with its q-value (Benjamini–Hochberg across the KPIs tested), whether it
    is significant, its arrow and whether it is good or bad for the KPI."""
    tested = [m for m, c in changes.items() if c.get("p") is not None and math.isfinite(c["p"])]
    fdr = stats.benjamini_hochberg([changes[m]["p"] for m in tested], config.measurement.fdr)
    q = dict(zip(tested, fdr.q_values, strict=True))
    reject = dict(zip(tested, fdr.reject, strict=True))
    out = {}
    for metric, c in changes.items():
        direction = good_direction(config, metric)
        change = c["change"]
        better = None
        if direction is not None and change != 0:
            better = (change > 0) == (direction == "higher_is_better")
        significant = bool(reject.get(metric, False))
        out[metric] = {
            **c,
            "q": float(q[metric]) if metric in q else None,
            "tested": metric in q,
            "significant": significant,
            "arrow": "▲" if change > 0 else "▼" if change < 0 else "=",
            "tone": _tone(significant, better),
        }
    return out


def _tone(significant: bool, better: bool | None) -> str:
    """``good`` or ``bad`` for a significant change of a KPI with a direction, ``sig``
    for one without, ``ns`` when not significant."""
    if not significant:
        return "ns"
    if better is None:
        return "sig"
    return "good" if better else "bad"
