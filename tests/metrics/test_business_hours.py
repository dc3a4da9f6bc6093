"""Time to resolution in business hours: exact hand-made cases and a brute-force reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxray.config import ProgramConfig
from cxray.metrics import Context, business_hours
from cxray.workspace import Workspace

# 2026-05-01 is a Friday
FRI = dt.datetime(2026, 5, 1)
CASES = [
    # (opened, resolved, business hours) with 09:00-17:00, Monday to Friday, UTC
    ("fri-close-to-mon", FRI.replace(hour=17), FRI + dt.timedelta(days=3, hours=10), 1.0),
    ("fri-16-to-mon-10", FRI.replace(hour=16), FRI + dt.timedelta(days=3, hours=10), 2.0),
    ("same-day", FRI.replace(hour=10, minute=30), FRI.replace(hour=15), 4.5),
    ("before-open-after-close", FRI.replace(hour=7), FRI.replace(hour=20), 8.0),
    ("weekend-only", FRI + dt.timedelta(days=1, hours=10), FRI + dt.timedelta(days=2, hours=18), 0),
    ("a-full-week", FRI.replace(hour=9), FRI + dt.timedelta(days=7, hours=9), 40.0),
    ("instant", FRI.replace(hour=12), FRI.replace(hour=12), 0.0),
    ("night-to-night", FRI.replace(hour=18), FRI + dt.timedelta(days=4, hours=2), 8.0),
]


def _ws(tmp_path, rows, toml=""):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(toml, encoding="utf-8")
    ws = Workspace.open(tmp_path / "bh.duckdb", cfg)
    frame = pd.DataFrame(
        {
            "case_id": [str(i) for i in range(len(rows))],
            "opened_at": [a.isoformat() + "Z" for a, _ in rows],
            "resolved_at": [b.isoformat() + "Z" for _, b in rows],
        }
    )
    ws.import_frame("cases", frame)
    return ws


def _hours(ws) -> list[float]:
    ctx = Context(ws.table, ws.config)
    t = ws.table("cases")
    out = t.select(t.case_id, h=business_hours(ctx, t.opened_at, t.resolved_at)).to_pandas()
    return out.sort_values("case_id", key=lambda s: s.astype(int)).h.tolist()


def test_hand_made_cases(tmp_path):
    with _ws(tmp_path, [(a, b) for _, a, b, _ in CASES]) as ws:
        got = _hours(ws)
    for (name, *_, expected), value in zip(CASES, got, strict=True):
        assert value == pytest.approx(expected, abs=1e-9), name


def test_holidays_days_and_hours(tmp_path):
    toml = """
[business_hours]
start = "08:30"
end = "12:00"
days = ["mon", "tue", "wed", "thu", "fri", "sat"]
holidays = ["2026-05-05", "2026-05-10"]   # a Tuesday, and a Sunday (closed anyway)
"""
    rows = [
        # Mon 2026-05-04 11:00 -> Wed 09:00: Mon 1 h, Tue holiday, Wed 0.5 h
        (dt.datetime(2026, 5, 4, 11), dt.datetime(2026, 5, 6, 9)),
        # Fri 12:00 -> Mon 08:30: only Saturday, 3.5 h
        (dt.datetime(2026, 5, 8, 12), dt.datetime(2026, 5, 11, 8, 30)),
        # the holiday itself
        (dt.datetime(2026, 5, 5, 9), dt.datetime(2026, 5, 5, 11)),
    ]
    with _ws(tmp_path, rows, toml) as ws:
        assert _hours(ws) == pytest.approx([1.5, 3.5, 0.0], abs=1e-9)


def test_calendar_time_zone(tmp_path):
    """09:00-17:00 in New York: stored UTC times are converted, summer time included."""
    toml = '[business_hours]\ntimezone = "America/New_York"\n'
    rows = [
        # Mon 2026-07-06 12:00 UTC = 08:00 EDT -> 14:00 UTC = 10:00 EDT: 1 h
        (dt.datetime(2026, 7, 6, 12), dt.datetime(2026, 7, 6, 14)),
        # Mon 2026-01-05 21:00 UTC = 16:00 EST -> Tue 15:00 UTC = 10:00 EST: 1 + 1 h
        (dt.datetime(2026, 1, 5, 21), dt.datetime(2026, 1, 6, 15)),
    ]
    with _ws(tmp_path, rows, toml) as ws:
        assert _hours(ws) == pytest.approx([1.0, 2.0], abs=1e-9)


def reference(a: dt.datetime, b: dt.datetime, start=9, end=17, days=range(5), holidays=()):
    """Business hours by walking the days one by one."""
    total = 0.0
    d = a.date()
    while d <= b.date():
        if d.weekday() in days and d not in holidays:
            lo = max(a, dt.datetime.combine(d, dt.time(start)))
            hi = min(b, dt.datetime.combine(d, dt.time(end)))
            total += max((hi - lo).total_seconds(), 0.0) / 3600
        d += dt.timedelta(days=1)
    return total


def test_random_intervals_match_a_day_by_day_walk(tmp_path):
    rng = np.random.default_rng(7)
    base = dt.datetime(2025, 12, 1)
    rows = []
    for _ in range(300):
        a = base + dt.timedelta(seconds=int(rng.integers(0, 90 * 86400)))
        rows.append((a, a + dt.timedelta(seconds=int(rng.integers(0, 30 * 86400)))))
    holidays = (dt.date(2025, 12, 25), dt.date(2026, 1, 1), dt.date(2026, 1, 3))
    toml = '[business_hours]\nholidays = ["2025-12-25", "2026-01-01", "2026-01-03"]\n'
    with _ws(tmp_path, rows, toml) as ws:
        got = _hours(ws)
    expected = [reference(a, b, holidays=holidays) for a, b in rows]
    assert got == pytest.approx(expected, abs=1e-9)


def test_scorecard_kpis(tmp_path):
    rows = [(a, b) for _, a, b, _ in CASES]
    with _ws(tmp_path, rows, "[measurement]\nmin_n = 1\n") as ws:
        card = ws.scorecard(metrics=["resolution_business_mean", "resolution_business_median"])
        values = [h for *_, h in CASES]
        mean = card.get("resolution_business_mean").result
        median = card.get("resolution_business_median").result
        assert mean.n == len(values) and mean.estimate == pytest.approx(np.mean(values))
        assert median.estimate == pytest.approx(np.median(values))
        calendar = card.get("resolution_business_mean")
        assert calendar.status is None  # no default target
    assert ProgramConfig().direction("resolution_business_median") == "lower_is_better"
