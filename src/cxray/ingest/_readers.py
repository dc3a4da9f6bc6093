"""Low-level readers that stage CSV, Parquet and JSON files into DuckDB.

Every reader produces a temporary table with the file's columns and an integer
``_row`` column (see :mod:`cxray.ingest._source`). Text formats are read with
every column as VARCHAR so that no value is lost or re-interpreted before
validation: an ID keeps its leading zeros, and a bad value can be quoted back
to the user exactly as it was written.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxray.config._imports import ImportLimits
from cxray.exceptions import SourceError
from cxray.ingest._source import ROW_COLUMN

__all__ = [
    "check_limits",
    "check_readable",
    "limits_in_effect",
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
    message = re.sub(r"(?:/[^\s/'\"]+)+/([^\s/'\"]+)", r"\1", _duckdb_message(exc))
    return SourceError(f"{file}: cannot be read as CSV: {message}")


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
    limits = _LIMITS.get()
    if limits is not None and limits.max_line_bytes + 2 > _DUCKDB_LINE:
        opts.append(f"max_line_size = {limits.max_line_bytes + 2}")
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
            f"{path.name}: cannot be read as Parquet: {_no_paths(_duckdb_message(exc), path)}"
        ) from None
    _add_row_numbers(con, target, 1)


def stage_json_lines(con: duckdb.DuckDBPyConnection, path: Path, target: str) -> None:
    """Stage a JSON Lines file (one object per line; blank lines skipped).

    Values keep their JSON types (numbers, booleans) and nested objects or
    arrays become JSON text. ``_row`` is the line number. A line that is not a
    JSON object is an error naming that line.
    """
    records = []
    lines = []
    limits = _LIMITS.get()
    names: set[str] = set()
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
            if limits is not None and limits.max_columns:
                names.update(obj)
                _check_columns(path.name, len(names), limits, f", line {lineno}")
    if limits is not None and records:
        _check_cells(path.name, len(records), len(names), limits)
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


# ---------------------------------------------------------------- import limits

#: the limits of the import now reading files in this thread (``limits_in_effect``)
_LIMITS: contextvars.ContextVar[ImportLimits | None] = contextvars.ContextVar(
    "import_limits", default=None
)
#: how much of a file one step of the line scan reads
_SCAN_CHUNK = 1 << 20
#: DuckDB's own default ``max_line_size`` (2 MiB); raised to the configured limit above it
_DUCKDB_LINE = 2 * 1024 * 1024


@contextlib.contextmanager
def limits_in_effect(limits: ImportLimits | None) -> Iterator[None]:
    """Inside the block, the readers of this thread refuse what is over ``limits``
    (columns of a JSON file, DuckDB's longest CSV line)."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


def _where(limit: str) -> str:
    return f"[imports.limits] {limit}"


def check_limits(path: Path, limits: ImportLimits | None, kind: str | None = None) -> None:
    """Refuse a file over ``limits`` before anything parses it (:class:`SourceError`
    naming the file, where, and the limit).

    ``kind``: ``csv``, ``jsonl`` or ``parquet`` (other files: only their size is
    checked). A text file is scanned once in chunks of 1 MiB: its size (of the
    text, for ``.gz``), every line's length, NUL bytes in a CSV file (refused
    like a NUL in a survey answer: a text column of PostgreSQL cannot hold one,
    and dropping it would change what a customer wrote), and for a CSV file the
    header's columns and rows × columns. A Parquet file's columns and cells come
    from its footer.
    """
    check_readable(path)
    if limits is None:
        return
    name = path.name
    gz = name.lower().endswith(".gz")
    size = path.stat().st_size
    if limits.max_file_mb and not gz and size > limits.max_file_bytes:
        raise SourceError(
            f"{name}: {size / 2**20:,.1f} MiB, over the limit of {limits.max_file_mb:,} MiB "
            f"per file ({_where('max_file_mb')}); split the file or raise the limit"
        )
    if kind == "parquet":
        _check_parquet(path, limits)
    elif kind in ("csv", "tsv", "jsonl"):
        _scan_text(path, limits, csv_file=kind != "jsonl", gz=gz)


def _check_parquet(path: Path, limits: ImportLimits) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(
            f"{path.name}: cannot be read as Parquet: {_no_paths(str(exc), path)}"
        ) from None
    _check_columns(path.name, meta.num_columns, limits, "")
    _check_cells(path.name, meta.num_rows, meta.num_columns, limits)


def _check_columns(file: str, columns: int, limits: ImportLimits, where: str) -> None:
    if limits.max_columns and columns > limits.max_columns:
        raise SourceError(
            f"{file}{where}: {columns:,} columns, over the limit of {limits.max_columns:,} "
            f"({_where('max_columns')})"
        )


def _check_cells(file: str, rows: int, columns: int, limits: ImportLimits) -> None:
    if limits.max_cells and rows * columns > limits.max_cells:
        raise SourceError(
            f"{file}: over {rows:,} rows × {columns:,} columns, more than the limit of "
            f"{limits.max_cells:,} cells ({_where('max_cells')}); split the file"
        )


def _line_too_long(file: str, line: int, limits: ImportLimits) -> SourceError:
    return SourceError(
        f"{file}, line {line}: longer than the limit of {limits.max_line_kb:,} KiB per line "
        f"({_where('max_line_kb')})"
    )


def _scan_text(path: Path, limits: ImportLimits, *, csv_file: bool, gz: bool) -> None:
    """One bounded pass over a text file: size, line lengths, NUL bytes, header, cells."""
    file = path.name
    longest = limits.max_line_bytes
    most = limits.max_file_bytes if limits.max_file_mb else 0
    opener = gzip.open if gz else open
    header: list[str] = []
    delim = ","
    lines = total = carry = 0
    ended = True  # the text read so far ends a line
    try:
        with opener(path, "rb") as fh:
            if csv_file:
                head = fh.readline(longest + 2 if longest else -1)
                body = head.rstrip(b"\r\n")
                if longest and len(body) > longest:
                    raise _line_too_long(file, 1, limits)
                wide = head[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (Google Play): NULs
                header, delim = _header_cells(body, "utf-16" if wide else "utf-8-sig")
                _check_columns(file, len(header), limits, ", line 1 (the header)")
                csv_file = not wide  # its NULs are half of every character: not checked
                if csv_file and b"\0" in head:
                    raise SourceError(f"{file}, line 1 (the header): a NUL byte; remove it")
                lines, total = 1, len(head)
            while chunk := fh.read(_SCAN_CHUNK):
                total += len(chunk)
                if most and total > most:
                    raise SourceError(
                        f"{file}: over the limit of {limits.max_file_mb:,} MiB of text per file "
                        f"({_where('max_file_mb')}); split the file or raise the limit"
                    )
                if csv_file and (nul := chunk.find(b"\0")) >= 0:
                    raise _nul_error(file, chunk, nul, lines, header, delim, whole=ended)
                ended = chunk.endswith(b"\n")
                if longest:
                    carry = _longest_line(chunk, carry, lines, file, limits)
                lines += chunk.count(b"\n")
                if header:
                    _check_cells(file, max(lines - 1, 0), len(header), limits)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{file}: cannot be read: {_no_paths(str(exc), path)}") from None


def _longest_line(chunk: bytes, carry: int, lines: int, file: str, limits: ImportLimits) -> int:
    """Check every line ending in ``chunk`` (``carry``: bytes of the line begun before it);
    returns the bytes of the line still open at its end. Jumps a line limit at a time: a
    window of that many bytes without a newline is a line too long."""
    longest = limits.max_line_bytes
    first = chunk.find(b"\n")
    if first < 0:
        if carry + len(chunk) > longest:
            raise _line_too_long(file, lines + 1, limits)
        return carry + len(chunk)
    if carry + first > longest:
        raise _line_too_long(file, lines + 1, limits)
    p = first + 1
    while len(chunk) - p > longest:
        nl = chunk.rfind(b"\n", p, p + longest + 1)
        if nl < 0:
            raise _line_too_long(file, lines + chunk.count(b"\n", 0, p) + 1, limits)
        p = nl + 1
    return len(chunk) - chunk.rfind(b"\n") - 1


def _header_cells(line: bytes, encoding: str) -> tuple[list[str], str]:
    text = line.decode(encoding, errors="replace")
    if not text.strip():
        return [], ","
    best: tuple[list[str], str] = ([text], ",")
    for d in _DELIMITERS:
        if d not in text:
            continue
        try:
            cells = next(csv.reader([text], delimiter=d, quotechar='"'))
        except (csv.Error, StopIteration):
            continue
        if len(cells) > len(best[0]):
            best = (cells, d)
    return best


def _nul_error(
    file: str, chunk: bytes, at: int, lines: int, header: list[str], delim: str, *, whole: bool
) -> SourceError:
    line = lines + chunk.count(b"\n", 0, at) + 1
    start = chunk.rfind(b"\n", 0, at) + 1
    end = chunk.find(b"\n", at)
    where = f"{file}, line {line}"
    if start > 0 or whole:  # the whole line is in this chunk: name the column
        text = chunk[start : end if end >= 0 else len(chunk)].decode("utf-8", errors="replace")
        with contextlib.suppress(csv.Error, StopIteration):
            cells = next(csv.reader([text.replace("\0", "\ufffd")], delimiter=delim))
            for i, cell in enumerate(cells):
                if "\ufffd" in cell:
                    column = header[i] if i < len(header) else f"#{i + 1}"
                    where += f", column {column!r}"
                    break
    return SourceError(
        f"{where}: a NUL byte in the text; it is refused as in survey answers (a database "
        "text value cannot hold it). Remove it from the file"
    )


def _no_paths(message: str, path: Path) -> str:
    """An error message without the server's paths: the file as the user named it."""
    for p in (str(path), str(path.resolve())):
        message = message.replace(p, path.name)
    message = re.sub(r"(?:/[^\s/'\"]+)+/([^\s/'\"]+)", r"\1", message)  # any other path
    return " ".join(message.split())


def limit_kind(path: Path, fmt: str | None = None) -> str | None:
    """Which limits a file is checked against: ``csv``, ``jsonl``, ``parquet`` or None
    (its size only): from a named source's declared format, else from its name."""
    if fmt:
        return fmt
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None
