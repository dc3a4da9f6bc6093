"""SurveyMonkey responses export (CSV with two header rows) → ``responses``.

Row 1 holds question headings (blank over the continuation columns of a
multi-column question), row 2 the sub-labels (``Response``, ``Open-Ended
Response``, choice labels, matrix rows); responses start on row 3. The two
rows are combined into one column name per column; see
``docs/importers-vendors.md``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

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

__all__ = ["SurveyMonkeySource", "combine_headers"]

#: sub-labels that mean "the one answer column of this question"
_SINGLE = ("Response", "Open-Ended Response")
_OPEN_ENDED = "Open-Ended Response"
_DATE_COLUMNS = ("Start Date", "End Date", "StartDate", "EndDate")
#: the first header cell of an export: "Respondent ID" today, "RespondentID" in older ones
_FIRST = ("respondentid", "respondent id")
#: SurveyMonkey writes US dates; a few variants seen in exports
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
_INTEGER = re.compile(r"^\d+$")

_DEFAULTS = (
    ("response_id", "Respondent ID"),
    ("submitted_at", "End Date"),
)
#: customer_id comes from the first of these that the file fills in at all
_CUSTOMER_COLUMNS = ("Custom Data 1", "Custom Data", "Email Address")


def combine_headers(headings: list[str], labels: list[str]) -> list[str]:
    """One column name per column from SurveyMonkey's two header rows.

    - a column without a sub-label (the standard columns) keeps its heading;
    - a question's single answer column (sub-label ``Response`` or
      ``Open-Ended Response``) takes the question heading;
    - every other column is ``<heading> - <sub-label>``, where a blank heading
      continues the question to its left;
    - a name used twice gets `` (2)``, `` (3)``, ... appended.
    """
    labels = labels + [""] * (len(headings) - len(labels))
    names = []
    current = ""
    for i, (heading, label) in enumerate(zip(headings, labels, strict=False)):
        heading, label = heading.strip(), label.strip()
        if heading:
            current = heading
        if not label:
            names.append(heading or current or f"Column {i + 1}")
        elif heading and label in _SINGLE:
            names.append(heading)
        elif current:
            names.append(f"{current} - {label}")
        else:
            names.append(label)
    return unique_names(names)


class SurveyMonkeySource(Source):
    name = "surveymonkey"
    description = "SurveyMonkey responses export (CSV, two header rows)"
    tables = frozenset({"responses"})
    suffixes = (".csv", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            rows = list(islice(csv.reader(io.StringIO(head_text(head))), 2))
        except csv.Error:
            return False
        return (
            len(rows) == 2
            and bool(rows[0])
            and _first_cell(rows[0][0])
            and any("Response" in cell for cell in rows[1])
        )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        rows = read_csv_rows(path)
        header_rows = [fields for _, fields in islice(rows, 2)]
        if len(header_rows) < 2 or not header_rows[0] or not _first_cell(header_rows[0][0]):
            raise SourceError(
                f"{path.name}, row 1: not a SurveyMonkey export: row 1 should start with "
                "'Respondent ID' (or 'RespondentID') and row 2 hold the answer labels; export "
                "'All responses data' as CSV"
            )
        names = combine_headers(*header_rows)
        dates = {i for i, n in enumerate(names) if n in _DATE_COLUMNS}

        records, row_numbers = rows_to_records(
            path,
            rows,
            names,
            "SurveyMonkey",
            convert=lambda i, name, v, row: _iso_date(v, path, row, name) if i in dates else v,
            strip=True,
        )

        claims = user_claims(ctx.mapping)
        defaults = list(_DEFAULTS)
        customer = first_filled([c for c in _CUSTOMER_COLUMNS if c in names], records)
        if customer:
            defaults.append(("customer_id", customer))
        nps = _nps_question(path, header_rows, names, records, claims)
        if nps is not None:
            defaults.append(("nps", names[nps]))
            after = nps + 1
            labels = header_rows[1]
            if after < len(names) and after < len(labels) and labels[after].strip() == _OPEN_ENDED:
                defaults.append(("comment", names[after]))
        renames = choose_defaults(names, defaults, claims)
        # rating questions (answered with whole numbers 0-10, exported as numbers) are kept
        # as question columns with their scale; a question column has a sub-label in row 2
        labels = header_rows[1] + [""] * (len(names) - len(header_rows[1]))
        questions = [n for n, label in zip(names, labels, strict=False) if label.strip()]
        ctx.questions = rating_questions(questions, records, claims, taken=renames)
        stage_rows(ctx.con, target, records, row_numbers, path.name, renames)


def _first_cell(cell: str) -> bool:
    return cell.strip().lstrip("\ufeff").lower() in _FIRST


def _iso_date(value: str, path: Path, row: int, column: str) -> str:
    """``03/14/2025 10:22:31 AM`` → ``2025-03-14T10:22:31`` (naive: the program's zone)."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).isoformat()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise SourceError(
        f"{path.name}, row {row}, column {column!r}: value {value!r} is not a SurveyMonkey "
        "date (MM/DD/YYYY hh:mm:ss AM/PM)"
    )


def _nps_question(
    path: Path,
    header_rows: list[list[str]],
    names: list[str],
    records: list[dict[str, Any]],
    claims: UserClaims,
) -> int | None:
    """Index of the one single-column question about recommending, answered 0–10."""
    if claims.takes("nps"):
        return None
    headings, labels = header_rows
    found = []
    for i, name in enumerate(names):
        heading = headings[i].strip() if i < len(headings) else ""
        label = labels[i].strip() if i < len(labels) else ""
        if "recommend" not in heading.lower() or label not in ("", *_SINGLE):
            continue
        values = [r[name] for r in records if r[name] is not None]
        if values and all(_INTEGER.match(v) and int(v) <= 10 for v in values):
            found.append(i)
    if len(found) > 1:
        shown = ", ".join(repr(names[i]) for i in found)
        raise SourceError(
            f"{path.name}: the export has several 0–10 'recommend' questions ({shown}); "
            f'choose one with --map nps="{names[found[0]]}"'
        )
    return found[0] if found else None
