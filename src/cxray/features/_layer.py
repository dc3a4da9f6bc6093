"""The feature layer: one row per response, or per customer, with what happened before it.

:meth:`Features.responses` gives every survey response its answers, the
numeric question columns it carries (attribute ratings such as
``q_delivery``), the sentiment and taxonomy themes of its comment (once text
enrichment has scored them) and the window features of its customer in the
``[features] window_days`` before it.

:meth:`Features.customers` gives every customer active at an as-of date their
tenure, recency, frequency, monetary value, latest NPS answer, numeric
attributes and window features over the ``lookback_days`` before that date,
and the churn outcome: whether they left in the ``churn_horizon_days`` after
it (known only when the data runs that far).

Both are Ibis expressions: nothing is computed until a caller aggregates or
materializes them, and then it is computed where the data lives. Key
drivers, moments of truth (and, as they land, churn risk and lifetime value)
read these two tables and fit their models on the compact results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir

from cxray.config import ProgramConfig
from cxray.exceptions import AnalysisError, CXError
from cxray.features._catalogue import Feature, Moment, slug
from cxray.features._window import (
    NOT_REVENUE,
    WINDOW_NAMES,
    WINDOW_PREFIXES,
    WindowPlan,
    window_features,
)
from cxray.metrics import Context, parse_when
from cxray.schema import table_spec

__all__ = ["ANSWERS", "Features"]

TableSource = Callable[[str], ibis.Table]

#: the survey answers of the contract: outcomes, never drivers unless named
ANSWERS = ("nps", "csat", "ces")
#: what the layer computes per customer (besides the window features)
_CUSTOMER_FEATURES = {
    "tenure_days", "recency_days", "orders_total", "amount_total", "latest_nps",
    "latest_detractor", "latest_promoter", "responses", "frequency", "monetary",
}  # fmt: skip
#: prefixes of the columns the layer makes per channel, journey and theme
_MADE_PREFIXES = (*WINDOW_PREFIXES, "theme_")
#: response columns that are bookkeeping, not ratings
_NOT_RATINGS = {"completed", "invitation_id", "_import_id"}
_DAY = 86400.0
#: activity tables and the time column whose latest value ends the data
_ACTIVITY = {
    "responses": "submitted_at",
    "orders": "ordered_at",
    "cases": "opened_at",
    "events": "timestamp",
    "customers": "created_at",
}


#: a number as text: what CSV exports carry (" 4", "-1.5", "2e3"); blanks are missing
_NUMBER = r"^\s*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?\s*$"
#: yes/no answers as text, read as 1/0
_YES = ("yes", "y", "true", "t")
_NO = ("no", "n", "false", "f")


def _numeric(t: ibis.Table, table: str, skip: set[str]) -> dict[str, str]:
    """The numeric attribute columns of ``t``: name -> how to read it.

    ``number`` (a numeric column), ``boolean`` (true/false, read as 1/0), and for
    columns a text file brought in as text: ``text_number`` (every value a number)
    and ``text_flag`` (every value yes/no or true/false). Contract columns, keys and
    bookkeeping columns are not attributes. One aggregate query decides the text ones.
    """
    contract = set(table_spec(table).column_names)
    out: dict[str, str] = {}
    text: list[str] = []
    for name, typ in t.schema().items():
        if name in skip or name in contract or name.startswith("_") or name.endswith("_id"):
            continue
        if typ.is_numeric():
            out[name] = "number"
        elif typ.is_boolean():
            out[name] = "boolean"
        elif typ.is_string():
            text.append(name)
    if text:
        aggs: dict[str, ibis.Value] = {}
        for i, name in enumerate(text):
            v = t[name].strip()
            known = v.notnull() & (v.length() > 0)
            aggs[f"n{i}"] = ibis.ifelse(known, 1, 0).sum()
            aggs[f"num{i}"] = ibis.ifelse(known & v.re_search(_NUMBER), 1, 0).sum()
            aggs[f"yn{i}"] = ibis.ifelse(known & v.lower().isin(_YES + _NO), 1, 0).sum()
        row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
        for i, name in enumerate(text):
            n = row[f"n{i}"] or 0
            if n and row[f"num{i}"] == n:
                out[name] = "text_number"
            elif n and row[f"yn{i}"] == n:
                out[name] = "text_flag"
    return out


def _read(t: ibis.Table, name: str, kind: str) -> ir.NumericValue:
    """Column ``name`` of ``t`` as a number, by ``kind`` (see :func:`_numeric`)."""
    col = t[name]
    if kind == "boolean":
        return _as_int(col)
    if kind == "text_number":
        v = col.strip()
        return ibis.ifelse(v.length() > 0, v, ibis.null("string")).cast("float64")
    if kind == "text_flag":
        v = col.strip().lower()
        return ibis.ifelse(v.isin(_YES), 1, ibis.ifelse(v.isin(_NO), 0, ibis.null("int64")))
    return col


def _as_int(flag: ir.BooleanValue) -> ir.IntegerValue:
    """A true/false column as 1/0 (missing stays missing); PostgreSQL casts no boolean."""
    return ibis.ifelse(flag.isnull(), ibis.null("int64"), ibis.ifelse(flag, 1, 0))


def _days(a: ir.TimestampValue, b: ir.TimestampValue) -> ir.FloatingValue:
    return (b.epoch_seconds() - a.epoch_seconds()).cast("float64") / _DAY


class Features:
    """Per-response and per-customer features as Ibis tables over one store.

    >>> f = Workspace.open().features           # doctest: +SKIP
    >>> f.responses().to_pandas()               # doctest: +SKIP
    """

    def __init__(self, tables: TableSource, config: ProgramConfig):
        self.tables = tables
        self.config = config

    # ------------------------------------------------------------ what there is
    @cached_property
    def plan(self) -> WindowPlan:
        return WindowPlan.of(self.tables, self.config)

    def _optional(self, name: str) -> ibis.Table | None:
        try:
            return self.tables(name)
        except (CXError, KeyError, LookupError):
            return None

    def _reserved(self) -> set[str]:
        """Names the layer computes itself: an attribute of the same name is left out."""
        return WINDOW_NAMES | _CUSTOMER_FEATURES | {"promoter", "detractor", "top_box", "churned",
                                            "comment_sentiment"}  # fmt: skip

    @cached_property
    def _rating_kinds(self) -> dict[str, str]:
        skip = set(ANSWERS) | _NOT_RATINGS | self._reserved()
        kinds = _numeric(self.tables("responses"), "responses", skip)
        return {k: v for k, v in kinds.items() if not k.startswith(_MADE_PREFIXES)}

    @cached_property
    def _attribute_kinds(self) -> dict[str, str]:
        kinds = _numeric(self.tables("customers"), "customers", self._reserved())
        return {k: v for k, v in kinds.items() if not k.startswith(_MADE_PREFIXES)}

    @property
    def ratings(self) -> list[str]:
        """Numeric question columns of the responses beyond NPS, CSAT and CES (numbers and
        yes/no answers, also when a CSV file brought them in as text)."""
        return list(self._rating_kinds)

    @property
    def customer_attributes(self) -> list[str]:
        """Numeric attribute columns of the customers (e.g. a monthly charge, yes/no
        flags), also when a CSV file brought them in as text."""
        return list(self._attribute_kinds)

    @cached_property
    def themes(self) -> list[str]:
        """Taxonomy themes stored for the responses' comments (empty before enrichment)."""
        t = self._optional("text_themes")
        if t is None or not self.config.themes:
            return []
        from cxray.text import taxonomy_scheme

        scheme = taxonomy_scheme(self.config)
        found = t.filter((t.table_name == "responses") & (t.scheme == scheme)).limit(1)
        return list(self.config.themes) if found.count().to_pyarrow().as_py() else []

    @cached_property
    def has_sentiment(self) -> bool:
        s = self._optional("text_sentiment")
        if s is None:
            return False
        one = s.filter((s.table_name == "responses") & (s.field == "comment")).limit(1)
        return bool(one.count().to_pyarrow().as_py())

    def catalogue(self, level: str = "responses") -> list[Feature]:
        """Every feature of ``level`` (``responses`` or ``customers``) for this store."""
        out = list(self.plan.catalogue())
        if level == "responses":
            for col in self.ratings:
                out.append(Feature(col, col, f"the response's answer to {col}", "rating",
                                   "higher", "responses"))  # fmt: skip
            if self.has_sentiment:
                out.append(Feature("comment_sentiment", "Comment sentiment", "sentiment score "
                                   "(-1 to 1) of the response's comment", "score", "higher",
                                   "responses", auto=False))  # fmt: skip
            for theme in self.themes:
                label = self.config.themes[theme].label
                out.append(Feature(f"theme_{slug(theme)}", f"Comment about {label}",
                                   f"1 when the response's comment is about {label}", "flag",
                                   None, "responses", auto=False))  # fmt: skip
            return out
        out = [_rename_rfm(f) for f in out]
        out = [
            Feature("tenure_days", "Tenure", "days since the customer joined", "days", None,
                    "customers"),
            Feature("recency_days", "Recency", "days since the latest order (since joining "
                    "when none)", "days", "lower", "customers"),
            Feature("orders_total", "Orders to date", "orders placed before the as-of date",
                    "count", None, "orders", auto=False),
            Feature("amount_total", "Revenue to date", "revenue of the orders before the as-of "
                    "date", "amount", None, "orders", auto=False),
            Feature("latest_nps", "Latest NPS answer", "the customer's latest NPS answer "
                    "before the as-of date (empty without one)", "rating", "higher",
                    "responses", auto=False),
            Feature("latest_detractor", "Latest answer a detractor", "1 when the customer's "
                    "latest NPS answer before the as-of date was 0-6", "flag", "lower",
                    "responses"),
            Feature("latest_promoter", "Latest answer a promoter", "1 when the customer's "
                    "latest NPS answer before the as-of date was 9-10", "flag", "higher",
                    "responses"),
            Feature("responses", "Survey responses", "responses in the look-back", "count",
                    None, "responses", auto=False),
            *out,
        ]  # fmt: skip
        for col in self.customer_attributes:
            out.append(Feature(col, col, f"the customer's {col}", "value", None, "customers"))
        return out

    def moments(self) -> list[Moment]:
        return self.plan.moments()

    # ------------------------------------------------------------ per response
    def responses(
        self,
        *,
        start: Any = None,
        end: Any = None,
        window_days: float | None = None,
    ) -> ibis.Table:
        """One row per response (submitted from ``start`` to ``end``, both dates inclusive,
        in local time, when given):
        ``response_id``, ``customer_id``, ``submitted_at``, ``survey``, ``touchpoint``,
        ``channel``, the answers, ``promoter``/``detractor`` (NPS 9-10 / 0-6),
        ``top_box`` (CSAT in its top box), rating columns, comment sentiment and themes,
        and the window features."""
        days = window_days if window_days is not None else self.config.features.window_days
        if days <= 0:
            raise AnalysisError(f"window_days must be positive, got {days:g}")
        r = self.tables("responses")
        ctx = Context(self.tables, self.config, parse_when(start, "from"), _end(end))
        keep = ctx.in_window(ctx.local(r.submitted_at))
        if keep is not None:
            r = r.filter(keep)
        lo, hi = self.config.scales.csat.top_box_values()
        base = r.select(
            "response_id",
            "customer_id",
            "submitted_at",
            "survey",
            "touchpoint",
            "channel",
            *ANSWERS,
            **{c: _read(r, c, kind) for c, kind in self._rating_kinds.items()},
            promoter=ibis.ifelse(r.nps.isnull(), None, ibis.ifelse(r.nps >= 9, 1, 0)),
            detractor=ibis.ifelse(r.nps.isnull(), None, ibis.ifelse(r.nps <= 6, 1, 0)),
            top_box=ibis.ifelse(r.csat.isnull(), None, ibis.ifelse(r.csat.between(lo, hi), 1, 0)),
        )
        if self.has_sentiment:
            s = self.tables("text_sentiment")
            s = s.filter((s.table_name == "responses") & (s.field == "comment")).select(
                _sk=s.row_key, comment_sentiment=s.sentiment_score
            )
            base = base.left_join(s, base.response_id == s._sk).drop("_sk")
        if self.themes:
            from cxray.text import taxonomy_scheme

            t = self.tables("text_themes")
            t = t.filter((t.table_name == "responses") & (t.scheme == taxonomy_scheme(self.config)))
            t = t.select(
                _tk=t.row_key,
                **{
                    f"theme_{slug(k)}": ibis.ifelse(t.themes.contains(f"|{k}|"), 1, 0)
                    for k in self.themes
                },
            )
            base = base.left_join(t, base.response_id == t._tk).drop("_tk")
        anchors = base.mutate(_key=base.response_id, _cid=base.customer_id, _at=base.submitted_at)
        out = window_features(self.tables, self.plan, anchors, days)
        return out.drop("_key", "_cid", "_at")

    # ------------------------------------------------------------ per customer
    def data_end(self) -> dt.datetime | None:
        """The latest moment in the data (stored time): the end of what is known."""
        parts = [
            self.tables(table).select(_t=ibis._[col].cast("timestamp"))
            for table, col in _ACTIVITY.items()
        ]
        c = self.tables("customers")
        parts.append(c.select(_t=c.churned_at.cast("timestamp")))
        every = ibis.union(*parts)
        value = every._t.max().to_pyarrow().as_py()
        return None if value is None else value.replace(tzinfo=None)

    def default_as_of(self) -> dt.datetime:
        """The latest as-of date whose churn horizon the data covers."""
        end = self.data_end()
        if end is None:
            raise AnalysisError("the store has no data yet; import data or run `cxray demo`")
        return end - dt.timedelta(days=self.config.features.churn_horizon_days)

    def customers(
        self,
        *,
        as_of: Any = None,
        lookback_days: float | None = None,
        horizon_days: float | None = None,
    ) -> ibis.Table:
        """One row per customer active at ``as_of`` (joined before it, not churned before
        it): ``customer_id``, the customer features as of that moment, and ``churned``
        (1 when they left in the ``horizon_days`` after it)."""
        cfg = self.config.features
        lookback = lookback_days if lookback_days is not None else cfg.lookback_days
        horizon = horizon_days if horizon_days is not None else cfg.churn_horizon_days
        if lookback <= 0 or horizon <= 0:
            raise AnalysisError("lookback_days and horizon_days must be positive")
        when = parse_when(as_of, "as_of") or self.default_as_of()  # "" is no date
        assert when is not None
        at = ibis.timestamp(when)
        c = self.tables("customers")
        active = c.filter((c.created_at < at) & (c.churned_at.isnull() | (c.churned_at >= at)))
        until = at + ibis.interval(seconds=round(horizon * _DAY))
        base = active.select(
            "customer_id",
            **{c: _read(active, c, kind) for c, kind in self._attribute_kinds.items()},
            tenure_days=_days(active.created_at, at),
            churned=ibis.ifelse(active.churned_at.notnull() & (active.churned_at <= until), 1, 0),
            _created=active.created_at,
        )
        # to date: orders, revenue, the latest order (recency)
        o = self.tables("orders")
        o = o.filter(o.ordered_at < at)
        status = o.status.lower().fill_null("")
        spend = o.group_by(_oc=o.customer_id).aggregate(
            orders_total=o.count(),
            amount_total=ibis.ifelse(
                ~status.isin(NOT_REVENUE), o.amount.cast("float64"), 0.0
            ).sum(),
            _last=o.ordered_at.max(),
        )
        base = base.left_join(spend, base.customer_id == spend._oc).drop("_oc")
        # the latest NPS answer before the as-of date; responses in the look-back
        r = self.tables("responses")
        r = r.filter(r.submitted_at < at)
        w = ibis.window(group_by=r.customer_id, order_by=[ibis.desc(r.submitted_at),
                                                          ibis.desc(r.response_id)])  # fmt: skip
        latest = (
            r.filter(r.nps.notnull())
            .mutate(_rn=ibis.row_number().over(w))
            .filter(lambda t: t._rn == 0)
            .select(_nc=ibis._.customer_id, latest_nps=ibis._.nps)
        )
        base = base.left_join(latest, base.customer_id == latest._nc).drop("_nc")
        since = at - ibis.interval(seconds=round(lookback * _DAY))
        recent = r.filter(r.submitted_at >= since)
        counts = recent.group_by(_rc=recent.customer_id).aggregate(responses=recent.count())
        base = base.left_join(counts, base.customer_id == counts._rc).drop("_rc")
        base = base.mutate(
            orders_total=base.orders_total.fill_null(0),
            amount_total=base.amount_total.fill_null(0.0),
            responses=base.responses.fill_null(0),
            latest_detractor=ibis.ifelse(base.latest_nps.notnull() & (base.latest_nps <= 6), 1, 0),
            latest_promoter=ibis.ifelse(base.latest_nps.notnull() & (base.latest_nps >= 9), 1, 0),
            recency_days=_days(base._last.coalesce(base._created), at),
        ).drop("_last", "_created")
        anchors = base.mutate(_key=base.customer_id, _cid=base.customer_id, _at=at)
        out = window_features(self.tables, self.plan, anchors, lookback)
        out = out.drop("_key", "_cid", "_at")
        renames = {"frequency": "orders", "monetary": "amount"}
        return out.rename(**{k: v for k, v in renames.items() if v in out.columns})

    def as_of(self, as_of: Any = None) -> dt.datetime:
        """The as-of date :meth:`customers` uses for ``as_of`` (its default when ``None``)."""
        when = parse_when(as_of, "as_of") or self.default_as_of()  # "" is no date
        assert when is not None
        return when


def _rename_rfm(f: Feature) -> Feature:
    if f.name == "orders":
        return Feature("frequency", "Frequency", "orders placed in the look-back", "count",
                       None, "orders")  # fmt: skip
    if f.name == "amount":
        return Feature("monetary", "Monetary value", "revenue of the orders placed in the "
                       "look-back (not cancelled or returned)", "amount", None,
                       "orders")  # fmt: skip
    return f


def _end(value: Any) -> dt.datetime | None:
    """An inclusive last date as the exclusive end of a window (a date: the next midnight)."""
    when = parse_when(value, "to")
    if when is None:
        return None
    if isinstance(value, dt.datetime) or (isinstance(value, str) and "T" in value):
        return when
    return when + dt.timedelta(days=1)
