"""What every KPI query needs: the tables, the config, the window, periods and slices.

All of it is built from portable Ibis expressions: local time is a ``CASE``
over the time zone's UTC offsets in the data's years (computed here from the
IANA database), periods are ``truncate``, and slices are joins on
``customer_id``; no backend-specific SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from cxray.config import ProgramConfig
from cxray.exceptions import MetricError, UnknownAttributeError

__all__ = [
    "NULL_LABEL",
    "PERIODS",
    "TIME_TABLES",
    "Context",
    "TableSource",
    "parse_when",
    "period_label",
    "utc_offsets",
]

TableSource = Callable[[str], ibis.Table]

#: Ibis truncation unit and label of each period
PERIODS = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}

#: the label a missing slice value has inside a query (``None`` in results)
NULL_LABEL = "\u2400missing"

#: derived slice: the customer's latest NPS answer as promoter / passive / detractor
NPS_GROUP = "nps_group"

TIME_TABLES = {
    "responses": "submitted_at",
    "cases": "opened_at",
    "orders": "ordered_at",
    "events": "timestamp",
    "customers": "created_at",
}


def parse_when(value: str | dt.date | dt.datetime | None, what: str) -> dt.datetime | None:
    """A date or date-time from the user, as a naive local date-time."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        parsed = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise MetricError(
            f"{what} {value!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    return parsed.replace(tzinfo=None)


def period_label(start: dt.date, period: str) -> str:
    """``2026-05-04`` (day, week: the Monday), ``2026-05`` (month), ``2026-Q2`` (quarter)."""
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    return start.isoformat()


def utc_offsets(zone: str, first_year: int, last_year: int) -> list[tuple[dt.datetime, int]]:
    """``[(utc_from, offset_seconds), ...]``: the zone's UTC offset from each change on."""
    tz = ZoneInfo(zone)
    t = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(hours=1)

    def offset(when: dt.datetime) -> int:
        return int(when.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    out = [(t.replace(tzinfo=None), offset(t))]
    while t < end:
        nxt = t + step
        if offset(nxt) != out[-1][1]:
            lo, hi = t, nxt  # the change lies in (lo, hi]: find it to the minute
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if offset(mid) == out[-1][1]:
                    lo = mid
                else:
                    hi = mid
            out.append((hi.replace(tzinfo=None, second=0, microsecond=0), offset(nxt)))
        t = nxt
    return out


@dataclass
class Context:
    """One scorecard request: where the data is, how to read it, and which slice."""

    tables: TableSource
    config: ProgramConfig
    start: dt.datetime | None = None
    #: exclusive end (local time)
    end: dt.datetime | None = None
    period: str | None = None
    by: tuple[str, ...] = ()
    #: first and last stored time per table of ``TIME_TABLES`` when already known (the
    #: scorecard reads them with the coverage profile), else queried for ``years``
    spans: dict[str, tuple[Any, Any]] | None = None
    _columns: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.period is not None and self.period not in PERIODS:
            raise MetricError(f"unknown period {self.period!r} (use one of: {', '.join(PERIODS)})")
        if self.start and self.end and self.start >= self.end:
            raise MetricError("the start date must be before the end date")

    # ------------------------------------------------------------- schema
    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            self._columns[table] = list(self.tables(table).columns)
        return self._columns[table]

    def check_attributes(self) -> None:
        """Every ``by`` attribute must exist in some table a KPI reads."""
        known = {NPS_GROUP}
        for table in ("customers", "responses", "cases", "orders", "events"):
            known.update(c for c in self.columns(table) if not c.startswith("_"))
        for attr in self.by:
            if attr == "period":
                raise UnknownAttributeError("use --period to slice by period, not --by period")
            if attr not in known:
                raise UnknownAttributeError(
                    f"unknown attribute {attr!r}; known: {', '.join(sorted(known))}"
                )
        if len(set(self.by)) != len(self.by):
            raise MetricError("each --by attribute may be given once")

    # ------------------------------------------------------------- time
    @property
    def zone(self) -> str:
        return self.config.program.timezone

    @cached_property
    def years(self) -> tuple[int, int]:
        """First and last year of the data (for the time-zone offsets)."""
        lo: list[dt.datetime] = []
        hi: list[dt.datetime] = []
        for table, col in TIME_TABLES.items():
            if self.spans is not None and table in self.spans:
                a, b = self.spans[table]
                row = {"a": a, "b": b}
            else:
                t = self.tables(table)
                row = t.aggregate(a=t[col].min(), b=t[col].max()).to_pyarrow().to_pylist()[0]
            if row["a"] is not None:
                lo.append(row["a"])
                hi.append(row["b"])
        today = dt.date.today().year
        if not lo:
            return today, today
        return min(lo).year - 1, max(hi).year + 1

    @cached_property
    def data_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        """First and last local timestamp of the activity tables (not customers)."""
        lo: list[Any] = []
        hi: list[Any] = []
        for table, col in TIME_TABLES.items():
            if table == "customers":
                continue
            if self.zone in ("UTC", "Etc/UTC") and self.spans is not None and table in self.spans:
                # local time is the stored time: the first and last are already known
                a, b = self.spans[table]
                row = {"a": a, "b": b}
            else:
                t = self.tables(table)
                x = self.local(t[col])
                row = t.aggregate(a=x.min(), b=x.max()).to_pyarrow().to_pylist()[0]
            if row["a"] is not None:
                lo.append(row["a"])
                hi.append(row["b"])
        if not lo:
            return None
        return min(lo), max(hi)

    def local(self, ts: ir.TimestampValue, zone: str | None = None) -> ir.TimestampValue:
        """A stored (UTC) timestamp in ``zone`` (default: the program's), as a naive local time."""
        zone = zone or self.zone
        if zone in ("UTC", "Etc/UTC"):
            return ts
        first, last = self.years
        changes = utc_offsets(zone, first, last)
        expr = ts + ibis.interval(seconds=changes[-1][1])
        for since, off in reversed(changes[:-1]):
            nxt = changes[changes.index((since, off)) + 1][0]
            expr = ibis.ifelse(ts < ibis.timestamp(nxt), ts + ibis.interval(seconds=off), expr)
        return expr

    def in_window(self, local_ts: ir.TimestampValue) -> ir.BooleanValue | None:
        conds = []
        if self.start is not None:
            conds.append(local_ts >= ibis.timestamp(self.start))
        if self.end is not None:
            conds.append(local_ts < ibis.timestamp(self.end))
        if not conds:
            return None
        out = conds[0]
        for c in conds[1:]:
            out = out & c
        return out

    def bucket(self, local_ts: ir.TimestampValue) -> ir.DateValue:
        assert self.period is not None
        return local_ts.truncate(PERIODS[self.period]).date()

    # ------------------------------------------------------------- slices
    def slice_column(self, t: ibis.Table, attr: str) -> tuple[ibis.Table, str] | None:
        """Attach attribute ``attr`` to rows ``t`` as a text column; ``None`` if impossible.

        From ``t`` itself when it has the column; else from the customer
        (``customer_id``); ``nps_group`` is the customer's latest NPS answer.
        """
        name = f"_s_{attr}"
        if attr == NPS_GROUP:
            if "customer_id" not in t.columns:
                return None
            g = self.nps_groups()
            t = t.left_join(g, t.customer_id == g._cid).drop("_cid")
            return t.rename({name: "_nps_group"}), name
        if attr in t.columns:
            return t.mutate(**{name: _label(t[attr])}), name
        if "customer_id" in t.columns and attr in self.columns("customers"):
            c = self.tables("customers")
            c = c.select(_cid=c.customer_id, **{name: _label(c[attr])})
            t = t.left_join(c, t.customer_id == c._cid).drop("_cid")
            return t.mutate(**{name: t[name].fill_null(NULL_LABEL)}), name
        return None

    def nps_groups(self) -> ibis.Table:
        """``(_cid, _nps_group)``: each customer's latest NPS answer, grouped."""
        r = self.tables("responses")
        r = r.filter(r.nps.notnull() & r.customer_id.notnull())
        w = ibis.window(
            group_by=r.customer_id, order_by=[ibis.desc(r.submitted_at), ibis.desc(r.response_id)]
        )
        r = r.mutate(_rn=ibis.row_number().over(w)).filter(lambda x: x._rn == 0)
        group = ibis.cases((r.nps >= 9, "promoter"), (r.nps >= 7, "passive"), else_="detractor")
        return r.select(_cid=r.customer_id, _nps_group=group)

    def slices(self, t: ibis.Table) -> tuple[ibis.Table, list[str]] | None:
        """Attach every ``by`` attribute; ``None`` when one cannot be attached."""
        names = []
        for attr in self.by:
            got = self.slice_column(t, attr)
            if got is None:
                return None
            t, name = got
            names.append(name)
        if names:
            t = t.mutate(**{n: t[n].fill_null(NULL_LABEL) for n in names})
        return t, names


def _label(col: ir.Value) -> ir.StringValue:
    return col.cast("string").fill_null(NULL_LABEL)


def unlabel(value: Any) -> Any:
    return None if value == NULL_LABEL else value


def as_keys(by: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {a: unlabel(v) for a, v in zip(by, values, strict=True)}
