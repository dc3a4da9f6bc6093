"""Google Analytics 4 events (the BigQuery export schema) → ``events``.

One row per event, as BigQuery exports the ``events_YYYYMMDD`` tables to JSON Lines or
Parquet: ``event_date``, ``event_timestamp`` (microseconds, UTC; JSON writes 64-bit
integers as text), ``event_name``, ``user_pseudo_id``, ``user_id``, repeated
``event_params`` key/value records, ``user_properties``, and the ``geo``, ``device``,
``traffic_source``, ``app_info`` and ``ecommerce`` records
(https://support.google.com/analytics/answer/7029846). See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from cxray.exceptions import SourceError
from cxray.ingest._readers import check_readable
from cxray.ingest._readers import quote_ident as q
from cxray.ingest._source import ROW_COLUMN, Source, StageContext
from cxray.ingest.vendors._common import flatten, head_text, snake, to_json_text
from cxray.ingest.vendors._more import epoch_iso, json_items, row_error, stage, text

__all__ = ["GA4Source"]

#: ``platform`` → the contract's channel
CHANNEL = {"web": "web", "ios": "app", "android": "app"}
#: fields read into contract columns or handled on their own
_READ = frozenset(
    {
        "event_timestamp",
        "event_name",
        "user_id",
        "user_pseudo_id",
        "event_params",
        "user_properties",
        "platform",
        "items",
    }
)
_NEEDED = frozenset({"event_name", "event_timestamp", "user_pseudo_id", "event_params"})


class GA4Source(Source):
    name = "ga4"
    description = "Google Analytics 4 events: the BigQuery export as JSON Lines or Parquet"
    tables = frozenset({"events"})
    suffixes = (".jsonl", ".ndjson", ".json", ".parquet", ".jsonl.gz", ".json.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        if head[:4] == b"PAR1":
            return set(_parquet_schema(path)) >= _NEEDED
        t = head_text(head)
        return all(f'"{k}"' in t for k in _NEEDED)

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        if _stage_in_duckdb(ctx.con, path, target):
            return
        events = _events(path)
        records = [_event(path, row, e) for row, e in events]
        stage(ctx, target, path, records, [row for row, _ in events])


def _parquet_schema(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:  # sniffing never fails; reading reports the problem
        return []


def _events(path: Path) -> list[tuple[int, dict[str, Any]]]:
    check_readable(path)
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # any reading problem is the file's
            raise SourceError(f"{path.name}: cannot be read as Parquet: {exc}") from None
        if not rows:
            raise SourceError(f"{path.name}: the GA4 export has no events")
        events = list(enumerate(rows, start=1))
    else:
        events, _ = json_items(
            path, "GA4 BigQuery", ("events", "rows"), "events", lambda o: "event_name" in o
        )
    for row, e in events:
        if "event_name" not in e and "event_timestamp" not in e:
            raise SourceError(
                f"{path.name}, row {row}: not a GA4 BigQuery export event (no event_name or "
                "event_timestamp)"
            )
    return events


def _param(value: Any) -> Any:
    """The one filled value of a GA4 ``value`` record (string, int, float or double)."""
    if not isinstance(value, dict):
        return value
    for key in ("string_value", "int_value", "float_value", "double_value"):
        v = value.get(key)
        if v is not None:
            if key == "int_value" and isinstance(v, str) and v.lstrip("-").isdigit():
                return int(v)
            return v
    return None


def _pairs(records: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(records, list):
        for r in records:
            if isinstance(r, dict) and r.get("key") is not None:
                out[str(r["key"])] = _param(r.get("value"))
    return out


def _event(path: Path, row: int, e: dict[str, Any]) -> dict[str, Any]:
    params = _pairs(e.get("event_params"))
    pseudo, user = text(e.get("user_pseudo_id")), text(e.get("user_id"))
    micros = text(e.get("event_timestamp"))
    name = text(e.get("event_name"))
    session = text(params.get("ga_session_id"))
    key = [pseudo or user, micros, name]
    for extra in ("batch_event_index", "event_bundle_sequence_id"):
        if text(e.get(extra)) is not None:
            key.append(text(e.get(extra)))
    rec: dict[str, Any] = {
        "event_id": ".".join(k or "" for k in key) if all(key) else None,
        "customer_id": user or pseudo,
        "timestamp": epoch_iso(
            e.get("event_timestamp"), unit=1e6, file=path.name, row=row, column="event_timestamp"
        ),
        "touchpoint": name,
        "channel": CHANNEL.get((text(e.get("platform")) or "").lower()),
        "session_id": f"{pseudo}.{session}" if pseudo and session else None,
        "user_id": user,
        "user_pseudo_id": pseudo,
        "platform": text(e.get("platform")),
        "page_location": text(params.pop("page_location", None)),
        "page_title": text(params.pop("page_title", None)),
        "page_referrer": text(params.pop("page_referrer", None)),
    }
    for k, v in params.items():
        rec[f"param_{snake(k)}"] = v
    for k, v in _pairs(e.get("user_properties")).items():
        rec[f"user_property_{snake(k)}"] = v
    if isinstance(e.get("items"), list):
        rec["items"] = to_json_text(e["items"]) if e["items"] else None
    for k, v in e.items():
        if k in _READ:
            continue
        rec.update(flatten({k: v}, "", depth=3))
    return rec


# ---------------------------------------------------------------- the DuckDB path
#
# A day of GA4 events is easily a million rows of nested records: reading them into
# Python dicts costs minutes and gigabytes. For JSON Lines, a JSON array and Parquet,
# DuckDB reads the file and the same columns as :func:`_event` are computed in SQL;
# other shapes (pages under an "events" key) take the Python path above.


def _stage_in_duckdb(con: duckdb.DuckDBPyConnection, path: Path, target: str) -> bool:
    check_readable(path)
    with path.open("rb") as fh:
        parquet = fh.read(4) == b"PAR1"
    file = "'" + str(path).replace("'", "''") + "'"
    source = (
        f"read_parquet({file})"
        if parquet
        else f"read_json({file}, format = 'auto', sample_size = -1, maximum_object_size = 67108864)"
    )
    raw = f"{target}_raw"
    try:
        con.execute(f"CREATE TEMP TABLE {q(raw)} AS SELECT * FROM {source}")
    except duckdb.Error:
        return False  # not a table of events: the Python path says what is wrong
    columns, column_types = _describe(con, raw)
    types = dict(zip(columns, column_types, strict=True))
    if not set(types) >= _NEEDED or not _is_key_values(types["event_params"]):
        con.execute(f"DROP TABLE {q(raw)}")
        return False
    try:
        _check_timestamps(con, path, raw)
        exprs = _select(con, raw, types)
        cols = ", ".join(f"{e} AS {q(n)}" for n, e in exprs.items())
        con.execute(
            f"CREATE TEMP TABLE {q(target)} AS SELECT {cols}, rowid + 1 AS {ROW_COLUMN} "
            f"FROM {q(raw)} ORDER BY rowid"
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {q(raw)}")
    return True


def _is_key_values(t: duckdb.DuckDBPyType) -> bool:
    if t.id != "list":
        return False
    child = t.child
    return child.id == "struct" and {n for n, _ in child.children} >= {"key", "value"}


_VALUES = ("string_value", "int_value", "float_value", "double_value")


def _lit(text_: str) -> str:
    return "'" + text_.replace("'", "''") + "'"


def _check_timestamps(con: duckdb.DuckDBPyConnection, path: Path, raw: str) -> None:
    bad = con.execute(
        f"SELECT rowid + 1, CAST(event_timestamp AS VARCHAR) FROM {q(raw)} "
        "WHERE event_timestamp IS NOT NULL AND TRY_CAST(event_timestamp AS BIGINT) IS NULL "
        "ORDER BY rowid LIMIT 1"
    ).fetchone()
    if bad is not None:
        row, value = bad
        raise row_error(
            path.name,
            row,
            "event_timestamp",
            value,
            "must be a whole number of microseconds since 1970-01-01 UTC",
        )


def _text_sql(expr: str) -> str:
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def _pair_columns(
    con: duckdb.DuckDBPyConnection, raw: str, column: str, t: duckdb.DuckDBPyType
) -> dict[str, str]:
    """One column per key of a GA4 key/value list, typed as its values are (as
    :func:`_param` and the staging of Python values would type them)."""
    value = dict(t.child.children)["value"]
    fields = [f for f in _VALUES if f in dict(value.children)] if value.id == "struct" else []
    counts = [f"count(p.value.{f})" if f in fields else "0" for f in _VALUES]
    rows = con.execute(
        f"SELECT p.key, {counts[0]}, {counts[1]}, {counts[2]} + {counts[3]} "
        f"FROM (SELECT unnest({q(column)}) AS p FROM {q(raw)}) "
        "WHERE p.key IS NOT NULL GROUP BY p.key ORDER BY p.key"
    ).fetchall()
    out: dict[str, str] = {}
    for key, strings, ints, floats in rows:
        v = f"list_filter({q(column)}, x -> x.key = {_lit(key)})[1].value"
        if strings:
            parts = [f"CAST({v}.{f} AS VARCHAR)" for f in fields]
            expr = f"coalesce({', '.join(parts)})"
        elif floats:
            parts = [f"TRY_CAST({v}.{f} AS DOUBLE)" for f in fields if f != "string_value"]
            expr = f"coalesce({', '.join(parts)})"
        elif ints:
            expr = f"TRY_CAST({v}.int_value AS BIGINT)"
        else:
            expr = "CAST(NULL AS VARCHAR)"
        out[key] = expr
    return out


def _describe(con: duckdb.DuckDBPyConnection, raw: str) -> tuple[list[str], list[Any]]:
    rel = con.sql(f"SELECT * FROM {q(raw)} LIMIT 0")
    return rel.columns, rel.types


def _flat(name: str, expr: str, t: duckdb.DuckDBPyType, depth: int) -> dict[str, str]:
    """The SQL twin of :func:`cxray.ingest.vendors._common.flatten`."""
    if t.id == "struct":
        if depth > 1:
            out: dict[str, str] = {}
            for field, child in t.children:
                out.update(_flat(f"{name}_{field}", f"{expr}.{q(field)}", child, depth - 1))
            return out
        return {name: f"CAST(to_json({expr}) AS VARCHAR)"}
    if t.id in ("list", "map", "array") or str(t) == "JSON":
        return {
            name: f"CAST(to_json({expr}) AS VARCHAR)"
            if str(t) != "JSON"
            else f"CAST({expr} AS VARCHAR)"
        }
    return {name: expr}


def _select(con: duckdb.DuckDBPyConnection, raw: str, types: dict[str, Any]) -> dict[str, str]:
    pseudo, user = _text_sql("user_pseudo_id"), _text_sql("user_id")
    name = _text_sql("event_name")
    micros = _text_sql("event_timestamp")
    params = _pair_columns(con, raw, "event_params", types["event_params"])
    session = params.get("ga_session_id")
    key = [f"coalesce({pseudo}, {user})", micros, name]
    extras = [_text_sql(c) for c in ("batch_event_index", "event_bundle_sequence_id") if c in types]
    out: dict[str, str] = {
        "event_id": f"CASE WHEN {' AND '.join(f'{k} IS NOT NULL' for k in key)} "
        f"THEN concat_ws('.', {', '.join(key + extras)}) END",
        "customer_id": f"coalesce({user}, {pseudo})",
        "timestamp": "strftime(make_timestamp(CAST(event_timestamp AS BIGINT)), "
        "'%Y-%m-%dT%H:%M:%S.%f') || '+00:00'",
        "touchpoint": name,
        "channel": f"CASE lower({_text_sql('platform')}) "
        + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in CHANNEL.items())
        + " END",
        "session_id": (
            f"CASE WHEN {pseudo} IS NOT NULL AND {_text_sql(session)} IS NOT NULL "
            f"THEN {pseudo} || '.' || {_text_sql(session)} END"
            if session
            else "CAST(NULL AS VARCHAR)"
        ),
        "user_id": user,
        "user_pseudo_id": pseudo,
        "platform": _text_sql("platform") if "platform" in types else "CAST(NULL AS VARCHAR)",
    }
    for special in ("page_location", "page_title", "page_referrer"):
        expr = params.pop(special, None)
        out[special] = _text_sql(expr) if expr else "CAST(NULL AS VARCHAR)"
    for k, expr in params.items():
        out[f"param_{snake(k)}"] = expr
    if "user_properties" in types and _is_key_values(types["user_properties"]):
        for k, expr in _pair_columns(con, raw, "user_properties", types["user_properties"]).items():
            out[f"user_property_{snake(k)}"] = expr
    if "items" in types and types["items"].id == "list":
        out["items"] = "CASE WHEN len(items) > 0 THEN CAST(to_json(items) AS VARCHAR) END"
    for column, t in types.items():
        if column in _READ:
            continue
        for n, e in _flat(column, q(column), t, 3).items():
            out.setdefault(n, e)
    return out
