"""What a store's status says, as data: per canonical table its rows, time range and the
attribute columns it has beyond the contract; each line of the import log.

The store (``Store.status()``, ``Store.imports()``, through Ibis on any backend) and the fast
``cxray status`` (a DuckDB file read with the ``duckdb`` module alone, no Ibis) both build
their answers with these shapes and functions, so the two say the same. Nothing here
imports more than the standard library.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cxray.schema._contract import TableSpec

__all__ = ["ImportRecord", "TableStatus", "attribute_columns", "import_record"]


@dataclass(frozen=True)
class TableStatus:
    """One canonical table: its rows, the first and last time of its time column and the
    attribute columns it holds beyond the contract."""

    table: str
    rows: int
    first: dt.datetime | None
    last: dt.datetime | None
    attributes: list[str]


@dataclass(frozen=True)
class ImportRecord:
    """One line of the import log."""

    import_id: int
    table_name: str
    source: str
    files: list[dict[str, Any]]
    rows_in: int
    added: int
    updated: int
    unchanged: int
    started_at: dt.datetime
    finished_at: dt.datetime
    cxray_version: str


def attribute_columns(spec: TableSpec, columns: Iterable[str], system: Iterable[str]) -> list[str]:
    """The stored ``columns`` of ``spec``'s table that are neither in the contract nor the
    store's own (``system``), in their stored order."""
    own = set(system)
    return [c for c in columns if c not in spec and c not in own]


def import_record(row: Mapping[str, Any]) -> ImportRecord:
    """A row of the import log (its ``files`` as stored JSON) as an :class:`ImportRecord`."""
    return ImportRecord(**{**row, "files": json.loads(row["files"])})
