"""Explaining a change (mix shift) and planning a sample, from the data in the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from cxray import stats
from cxray.config import ProgramConfig
from cxray.exceptions import MetricError
from cxray.metrics._context import Context, TableSource, parse_when, unlabel
from cxray.metrics._engine import compute
from cxray.metrics._registry import get_kpi

__all__ = ["mix_shift", "plan_sample_size"]

Shiftable = Literal["nps", "csat"]


def _window(value: Sequence[Any], what: str) -> tuple[dt.datetime, dt.datetime]:
    if len(value) != 2:
        raise MetricError(f"{what} must be (start, end)")
    start = parse_when(value[0], f"{what} start")
    end = parse_when(value[1], f"{what} end")
    if start is None or end is None:
        raise MetricError(f"{what} needs both a start and an end date")
    if not isinstance(value[1], dt.datetime) and "T" not in str(value[1]):
        end = end + dt.timedelta(days=1)  # a date is inclusive
    return start, end


def _scores(
    tables: TableSource, config: ProgramConfig, metric: str, by: str, window: Any, what: str
) -> dict[Any, tuple[int, float]]:
    start, end = _window(window, what)
    ctx = Context(tables, config, start=start, end=end, by=(by,))
    ctx.check_attributes()
    out = {}
    for cell in compute(get_kpi(metric), ctx):
        a = cell.agg
        if metric == "nps":
            n = int(a["_p"] + a["_q"] + a["_d"])
            score = 100.0 * (a["_p"] - a["_d"]) / n if n else float("nan")
        else:
            n = int(a["_n"])
            score = 100.0 * a["_x"] / n if n else float("nan")
        if n:
            out[unlabel(cell.keys[0])] = (n, score)
    return out


def mix_shift(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: str,
    before: Sequence[Any],
    after: Sequence[Any],
    metric: Shiftable = "nps",
) -> stats.MixShift:
    """Split the change of NPS (or CSAT top box) between two windows into mix and rate.

    ``before`` and ``after`` are ``(start, end)`` dates (inclusive). Segments
    are the values of attribute ``by``; a missing value is its own segment.
    """
    if metric not in ("nps", "csat"):
        raise MetricError(f"mix shift is for 'nps' or 'csat', not {metric!r}")
    b = _scores(tables, config, metric, by, before, "before")
    a = _scores(tables, config, metric, by, after, "after")
    if not a or not b:
        raise MetricError(f"no {metric} answers in the {'before' if not b else 'after'} window")
    segments = sorted(set(a) | set(b), key=lambda x: (x is None, str(x)))
    labels = ["(missing)" if s is None else s for s in segments]
    return stats.mix_shift(
        labels,
        [b.get(s, (0, 0.0))[0] for s in segments],
        [b.get(s, (0, float("nan")))[1] for s in segments],
        [a.get(s, (0, 0.0))[0] for s in segments],
        [a.get(s, (0, float("nan")))[1] for s in segments],
        metric="NPS" if metric == "nps" else "CSAT top box",
    )


def plan_sample_size(
    tables: TableSource,
    config: ProgramConfig,
    *,
    delta_points: float,
    metric: Shiftable = "nps",
    alpha: float = 0.05,
    power: float = 0.8,
    start: Any = None,
    end: Any = None,
) -> stats.PowerPlan:
    """Responses per group needed to detect a change of ``delta_points``, from today's shares.

    The baseline (promoter and detractor shares, or the CSAT top-box share)
    is measured over the window ``start``–``end`` (default: all data).
    """
    stop = parse_when(end, "end")
    if stop is not None and not (isinstance(end, dt.datetime) or "T" in str(end)):
        stop += dt.timedelta(days=1)  # a date is inclusive
    ctx = Context(tables, config, start=parse_when(start, "start"), end=stop)
    cells = compute(get_kpi(metric), ctx)
    if not cells:
        raise MetricError(f"no {metric} answers to take a baseline from")
    a = cells[0].agg
    if metric == "nps":
        n = a["_p"] + a["_q"] + a["_d"]
        return stats.nps_sample_size(
            a["_p"] / n, a["_d"] / n, delta_points, alpha=alpha, power=power
        )
    if metric == "csat":
        return stats.proportion_sample_size(
            a["_x"] / a["_n"], delta_points, alpha=alpha, power=power
        )
    raise MetricError(f"sample-size planning is for 'nps' or 'csat', not {metric!r}")
