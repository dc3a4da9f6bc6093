"""Helpers shared by the vendor sources: reading files, naming columns, staging rows.

Vendor sources only *stage*: they turn an export into rows whose columns carry
contract names where the vendor's meaning is known and the vendor's own names
otherwise. Everything after that (the user's ``--map``, name normalization,
types, validation, keys) is the pipeline's job and is not repeated here.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import duckdb

from cxray.exceptions import SourceError
from cxray.ingest._mapping import referenced_columns
from cxray.ingest._readers import check_readable, stage_records
from cxray.schema import normalize_column_name

__all__ = [
    "JsonInput",
    "UserClaims",
    "choose_defaults",
    "first_filled",
    "flatten",
    "head_text",
    "load_json",
    "parse_iso",
    "rating_questions",
    "rating_scale",
    "read_csv_rows",
    "rows_to_records",
    "snake",
    "stage_rows",
    "unique_names",
    "user_claims",
]

_NON_WORD = re.compile(r"[^0-9a-z]+")
_WHOLE = re.compile(r"^\s*\d+\s*$")


# ---------------------------------------------------------------- files


def _raw_bytes(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _encoding(first: bytes) -> str:
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def open_text(path: Path) -> IO[str]:
    """Open a (possibly gzip-compressed) text file; UTF-8 or, with its BOM, UTF-16."""
    check_readable(path)
    raw = _raw_bytes(path)
    try:
        first = raw.read(4)
        raw.seek(0)
    except (OSError, EOFError) as exc:
        raw.close()
        raise SourceError(f"{path.name}: cannot be read: {exc}") from exc
    return io.TextIOWrapper(raw, encoding=_encoding(first), newline="")


def head_text(head: bytes) -> str:
    """Decode the first bytes of a file for sniffing (never raises)."""
    if head[:2] == b"\x1f\x8b":  # gzip: look inside what has been read so far
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 65536)
        except zlib.error:
            return ""
    enc = _encoding(head)
    if enc == "utf-16" and len(head) % 2:
        head = head[:-1]
    return head.decode(enc, errors="replace")


def read_csv_rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row, fields)`` for every record; ``row`` is the spreadsheet row (1-based).

    A record is one spreadsheet row even when a quoted cell spans several lines,
    so the numbers match what a user sees when opening the file.
    """
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        row = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise SourceError(
                    f"{path.name}, row {row + 1}: the file is not UTF-8 text; "
                    "export it again as UTF-8 CSV"
                ) from None
            except csv.Error as exc:
                raise SourceError(
                    f"{path.name}, row {row + 1}: cannot be read as CSV: {exc}"
                ) from None
            row += 1
            yield row, fields


@dataclass
class JsonInput:
    """A parsed JSON file: one document, or one value per line (JSON Lines)."""

    #: ``(line, value)`` pairs; a single document is one pair with line 1
    values: list[tuple[int, Any]]
    #: True when the file is JSON Lines (several values, one per line)
    lines: bool


def load_json(path: Path) -> JsonInput:
    """Read a file holding one JSON document or JSON Lines, with line-precise errors."""
    with open_text(path) as fh:
        try:
            text = fh.read()
        except UnicodeDecodeError:
            raise SourceError(f"{path.name}: the file is not UTF-8 text") from None
    if not text.strip():
        raise SourceError(f"{path.name}: the file is empty")
    try:
        return JsonInput([(1, json.loads(text))], lines=False)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise SourceError(
                f"{path.name}, line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
    values = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"{path.name}, line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
    return JsonInput(values, lines=True)


# ---------------------------------------------------------------- values and names


def snake(text: str) -> str:
    """``"Order Completed"`` → ``order_completed``; camelCase is split first."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text.strip())
    return _NON_WORD.sub("_", s.lower()).strip("_")


def to_json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flatten(value: Mapping[str, Any], prefix: str, *, depth: int = 2) -> dict[str, Any]:
    """Flatten nested objects into ``prefix_key_subkey`` columns.

    Objects deeper than ``depth`` levels and all arrays become JSON text, so
    every value stays a scalar and nothing is lost.
    """
    out: dict[str, Any] = {}
    for key, v in value.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(v, Mapping):
            if depth > 1 and v:
                out.update(flatten(v, name, depth=depth - 1))
            else:
                out[name] = to_json_text(v) if v else None
        elif isinstance(v, list):
            out[name] = to_json_text(v)
        else:
            out[name] = v
    return out


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime (naive = UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def unique_names(names: Sequence[str]) -> list[str]:
    """Make column names distinct, also after snake_case normalization.

    A repeated name gets `` (2)``, `` (3)``, ... appended, in file order.
    """
    seen: set[str] = set()
    out = []
    for raw in names:
        name = raw.strip() or "column"
        candidate, n = name, 1
        while normalize_column_name(candidate) in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(normalize_column_name(candidate))
        out.append(candidate)
    return out


@dataclass(frozen=True)
class UserClaims:
    """What the user's ``--map`` already decides, so a source does not decide it again."""

    #: canonical columns the user maps
    canonical: frozenset[str]
    #: source columns the user maps (normalized names)
    sources: frozenset[str]

    def takes(self, canonical: str) -> bool:
        return canonical in self.canonical

    def uses(self, source_column: str) -> bool:
        return normalize_column_name(source_column) in self.sources


def user_claims(mapping: Mapping[str, str]) -> UserClaims:
    return UserClaims(
        canonical=frozenset(k.strip().lower() for k in mapping),
        sources=frozenset(
            normalize_column_name(c) for v in mapping.values() for c in referenced_columns(v)
        ),
    )


def choose_defaults(
    columns: Iterable[str],
    defaults: Sequence[tuple[str, str]],
    claims: UserClaims,
) -> dict[str, str]:
    """Pick the vendor's default renames ``{source column: canonical}``.

    ``defaults`` lists ``(canonical, vendor column)`` pairs in order of
    preference; vendor columns are matched by their normalized name. A default
    is skipped when the user maps that canonical column or that vendor column
    themselves, when the file already has its own column of the canonical name
    (an embedded-data field called ``channel``, say), or when an earlier
    default already filled the canonical column.
    """
    columns = list(columns)
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalize_column_name(c), c)
    out: dict[str, str] = {}
    for canonical, vendor in defaults:
        source = by_norm.get(normalize_column_name(vendor))
        if source is None or source in out or canonical in out.values():
            continue
        if claims.takes(canonical) or claims.uses(source):
            continue
        own = by_norm.get(canonical)
        if own is not None and own != source:
            continue
        out[source] = canonical
    return out


def first_filled(candidates: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str | None:
    """The first candidate column that has a value in at least one record."""
    filled: set[str] = set()
    wanted = set(candidates)
    for r in records:
        for c in wanted - filled:
            v = r.get(c)
            if v is not None and not (isinstance(v, str) and not v.strip()):
                filled.add(c)
        if filled == wanted:
            break
    return next((c for c in candidates if c in filled), None)


# ---------------------------------------------------------------- staging


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    target: str,
    records: list[dict[str, Any]],
    rows: list[int],
    file: str,
    renames: Mapping[str, str] | None = None,
) -> None:
    """Stage records (one dict per row) with their row numbers, applying ``renames``."""
    if renames:
        records = [{renames.get(k, k): v for k, v in r.items()} for r in records]
    stage_records(con, records, target, rows=rows, file=file)


def rows_to_records(
    path: Path,
    rows: Iterable[tuple[int, list[str]]],
    names: Sequence[str],
    vendor: str,
    *,
    convert: Callable[[int, str, str, int], Any] | None = None,
    strip: bool = False,
) -> tuple[list[dict[str, Any]], list[int]]:
    """CSV rows of a survey export as records (one dict per response) and their row numbers.

    Blank lines are skipped; a row whose field count differs from the header is an error
    naming the row. Empty values become None (``strip`` also trims the others), and
    ``convert(index, name, value, row)`` turns each non-empty value as the vendor needs.
    A file with no responses is an error.
    """
    records: list[dict[str, Any]] = []
    row_numbers: list[int] = []
    for row, fields in rows:
        if not any(f.strip() for f in fields):
            continue  # a blank line: nothing to import
        if len(fields) != len(names):
            raise SourceError(
                f"{path.name}, row {row}: has {len(fields)} fields but the header has "
                f"{len(names)}; the file is not a complete {vendor} export"
            )
        rec = {}
        for i, (name, value) in enumerate(zip(names, fields, strict=True)):
            v: Any = (value.strip() or None) if strip else (value if value.strip() else None)
            if v is not None and convert is not None:
                v = convert(i, name, v, row)
            rec[name] = v
        records.append(rec)
        row_numbers.append(row)
    if not records:
        raise SourceError(f"{path.name}: the {vendor} export has no responses")
    return records, row_numbers


# ---------------------------------------------------------------- rating questions


def rating_scale(values: Iterable[Any], *, hint: str | None = None) -> str | None:
    """The scale a rating question's answers lie on: ``"0-10"``, ``"1-7"`` or ``"1-5"``.

    Every answer must be a whole number from 0 to 10 (else None: not a rating). A 0 or an
    answer above 7 means 0-10, above 5 means 1-7, else 1-5; ``hint`` (a vendor's own word:
    ``"0-10"`` for an opinion scale that starts at 0) wins when the answers fit it.
    """
    seen = []
    for v in values:
        if v is None or isinstance(v, bool):
            continue
        whole = isinstance(v, int) or (isinstance(v, str) and _WHOLE.match(v) is not None)
        if not whole and not (isinstance(v, float) and v.is_integer()):
            return None
        seen.append(int(v))
    if not seen or min(seen) < 0 or max(seen) > 10:
        return None
    lo, hi = min(seen), max(seen)
    if hint is not None:
        first, last = (int(x) for x in hint.split("-"))
        if first <= lo and hi <= last:
            return hint
    if lo == 0 or hi > 7:
        return "0-10"
    return "1-7" if hi > 5 else "1-5"


def rating_questions(
    columns: Iterable[str],
    records: list[dict[str, Any]],
    claims: UserClaims,
    taken: Iterable[str] = (),
    hints: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Question columns whose answers are ratings, with their scales (see :func:`rating_scale`).

    ``columns``: the vendor's question columns; ``taken``: those a default already maps
    (the NPS question); a column the user maps is left to the user.
    """
    skip = set(taken)
    out = {}
    for c in columns:
        if c in skip or claims.uses(c):
            continue
        scale = rating_scale((r.get(c) for r in records), hint=(hints or {}).get(c))
        if scale:
            out[c] = scale
    return out
