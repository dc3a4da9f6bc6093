"""Helpers for the help-desk, analytics, review and audience sources.

The same few steps recur in the Freshdesk, Intercom, HubSpot, Salesforce, GA4,
review and Mailchimp readers: read a CSV export into records keyed by its
header, pull the list of objects out of an API response, turn epoch numbers
into ISO times, look a code up in the vendor's documented table (an unknown
code is an error naming file, row, field and value), and stage the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cxray.exceptions import ImportValidationError, RowError, RuleSummary, SourceError
from cxray.ingest._source import StageContext
from cxray.ingest.vendors._common import (
    choose_defaults,
    load_json,
    open_text,
    read_csv_rows,
    stage_rows,
    unique_names,
    user_claims,
)
from cxray.schema import normalize_column_name

__all__ = [
    "csv_header",
    "csv_records",
    "epoch_iso",
    "has_columns",
    "is_json",
    "json_items",
    "lookup",
    "row_error",
    "stage",
    "text",
]


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def text(value: Any) -> str | None:
    """A value as stripped text; empty and None are None; numbers become their digits."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    s = str(value).strip()
    return s or None


def row_error(file: str, row: int | None, column: str, value: Any, rule: str) -> Exception:
    """One broken rule in one record, as the pipeline reports them (nothing is written)."""
    shown = None if value is None else str(value)
    return ImportValidationError([RuleSummary(RowError(file, row, column, shown, rule), 1)])


def lookup(
    table: Mapping[Any, str], value: Any, *, file: str, row: int, column: str, what: str
) -> str | None:
    """The name of a documented code (``2`` → ``open``); an unknown code is an error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key: Any = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        key = int(value.strip())
    if isinstance(key, int) and not isinstance(key, bool) and key in table:
        return table[key]
    if isinstance(value, str) and value.strip().lower() in table.values():
        return value.strip().lower()  # a file that already holds the names
    known = ", ".join(f"{k}={v}" for k, v in table.items())
    raise row_error(file, row, column, value, f"not a known {what} (known: {known})")


def epoch_iso(value: Any, *, unit: float, file: str, row: int, column: str) -> str | None:
    """Seconds (``unit=1``) or microseconds (``unit=1e6``) since 1970 as ISO 8601 UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError
        when = datetime.fromtimestamp(number / unit, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise row_error(
            file,
            row,
            column,
            value,
            "must be a whole number of "
            + ("seconds" if unit == 1 else "microseconds")
            + " since 1970-01-01 UTC",
        ) from None
    return when.isoformat()


# ---------------------------------------------------------------- CSV


def is_json(path: Path) -> bool:
    """True when the file's first non-blank character opens a JSON array or object."""
    with open_text(path) as fh:
        try:
            start = fh.read(4096).lstrip()
        except UnicodeDecodeError:
            return False
    return start[:1] in ("[", "{")


def csv_header(head: str) -> list[str]:
    """The cells of the first line of a CSV text (for sniffing; never raises)."""
    import csv
    import io

    first = head.splitlines()[0] if head.strip() else ""
    try:
        return [c.strip() for c in next(csv.reader(io.StringIO(first)))]
    except (csv.Error, StopIteration):
        return []


def csv_records(
    path: Path,
    vendor: str,
    what: str,
    *,
    stop: Callable[[list[str]], bool] | None = None,
) -> tuple[list[str], list[dict[str, Any]], list[int]]:
    """A CSV export's header and its records (empty cells = None), with spreadsheet rows.

    ``stop(fields)`` ends the data at a footer (Salesforce writes one after a blank line).
    A row with a different number of fields than the header is an error naming the row.
    """
    rows = read_csv_rows(path)
    header: list[str] | None = None
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    for row, fields in rows:
        if header is None:
            if not any(f.strip() for f in fields):
                continue
            header = unique_names([f.strip() for f in fields])
            continue
        if not any(f.strip() for f in fields):
            continue
        if stop is not None and stop(fields):
            break
        if len(fields) != len(header):
            raise SourceError(
                f"{path.name}, row {row}: has {len(fields)} fields but the header has "
                f"{len(header)}; the file is not a complete {vendor} export"
            )
        records.append({n: (v if v.strip() else None) for n, v in zip(header, fields, strict=True)})
        numbers.append(row)
    if header is None or not records:
        raise SourceError(f"{path.name}: the {vendor} export has no {what}")
    return header, records, numbers


def has_columns(header: Iterable[str], *names: str) -> bool:
    """True when the header has every one of ``names`` (compared after normalization)."""
    have = {normalize_column_name(h) for h in header}
    return all(normalize_column_name(n) in have for n in names)


# ---------------------------------------------------------------- JSON


def json_items(
    path: Path,
    vendor: str,
    keys: Sequence[str],
    what: str,
    is_item: Callable[[Mapping[str, Any]], bool],
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """The objects of an API export: a list page ``{key: [...]}``, a bare array, or JSON Lines.

    Returns ``(row, object)`` pairs — the line for JSON Lines of single objects, the
    position otherwise — and whether the file was JSON Lines.
    """
    data = load_json(path)
    out: list[tuple[int, dict[str, Any]]] = []

    def where(line: int) -> str:
        return f"{path.name}, line {line}" if data.lines else path.name

    for line, value in data.values:
        if isinstance(value, dict):
            listed = next((value[k] for k in keys if isinstance(value.get(k), list)), None)
            if listed is None and is_item(value):
                out.append((line if data.lines else len(out) + 1, value))
                continue
            value = listed
        if not isinstance(value, list):
            expected = " or ".join(f"'{k}'" for k in keys)
            raise SourceError(
                f"{where(line)}: not {_a(vendor)} {vendor} export (expected a JSON array "
                f"of {what}, an object with a {expected} array, or one {what[:-1]} per line)"
            )
        for item in value:
            if not isinstance(item, dict):
                raise SourceError(f"{where(line)}: {what[:-1]} {len(out) + 1} is not a JSON object")
            out.append((len(out) + 1, item))
    if not out:
        raise SourceError(f"{path.name}: the {vendor} export has no {what}")
    return out, data.lines


# ---------------------------------------------------------------- staging


def stage(
    ctx: StageContext,
    target: str,
    path: Path,
    records: list[dict[str, Any]],
    rows: list[int],
    defaults: Sequence[tuple[str, str]] = (),
) -> None:
    """Stage records, renaming the vendor's columns by ``defaults`` unless ``--map`` decides."""
    columns: dict[str, None] = {}
    for r in records:
        columns.update(dict.fromkeys(r))
    renames = choose_defaults(columns, defaults, user_claims(ctx.mapping))
    stage_rows(ctx.con, target, records, rows, path.name, renames)
