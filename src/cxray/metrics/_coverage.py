"""What the data in the store can measure: each KPI's and analysis's inputs, present or not.

Every KPI and analysis declares the inputs it rests on (:class:`Need`: a table's rows, or
columns holding at least one value; alternatives where any one will do). One query, an
aggregate per table crossed with the others (its rows and the non-null values of every
column some need names, portable Ibis), tells which are present. A KPI whose inputs
are missing is suppressed on the scorecard with the reason (what is missing, what to
import) instead of a number that only looks like one: first contact resolution without
contacts or reopened data would be 100 %, a lifetime value without orders 0.0, a health
score without activity a constant.
:func:`coverage` lists it all (``cxray doctor``, ``GET /api/doctor``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cxray.config import ProgramConfig
from cxray.metrics._context import TIME_TABLES, TableSource
from cxray.store import FOLLOWUPS, INVITATIONS

__all__ = ["ANALYSES", "Coverage", "Need", "Profile", "Support", "coverage", "kpi_needs", "profile"]

#: the tables a need may name, in the order the doctor lists them
#: the tables every store has; the others a table source may lack (mentions, survey
#: invitations and follow-ups come with later features)
CORE = ("customers", "responses", "cases", "orders", "events")
TABLES = ("customers", "responses", "cases", "orders", "events", "mentions", INVITATIONS, FOLLOWUPS)


@dataclass(frozen=True)
class Need:
    """An input: any one of ``alternatives`` (``(table, column)``; column ``None``: the
    table has rows) holds a value. ``missing`` says what is absent, ``hint`` what to import."""

    alternatives: tuple[tuple[str, str | None], ...]
    missing: str
    hint: str

    def met(self, p: Profile) -> bool:
        return any(p.filled(t, c) > 0 for t, c in self.alternatives)

    @property
    def reason(self) -> str:
        return f"{self.missing}: {self.hint}"


def _col(table: str, column: str | None, missing: str, hint: str) -> Need:
    return Need(((table, column),), missing, hint)


_NPS = _col("responses", "nps", "no NPS answers", "import survey responses with nps (0-10)")
_CSAT = _col("responses", "csat", "no CSAT answers", "import survey responses with csat")
_CES = _col("responses", "ces", "no CES answers", "import survey responses with ces")
_RESOLVED = _col(
    "cases", "resolved_at", "no resolved cases", "import cases with resolved_at (when solved)"
)
_CONTACTS = Need(
    (("cases", "contacts"), ("cases", "reopened")),
    "no contacts or reopened data in cases (every resolved case would count as solved at "
    "first contact)",
    "import cases with contacts (contacts per case) or reopened (true/false)",
)
_REPLY = _col(
    "cases",
    "first_response_at",
    "no first replies in cases",
    "import cases with first_response_at (the first agent reply)",
)
_TOUCHPOINTS = _col(
    "events", "touchpoint", "no events", "import events (customer_id, timestamp, touchpoint)"
)
_CUSTOMERS = _col("customers", None, "no customers", "import customers (customer_id, created_at)")
_CHURN_DATES = _col(
    "customers",
    "churned_at",
    "no churn dates (churned_at is empty for every customer)",
    'import customers with churned_at (e.g. --map "churned_at=Churn:yes-at:2024-01-31")',
)
_ORDERS = _col("orders", "amount", "no orders", "import orders (customer_id, ordered_at, amount)")
_ACTIVITY = Need(
    (("responses", "nps"), ("orders", None), ("events", None), ("cases", "customer_id")),
    "no activity (no NPS answer, order, event or case: every customer would score a constant)",
    "import responses with nps, orders, events or cases with customer_id",
)
_CHANNEL = _col(
    "customers",
    "acquisition_channel",
    "no acquisition channels",
    "import customers with acquisition_channel",
)
_COMPLETED = _col(
    "responses", "completed", "no survey completion data", "collect responses with cxray surveys"
)
_INVITED = _col(
    INVITATIONS, "sent_at", "no e-mailed invitations", "invite customers: cxray surveys invite"
)
_FOLLOWUPS = _col(FOLLOWUPS, None, "no follow-ups", "add [[loop.rules]] and run cxray loop run")
_OUTCOME = Need(
    (
        ("responses", "nps"),
        ("responses", "csat"),
        ("responses", "ces"),
        ("customers", "churned_at"),
    ),
    "no outcome to explain (no NPS, CSAT or CES answers, no churn dates)",
    "import survey responses with nps, csat or ces, or customers with churned_at",
)
_TEXT = Need(
    (
        ("responses", "comment"),
        ("cases", "subject"),
        ("cases", "description"),
        ("mentions", "text"),
    ),
    "no texts",
    "import responses with comment, cases with subject or description, or mentions",
)
_WATCHED = Need(
    (("responses", None), ("cases", None), ("orders", None), ("events", None), ("mentions", None)),
    "nothing for the loop's rules to watch",
    "import responses, cases, orders, events or mentions",
)

#: each KPI's inputs, by the name targets are configured under (``KPI.base``)
_KPI_NEEDS: dict[str, tuple[Need, ...]] = {
    "nps": (_NPS,),
    "csat": (_CSAT,),
    "ces_mean": (_CES,),
    "ces_easy": (_CES,),
    "fcr": (_RESOLVED, _CONTACTS),
    "first_response_mean": (_REPLY,),
    "first_response_median": (_REPLY,),
    "resolution_mean": (_RESOLVED,),
    "resolution_median": (_RESOLVED,),
    "resolution_business_mean": (_RESOLVED,),
    "resolution_business_median": (_RESOLVED,),
    "completion": (_TOUCHPOINTS,),
    "abandonment": (_TOUCHPOINTS,),
    "response_rate": (_INVITED,),
    "followup_rate": (_FOLLOWUPS,),
    "time_to_contact": (_FOLLOWUPS,),
    "sla_met": (_FOLLOWUPS,),
    "recovery_rate": (_FOLLOWUPS,),
    "churn_rate": (_CUSTOMERS, _CHURN_DATES),
    "referral_rate": (_CUSTOMERS, _CHANNEL),
    "revenue_per_customer": (_ORDERS,),
    "clv": (_CUSTOMERS, _ORDERS),
    "health": (_CUSTOMERS, _ACTIVITY),
}
_SURVEY_FLOW = (_COMPLETED,)


def kpi_needs(name: Any) -> tuple[Need, ...]:
    """The inputs of KPI ``name`` (``completion:surveys`` reads the responses' ``completed``);
    given a KPI defined in config (``[kpis.NAME]``), the rows of its table."""
    spec = getattr(name, "spec", None)
    if spec is not None:
        table = spec.table
        return (_col(table, None, f"no {table}", f"import {table} ([kpis.{name.name}] reads it)"),)
    name = getattr(name, "name", name)
    if name in ("completion:surveys", "abandonment:surveys"):
        return _SURVEY_FLOW
    return _KPI_NEEDS.get(name.split(":", 1)[0], ())


#: the analyses (name, title, inputs, what it is)
ANALYSES: tuple[tuple[str, str, tuple[Need, ...]], ...] = (
    ("drivers", "Key drivers (cxray drivers)", (_OUTCOME,)),
    ("journeys", "Journeys: funnels, paths (cxray journeys)", (_TOUCHPOINTS,)),
    ("churn_survival", "Churn survival curves (cxray churn survival)", (_CUSTOMERS, _CHURN_DATES)),
    # a snapshot of customers with attributes is enough (a stratified split, no history)
    ("churn_risk", "Churn risk per customer (cxray churn risk)", (_CUSTOMERS, _CHURN_DATES)),
    ("clv", "Customer lifetime value model (cxray clv fit)", (_ORDERS,)),
    ("text_themes", "Text sentiment and themes (cxray text)", (_TEXT,)),
    ("loop", "The closed loop: rules, alerts, follow-ups (cxray loop)", (_WATCHED,)),
)


@dataclass(frozen=True)
class Profile:
    """Rows per table and non-null values per column the needs name (absent: 0)."""

    rows: dict[str, int]
    values: dict[tuple[str, str], int]
    #: first and last stored time of each table's time column (``None`` without rows)
    spans: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def filled(self, table: str, column: str | None) -> int:
        if column is None:
            return self.rows.get(table, 0)
        return self.values.get((table, column), 0)

    @property
    def present(self) -> dict[str, int]:
        """The tables with rows and their row counts."""
        return {t: n for t, n in self.rows.items() if n}


def _columns_needed() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {t: set() for t in TABLES}
    needs = [n for group in _KPI_NEEDS.values() for n in group] + list(_SURVEY_FLOW)
    needs += [n for _, _, group in ANALYSES for n in group]
    for need in needs:
        for table, column in need.alternatives:
            if column is not None:
                out[table].add(column)
    return out


_NEEDED = _columns_needed()


def profile(tables: TableSource) -> Profile:
    """One query (an aggregate per table, crossed): each table's rows, each needed
    column's non-null values, and the first and last time of its time column (the
    scorecard's time zone and window read them)."""
    rows: dict[str, int] = {}
    values: dict[tuple[str, str], int] = {}
    spans: dict[str, tuple[Any, Any]] = {}
    parts: list[tuple[str, list[str], str | None]] = []
    joined = None
    for k, name in enumerate(TABLES):
        try:
            t = tables(name)
        except Exception:
            if name in CORE:
                raise
            rows[name] = 0  # a table this source does not have (yet)
            continue
        cols = sorted(c for c in _NEEDED[name] if c in t.columns)
        aggs: dict[str, Any] = {f"_{k}_rows": t.count()}
        aggs.update({f"_{k}_c{i}": t[c].count() for i, c in enumerate(cols)})
        when = TIME_TABLES.get(name)
        if when is not None:
            aggs.update({f"_{k}_lo": t[when].min(), f"_{k}_hi": t[when].max()})
        one = t.aggregate(**aggs)
        # one row per table: crossed, every table's aggregates come back in one query
        joined = one if joined is None else joined.cross_join(one)
        parts.append((name, cols, when))
    got = joined.to_pyarrow().to_pylist()[0] if joined is not None else {}
    for name, cols, when in parts:
        k = TABLES.index(name)
        rows[name] = int(got[f"_{k}_rows"] or 0)
        for i, c in enumerate(cols):
            values[(name, c)] = int(got[f"_{k}_c{i}"] or 0)
        if when is not None:
            spans[name] = (got[f"_{k}_lo"], got[f"_{k}_hi"])
    return Profile(rows, values, spans)


@dataclass(frozen=True)
class Support:
    """Whether the data supports one KPI or analysis, and if not why and what to import."""

    name: str
    title: str
    kind: Literal["kpi", "analysis"]
    supported: bool
    reason: str | None = None
    needs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "supported": self.supported,
            "reason": self.reason,
            "needs": list(self.needs),
        }


def check(needs: tuple[Need, ...], p: Profile) -> str | None:
    """The reason the first unmet need gives; ``None`` when every need is met."""
    for need in needs:
        if not need.met(p):
            return need.reason
    return None


@dataclass(frozen=True)
class Coverage:
    """Every KPI and analysis with whether the current data supports it (``cxray doctor``)."""

    tables: dict[str, int]
    items: list[Support] = field(default_factory=list)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def get(self, name: str) -> Support:
        for s in self.items:
            if s.name == name:
                return s
        raise KeyError(f"no KPI or analysis {name!r}")

    @property
    def supported(self) -> list[str]:
        return [s.name for s in self.items if s.supported]

    @property
    def unsupported(self) -> list[str]:
        return [s.name for s in self.items if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": dict(self.tables),
            "kpis": [s.to_dict() for s in self.items if s.kind == "kpi"],
            "analyses": [s.to_dict() for s in self.items if s.kind == "analysis"],
        }


def _label(table: str) -> str:
    """A table as users know it (the survey invitations are kept in ``_cx_invitations``)."""
    return "invitations" if table == INVITATIONS else table


def _describe(needs: tuple[Need, ...]) -> tuple[str, ...]:
    out = []
    for need in needs:
        alts = [f"{_label(t)}.{c}" if c else _label(t) for t, c in need.alternatives]
        out.append(" or ".join(alts))
    return tuple(out)


def coverage(tables: TableSource, config: ProgramConfig, p: Profile | None = None) -> Coverage:
    """Which KPIs (every one the scorecard knows, journeys of the config included) and
    analyses the data in ``tables`` supports; for each one that it does not, why."""
    from cxray.metrics._registry import kpis

    p = p if p is not None else profile(tables)
    items = []
    for kpi in kpis(config.journeys, surveys=True, loop=True, custom=config.kpis):
        needs = kpi_needs(kpi)
        reason = check(needs, p)
        items.append(Support(kpi.name, kpi.title, "kpi", reason is None, reason, _describe(needs)))
    for name, title, needs in ANALYSES:
        reason = check(needs, p)
        if name == "loop" and reason is None and not config.loop.rules:
            reason = "no rules: add [[loop.rules]] to cxray.toml (docs/loop.md)"
        items.append(Support(name, title, "analysis", reason is None, reason, _describe(needs)))
    return Coverage({_label(t): p.rows.get(t, 0) for t in TABLES}, items)


def nothing_to_measure(p: Profile) -> str:
    """The message of a scorecard with no KPI at all: what is present, what each family needs."""
    present = p.present
    have = (
        ", ".join(f"{_label(t)} ({n:,} rows)" for t, n in present.items())
        if present
        else "no data at all"
    )
    return (
        f"nothing to measure: the store holds {have}. Survey KPIs (NPS, CSAT, CES) need "
        "responses with nps, csat or ces; support KPIs (FCR, response and resolution times) "
        "cases with opened_at and resolved_at, first_response_at, contacts or reopened; "
        "journey KPIs events and [journeys] in cxray.toml; churn, referral, CLV and health "
        "customers (with churned_at, acquisition_channel, orders or activity); revenue orders. "
        "Run `cxray doctor` for each KPI, or `cxray demo` for a demo world"
    )
