"""``[privacy]`` in ``cxray.toml``: what is personal, and how long raw text is kept.

::

    [privacy]
    redact = true                                       # mask e-mails, phones, cards in free text
    personal = ["customers.loyalty_card", "responses.extra_note"]
    retain_days = 365                                   # every table's raw text, or per table:
    # [privacy.retain_days]
    # responses = 365
    # mentions = 90

``personal`` adds columns (``TABLE.COLUMN``, a contract column or an attribute column a file
brought, or a survey question id of ``responses``) to those the data contract already marks
personal; they are masked for every caller without the ``pii`` permission (``cxray.privacy``,
``docs/privacy.md``). ``retain_days`` is read by the retention purge (``cxray.privacy``):
absent means raw text is kept for good.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

from cxray.config._sources import TABLES

__all__ = ["PrivacyConfig"]

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PrivacyConfig(BaseModel):
    """Personal data in what people read (the dashboard, API rows, exports, notifications)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: mask e-mail addresses, phone numbers and card numbers inside free-text columns
    #: (comments, survey text answers, subjects, descriptions, texts) wherever rows leave the
    #: store for a caller without the ``pii`` permission
    redact: bool = True
    #: further personal columns, ``TABLE.COLUMN``: masked for callers without ``pii``
    personal: tuple[str, ...] = ()
    #: days raw personal text is kept (one number for every table, or ``{table = days}``);
    #: ``None``: kept until erased
    retain_days: int | dict[str, int] | None = None

    @field_validator("personal")
    @classmethod
    def _columns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for i, item in enumerate(v):
            table, dot, column = item.strip().partition(".")
            where = f"personal[{i}] = {item!r}"
            if not dot or not column:
                raise ValueError(f"{where}: write TABLE.COLUMN, e.g. 'customers.loyalty_card'")
            if table.lower() not in TABLES:
                raise ValueError(f"{where}: unknown table {table!r} (one of {', '.join(TABLES)})")
            if not _COLUMN.match(column):
                raise ValueError(f"{where}: {column!r} is not a column name")
            key = f"{table.lower()}.{column.lower()}"
            if key not in out:
                out.append(key)
        return tuple(out)

    @field_validator("retain_days", mode="before")
    @classmethod
    def _days(cls, v: object) -> object:
        if v is None:
            return v
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for table, days in items:
            where = "retain_days" if table is None else f"retain_days.{table}"
            if table is not None and str(table).lower() not in TABLES:
                raise ValueError(f"{where}: unknown table {table!r} (one of {', '.join(TABLES)})")
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise ValueError(f"{where}: expected a whole number of days >= 1, got {days!r}")
        if isinstance(v, dict):
            return {str(t).lower(): d for t, d in v.items()}
        return v

    def personal_columns(self, table: str) -> frozenset[str]:
        """The columns of ``table`` this config marks personal (lower case)."""
        prefix = f"{table.lower()}."
        return frozenset(p[len(prefix) :] for p in self.personal if p.startswith(prefix))

    def retention(self, table: str) -> int | None:
        """Days raw text of ``table`` is kept, or ``None`` (kept until erased)."""
        if self.retain_days is None or isinstance(self.retain_days, int):
            return self.retain_days
        return self.retain_days.get(table.lower())
