"""When scheduled digests fall due, and the timer inside ``cxray serve`` that sends them.

``every`` is read in ``[program] timezone``. At each check, each enabled schedule owes the
digest of its latest occurrence at or before now (a run missed while the server was down
is made up at its start, once); the archive says whether that period's digest has gone
already (``Reports.run_schedule``), so a restart never sends it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from cxray._background import Background
from cxray.config._reports import ReportSchedule, parse_every

__all__ = ["CHECK_EVERY", "ReportScheduler", "due_runs", "latest_run", "next_run"]

log = logging.getLogger("cxray.reports")

#: seconds between two looks at the schedules inside ``cxray serve``
CHECK_EVERY = 60.0


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def latest_run(every: str, now: dt.datetime) -> dt.datetime:
    """The latest occurrence of ``every`` at or before ``now`` (naive local times)."""
    kind, day, hour, minute = parse_every(every)
    today = now.date()
    if kind == "daily":
        at = _at(today, hour, minute)
        return at if at <= now else at - dt.timedelta(days=1)
    if kind == "weekly":
        assert day is not None
        d = today - dt.timedelta(days=(today.weekday() - day) % 7)
        at = _at(d, hour, minute)
        return at if at <= now else at - dt.timedelta(days=7)
    assert day is not None
    at = _at(today.replace(day=day), hour, minute)
    if at <= now:
        return at
    m = today.month - 2
    return _at(dt.date(today.year + m // 12, m % 12 + 1, day), hour, minute)


def next_run(every: str, after: dt.datetime) -> dt.datetime:
    """The first occurrence of ``every`` strictly after ``after`` (naive local times)."""
    kind, day, hour, minute = parse_every(every)
    last = latest_run(every, after)
    if kind == "daily":
        return last + dt.timedelta(days=1)
    if kind == "weekly":
        return last + dt.timedelta(days=7)
    assert day is not None
    m = last.month
    return _at(dt.date(last.year + m // 12, m % 12 + 1, day), hour, minute)


def due_runs(
    schedules: dict[str, ReportSchedule], now: dt.datetime
) -> list[tuple[str, ReportSchedule, dt.datetime]]:
    """Each enabled schedule with the occurrence it owes at ``now`` (local time)."""
    return [(n, s, latest_run(s.every, now)) for n, s in schedules.items() if s.enabled]


class ReportScheduler(Background):
    """The schedule inside ``cxray serve``: one daemon thread that looks at the
    ``[reports.NAME]`` schedules at start and every :data:`CHECK_EVERY` seconds and makes,
    archives and e-mails what is owed. A failure is logged and tried again at the next
    look (the archive remembers what went)."""

    def __init__(self, reports: Any, *, every: float = CHECK_EVERY, settings: Any = None):
        super().__init__(
            "cxray-reports", every=every, log=log, failed="reports: the scheduled check failed"
        )
        self.reports = reports
        self.settings = settings
        #: looks done and digests sent (``failures``: digests and looks that failed)
        self.checks = 0
        self.sent = 0

    def now(self) -> dt.datetime:
        zone = ZoneInfo(self.reports().config.program.timezone)
        return dt.datetime.now(zone).replace(tzinfo=None)

    def check(self, now: dt.datetime | None = None) -> list[Any]:
        """One look: every owed digest made and sent; what went."""
        reports = self.reports()
        now = now or self.now()
        out = []
        for name, schedule, occurrence in due_runs(reports.config.reports, now):
            try:
                r = reports.run_schedule(name, schedule, occurrence, settings=self.settings)
            except Exception:
                self.failures += 1
                log.exception("reports: the scheduled digest %r failed", name)
                continue
            if r is not None:
                self.sent += 1
                out.append(r)
                log.info("reports: digest %s of %s sent (%s)", r.report_id, r.period, name)
        self.checks += 1
        return out

    def tick(self) -> None:
        self.check()
