"""Rows behind the figures: filter, sort and page a table; a customer's timeline; exports.

Plain functions over an Ibis backend and the contract, with no web framework in
them, so that any interface can offer the same drill-down. Filters compare with
values converted to the column's type; a filter on a customer attribute (a
column of ``customers`` the table lacks, e.g. ``region`` on responses) keeps
the rows of the customers that have it, as the scorecard slices them; a time
range applies to the table's time column, from inclusive, to exclusive, naive
times read in the program's time zone (as imports read them).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dtypes
import pyarrow as pa

from cxray.exceptions import NotFoundError, QueryError
from cxray.privacy import Masking
from cxray.schema import CONTRACT, TableSpec, table_spec
from cxray.store import SYSTEM_COLUMNS

__all__ = [
    "FREE_TEXT",
    "TIMELINE_TABLES",
    "RowSelection",
    "csv_chunks",
    "csv_expr",
    "customer_timeline",
    "decode_cursor",
    "encode_cursor",
    "export_expr",
    "page_rows",
    "parquet_chunks",
    "parse_time",
    "redact_batches",
    "redact_rows",
]

#: tables that carry a customer's activity, with the name of one item of each
TIMELINE_TABLES = {
    "responses": "response",
    "cases": "case",
    "orders": "order",
    "events": "event",
    "mentions": "mention",
}

#: the contract's free-text columns, where customers write what they like (e-mail
#: addresses, phone and card numbers too); what is masked for whom: :mod:`cxray.privacy`
FREE_TEXT = {
    name: tuple(c.name for c in spec.columns if c.free_text)
    for name, spec in CONTRACT.items()
    if any(c.free_text for c in spec.columns)
}

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def parse_time(value: str, zone: str, what: str = "time") -> dt.datetime:
    """ISO 8601 text as naive UTC; a value without an offset is read in ``zone``."""
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(
            f"{what} {value!r}: not an ISO 8601 date or time (e.g. 2025-03-01 or "
            "2025-03-01T14:05:00Z)"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo(zone))
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _encodable(raw: str) -> bool:
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _typed(raw: str, dtype: dtypes.DataType, column: str, zone: str) -> Any:
    if "\x00" in raw or not _encodable(raw):  # no store holds either, so none could match
        raise QueryError(
            f"filter on {column}: {raw!r} holds a NUL character or a lone surrogate"
        )
    try:
        if dtype.is_string():
            return raw
        if dtype.is_boolean():
            low = raw.strip().lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if dtype.is_integer():
            value = int(raw)
            low, high = dtype.bounds  # e.g. csat:99999999999999999999999 on an int64 column
            if not low <= value <= high:
                raise ValueError
            return value
        if dtype.is_decimal():
            d = decimal.Decimal(raw)
            if not d.is_finite():
                raise ValueError
            if dtype.precision is not None and d and d.adjusted() >= dtype.precision - (
                dtype.scale or 0
            ):  # more whole digits than the column holds: no row could match
                raise ValueError
            return d
        if dtype.is_floating():
            return float(raw)
        if dtype.is_timestamp():
            return parse_time(raw, zone, f"filter on {column}")
        if dtype.is_date():
            return dt.date.fromisoformat(raw)
    except (ValueError, ArithmeticError):
        raise QueryError(f"filter on {column}: {raw!r} is not a valid {dtype}") from None
    return raw


@dataclass(frozen=True)
class RowSelection:
    """Which rows of a table, in which order.

    ``filters``: ``COLUMN:VALUE`` for equality (``COLUMN:`` for missing values),
    on the table's own columns or, through ``customer_id``, on the customer's;
    ``sort``: column names, ``-`` before one for descending; ``start``/``end``:
    ISO 8601 bounds on the time column; ``present``: columns that must hold a
    value (``nps`` keeps the responses with an NPS answer, as the NPS counts); ``where``:
    a named condition built over the table (the rows a KPI defined in config counts: its
    filter, and a value), as ``(name, build)``; when it has a ``time`` (a KPI's
    ``time_column``), ``start``/``end`` bound that column instead of the table's.
    """

    table: str
    filters: list[str] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    start: str | None = None
    end: str | None = None
    present: list[str] = field(default_factory=list)
    where: tuple[str, Callable[[ibis.Table], ibis.BooleanValue]] | None = None

    @property
    def spec(self) -> TableSpec:
        return table_spec(self.table)

    def apply(
        self,
        t: ibis.Table,
        zone: str,
        customers: ibis.Table | Callable[[], ibis.Table] | None = None,
        *,
        ordered: bool = True,
    ) -> ibis.Table:
        """``t`` filtered and (unless not ``ordered``) ordered; every named column
        checked against the table.

        ``customers`` (the customers table, or a function that gets it when a filter
        needs it) lets filters name customer attributes.
        """
        spec = self.spec
        schema = t.schema()
        by_customer = customers is not None and "customer_id" in schema
        for item in self.filters:
            column, sep, raw = item.partition(":")
            column = column.strip()
            if not sep or not column:
                raise QueryError(f"filter {item!r}: expected COLUMN:VALUE, e.g. channel:email")
            if column not in schema and by_customer:
                if callable(customers):
                    customers = customers()
                if column in customers.columns:
                    t = t.filter(_customer_filter(t, customers, column, raw, zone))
                    continue
            self._known(
                column, schema, "filter", " (or a column of customers)" if by_customer else ""
            )
            if raw == "":
                t = t.filter(t[column].isnull())
            else:
                t = t.filter(t[column] == ibis.literal(_typed(raw, schema[column], column, zone)))
        for column in self.present:
            self._known(column, schema, "present")
            t = t.filter(t[column].notnull())
        if self.where is not None:
            t = t.filter(self.where[1](t))
        # a KPI over another time column (``time_column``) is cut on that column
        tc = getattr(self.where, "time", None) or spec.time_column
        if self.start:
            t = t.filter(t[tc] >= parse_time(self.start, zone, "from"))
        if self.end:
            t = t.filter(t[tc] < parse_time(self.end, zone, "to"))
        order = self.order(schema)  # checks the sort columns either way
        return t.order_by(order) if ordered else t

    def order(self, schema: ibis.Schema) -> list[Any]:
        return [ibis.desc(c) if desc else ibis.asc(c) for c, desc in self.sort_keys(schema)]

    def sort_keys(self, schema: ibis.Schema) -> list[tuple[str, bool]]:
        """``(column, descending)`` pairs, ending with the key (a total order)."""
        spec = self.spec
        items = [s.strip() for part in self.sort for s in part.split(",") if s.strip()]
        if not items:
            items = [f"-{spec.time_column}"]  # newest first
        keys: list[tuple[str, bool]] = []
        named: set[str] = set()
        for item in items:
            column = item.lstrip("+-")
            self._known(column, schema, "sort")
            if column in named:
                continue
            named.add(column)
            keys.append((column, item.startswith("-")))
        if spec.key not in named:  # a total order, so that pages never overlap
            keys.append((spec.key, False))
        return keys

    def named_columns(self) -> list[str]:
        """The columns the selection filters or sorts by (what it could reveal)."""
        named = [f.partition(":")[0].strip() for f in self.filters]
        named += [s.strip().lstrip("+-") for part in self.sort for s in part.split(",")]
        return [c for c in dict.fromkeys(named) if c]

    def check_masking(self, masking: Masking | None) -> None:
        """Refuse, for a caller whose ``masking`` hides a column, to filter or sort by it."""
        if masking is None or not masking.active:
            return
        spec = self.spec
        for column in self.named_columns():
            masking.check_selection(spec.name, [column])
            if spec.name != "customers" and column not in spec:  # maybe a customer's
                masking.check_selection("customers", [column])

    def _known(self, column: str, schema: ibis.Schema, what: str, also: str = "") -> None:
        if column not in schema:
            raise QueryError(
                f"unknown column {column!r} in {what}; {self.table} has: {', '.join(schema)}{also}"
            )


def _customer_filter(
    t: ibis.Table, customers: ibis.Table, column: str, raw: str, zone: str
) -> ibis.BooleanValue:
    """Rows of ``t`` whose customer has ``column`` = ``raw`` (missing: no value, or no
    customer record), as the scorecard labels a row it slices by a customer attribute."""
    c = customers
    if raw == "":
        known = c.filter(c[column].notnull()).customer_id
        return t.customer_id.isnull() | ~t.customer_id.isin(known)
    value = ibis.literal(_typed(raw, c.schema()[column], column, zone))
    return t.customer_id.isin(c.filter(c[column] == value).customer_id)


def _customers(backend: ibis.BaseBackend, sel: RowSelection) -> Callable[[], ibis.Table] | None:
    return None if sel.spec.name == "customers" else lambda: backend.table("customers")


def encode_cursor(offset: int) -> str:
    """An opaque page cursor (today it carries the position; clients must not rely on it)."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise QueryError(f"cursor {cursor!r} is not one this server gave out") from None
    if offset < 0:
        raise QueryError(f"cursor {cursor!r} is not one this server gave out")
    return offset


def redact_rows(
    table: str, rows: list[dict[str, Any]], masking: Masking | None = None
) -> list[dict[str, Any]]:
    """``rows`` of ``table`` as a caller without ``pii`` may read them (``masking``, default
    the default policy): personal columns masked, free text redacted; changed in place."""
    return (masking or Masking()).rows(table_spec(table).name, rows)


def redact_batches(
    table: str, batches: Iterable[pa.RecordBatch], masking: Masking | None = None
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``table`` masked as :func:`redact_rows` masks rows."""
    return (masking or Masking()).batches(table_spec(table).name, batches)


def page_rows(
    backend: ibis.BaseBackend,
    sel: RowSelection,
    zone: str,
    *,
    limit: int,
    offset: int,
    masking: Masking | None = None,
    hints: MutableMapping[Any, Any] | None = None,
) -> dict[str, Any]:
    """One page of the selected rows, the total count and the page's bounds; with
    ``masking`` (:class:`cxray.privacy.Masking`), as that caller may read them (and a
    filter or sort by a column it masks refused).

    ``hints``, a mapping the caller keeps while the data stays the same (a server:
    until the next import), remembers each selection's count and where its pages
    end, so that paging through it again skips those queries.
    """
    sel.check_masking(masking)
    t = backend.table(sel.spec.name)
    filtered = sel.apply(t, zone, _customers(backend, sel), ordered=False)
    hints = {} if hints is None else hints
    if len(hints) > 4096:  # a bound on what a long-lived server keeps
        hints.clear()
    which = (sel.spec.name, tuple(sel.filters), tuple(sel.present), sel.start, sel.end, zone,
             sel.where and (sel.where[0], getattr(sel.where, "time", None)))  # fmt: skip
    total = hints.get(("total", which))
    if total is None:
        # counted without the order (a sort of every row just to count them is waste)
        total = hints[("total", which)] = _arrow(backend, filtered.count()).as_py()
    rows = []
    if limit and offset < total:
        keys = sel.sort_keys(t.schema())
        if offset + limit < total:
            upto = offset + limit
            edge_key = ("edge", which, tuple(keys), upto)
            edge = hints.get(edge_key)
            if edge is None:
                edge = hints[edge_key] = _edge(backend, filtered, keys, upto)
            filtered = _bounded(filtered, keys, sel.spec.key, edge)
        page = filtered.order_by(sel.order(t.schema())).limit(limit, offset=offset)
        rows = _arrow(backend, page).to_pylist()
        if masking is not None:
            masking.rows(sel.spec.name, rows)
    return {
        "table": sel.spec.name,
        "columns": [{"name": c, "type": str(d)} for c, d in t.schema().items()],
        "rows": rows,
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(rows) < total,
    }


def _arrow(backend: ibis.BaseBackend, expr: ibis.Expr) -> Any:
    """``backend.to_pyarrow(expr)``; on DuckDB the compiled SQL run on the connection
    itself, which skips a relation round trip that costs as much as a small query."""
    con = getattr(backend, "con", None) if getattr(backend, "name", None) == "duckdb" else None
    if con is None:
        return backend.to_pyarrow(expr)
    result = con.execute(str(backend.compile(expr))).to_arrow_table()
    if isinstance(expr, ibis.expr.types.Scalar):
        return result.column(0)[0]
    return result


def _edge(
    backend: ibis.BaseBackend, t: ibis.Table, keys: list[tuple[str, bool]], upto: int
) -> dict[str, Any] | bool:
    """The sort keys of the row at position ``upto`` among the rows with a first key
    (missing values sort last); False when there are not that many."""
    column, _ = keys[0]
    known = t.filter(t[column].notnull())
    order = [ibis.desc(c) if d else ibis.asc(c) for c, d in keys]
    edge = known.select(*[c for c, _ in keys]).order_by(order).limit(1, offset=upto - 1)
    found = _arrow(backend, edge).to_pylist()
    return found[0] if found else False


def _bounded(
    t: ibis.Table, keys: list[tuple[str, bool]], key: str, edge: dict[str, Any] | bool
) -> ibis.Table:
    """``t`` without the rows that sort after ``edge`` (see :func:`_edge`).

    A page deep in a large table sorts every row by every key, with every column
    in tow. The sort keys alone find the row at the page's last position cheaply,
    and rows beyond it are dropped before the full sort. With one sort column and
    the table's key after it (the usual case) exactly the rows up to the page's end
    remain. Nothing changes when the page reaches the missing values (``edge`` False).
    """
    if edge is False:
        return t
    column, desc = keys[0]
    value = edge[column]
    if len(keys) == 2 and keys[1][0] == key:  # the table's key: never missing, never tied
        # two plain conjunctions, which the engine applies while it scans (other columns
        # are then read only for the rows that pass): the rows before the edge's value,
        # and those tied with it up to the edge's key
        before = t.filter(t[column] > value if desc else t[column] < value)
        last = edge[key]
        tied = t.filter(t[column] == value, t[key] >= last if keys[1][1] else t[key] <= last)
        return before.union(tied)
    return t.filter(t[column] >= value if desc else t[column] <= value)


_PLACEHOLDER = "cxray-customer-id-placeholder-5b0c"
_SQL: dict[tuple[str, int | None], str] = {}


def _of_customer(
    backend: ibis.BaseBackend, table: str, customer_id: str, limit: int | None
) -> list[dict[str, Any]]:
    """A customer's rows of ``table``, newest first (at most ``limit``).

    On DuckDB the query is compiled once per table and limit and run with the id
    as a bound parameter: compiling the expression costs several times the lookup.
    """
    spec = CONTRACT[table]
    duckdb = getattr(backend, "name", None) == "duckdb" and getattr(backend, "con", None)

    def expr(value: str) -> ibis.Table:
        t = backend.table(table)
        mine = t.filter(t.customer_id == value)
        if limit is None:
            return mine
        return mine.order_by([ibis.desc(spec.time_column), ibis.desc(spec.key)]).limit(limit)

    if not duckdb:
        return backend.to_pyarrow(expr(customer_id)).to_pylist()
    sql = _SQL.get((table, limit))
    if sql is None:
        compiled = str(backend.compile(expr(_PLACEHOLDER)))
        quoted = f"'{_PLACEHOLDER}'"
        if compiled.count(quoted) != 1:  # not the SQL expected: no shortcut
            return backend.to_pyarrow(expr(customer_id)).to_pylist()
        if len(_SQL) > 256:  # limits are the caller's: keep the cache small
            _SQL.clear()
        sql = _SQL[(table, limit)] = compiled.replace(quoted, "?")
    return backend.con.execute(sql, [customer_id]).to_arrow_table().to_pylist()


def customer_timeline(
    backend: ibis.BaseBackend,
    customer_id: str,
    *,
    limit: int = 1000,
    masking: Masking | None = None,
) -> dict[str, Any]:
    """A customer's profile and their activity across tables, oldest first.

    At most ``limit`` items, the most recent ones; ``counts`` says how many
    rows each table holds for the customer, so a cut timeline is visible.
    With ``masking`` (:class:`cxray.privacy.Masking`), the profile and every row as
    that caller may read them.
    """
    profiles = _of_customer(backend, "customers", customer_id, None)
    if masking is not None:
        masking.rows("customers", profiles)
    profile = profiles[0] if profiles else None
    items: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for order, (name, kind) in enumerate(TIMELINE_TABLES.items()):
        spec = CONTRACT[name]
        found_rows = _of_customer(backend, name, customer_id, limit) if limit else []
        # counted apart only when the limit cut the rows short
        if limit and len(found_rows) < limit:
            counts[name] = len(found_rows)
        else:
            t = backend.table(name)
            mine = t.filter(t.customer_id == customer_id)
            counts[name] = int(backend.to_pyarrow(mine.count()).as_py())
        if masking is not None:
            masking.rows(name, found_rows)
        for row in found_rows:
            items.append(
                {
                    "time": row[spec.time_column],
                    "table": name,
                    "kind": kind,
                    "id": row[spec.key],
                    "data": row,
                    "_order": order,
                }
            )
    if profile is None and not items:
        raise NotFoundError(f"no customer {customer_id!r} in any table")
    items.sort(key=lambda i: (i["time"], i["_order"], i["id"]))
    items = items[-limit:] if limit else []
    for i in items:
        del i["_order"]
    return {
        "customer_id": customer_id,
        "profile": profile,
        "counts": counts,
        "timeline": items,
        "truncated": sum(counts.values()) > len(items),
    }


# ---------------------------------------------------------------- exports


def export_expr(
    backend: ibis.BaseBackend, sel: RowSelection, zone: str, masking: Masking | None = None
) -> ibis.Table:
    """The selected rows with every stored column but cxray's own (``_import_id``).

    The values are as stored: mask the batches with ``masking.batches`` (and the schema
    with ``masking.schema``); ``masking`` here only refuses a filter or sort it would hide.
    """
    sel.check_masking(masking)
    t = sel.apply(backend.table(sel.spec.name), zone, _customers(backend, sel))
    return t.select(*[c for c in t.columns if c not in SYSTEM_COLUMNS])


def csv_expr(expr: ibis.Table) -> ibis.Table:
    """Times as ISO 8601 UTC with ``Z``, so a re-import reads them the same in any zone."""
    cols = []
    for c, d in expr.schema().items():
        col = expr[c]
        cols.append(col.strftime("%Y-%m-%dT%H:%M:%S.%fZ").name(c) if d.is_timestamp() else col)
    return expr.select(*cols)


def csv_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """CSV text, header first, one chunk per record batch."""
    import pyarrow.csv as pacsv

    header = True
    for batch in batches:
        buf = io.BytesIO()
        pacsv.write_csv(
            pa.Table.from_batches([batch]), buf, pacsv.WriteOptions(include_header=header)
        )
        header = False
        yield buf.getvalue()


class _Sink:
    """A write-only file that hands out what was written since the last call."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0
        self.closed = False

    def write(self, data: Any) -> int:
        b = bytes(data)
        self._chunks.append(b)
        self._pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _utc_schema(schema: pa.Schema) -> pa.Schema:
    fields = []
    for f in schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            f = f.with_type(pa.timestamp(f.type.unit, tz="UTC"))
        fields.append(f)
    return pa.schema(fields)


def parquet_chunks(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """A Parquet file, one row group per record batch, times marked as UTC."""
    import pyarrow.parquet as pq

    target = _utc_schema(schema)
    sink = _Sink()
    with pq.ParquetWriter(sink, target, compression="zstd") as writer:
        for batch in batches:
            writer.write_table(pa.Table.from_batches([batch]).cast(target))
            if chunk := sink.take():
                yield chunk
    yield sink.take()
