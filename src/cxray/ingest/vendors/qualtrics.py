"""Qualtrics responses export (CSV or TSV with three header rows) → ``responses``.

Row 1 holds column IDs (``ResponseId``, ``Q1``, ``Q1_NPS_GROUP``, embedded
data names), row 2 the question texts and row 3 JSON import IDs such as
``{"ImportId":"QID1"}``; responses start on row 4. See
``docs/importers-vendors.md`` for the mapping.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import (
    UserClaims,
    choose_defaults,
    first_filled,
    head_text,
    rating_questions,
    read_csv_rows,
    rows_to_records,
    stage_rows,
    unique_names,
    user_claims,
)

__all__ = ["QualtricsSource", "legacy_message", "sniff_legacy"]

_NPS_SUFFIX = "_NPS_GROUP"
#: a stand-alone text-entry question (not the "Other - Text" box of a choice question)
_TEXT_ENTRY = re.compile(r"^QID\d+_TEXT$")
#: a question's own answer column (not its text box, NPS group or a choice column)
_QUESTION = re.compile(r"^QID\d+$")
_QUALTRICS_TIME = "%Y-%m-%d %H:%M:%S"

#: (canonical, Qualtrics column) in order of preference
_DEFAULTS = (
    ("response_id", "ResponseId"),
    ("submitted_at", "RecordedDate"),
    ("submitted_at", "EndDate"),
    ("channel", "DistributionChannel"),
)
#: customer_id comes from the first of these that the file fills in at all
_CUSTOMER_COLUMNS = ("ExternalReference", "RecipientEmail")


def _delimiter(path: Path) -> str:
    return "\t" if ".tsv" in path.name.lower() else ","


class QualtricsSource(Source):
    name = "qualtrics"
    description = "Qualtrics responses export (CSV/TSV, three header rows)"
    tables = frozenset({"responses"})
    suffixes = (".csv", ".csv.gz", ".tsv", ".tsv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        reader = csv.reader(io.StringIO(head_text(head)), delimiter=_delimiter(path))
        try:
            rows = list(islice(reader, 3))
        except csv.Error:
            return False
        if rows and _legacy(rows):
            return True  # claimed so that stage() can say what it is
        return len(rows) == 3 and bool(rows[2]) and rows[2][0].lstrip().startswith('{"ImportId"')

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        rows = read_csv_rows(path, _delimiter(path))
        header_rows = [fields for _, fields in islice(rows, 3)]
        if len(header_rows) < 3:
            raise SourceError(
                f"{path.name}: not a Qualtrics export: it needs three header rows (column IDs, "
                f"question texts, import IDs) and has {len(header_rows)} row(s)"
            )
        header, _texts, import_row = header_rows
        import_ids = [_import_id(cell) for cell in import_row]
        if _legacy(header_rows):
            raise SourceError(legacy_message(path.name))
        if not import_ids or import_ids[0] is None:
            raise SourceError(
                f"{path.name}, row 3: not a Qualtrics export: row 3 should hold import IDs such "
                'as {"ImportId":"startDate"}; export the data as CSV from Data & Analysis '
                "(not the legacy format)"
            )
        import_ids += [None] * (len(header) - len(import_ids))
        names = unique_names(header)
        zones = _time_zones(path, names, import_ids)

        records, row_numbers = rows_to_records(
            path,
            rows,
            names,
            "Qualtrics",
            convert=lambda i, _name, v, _row: _localize(v, zones[i]) if i in zones else v,
        )

        claims = user_claims(ctx.mapping)
        defaults = list(_DEFAULTS)
        customer = first_filled([c for c in _CUSTOMER_COLUMNS if c in names], records)
        if customer:
            defaults.append(("customer_id", customer))
        nps = _nps_question(path, names, claims)
        if nps:
            defaults.append(("nps", nps))
            comment = _follow_up_text(names, import_ids, nps)
            if comment:
                defaults.append(("comment", comment))
        renames = choose_defaults(names, defaults, claims)
        # rating questions (a question ID QIDn whose answers are whole numbers 0-10) are kept
        # as question columns with their scale; without an NPS question they carry the file
        questions = [
            n
            for n, meta in zip(names, import_ids, strict=False)
            if _QUESTION.match(str((meta or {}).get("ImportId", "")))
        ]
        found = rating_questions(questions, records, claims, taken=renames)
        ctx.questions = found
        stage_rows(ctx.con, target, records, row_numbers, path.name, renames)


def _legacy(rows: list[list[str]]) -> bool:
    """The legacy export: row 1 ``V1, V2, ...`` (or ``ResponseID``), row 2 (or 1) names
    ``ResponseID`` and ``ResponseSet``."""
    cells = [{c.strip() for c in r} for r in rows[:2]]
    first = [c.strip() for c in rows[0][:2]] if rows else []
    return first == ["V1", "V2"] or any({"ResponseID", "ResponseSet"} <= c for c in cells)


def legacy_message(file: str) -> str:
    return (
        f"{file}: this looks like a legacy Qualtrics export (row 1 V1, V2, ..., row 2 "
        "ResponseID, ResponseSet, ...), which cxray does not read: export the responses again "
        "from Data & Analysis > Export & Import > Export Data > CSV (the current format, "
        "three header rows) and import that file"
    )


def sniff_legacy(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts like a legacy Qualtrics export."""
    try:
        rows = list(islice(csv.reader(io.StringIO(head_text(head))), 2))
    except csv.Error:
        return False
    return bool(rows) and _legacy(rows)


def _import_id(cell: str) -> dict[str, Any] | None:
    cell = cell.strip()
    if not cell.startswith("{"):
        return None
    try:
        value = json.loads(cell)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and "ImportId" in value else None


def _time_zones(
    path: Path, names: list[str], import_ids: list[dict[str, Any] | None]
) -> dict[int, ZoneInfo]:
    """Columns whose import ID declares the zone their times are written in."""
    zones = {}
    for i, meta in enumerate(import_ids[: len(names)]):
        zone = (meta or {}).get("timeZone")
        if not zone:
            continue
        try:
            zones[i] = ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceError(
                f"{path.name}, row 3, column {names[i]!r}: unknown time zone {zone!r}"
            ) from None
    return zones


def _localize(value: str, zone: ZoneInfo) -> str:
    """``2025-03-14 10:22:31`` in ``zone`` → ISO 8601 with the zone's offset.

    Values in any other form are left as they are, so that validation can
    report them with their row.
    """
    try:
        naive = datetime.strptime(value.strip(), _QUALTRICS_TIME)
    except ValueError:
        return value
    return naive.replace(tzinfo=zone).isoformat()


def _nps_question(path: Path, names: list[str], claims: UserClaims) -> str | None:
    """The column ``X`` for which ``X_NPS_GROUP`` exists, if there is exactly one."""
    present = set(names)
    found = [n for n in names if n + _NPS_SUFFIX in present]
    if claims.takes("nps") or not found:
        return None
    if len(found) > 1:
        raise SourceError(
            f"{path.name}: the export has several NPS questions ({', '.join(found)}); "
            f"choose one with --map nps={found[0]}"
        )
    return found[0]


def _follow_up_text(
    names: list[str], import_ids: list[dict[str, Any] | None], nps: str
) -> str | None:
    """The text-entry question right after the NPS question (its "why?"), if any."""
    try:
        after = names.index(nps + _NPS_SUFFIX) + 1
    except ValueError:
        return None
    if after >= len(names):
        return None
    meta = import_ids[after] or {}
    return names[after] if _TEXT_ENTRY.match(str(meta.get("ImportId", ""))) else None
