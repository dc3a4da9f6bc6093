"""Report periods, schedule times and the [reports] config: pure date arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray.config import ProgramConfig
from cxray.config._reports import parse_every, resolve_period
from cxray.exceptions import ConfigError
from cxray.reports import due_runs, next_run
from cxray.reports._schedule import latest_run

D = dt.date


def test_last_week_is_the_monday_to_sunday_before_todays_week():
    p = resolve_period("last-week", D(2026, 6, 10))  # a Wednesday
    assert (p.start, p.end) == (D(2026, 6, 1), D(2026, 6, 7))
    assert (p.previous_start, p.previous_end) == (D(2026, 5, 25), D(2026, 5, 31))
    assert p.granularity == "week" and p.label == "2026-W23" and p.days == 7
    # seen from a Monday, it is the week that just ended
    assert resolve_period("last-week", D(2026, 6, 8)).start == D(2026, 6, 1)


def test_months_and_quarters_cross_year_ends():
    m = resolve_period("last-month", D(2026, 1, 14))
    assert (m.start, m.end, m.previous_start, m.previous_end) == (
        D(2025, 12, 1), D(2025, 12, 31), D(2025, 11, 1), D(2025, 11, 30))  # fmt: skip
    q = resolve_period("last-quarter", D(2026, 2, 1))
    assert (q.label, q.start, q.end) == ("2025-Q4", D(2025, 10, 1), D(2025, 12, 31))
    assert (q.previous_start, q.previous_end) == (D(2025, 7, 1), D(2025, 9, 30))
    q3 = resolve_period("2026-Q3", D(2000, 1, 1))
    assert (q3.start, q3.end, q3.granularity) == (D(2026, 7, 1), D(2026, 9, 30), "quarter")
    feb = resolve_period("2028-02", D(2000, 1, 1))  # a leap year
    assert (feb.end, feb.previous_start) == (D(2028, 2, 29), D(2028, 1, 1))


def test_a_free_range_is_compared_with_the_range_of_equal_length_before_it():
    p = resolve_period("2026-10-01..2026-10-31", D(2000, 1, 1))
    assert p.granularity is None and p.days == 31
    assert (p.previous_start, p.previous_end) == (D(2026, 8, 31), D(2026, 9, 30))


@pytest.mark.parametrize(
    "bad, says",
    [
        ("next-week", "not understood"),
        ("2026-10-31..2026-10-01", "ends (2026-10-01) before it starts"),
        ("2026-13", "no month 13"),
        ("2026-10-01..soon", "dates are YYYY-MM-DD"),
    ],
)
def test_bad_periods_say_what_is_wrong(bad, says):
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        resolve_period(bad, D(2026, 1, 1))


def test_every_is_parsed_or_refused_with_its_location():
    assert parse_every("monday 08:00") == ("weekly", 0, 8, 0)
    assert parse_every("every sunday 23:59") == ("weekly", 6, 23, 59)
    assert parse_every("daily 7:05") == ("daily", None, 7, 5)
    assert parse_every("monthly 1 08:30") == ("monthly", 1, 8, 30)
    for bad in ("mondays 08:00", "monday 25:00", "monthly 31 08:00", ""):
        with pytest.raises(ValueError):
            parse_every(bad)
    with pytest.raises(Exception, match=r"reports.weekly.every"):
        ProgramConfig.model_validate({"reports": {"weekly": {"every": "fortnightly"}}})
    with pytest.raises(Exception, match=r"reports.weekly.to"):
        ProgramConfig.model_validate(
            {"reports": {"weekly": {"every": "monday 08:00", "to": ["not-an-address"]}}}
        )


def test_an_unknown_key_in_a_schedule_is_an_error(tmp_path):
    from cxray.config import load_program_config

    p = tmp_path / "cxray.toml"
    p.write_text('[reports.weekly]\nevery = "monday 08:00"\nsend_to = ["a@b.co"]\n')
    with pytest.raises(ConfigError, match="send_to"):
        load_program_config(p)


def test_latest_and_next_runs():
    T = dt.datetime
    # Wednesday 10 June 2026, 12:00: the last Monday 08:00 was 8 June; the next is 15 June
    now = T(2026, 6, 10, 12, 0)
    assert latest_run("monday 08:00", now) == T(2026, 6, 8, 8, 0)
    assert next_run("monday 08:00", now) == T(2026, 6, 15, 8, 0)
    # on the minute itself the run is due; a minute before, last week's is the latest
    assert latest_run("monday 08:00", T(2026, 6, 8, 8, 0)) == T(2026, 6, 8, 8, 0)
    assert latest_run("monday 08:00", T(2026, 6, 8, 7, 59)) == T(2026, 6, 1, 8, 0)
    assert next_run("monday 08:00", T(2026, 6, 8, 8, 0)) == T(2026, 6, 15, 8, 0)
    assert latest_run("daily 07:00", T(2026, 6, 10, 6, 0)) == T(2026, 6, 9, 7, 0)
    assert next_run("daily 07:00", T(2026, 6, 10, 6, 0)) == T(2026, 6, 10, 7, 0)
    assert latest_run("monthly 1 08:00", T(2026, 1, 1, 7, 0)) == T(2025, 12, 1, 8, 0)
    assert next_run("monthly 1 08:00", T(2026, 12, 1, 8, 0)) == T(2027, 1, 1, 8, 0)


def test_due_runs_skip_disabled_schedules():
    c = ProgramConfig.model_validate({"reports": {
        "weekly": {"every": "monday 08:00"},
        "monthly": {"every": "monthly 1 08:00", "period": "last-month", "enabled": False},
    }})  # fmt: skip
    due = due_runs(c.reports, dt.datetime(2026, 6, 10, 12, 0))
    assert [(n, when) for n, _, when in due] == [("weekly", dt.datetime(2026, 6, 8, 8, 0))]
