"""``[reports.NAME]`` in ``cxray.toml``: executive digests that ``cxray serve`` sends on a schedule.

::

    [reports.weekly]
    every = "monday 08:00"          # daily HH:MM | <weekday> HH:MM | monthly D HH:MM
    period = "last-week"            # last-week | last-month | last-quarter | YYYY-Qn | A..B
    format = "pdf"                  # pdf | html | md
    to = ["cx-lead@example.com"]
    pii = false                     # personal data masked unless true

Times are in ``[program] timezone``. A run is due at each occurrence of ``every``; the
period is resolved on the day of that occurrence (``last-week`` of Monday 8 June is the
week of 1-7 June), and a digest already archived for that schedule and period is not sent
again (``docs/reports.md``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["WEEKDAYS", "ReportPeriod", "ReportSchedule", "parse_every", "resolve_period"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PERIOD_HINT = "use last-week, last-month, last-quarter, YYYY-Qn, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD"


@dataclass(frozen=True)
class ReportPeriod:
    """The days a digest covers and the days it is compared with (both inclusive).

    ``granularity`` is the scorecard's period (``week``, ``month``, ``quarter``) when the
    period is one calendar week, month or quarter; ``None`` for a free range."""

    label: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    granularity: str | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat(),
            "previous_end": self.previous_end.isoformat(),
            "granularity": self.granularity,
        }


def _month_start(year: int, month: int) -> dt.date:
    return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _quarter(year: int, q: int) -> ReportPeriod:
    start = _month_start(year, 3 * (q - 1) + 1)
    end = _month_start(year, 3 * q + 1) - dt.timedelta(days=1)
    pq, py = (q - 1, year) if q > 1 else (4, year - 1)
    prev = _quarter_days(py, pq)
    return ReportPeriod(f"{year}-Q{q}", start, end, prev[0], prev[1], "quarter")


def _quarter_days(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = _month_start(year, 3 * (q - 1) + 1)
    return start, _month_start(year, 3 * q + 1) - dt.timedelta(days=1)


def _month(year: int, month: int) -> ReportPeriod:
    start = _month_start(year, month)
    end = _month_start(year, month + 1) - dt.timedelta(days=1)
    prev_start = _month_start(year, month - 1)
    return ReportPeriod(
        f"{start:%Y-%m}", start, end, prev_start, start - dt.timedelta(days=1), "month"
    )


def resolve_period(text: str, today: dt.date) -> ReportPeriod:
    """The period ``text`` names, seen from ``today`` (``last-week``: the whole Monday to
    Sunday week before today's). A clear error says what is wrong."""
    t = str(text).strip()
    low = t.lower()
    if low == "last-week":
        start = today - dt.timedelta(days=today.weekday() + 7)
        end = start + dt.timedelta(days=6)
        iso = start.isocalendar()
        return ReportPeriod(
            f"{iso[0]}-W{iso[1]:02d}",
            start,
            end,
            start - dt.timedelta(days=7),
            start - dt.timedelta(days=1),
            "week",
        )
    if low == "last-month":
        return (
            _month(today.year, today.month - 1) if today.month > 1 else _month(today.year - 1, 12)
        )
    if low == "last-quarter":
        q = (today.month - 1) // 3 + 1
        return _quarter(today.year, q - 1) if q > 1 else _quarter(today.year - 1, 4)
    if m := _QUARTER.match(t):
        return _quarter(int(m.group(1)), int(m.group(2)))
    if m := _MONTH.match(t):
        if not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"period {text!r}: no month {m.group(2)}")
        return _month(int(m.group(1)), int(m.group(2)))
    if ".." in t:
        a, _, b = t.partition("..")
        try:
            start, end = dt.date.fromisoformat(a.strip()), dt.date.fromisoformat(b.strip())
        except ValueError:
            raise ValueError(f"period {text!r}: dates are YYYY-MM-DD; {PERIOD_HINT}") from None
        if end < start:
            raise ValueError(f"period {text!r}: ends ({end}) before it starts ({start})")
        days = (end - start).days + 1
        prev_end = start - dt.timedelta(days=1)
        return ReportPeriod(
            f"{start}..{end}", start, end, prev_end - dt.timedelta(days=days - 1), prev_end, None
        )
    raise ValueError(f"period {text!r} is not understood; {PERIOD_HINT}")


def parse_every(text: str) -> tuple[str, int | None, int, int]:
    """``every`` as (kind, day, hour, minute): kind ``daily`` (day None), ``weekly`` (day
    0-6, Monday 0) or ``monthly`` (day 1-28). A clear error names what is wrong."""
    parts = str(text).strip().lower().split()
    if parts and parts[0] == "every":
        parts = parts[1:]
    hint = "write 'daily 07:00', 'monday 08:00' or 'monthly 1 08:00'"
    if not parts:
        raise ValueError(f"every = {text!r}: empty; {hint}")
    kind: str
    day: int | None
    if parts[0] == "daily" and len(parts) == 2:
        kind, day, clock = "daily", None, parts[1]
    elif parts[0] in WEEKDAYS and len(parts) == 2:
        kind, day, clock = "weekly", WEEKDAYS.index(parts[0]), parts[1]
    elif parts[0] == "monthly" and len(parts) == 3:
        if not parts[1].isdigit() or not 1 <= int(parts[1]) <= 28:
            raise ValueError(f"every = {text!r}: the day of the month must be 1-28")
        kind, day, clock = "monthly", int(parts[1]), parts[2]
    else:
        raise ValueError(f"every = {text!r}: not understood; {hint}")
    m = _TIME.match(clock)
    if m is None:
        raise ValueError(f"every = {text!r}: {clock!r} is not a time HH:MM (24-hour)")
    return kind, day, int(m.group(1)), int(m.group(2))


class ReportSchedule(BaseModel):
    """One scheduled digest: when, which period, which format, to whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: str
    period: str = "last-week"
    format: Literal["pdf", "html", "md"] = "pdf"
    to: tuple[str, ...] = ()
    #: personal data shown as stored (the ``pii`` permission); masked otherwise
    pii: bool = False
    enabled: bool = True

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_every(v)
        return v

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        resolve_period(v, dt.date(2000, 1, 1))
        return v

    @field_validator("to")
    @classmethod
    def _to(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for i, a in enumerate(v):
            if not _EMAIL.match(a.strip()):
                raise ValueError(f"to[{i}] = {a!r} is not an e-mail address")
        return tuple(a.strip() for a in v)
