"""What the dashboard needs from the server, and the view a URL describes.

The web does not import the REST API (interfaces never import one another);
the app that mounts it hands over an object with the server's state: the
workspace, its write lock, keys, sessions, the login limiter, snapshot reads
and the results kept until the next import (:class:`ServerState`, which
``cxray.api``'s context satisfies).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit

from cxray.access import ApiKeys, LoginLimiter, SessionSigner
from cxray.exceptions import QueryError
from cxray.web._morning import PRESETS, preset_window
from cxray.workspace import Workspace

__all__ = [
    "SESSION_COOKIE",
    "ServerState",
    "View",
    "period_window",
    "same_origin",
    "same_site",
    "scorecard_records",
]

T = TypeVar("T")

#: the session cookie the API's ``POST /api/login`` sets too: one login serves both
SESSION_COOKIE = "cxray_session"

PERIODS = ("day", "week", "month", "quarter")


def same_origin(request: Any) -> bool:
    """Whether a post names no other origin than this host (login, logout, saved views)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def same_site(request: Any) -> bool:
    """A form post from this site's own pages: a browser names the page's origin on every
    post, and says where it came from (``Sec-Fetch-Site``) (the inbox, maturity, reports)."""
    if not same_origin(request):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


class ServerState(Protocol):
    """The server's state, as ``cxray.api``'s ``ApiContext`` holds it."""

    ws: Workspace
    keys: ApiKeys
    sessions: SessionSigner
    limiter: LoginLimiter
    lock: threading.RLock

    def reading(self) -> contextlib.AbstractContextManager[Any]:
        """An Ibis backend over one committed snapshot of the store."""
        ...

    def reader(self) -> contextlib.AbstractContextManager[Workspace]:
        """The workspace, reading through :meth:`reading` (never waits for an import)."""
        ...

    def cached(self, key: Hashable, compute: Callable[[Workspace], T]) -> T:
        """``compute(reader)``, kept until the next import commits."""
        ...


@dataclass(frozen=True)
class View:
    """The filters of a page, read from and written to its URL's query string.

    ``period`` cuts time (day, week, month, quarter); ``start`` and ``end`` are
    inclusive dates; ``filters`` are ``(attribute, value)`` pairs (``filter=region:West``),
    an empty value selecting the missing ones. ``preset`` (``7d``, ``30d``, ``90d``,
    ``quarter``) names a window that ends on the latest data: the pages that know it
    work its dates out (:meth:`resolved`); its links carry the dates too, so a page that
    does not still shows the same window.
    """

    period: str | None = None
    start: str | None = None
    end: str | None = None
    filters: tuple[tuple[str, str], ...] = ()
    preset: str | None = None

    @classmethod
    def from_query(cls, query: Any, *, default_period: str | None = None) -> View:
        period = query.get("period") or default_period
        if period is not None and period not in PERIODS:
            raise QueryError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
        start = query.get("from") or None
        end = query.get("to") or None
        for name, value in (("from", start), ("to", end)):
            if value is not None:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise QueryError(f"{name}={value!r} is not a date (YYYY-MM-DD)") from None
        filters = []
        for raw in query.getlist("filter"):
            attr, sep, value = raw.partition(":")
            if not sep or not attr.strip():
                raise QueryError(f"filter={raw!r} must be ATTRIBUTE:VALUE, e.g. region:West")
            filters.append((attr.strip(), value))
        preset = query.get("preset") or None
        if preset is not None and preset not in PRESETS:
            raise QueryError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
        return cls(period, start, end, tuple(filters), preset)

    def resolved(self, anchor: dt.date | None) -> View:
        """The preset's dates, ending on ``anchor`` (the latest data); unchanged without a
        preset or without data."""
        if self.preset is None or anchor is None:
            return self
        first, last = preset_window(self.preset, anchor)
        return replace(self, start=first.isoformat(), end=last.isoformat())

    def with_preset(self, preset: str | None, anchor: dt.date | None) -> View:
        """This view over a preset (None: the custom dates, cleared)."""
        if preset is None:
            return replace(self, start=None, end=None, preset=None)
        return replace(self, preset=preset).resolved(anchor)

    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and last day as dates (None: open)."""
        return (
            dt.date.fromisoformat(self.start) if self.start else None,
            dt.date.fromisoformat(self.end) if self.end else None,
        )

    def params(self, *, period: bool = True, **extra: Any) -> list[tuple[str, str]]:
        """The query string pairs of this view (and ``extra``, lists repeated)."""
        out: list[tuple[str, str]] = []
        if period and self.period:
            out.append(("period", self.period))
        if self.start:
            out.append(("from", self.start))
        if self.end:
            out.append(("to", self.end))
        out += [("filter", f"{a}:{v}") for a, v in self.filters]
        if self.preset:
            out.append(("preset", self.preset))
        for key, value in extra.items():
            for v in value if isinstance(value, list | tuple) else [value]:
                if v is not None and v != "":
                    out.append((key, str(v)))
        return out

    def url(self, path: str, *, period: bool = True, **extra: Any) -> str:
        query = urlencode(self.params(period=period, **extra))
        return f"{path}?{query}" if query else path

    def without(self, index: int) -> View:
        """This view without its ``index``-th filter."""
        rest = self.filters[:index] + self.filters[index + 1 :]
        return replace(self, filters=rest)

    def matches(self, record: dict[str, Any]) -> bool:
        return all(_text(record.get(a)) == v for a, v in self.filters)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def period_window(label: str, period: str) -> tuple[dt.date, dt.date]:
    """The first day of a scorecard period label and the first day after it."""
    if period == "quarter":
        year, q = label.split("-Q")
        first = dt.date(int(year), 3 * int(q) - 2, 1)
        return first, _add_months(first, 3)
    if period == "month":
        first = dt.date.fromisoformat(label + "-01")
        return first, _add_months(first, 1)
    first = dt.date.fromisoformat(label)
    return first, first + dt.timedelta(days=7 if period == "week" else 1)


def _add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def scorecard_records(
    state: ServerState,
    *,
    by: tuple[str, ...] = (),
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    metrics: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Scorecard records of the latest data, kept until an import changes it.

    A scorecard reads every table; pages ask for the same few again and again
    (an overview every morning), so the server keeps them per set of options
    (the REST API's ``/api/scorecard`` shares them). Shared: do not change them.
    """
    return state.cached(
        ("scorecard", by, period, start, end, metrics),
        lambda ws: ws.scorecard(
            by=list(by), period=period, start=start, end=end, metrics=metrics
        ).records(),
    )


def warm_overview(state: ServerState) -> None:
    """Compute what the overview shows first (its scorecard and monthly trend, no filters).

    ``cxray serve`` calls this in the background when it starts and after every import,
    so that the morning's first look finds the numbers ready instead of waiting for them
    (they are cached per data version by :func:`scorecard_records`; a request that comes
    while they are being computed waits for that computation rather than starting another).
    """
    scorecard_records(state)
    scorecard_records(state, period="month")
