"""Low-level readers that stage CSV, Parquet and JSON files into DuckDB.

Every reader produces a temporary table with the file's columns and an integer
``_row`` column (see :mod:`cxray.ingest._source`). Text formats are read with
every column as VARCHAR so that no value is lost or re-interpreted before
validation: an ID keeps its leading zeros, and a bad value can be quoted back
to the user exactly as it was written.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxray.exceptions import SourceError
from cxray.ingest._source import ROW_COLUMN

__all__ = [
    "check_readable",
    "quote_ident",
    "stage_arrow",
    "stage_csv",
    "stage_json_lines",
    "stage_parquet",
    "stage_records",
]


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _duckdb_message(exc: Exception) -> str:
    msg = str(exc).strip()
    # DuckDB prefixes errors with their class and often appends a long dialect dump;
    # keep the first paragraph, which says what and where.
    msg = msg.split("\n\n")[0]
    for prefix in ("Invalid Input Error: ", "Conversion Error: ", "IO Error: ", "Parser Error: "):
        msg = msg.removeprefix(prefix)
    return " ".join(msg.split())


def csv_error(file: str, exc: Exception) -> SourceError:
    """A DuckDB CSV reading error as one clear line naming the file (and line)."""
    msg = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", msg)
    where = f"{file}, line {line.group(1)}" if line else file
    if "Invalid unicode" in msg:
        return SourceError(
            f"{where}: not UTF-8 text; save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')"
        )
    return SourceError(f"{file}: cannot be read as CSV: {_duckdb_message(exc)}")


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    target: str,
    *,
    skip_rows_after_header: int = 0,
    delimiter: str | None = None,
    lazy: bool = False,
) -> int:
    """Stage a CSV file (optionally gzip-compressed) with all columns as text.

    Returns the row number of the first data row. With ``lazy``, ``target``
    is a view over the file in file order, without ``_row`` (see
    :attr:`StageContext.row_base`); otherwise a temporary table with ``_row``.

    The header is read here, not guessed: its cells name the columns, the
    delimiter is the one of ``, ; TAB |`` it uses most (unless given), and every
    data row must have exactly as many cells, or the file is refused with the
    line that breaks the rule. ``_row`` is the spreadsheet row number: the
    header is row 1, so the first data row is row 2 (plus any rows skipped
    after the header, as in exports with extra header rows).
    """
    check_readable(path)
    header, delim = _csv_header(path, delimiter)
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name.strip() == "":
            # staged as "#i": the pipeline refuses it unless --map names it (TARGET=#i)
            header[i - 1] = name = f"#{i}"
        if name in seen:
            raise SourceError(
                f"{path.name}: the header names column {name!r} twice (columns {seen[name]} "
                f"and {i}); rename one of them"
            )
        seen[name] = i
    columns = "{" + ", ".join(f"{_sql_str(n)}: 'VARCHAR'" for n in header) + "}"
    opts = [
        "header = false",
        f"skip = {1 + skip_rows_after_header}",
        f"delim = {_sql_str(delim)}",
        "quote = '\"'",
        "escape = '\"'",
        f"columns = {columns}",
        "strict_mode = true",
        "null_padding = false",
        "auto_detect = false",
    ]
    kind = "VIEW" if lazy else "TABLE"
    sql = (
        f"CREATE OR REPLACE TEMP {kind} {quote_ident(target)} AS "
        f"SELECT * FROM read_csv({_sql_str(str(path))}, {', '.join(opts)})"
    )
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise csv_error(path.name, exc) from exc
    first = 2 + skip_rows_after_header
    if not lazy:
        _add_row_numbers(con, target, first)
    return first


_DELIMITERS = (",", ";", "\t", "|")


def _csv_header(path: Path, delimiter: str | None) -> tuple[list[str], str]:
    """The header cells of a CSV file and its delimiter."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.readline()
    try:
        first = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, 1, exc) from None
    if not first.strip():
        raise SourceError(f"{path.name}: the first line is empty; expected a header")
    delim = delimiter or max(_DELIMITERS, key=lambda d: _count_outside_quotes(first, d))
    try:
        header = next(csv.reader([first], delimiter=delim, quotechar='"', strict=True))
    except (csv.Error, StopIteration) as exc:
        raise SourceError(f"{path.name}, line 1: the header cannot be read: {exc}") from None
    return [h.strip() for h in header], delim


def _not_utf8(path: Path, line: int, exc: UnicodeDecodeError) -> SourceError:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return SourceError(
        f"{path.name}, line {line}: not UTF-8 text (byte 0x{bad}); save the file as UTF-8 "
        "(in a spreadsheet: 'CSV UTF-8')"
    )


def _count_outside_quotes(line: str, ch: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            count += 1
    return count


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, target: str) -> None:
    """Stage a Parquet file; its column types are kept (validation converts them)."""
    check_readable(path)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(target)} AS "
            f"SELECT * FROM read_parquet({_sql_str(str(path))})"
        )
    except duckdb.Error as exc:
        raise SourceError(
            f"{path.name}: cannot be read as Parquet: {_duckdb_message(exc)}"
        ) from exc
    _add_row_numbers(con, target, 1)


def stage_json_lines(con: duckdb.DuckDBPyConnection, path: Path, target: str) -> None:
    """Stage a JSON Lines file (one object per line; blank lines skipped).

    Values keep their JSON types (numbers, booleans) and nested objects or
    arrays become JSON text. ``_row`` is the line number. A line that is not a
    JSON object is an error naming that line.
    """
    records = []
    lines = []
    check_readable(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, lineno, exc) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(
                    f"{path.name}, line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
                ) from None
            if not isinstance(obj, dict):
                raise SourceError(
                    f"{path.name}, line {lineno}: expected a JSON object, "
                    f"found {type(obj).__name__}"
                )
            records.append(obj)
            lines.append(lineno)
    stage_records(con, records, target, rows=lines, file=path.name)


def stage_records(
    con: duckdb.DuckDBPyConnection,
    records: Iterable[Mapping[str, Any]],
    target: str,
    *,
    rows: list[int] | None = None,
    file: str = "<records>",
) -> None:
    """Stage Python dicts (parsed JSON). Scalars keep their type; nesting becomes JSON text.

    Column types are unified per column: a column whose values are all ints
    stays an integer, all numbers a double, all booleans a boolean; any mix
    (or any string) becomes text, so nothing is lost.
    """
    records = list(records)
    if not records:
        raise SourceError(f"{file}: the file has no records")
    names: dict[str, None] = {}
    for r in records:
        for k in r:
            names.setdefault(k, None)
    columns: dict[str, list[Any]] = {}
    for name in names:
        values = [_json_scalar(r.get(name)) for r in records]
        columns[name] = values
    arrays = {name: _unify(values) for name, values in columns.items()}
    if ROW_COLUMN in arrays:
        raise SourceError(f"{file}: a field is named {ROW_COLUMN!r}, which cxray reserves")
    arrays[ROW_COLUMN] = pa.array(rows or range(1, len(records) + 1), pa.int64())
    stage_arrow(con, pa.table(arrays), target)


def _json_scalar(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return v


def _unify(values: list[Any]) -> pa.Array:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.array([None] * len(values), pa.string())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {int}:
        try:
            return pa.array(values, pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            pass
    if kinds <= {int, float} and bool not in kinds:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def stage_arrow(con: duckdb.DuckDBPyConnection, data: pa.Table, target: str) -> None:
    """Stage an Arrow table (or anything with ``__arrow_c_stream__``, e.g. a DataFrame)."""
    if not isinstance(data, pa.Table):
        data = _to_arrow(data)
    if ROW_COLUMN not in data.column_names:
        data = data.append_column(ROW_COLUMN, pa.array(range(1, data.num_rows + 1), pa.int64()))
    view = f"{target}__arrow"
    con.register(view, data)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(target)} AS "
            f"SELECT * FROM {quote_ident(view)}"
        )
    finally:
        con.unregister(view)


def _to_arrow(data: Any) -> pa.Table:
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return pa.Table.from_pandas(data, preserve_index=False)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    try:
        return pa.table(data)
    except (TypeError, pa.ArrowInvalid) as exc:
        raise SourceError(f"cannot read {type(data).__name__} as a table: {exc}") from exc


def _add_row_numbers(con: duckdb.DuckDBPyConnection, target: str, first: int) -> None:
    t = quote_ident(target)
    cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
    if ROW_COLUMN in cols:
        raise SourceError(f"a column is named {ROW_COLUMN!r}, which cxray reserves")
    # A temporary table keeps insertion order, so rowid is the file position.
    con.execute(f"ALTER TABLE {t} ADD COLUMN {ROW_COLUMN} BIGINT")
    con.execute(f"UPDATE {t} SET {ROW_COLUMN} = rowid + {first}")


def check_readable(path: Path) -> None:
    """Raise a :class:`SourceError` for a path that is missing, not a file or empty."""
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path.name}: the file is empty")


def _open_text(path: Path):
    check_readable(path)
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")
