"""The digest's charts as PNG images (matplotlib, the Agg canvas: no display needed).

Each function returns the PNG's bytes, or ``None`` when the section has nothing to draw.
"""

from __future__ import annotations

import io
import math
from typing import Any

from cxray.reports._digest import Digest

__all__ = ["charts"]

_BLUE, _GREY = "#0b5cad", "#8c959f"
DPI = 110


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _figure(width: float = 6.4, height: float = 2.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def headline_trend(digest: Digest) -> bytes | None:
    """The headline KPI (NPS when measured) over the periods up to the digest's, with its
    intervals."""
    s = digest.section("kpis")
    if not s.available or not s.data.get("trend"):
        return None
    trend = s.data["trend"]
    measured = [r["metric"] for r in s.data["rows"] if r["estimate"] is not None]
    metric = "nps" if "nps" in measured else (measured[0] if measured else None)
    points = [p for p in trend.get(metric, []) if _ok(p["estimate"])] if metric else []
    if len(points) < 2:
        return None
    title = next(r["title"] for r in s.data["rows"] if r["metric"] == metric)
    fig, ax = _figure()
    xs = list(range(len(points)))
    ys = [p["estimate"] for p in points]
    lo = [p["ci_low"] if _ok(p["ci_low"]) else p["estimate"] for p in points]
    hi = [p["ci_high"] if _ok(p["ci_high"]) else p["estimate"] for p in points]
    ax.fill_between(xs, lo, hi, color=_BLUE, alpha=0.15, linewidth=0)
    ax.plot(xs, ys, color=_BLUE, marker="o", markersize=4)
    ax.scatter([xs[-1]], [ys[-1]], color="#cf222e", zorder=3, s=30)
    ax.set_xticks(xs, [str(p["period"]) for p in points], rotation=30, ha="right", fontsize=7)
    ax.set_title(f"{title} by {digest.period.granularity} (95% interval)", fontsize=9)
    return _png(fig)


def kpi_changes(digest: Digest) -> bytes | None:
    """Each KPI's change from the previous period in standard errors (the test statistic,
    so KPIs of different units share one axis); significant after BH in red."""
    s = digest.section("kpis")
    if not s.available:
        return None
    rows = []
    for r in s.data["rows"]:
        lo, hi, c = r.get("change_ci_low"), r.get("change_ci_high"), r.get("change")
        if _ok(c) and _ok(lo) and _ok(hi) and hi > lo:
            rows.append((r, c / ((hi - lo) / (2 * 1.959964))))
    if not rows:
        return None
    rows = rows[:14]
    fig, ax = _figure(6.4, 0.3 * len(rows) + 1.0)
    ys = list(range(len(rows)))[::-1]
    for y, (r, z) in zip(ys, rows, strict=True):
        colour = "#cf222e" if r.get("significant") else _BLUE
        ax.barh([y], [z], color=colour, height=0.6)
    for x in (-1.96, 1.96):
        ax.axvline(x, color=_GREY, linewidth=0.8, linestyle="--")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(ys, [str(r["title"])[:40] for r, _ in rows], fontsize=7)
    ax.set_xlabel("change from the previous period, in standard errors", fontsize=7)
    ax.set_title("KPI changes (red: significant after Benjamini-Hochberg)", fontsize=9)
    return _png(fig)


def _bars(rows: list[dict[str, Any]], label: str, value: str, title: str, scale: float = 1.0):
    rows = [r for r in rows if _ok(r.get(value))]
    if not rows:
        return None
    fig, ax = _figure(6.4, 0.35 * len(rows) + 0.9)
    ys = list(range(len(rows)))[::-1]
    vals = [r[value] * scale for r in rows]
    ax.barh(ys, vals, color=_BLUE, height=0.6)
    ax.set_yticks(ys, [str(r[label])[:40] for r in rows], fontsize=7)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def charts(digest: Digest) -> dict[str, bytes]:
    """Every chart the digest has data for, by name."""
    out: dict[str, bytes | None] = {
        "trend": headline_trend(digest),
        "changes": kpi_changes(digest),
    }
    d = digest.section("drivers")
    if d.available:
        out["drivers"] = _bars(d.data["rows"], "driver", "share", "Share of explained NPS (%)")
    t = digest.section("themes")
    if t.available:
        out["themes"] = _bars(t.data["rows"], "theme", "share", "Share of comments (%)", 100.0)
    return {k: v for k, v in out.items() if v is not None}
