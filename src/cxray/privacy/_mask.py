"""The masking policy: what a caller without the ``pii`` permission sees of personal data.

One policy for every output (API rows, timelines, exports, dashboard pages, alerts and
notifications). A column of a table is one of:

``mask``
    personal data about a person: the data contract's personal columns (``customers.email``,
    ``customers.name``, ``mentions.author``, ``mentions.url``) and the columns
    ``[privacy] personal`` names in ``cxray.toml``. Shown as :data:`MASK`; a missing value
    stays missing (that a customer has no e-mail is not personal).
``redact``
    free text: the contract's free-text columns (comments, case subjects and descriptions,
    mention texts, churn reasons) and *every column outside the contract* (attributes an
    import brought, each survey question's answers), whose content cxray cannot know:
    e-mail addresses, phone and card numbers in it are replaced (:func:`redact`), the rest
    of the text stays. ``[privacy] redact = false`` turns this off for everyone.
``None``
    every other contract column (ids, times, scores, categories): shown as stored.
    ``customer_id`` is a pseudonymous key, not personal: pages still tell customers apart.

A caller with ``pii`` (an admin key, a key created with ``--pii``, the store's local owner)
sees everything as stored: :meth:`Masking.active` is False and every method returns its
input. The patterns lean towards privacy: a card number is any 13-19 digit run (spaces or
dashes allowed) that passes the Luhn check; a phone number is a run of 7-15 digits with
phone-like separators (``+``, spaces, dots, dashes, brackets) that is not a date. Some
other long numbers (order numbers with separators) may be masked as phones; that is the
intended side to err on.

This module imports nothing heavier than PyArrow (and that only where batches are masked),
so that notifications and the command line can use it without the text-analytics stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cxray.config._privacy import PrivacyConfig
from cxray.exceptions import PermissionDeniedError
from cxray.schema import CONTRACT

__all__ = [
    "MASK",
    "UNMASKED",
    "Masking",
    "column_kind",
    "luhn_valid",
    "redact",
    "redactor",
]

#: what a personal value is shown as to a caller without ``pii``
MASK = "[personal]"

Kind = Literal["mask", "redact"]

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+.\-/])(?:\+|\b)\d(?:[ .\-/]?\(?\d\)?){6,14}(?!\w|[.\-/]\d)"
    r"|\(\d{2,5}\)[ .\-]?\d(?:[ .\-]?\d){4,11}(?!\w|[.\-/]\d)"
)
_YEARS = re.compile(r"(?:19|20)\d\d ?[-/] ?(?:19|20)\d\d")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
#: every mask needs an '@' (an e-mail) or at least 7 digits (a phone; a card has 13)
_MAYBE_PERSONAL = re.compile(r"@|\d(?:\D*\d){6}")
_DIGIT = re.compile(r"\d")
#: cxray's own columns on every canonical table (which import wrote the row)
_SYSTEM = frozenset({"_import_id"})


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum (card numbers do)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(
    text: str | None,
    *,
    emails: bool = True,
    phones: bool = True,
    cards: bool = True,
    email_mask: str = "[email]",
    phone_mask: str = "[phone]",
    card_mask: str = "[card]",
) -> str | None:
    """The text with personal data replaced by masks; ``None`` stays ``None``.

    >>> redact("Mail jo@example.com or call +44 20 7946 0958")
    'Mail [email] or call [phone]'
    >>> redact("card 4111 1111 1111 1111, order 1234567890123456")
    'card [card], order 1234567890123456'
    """
    if not text:
        return text
    digits = len(_DIGIT.findall(text))  # too few digits for a card or a phone: skip them
    cards, phones, emails = cards and digits >= 13, phones and digits >= 7, emails and "@" in text
    if cards:

        def card(m: re.Match[str]) -> str:
            digits = re.sub(r"\D", "", m.group())
            return card_mask if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group()

        text = _CARD.sub(card, text)
    if emails:
        text = _EMAIL.sub(email_mask, text)
    if phones:

        def phone(m: re.Match[str]) -> str:
            s = m.group()
            digits = sum(ch.isdigit() for ch in s)
            if not 7 <= digits <= 15 or _DATE.fullmatch(s.strip(" ()")):
                return s
            if _YEARS.fullmatch(s.strip(" ()")):  # "2006-2010", "1930-1940": years, no phone
                return s
            # a bare run of digits is a phone only when it is as long as one (10-12 digits)
            if s.isdigit() and not 10 <= len(s) <= 12:
                return s
            return phone_mask

        text = _PHONE.sub(phone, text)
    return text


def _redacted(value: Any) -> Any:
    if isinstance(value, str) and ("@" in value or _MAYBE_PERSONAL.search(value)):
        return redact(value)
    return value


def _masked(value: Any) -> Any:
    return None if value is None else MASK


def redactor(config: object) -> Callable[[str | None], str | None]:
    """:func:`redact`, or no change when the program config turns redaction off.

    ``[privacy] redact = false`` in ``cxray.toml`` shows texts as stored; the
    default (and any config without the switch) masks personal data.
    """
    privacy = getattr(config, "privacy", None)
    if privacy is not None and getattr(privacy, "redact", True) is False:
        return _as_is
    return redact


def _as_is(text: Any) -> Any:
    return text


def column_kind(table: str, column: str, config: PrivacyConfig | None = None) -> Kind | None:
    """How ``table.column`` is shown to a caller without ``pii`` (see the module's doc)."""
    name = column.lower()
    if config is not None and name in config.personal_columns(table):
        return "mask"
    spec = CONTRACT.get(table.lower())
    if spec is None or name in _SYSTEM:
        return None if name in _SYSTEM else "redact"
    if name not in spec:
        return "redact"  # an attribute or a survey question's answer: content unknown
    col = spec.column(name)
    if col.personal:
        return "mask"
    return "redact" if col.free_text else None


@dataclass(frozen=True)
class Masking:
    """What one caller may see of personal data.

    >>> m = Masking.for_caller(ws.config, pii=False)        # doctest: +SKIP
    >>> m.rows("customers", [{"customer_id": "C1", "email": "jo@example.com"}])
    [{'customer_id': 'C1', 'email': '[personal]'}]          # doctest: +SKIP

    ``Masking()`` masks with the default ``[privacy]`` settings; :data:`UNMASKED` (a caller
    with ``pii``) changes nothing.
    """

    #: the caller has the ``pii`` permission: nothing is masked
    pii: bool = False
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    @classmethod
    def for_caller(cls, config: object, *, pii: bool) -> Masking:
        """The policy for a caller with (or without) ``pii`` under a program config."""
        privacy = getattr(config, "privacy", None)
        if not isinstance(privacy, PrivacyConfig):
            privacy = PrivacyConfig()
        return cls(pii=bool(pii), privacy=privacy)

    @property
    def active(self) -> bool:
        """Whether anything is masked for this caller."""
        return not self.pii

    def kind(self, table: str, column: str) -> Kind | None:
        """How a column is shown to this caller: ``mask``, ``redact`` or as stored."""
        if self.pii:
            return None
        found = column_kind(table, column, self.privacy)
        if found == "redact" and not self.privacy.redact:
            return None
        return found

    def plan(self, table: str, columns: Iterable[str]) -> dict[str, Callable[[Any], Any]]:
        """For each of ``columns`` that changes, the function that masks its values."""
        out: dict[str, Callable[[Any], Any]] = {}
        for c in columns:
            kind = self.kind(table, c)
            if kind is not None:
                out[c] = _masked if kind == "mask" else _redacted
        return out

    def report_config(self, config: Any) -> Any:
        """The program config a text report (theme quotes, examples) is made under for this
        caller: as it is without ``pii`` (texts redacted unless ``[privacy] redact =
        false``); with ``pii``, a copy that leaves texts as written (a report of its own)."""
        privacy = getattr(config, "privacy", None)
        if not self.pii or not isinstance(privacy, PrivacyConfig) or not privacy.redact:
            return config
        return config.model_copy(update={"privacy": privacy.model_copy(update={"redact": False})})

    def text(self, value: Any) -> Any:
        """Free text (a quote, an example, a note) as this caller may read it."""
        if self.pii or not self.privacy.redact:
            return value
        return _redacted(value)

    def texts(self, data: Any, keys: Iterable[str]) -> Any:
        """A copy of a nested result (dicts and lists) with the strings under ``keys`` (or
        in lists under them) redacted as free text: what customers wrote (churn reasons)."""
        if self.pii or not self.privacy.redact:
            return data
        wanted = frozenset(keys)

        def walk(x: Any, here: bool = False) -> Any:
            if isinstance(x, Mapping):
                return {k: walk(v, k in wanted) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [walk(v, here) for v in x]
            return self.text(x) if here else x

        return walk(data)

    def value(self, table: str, column: str, value: Any) -> Any:
        """One value of ``table.column`` as this caller may read it."""
        fn = self.plan(table, [column]).get(column)
        return value if fn is None else fn(value)

    def row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """One row of ``table``, masked in place and returned."""
        return self.rows(table, [row])[0]

    def rows(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of ``table`` (dicts), masked in place and returned."""
        if self.pii or not rows:
            return rows
        names = {c for r in rows for c in r}
        plan = self.plan(table, names)
        for r in rows:
            for c, fn in plan.items():
                if c in r:
                    r[c] = fn(r[c])
        return rows

    def mapping(self, table: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a row-like mapping (an alert's details), masked."""
        return self.rows(table, [dict(data)])[0]

    def schema(self, table: str, schema: Any) -> Any:
        """A PyArrow schema as the masked batches of ``table`` have it (a masked column
        that was not text becomes text)."""
        import pyarrow as pa

        if self.pii:
            return schema
        plan = self.plan(table, schema.names)
        fields = [
            pa.field(f.name, pa.string(), f.nullable, f.metadata)
            if f.name in plan and plan[f.name] is _masked and not _is_text(f.type)
            else f
            for f in schema
        ]
        return pa.schema(fields, metadata=schema.metadata)

    def batches(self, table: str, batches: Iterable[Any]) -> Iterator[Any]:
        """PyArrow record batches of ``table``, masked (see :meth:`schema` for types)."""
        import pyarrow as pa

        if self.pii:
            yield from batches
            return
        plan: dict[str, Callable[[Any], Any]] | None = None
        for batch in batches:
            if plan is None:
                plan = self.plan(table, batch.schema.names)
            for c, fn in plan.items():
                i = batch.schema.get_field_index(c)
                if i < 0:
                    continue
                f = batch.schema.field(i)
                if fn is _redacted and not _is_text(f.type):
                    continue  # numbers and times hold no free text
                masked = _mask_array(batch.column(i), fn)
                if masked is not None:
                    batch = batch.set_column(i, pa.field(c, pa.string(), f.nullable), masked)
            yield batch

    def alert(self, alert: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a closed-loop alert (``ws.loop.alerts()``) with its details masked as
        rows of the table that fired it (a KPI alert's slice values redacted as text)."""
        out = dict(alert)
        if self.pii:
            return out
        details = out.get("details")
        if isinstance(details, Mapping):
            source = str(out.get("source") or "")
            if source in CONTRACT:
                out["details"] = self.mapping(source, details)
            else:
                out["details"] = {k: self.text(v) for k, v in details.items()}
        out["title"] = self.text(out.get("title"))
        return out

    def followup(self, followup: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a follow-up (a row of the list, or one with its alert and history):
        the notes and outcome people wrote are free text, the alert masked as alerts are."""
        out = dict(followup)
        if self.pii:
            return out
        for k in ("note", "outcome", "title"):
            if k in out:
                out[k] = self.text(out[k])
        if isinstance(out.get("alert"), Mapping):
            out["alert"] = self.alert(out["alert"])
        if isinstance(out.get("history"), list):
            out["history"] = [self._event(e) for e in out["history"]]
        return out

    def _event(self, event: Any) -> Any:
        if not isinstance(event, Mapping):
            return event
        ev = dict(event)
        d = ev.get("detail")
        if isinstance(d, Mapping):
            ev["detail"] = {k: self.text(v) for k, v in d.items()}
        else:
            ev["detail"] = self.text(d)
        return ev

    def check_query(self, items: Iterable[tuple[str, str]]) -> None:
        """Refuse a request whose parameters slice, group, trace, filter or sort by a column
        this caller sees masked, in any table (``/api/scorecard?by=email`` would list every
        e-mail as a segment)."""
        if self.pii:
            return
        for key, value in items:
            if key not in _NAMING:
                continue
            for column in _named(key, value):
                for table in CONTRACT:
                    if column and column_kind(table, column, self.privacy) == "mask":
                        raise PermissionDeniedError(
                            f"{key}={column}: {table}.{column} is personal data; slicing, "
                            "filtering or sorting by it needs the pii permission (an admin "
                            "key, or `cxray keys create --pii`)"
                        )

    def check_selection(self, table: str, columns: Iterable[str]) -> None:
        """Refuse to filter or sort rows by a masked column: the answer would tell what the
        mask hides (``filter=email:jo@example.com`` finds whether jo is a customer)."""
        if self.pii:
            return
        for c in columns:
            if column_kind(table, c, self.privacy) == "mask":
                raise PermissionDeniedError(
                    f"{table}.{c} is personal data: filtering or sorting by it needs the pii "
                    "permission (an admin key, or `cxray keys create --pii`)"
                )


def _mask_array(column: Any, fn: Callable[[Any], Any]) -> Any:
    """One column of a batch masked (``None``: nothing to change). A personal column becomes
    the mask where it has a value; free text is redacted only in the values that hold an
    '@' or a digit (found by Arrow, in C++), the rest kept without a trip through Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fn is _masked:
        return pc.if_else(pc.is_valid(column), pa.scalar(MASK), pa.scalar(None, pa.string()))
    text = column if pa.types.is_string(column.type) else column.cast(pa.string())
    hits = pc.match_substring_regex(text, _MAYBE_PERSONAL.pattern)
    if not pc.any(hits).as_py():
        return None
    values, flags = text.to_pylist(), hits.to_pylist()
    return pa.array(
        [redact(v) if f else v for v, f in zip(values, flags, strict=True)], pa.string()
    )


#: query parameters that name a column to slice, group, trace, filter or sort by
_NAMING = frozenset({"by", "case", "group", "trace", "sort", "filter"})


def _named(key: str, value: str) -> list[str]:
    if key == "filter":
        return [value.partition(":")[0].strip()]
    return [v.strip().lstrip("+-") for v in value.split(",") if v.strip()]


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


#: nothing masked: a caller with ``pii`` (the store's local owner, an admin)
UNMASKED = Masking(pii=True)
