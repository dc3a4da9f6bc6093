"""The demo world's calendar: the period, its months, and times as float days."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np

from cxray.demo._arrow import DAY_US

__all__ = ["DEFAULT_END", "Calendar", "add_months"]

#: the last day of the default world, fixed so that the default world never changes
DEFAULT_END = dt.date(2026, 10, 31)
_EPOCH = dt.date(1970, 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the end of a shorter month."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, eq=False)
class Calendar:
    """The simulated period. Times inside the simulation are float days since ``start``."""

    start: dt.date
    #: the last day of the period (inclusive)
    end: dt.date
    months: int
    #: length of the period in days
    days: int
    #: first day of each period month as a day offset; ``months + 1`` entries
    month_start: np.ndarray
    #: calendar month (1–12) of each day of the period
    day_moy: np.ndarray
    #: period month index of each day of the period
    day_month: np.ndarray
    #: the period month in which the product fault happens
    fault_month: int

    @classmethod
    def build(cls, end: dt.date, months: int, fault_month: int) -> Calendar:
        stop = end + dt.timedelta(days=1)
        start = add_months(stop, -months)
        days = (stop - start).days
        firsts = [add_months(start, k) for k in range(months)] + [stop]
        month_start = np.array([(d - start).days for d in firsts], dtype=np.int64)
        day_month = np.repeat(np.arange(months), np.diff(month_start))
        dates = np.arange(np.datetime64(start), np.datetime64(stop), dtype="datetime64[D]")
        day_moy = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
        return cls(start, end, months, days, month_start, day_moy, day_month, fault_month)

    @property
    def start_us(self) -> int:
        return (self.start - _EPOCH).days * DAY_US

    @property
    def fault_window(self) -> tuple[float, float]:
        """Start and end (float days) of the fault month."""
        m = self.fault_month
        return float(self.month_start[m]), float(self.month_start[m + 1])

    def month_date(self, index: int) -> dt.date:
        return add_months(self.start, index)

    def moy(self, t: np.ndarray) -> np.ndarray:
        """Calendar month (1–12) of float-day times inside the period."""
        return self.day_moy[
            np.clip(np.asarray(t, dtype=np.float64), 0, self.days - 1).astype(np.int64)
        ]

    def micros(self, t: np.ndarray) -> np.ndarray:
        """Float days to int64 microseconds since the epoch, truncated to whole seconds."""
        seconds = np.floor(np.asarray(t, dtype=np.float64) * 86_400.0).astype(np.int64)
        return self.start_us + seconds * 1_000_000
