"""Salesforce case reports exported as CSV: labels, locale dates, the footer.

The fixture follows a "Details Only" CSV export of a Cases report: the standard case field
labels (https://help.salesforce.com/s/articleView?id=sf.case_fields.htm), dates in the user's
locale (en_US: ``3/3/2025 9:12 AM``) and the footer Salesforce appends
(https://help.salesforce.com/s/articleView?id=sf.reports_export.htm).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

REPORT = "salesforce_cases_report.csv"


def _lines(fixture_path):
    return fixture_path(REPORT).read_text(encoding="utf-8").splitlines()


def _write(tmp_path, lines, name="report.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_report_columns_map_onto_cases(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(REPORT)])
    assert batch.files[0].source == "salesforce"
    assert batch.num_rows == 3  # the footer lines are not cases
    rows = rows_by(batch, "case_id")
    assert list(rows) == ["00001026", "00001027", "00001028"]  # leading zeros kept
    kettle = rows["00001026"]
    assert kettle["opened_at"] == datetime(2025, 3, 3, 9, 12)
    assert kettle["resolved_at"] == datetime(2025, 3, 4, 11, 5)
    assert (kettle["status"], kettle["priority"], kettle["channel"]) == ("closed", "high", "email")
    assert (kettle["category"], kettle["agent"], kettle["root_cause"]) == (
        "Problem",
        "Priya Nair",
        "Performance",
    )
    assert kettle["customer_id"] == "ada@example.com"  # Contact Email, the first id present
    assert kettle["account_name"] == "Lovell Ltd"
    assert rows["00001028"]["opened_at"] == datetime(2025, 3, 1, 14, 30)  # 2:30 PM
    assert rows["00001027"]["resolved_at"] is None
    assert rows["00001027"]["channel"] == "web"
    assert "contact_name" not in batch.attributes  # personal data, not kept


def test_day_first_locale_with_24_hour_times(fixture_path, tmp_path, rows_by):
    lines = _lines(fixture_path)
    lines[1] = (
        lines[1]
        .replace("3/3/2025 9:12 AM", "13/03/2025 09:12")
        .replace("3/4/2025 11:05 AM", "14/03/2025 11:05")
    )
    lines[2] = lines[2].replace("3/4/2025 8:00 AM", "04/03/2025 08:00")
    lines[3] = (
        lines[3]
        .replace("3/1/2025 2:30 PM", "01/03/2025 14:30")
        .replace("3/2/2025 3:00 PM", "02/03/2025 15:00")
    )
    rows = rows_by(read_batch("cases", [_write(tmp_path, lines)], source="salesforce"), "case_id")
    assert rows["00001026"]["opened_at"] == datetime(2025, 3, 13, 9, 12)
    assert rows["00001027"]["opened_at"] == datetime(2025, 3, 4, 8, 0)
    assert rows["00001028"]["resolved_at"] == datetime(2025, 3, 2, 15, 0)


def test_date_only_columns(fixture_path, tmp_path, rows_by):
    lines = _lines(fixture_path)
    lines[0] = lines[0].replace("Date/Time Opened", "Opened Date")
    lines[1] = lines[1].replace("3/3/2025 9:12 AM", "3/3/2025")
    lines[2] = lines[2].replace("3/4/2025 8:00 AM", "3/4/2025")
    lines[3] = lines[3].replace("3/1/2025 2:30 PM", "3/1/2025")
    batch = read_batch("cases", [_write(tmp_path, lines)])
    assert batch.files[0].source == "salesforce"
    rows = rows_by(batch, "case_id")
    assert rows["00001026"]["opened_at"] == datetime.combine(date(2025, 3, 3), datetime.min.time())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "3/4/2025 8:00 AM",
            "sometime",
            "report.csv, row 3, column 'opened_at': value 'sometime'",
        ),
        (
            "3/4/2025 8:00 AM",
            "13/4/2025 8:00 AM",
            "report.csv, row 3, column 'Date/Time Opened': value '13/4/2025 8:00 AM': not a "
            "date in the report's month/day (AM/PM times) format",
        ),
        ('"00001027"', '""', "report.csv, row 3, column 'case_id'"),
        (
            '"00001027","Tom Okafor","Where',
            '"00001026","Tom Okafor","Where',
            "report.csv, row 3, column 'case_id': value '00001026': duplicate key: row 2",
        ),
    ],
    ids=["wrong type", "contradicting locale", "missing id", "duplicate id"],
)
def test_bad_reports_write_nothing(fixture_path, tmp_path, old, new, expected):
    lines = _lines(fixture_path)
    lines[2] = lines[2].replace(old, new)
    path = _write(tmp_path, lines)
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("cases", [path])
        assert expected in str(exc.value)
        assert ws.status().imports == []


def test_a_cut_row_is_named(fixture_path, tmp_path):
    lines = _lines(fixture_path)
    lines[3] = lines[3].rsplit(",", 2)[0]
    with pytest.raises(SourceError, match=r"report\.csv, row 4: has 14 fields but the header"):
        read_batch("cases", [_write(tmp_path, lines)], source="salesforce")


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("cases", [fixture_path(REPORT)]).result
        again = ws.import_files("cases", [fixture_path(REPORT)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (3, 0, 0, 3)
        assert ws.table("cases").count().execute() == 3


def test_map_addresses_the_staged_names(fixture_path):
    batch = read_batch("cases", [fixture_path(REPORT)], mapping={"team": "agent"})
    row = batch.data.to_pylist()[0]
    assert (row["team"], row["agent"]) == ("Priya Nair", None)
    with pytest.raises(SourceError) as exc:  # the error lists the names that can be mapped
        read_batch("cases", [fixture_path(REPORT)], mapping={"team": "Case Owner"})
    assert "'Case Owner'" in str(exc.value) and "agent" in str(exc.value)
