"""How numbers, intervals and times read on a page."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = [
    "STATUS_TEXT",
    "fmt_cell",
    "fmt_change",
    "fmt_day",
    "fmt_delta",
    "fmt_interval",
    "fmt_mix_shift",
    "fmt_number",
    "metric_present",
    "metric_table",
]

_SUFFIX = {"%": " %", "hours": " h", "points": "", "score": "", "currency": ""}

STATUS_TEXT = {"on_target": "on target", "watch": "watch", "action": "action", None: "no target"}

#: the table whose rows each KPI rests on (the drill-down behind its number)
_TABLES = {
    "nps": "responses",
    "csat": "responses",
    "ces_mean": "responses",
    "ces_easy": "responses",
    "fcr": "cases",
    "revenue_per_customer": "orders",
    "churn_rate": "customers",
    "completion:surveys": "responses",
    "abandonment:surveys": "responses",
    "response_rate": "responses",
    "referral_rate": "customers",
    "clv": "customers",
    "health": "customers",
}


#: the column a row needs a value in to count towards each KPI (``has=`` of its drill-down)
_PRESENT = {
    "nps": "nps",
    "csat": "csat",
    "ces_mean": "ces",
    "ces_easy": "ces",
    "fcr": "resolved_at",
    "first_response_mean": "first_response_at",
    "first_response_median": "first_response_at",
    "resolution_mean": "resolved_at",
    "resolution_median": "resolved_at",
    "resolution_business_mean": "resolved_at",
    "resolution_business_median": "resolved_at",
}


def metric_present(metric: str, config: Any = None) -> str | None:
    """The column a row of the KPI's table must fill to be counted (None: every row)."""
    if config is not None and metric in config.kpis:  # a KPI defined in config: its value,
        value = config.kpis[metric].value.strip()  # when that is a bare column
        return value if value.isidentifier() else None
    return _PRESENT.get(metric)


def metric_table(metric: str, config: Any = None) -> str:
    if config is not None and metric in config.kpis:
        return str(config.kpis[metric].table)
    if metric in _TABLES:
        return _TABLES[metric]
    if metric.startswith(("first_response", "resolution")):
        return "cases"
    if metric.startswith(("completion:", "abandonment:")):
        return "events"
    return "responses"


def fmt_number(value: float | None, unit: str | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}{_SUFFIX.get(unit or '', '')}"


def fmt_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:,.1f}, {high:,.1f}]"


def fmt_change(value: float | None) -> str:
    return "" if value is None else f"{value:+,.1f}"


#: a change of a KPI in its unit: a % KPI changes by percentage points
_DELTA = {"points": " points", "%": " points", "hours": " h", "score": "", "currency": ""}


def fmt_delta(value: float | None, unit: str | None = None, currency: str | None = None) -> str:
    """A change with its sign (U+2212 for minus) and unit; shares change in points."""
    if value is None:
        return ""
    digits = 2 if unit == "score" and abs(value) < 1 else 1
    text = f"{value:+,.{digits}f}".replace("-", "\u2212")
    if unit == "currency":
        return f"{text} {currency}" if currency else text
    return text + _DELTA.get(unit or "", "")


def fmt_day(value: dt.date | dt.datetime | None) -> str:
    """A day as people read it: 31 Oct 2026."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def fmt_mix_shift(segments: list[dict[str, Any]], by: str, metric: str) -> list[dict[str, str]]:
    """The rows of a mix shift as people read them: labelled columns, answers with thousands
    separators, shares in % and scores with one decimal, contributions in points with two
    (they are often below one), the largest contribution (either sign) first."""
    score = "NPS" if metric == "nps" else "CSAT %"

    def num(value: Any, text: str) -> str:
        return "—" if value is None or value != value else text.format(value)

    rows = sorted(segments, key=lambda s: -abs(float(s.get("total") or 0.0)))
    return [
        {
            by: str(s["segment"]),
            "answers before": num(s["n_before"], "{:,.0f}"),
            "answers after": num(s["n_after"], "{:,.0f}"),
            "share before": num(s["share_before"] * 100, "{:.1f} %"),
            "share after": num(s["share_after"] * 100, "{:.1f} %"),
            f"{score} before": num(s["score_before"], "{:.1f}"),
            f"{score} after": num(s["score_after"], "{:.1f}"),
            "from the mix": _points(s["mix"]),
            "from scores": _points(s["rate"]),
            "contribution": _points(s["total"]),
        }
        for s in rows
    ]


def _points(value: Any) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:+.2f}".replace("-", "\u2212")


def fmt_cell(value: Any) -> str:
    """A value of a row as a table cell shows it (times in UTC, as stored)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") + " UTC"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"
