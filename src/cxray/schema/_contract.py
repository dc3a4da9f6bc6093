"""The canonical CX data contract (v1) as data.

Six tables: customers, events, responses, cases, orders, mentions. Every
importer maps onto them, the store creates them, the validator checks against
them, and ``docs/data-model.md`` documents them. Column order here is the
order of the stored table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cxray.exceptions import UnknownTableError

__all__ = [
    "CONTRACT",
    "CONTRACT_VERSION",
    "ColumnSpec",
    "LogicalType",
    "TableSpec",
    "table_spec",
]

CONTRACT_VERSION = 1

LogicalType = Literal["string", "timestamp", "integer", "decimal", "number", "boolean"]

#: The physical type each logical type is stored as (DuckDB / Ibis spelling).
PHYSICAL_TYPES: dict[str, tuple[str, str]] = {
    "string": ("VARCHAR", "string"),
    "timestamp": ("TIMESTAMP", "timestamp"),  # naive, always UTC
    "integer": ("BIGINT", "int64"),
    "decimal": ("DECIMAL(18,4)", "decimal(18, 4)"),
    "number": ("DOUBLE", "float64"),
    "boolean": ("BOOLEAN", "boolean"),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a canonical table."""

    name: str
    type: LogicalType
    required: bool = False
    meaning: str = ""
    #: inclusive bounds for numbers; ``None`` = unbounded
    min: float | None = None
    max: float | None = None
    #: name of the program-config scale that sets the bounds (``csat``, ``ces``)
    scale: str | None = None
    #: personal data about a customer (an e-mail, a name, an author's handle): shown as a
    #: fixed mask to callers without the ``pii`` permission (``cxray.privacy``), erasable
    personal: bool = False
    #: free text a customer (or an agent) wrote: may hold e-mail addresses, phone and card
    #: numbers, which are redacted for callers without ``pii``; the rest of the text stays
    free_text: bool = False

    @property
    def sql_type(self) -> str:
        return PHYSICAL_TYPES[self.type][0]

    @property
    def ibis_type(self) -> str:
        return PHYSICAL_TYPES[self.type][1]


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: its columns, key and table-level rules."""

    name: str
    description: str
    key: str
    columns: tuple[ColumnSpec, ...]
    #: the timestamp column that places a row in time
    time_column: str
    #: when the key column is absent or empty, it is derived from these columns
    derive_key_from: tuple[str, ...] = ()
    #: a file must carry at least one of these columns
    at_least_one_of: tuple[str, ...] = ()
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def _c(name: str, type: LogicalType = "string", **kw) -> ColumnSpec:
    return ColumnSpec(name, type, **kw)


CUSTOMERS = TableSpec(
    name="customers",
    description="who the customers are",
    key="customer_id",
    time_column="created_at",
    columns=(
        _c("customer_id", required=True, meaning="unique customer identifier"),
        _c("created_at", "timestamp", required=True, meaning="when they became a customer"),
        _c("email", personal=True, meaning="personal data (masked without pii, erasable)"),
        _c("name", personal=True, meaning="personal data (masked without pii, erasable)"),
        _c("segment", meaning="slicing attribute"),
        _c("region", meaning="slicing attribute"),
        _c("plan", meaning="slicing attribute"),
        _c("acquisition_channel", meaning="`referral` counts toward the referral rate"),
        _c("churned_at", "timestamp", meaning="empty = still a customer"),
        _c("churn_reason", free_text=True, meaning="stated or recorded reason for leaving"),
    ),
)

EVENTS = TableSpec(
    name="events",
    description="touchpoints on the customer journey (what customers do)",
    key="event_id",
    time_column="timestamp",
    derive_key_from=("customer_id", "timestamp", "touchpoint"),
    columns=(
        _c("event_id", meaning="derived from (customer_id, timestamp, touchpoint) when absent"),
        _c("customer_id", required=True),
        _c("timestamp", "timestamp", required=True),
        _c("touchpoint", required=True, meaning="the activity, e.g. `checkout_started`"),
        _c("channel", meaning="web, app, email, phone, chat, store, social, ..."),
        _c("journey", meaning="e.g. `onboarding`, `checkout`, `support`"),
        _c("session_id"),
    ),
)

RESPONSES = TableSpec(
    name="responses",
    description="survey responses (what customers say, solicited), one row per response",
    key="response_id",
    time_column="submitted_at",
    at_least_one_of=("nps", "csat", "ces", "comment"),
    columns=(
        _c("response_id", required=True),
        _c("submitted_at", "timestamp", required=True),
        _c("customer_id", meaning="empty = anonymous"),
        _c("survey", meaning="survey name"),
        _c("touchpoint", meaning="where/when it was asked, e.g. `case_resolved`"),
        _c("channel", meaning="e.g. `email`, `web`"),
        _c("nps", "integer", min=0, max=10, meaning="likelihood to recommend, 0–10"),
        _c("csat", "integer", scale="csat", meaning="satisfaction; 1–5 unless configured"),
        _c("ces", "integer", scale="ces", meaning="effort; scale and direction configured"),
        _c("comment", free_text=True, meaning="open-ended answer"),
    ),
)

CASES = TableSpec(
    name="cases",
    description="support cases / tickets (what happens when customers ask for help)",
    key="case_id",
    time_column="opened_at",
    columns=(
        _c("case_id", required=True),
        _c("customer_id"),
        _c("opened_at", "timestamp", required=True),
        _c("first_response_at", "timestamp", meaning="first agent reply"),
        _c("resolved_at", "timestamp", meaning="empty = still open"),
        _c("channel", meaning="email, chat, phone, web, social, ..."),
        _c("category"),
        _c("priority"),
        _c("status"),
        _c("contacts", "integer", min=1, meaning="contacts until resolution; 1 = first contact"),
        _c("reopened", "boolean", meaning="true/false, yes/no, 1/0"),
        _c("subject", free_text=True, meaning="free text"),
        _c("description", free_text=True, meaning="free text"),
        _c("team"),
        _c("agent"),
        _c("root_cause"),
    ),
)

ORDERS = TableSpec(
    name="orders",
    description="purchases (what customers buy, and how it was delivered)",
    key="order_id",
    time_column="ordered_at",
    columns=(
        _c("order_id", required=True),
        _c("customer_id", required=True),
        _c("ordered_at", "timestamp", required=True),
        _c("amount", "decimal", required=True, min=0, meaning="order value, ≥ 0"),
        _c("currency", meaning="ISO 4217; one currency assumed when absent"),
        _c("status", meaning="completed, cancelled, returned, ..."),
        _c("promised_at", "timestamp", meaning="delivery promise"),
        _c("delivered_at", "timestamp", meaning="actual delivery"),
    ),
)

MENTIONS = TableSpec(
    name="mentions",
    description="unsolicited voice of the customer (social posts, reviews, forum posts)",
    key="mention_id",
    time_column="posted_at",
    columns=(
        _c("mention_id", required=True),
        _c("posted_at", "timestamp", required=True),
        _c("text", required=True, free_text=True),
        _c("platform"),
        _c("author", personal=True, meaning="personal data (masked without pii, erasable)"),
        _c(
            "url",
            personal=True,
            meaning="the post's address; it names the author on most "
            "platforms, so it is personal data",
        ),
        _c("customer_id", meaning="when the author is a known customer"),
        _c("rating", "number", meaning="star rating, where the platform has one"),
    ),
)

#: The six canonical tables, by name, in dependency-free display order.
CONTRACT: dict[str, TableSpec] = {
    t.name: t for t in (CUSTOMERS, EVENTS, RESPONSES, CASES, ORDERS, MENTIONS)
}


def table_spec(name: str) -> TableSpec:
    """Return the spec of a canonical table, or raise a clear error."""
    try:
        return CONTRACT[name.strip().lower()]
    except KeyError:
        raise UnknownTableError(
            f"unknown table {name!r}; the tables are: {', '.join(CONTRACT)}"
        ) from None
