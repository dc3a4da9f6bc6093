"""Derived timestamps in ``--map``: created_at from a tenure, churned_at from a yes/no flag."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray.cli import main
from cxray.exceptions import ImportValidationError, SourceError
from cxray.workspace import Workspace
from tests.conftest import SHARED, snapshot

TELCO = SHARED / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
SNAPSHOT = {
    "created_at": "tenure:months-before:2024-01-31",
    "churned_at": "Churn:yes-at:2024-01-31",
}
FILE = """\
customerID,tenure,Churn,Contract,MonthlyCharges
A,0,No,Month-to-month,20.5
B,1,Yes,One year,70
C,13,no,Two year,99.9
D,2,,Month-to-month,10
"""


def _rows(ws: Workspace) -> dict[str, dict]:
    rows = ws.store.backend.table("customers").to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in rows}


def test_tenure_and_flag_become_dates(ws, write):
    report = ws.import_files("customers", [write("c.csv", FILE)], mapping=SNAPSHOT)
    assert report.result.added == 4
    rows = _rows(ws)
    at = dt.datetime(2024, 1, 31)
    assert rows["A"]["created_at"] == at  # tenure 0: joined on the date
    assert rows["B"]["created_at"] == dt.datetime(2023, 12, 31)  # calendar months
    assert rows["C"]["created_at"] == dt.datetime(2022, 12, 31)
    assert rows["B"]["churned_at"] == at
    assert rows["A"]["churned_at"] is None and rows["C"]["churned_at"] is None
    assert rows["D"]["churned_at"] is None  # empty flag: still a customer
    # the sources are used up; the other columns arrive as attributes
    assert "tenure" not in rows["A"] and "churn" not in rows["A"]
    assert rows["B"]["contract"] == "One year"
    assert "monthly_charges" in ws.store.attributes("customers")


def test_reimport_is_idempotent(ws, write):
    p = write("c.csv", FILE)
    ws.import_files("customers", [p], mapping=SNAPSHOT)
    before = _rows(ws)
    again = ws.import_files("customers", [p], mapping=SNAPSHOT).result
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert _rows(ws) == before


def test_days_before_and_the_program_time_zone(tmp_path, write):
    (tmp_path / "cxray.toml").write_text('[program]\ntimezone = "Europe/Paris"\n')
    with Workspace.open(tmp_path / "z.duckdb", tmp_path / "cxray.toml") as w:
        p = write("d.csv", "customer_id,age_days\nA,1.5\nB,0\n")
        w.import_files("customers", [p], mapping={"created_at": "age_days:days-before:2024-07-01"})
        rows = _rows(w)
    # midnight in Paris (UTC+2 in summer) is 22:00 UTC the day before
    assert rows["B"]["created_at"] == dt.datetime(2024, 6, 30, 22)
    assert rows["A"]["created_at"] == dt.datetime(2024, 6, 29, 10)


@pytest.mark.parametrize(
    ("text", "row", "value", "rule"),
    [
        ("customer_id,tenure\nA,3\nB,x\n", 3, "x", "not a whole number of months"),
        ("customer_id,tenure\nA,2.5\n", 2, "2.5", "not a whole number of months"),
        ("customer_id,tenure\nA,-1\n", 2, "-1", "not a whole number of months"),
    ],
)
def test_a_bad_tenure_names_row_column_and_value(ws, write, text, row, value, rule):
    p = write("bad.csv", text)
    before = snapshot(ws)
    with pytest.raises(ImportValidationError) as info:
        ws.import_files("customers", [p], mapping={"created_at": SNAPSHOT["created_at"]})
    msg = str(info.value)
    assert f"bad.csv, row {row}, column 'created_at': value '{value}'" in msg
    assert "'tenure'" in msg and rule in msg
    assert snapshot(ws) == before  # nothing written


def test_a_flag_that_is_not_yes_no(ws, write):
    p = write("bad.csv", "customer_id,since,left\nA,2020-01-01,maybe\n")
    with pytest.raises(ImportValidationError, match=r"row 2, column 'churned_at': value 'maybe'"):
        ws.import_files("customers", [p], mapping={"churned_at": "left:yes-at:2024-01-31",
                                                   "created_at": "since"})  # fmt: skip


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tenure:weeks-before:2024-01-31", "unknown rule 'weeks-before'"),
        ("tenure:months-before:2024-02-31", "is not a date"),
        ("nope:months-before:2024-01-31", "column 'nope' named in --map"),
    ],
)
def test_a_bad_derivation_is_a_source_error(ws, write, value, message):
    p = write("c.csv", FILE)
    with pytest.raises(SourceError, match=message):
        ws.import_files("customers", [p], mapping={"created_at": value})


def test_only_timestamps_are_derived(ws, write):
    with pytest.raises(SourceError, match="'segment' is not a timestamp column"):
        ws.import_files("customers", [write("c.csv", FILE)],
                        mapping={"segment": "tenure:months-before:2024-01-31", **SNAPSHOT})  # fmt: skip


def test_the_telco_file_imports_unedited_from_the_command_line(tmp_path, capsys):
    args = ["--db", str(tmp_path / "cxray.duckdb"), "import", "customers", str(TELCO)]
    for k, v in SNAPSHOT.items():
        args += ["--map", f"{k}={v}"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0, capsys.readouterr()
    with Workspace.open(tmp_path / "cxray.duckdb") as w:
        t = w.table("customers")
        row = (
            t.aggregate(n=t.count(), churned=t.churned_at.notnull().sum(), first=t.created_at.min())
            .to_pyarrow()
            .to_pylist()[0]
        )
        attrs = set(w.store.attributes("customers"))
    assert row["n"] == 7043 and row["churned"] == 1869  # the file's 26.5% Yes
    assert row["first"] == dt.datetime(2018, 1, 31)  # 72 months, the longest tenure
    assert {"contract", "monthly_charges", "internet_service", "total_charges"} <= attrs
