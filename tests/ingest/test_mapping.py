"""``--map TARGET=EXPRESSION``: columns by name or position, SQL expressions, constants,
value maps; one column to several targets; errors that list what can be mapped."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import parse_mapping
from cxray.ingest._mapping import check_sql, parse_expression
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests.conftest import snapshot

SURVEY = """\
,id,when,score10,Reopened,note
0,r1,31/01/2024, 9.4 ,Yes,great
1,r2,01/02/2024,3,no,slow
2,r3,15/02/2024,7,NO,
"""
SURVEY_MAP = {
    "-": "#1",  # a pandas index: left out
    "response_id": "id",
    "customer_id": "id",  # one column, two targets
    "submitted_at": "sql:strptime(\"when\", '%d/%m/%Y')",
    "nps": "sql:round(score10::DOUBLE)",
    "channel": "'web'",
    "survey": "const:relationship",
    "comment": "note",
    "touchpoint": "Reopened:Yes->escalated,No->closed",
}


def _rows(ws: Workspace, table: str) -> dict[str, dict]:
    key = {"responses": "response_id", "customers": "customer_id", "cases": "case_id"}[table]
    return {r[key]: r for r in ws.store.backend.table(table).to_pyarrow().to_pylist()}


def test_every_form_of_mapping_in_one_import(ws, write):
    p = write("s.csv", SURVEY)
    report = ws.import_files("responses", [p], mapping=SURVEY_MAP)
    assert report.result.added == 3
    rows = _rows(ws, "responses")
    assert rows["r1"]["customer_id"] == "r1" and rows["r3"]["customer_id"] == "r3"
    assert rows["r1"]["submitted_at"] == dt.datetime(2024, 1, 31)
    assert rows["r2"]["submitted_at"] == dt.datetime(2024, 2, 1)
    assert [rows[k]["nps"] for k in ("r1", "r2", "r3")] == [9, 3, 7]  # round(9.4) = 9
    assert {r["channel"] for r in rows.values()} == {"web"}
    assert {r["survey"] for r in rows.values()} == {"relationship"}
    assert [rows[k]["touchpoint"] for k in ("r1", "r2", "r3")] == ["escalated", "closed", "closed"]
    assert rows["r3"]["comment"] is None
    # columns used by a SQL expression or a value map, and the one left out, are not kept
    attrs = set(ws.store.attributes("responses"))
    assert not attrs & {"when", "score10", "reopened", "x", "column_1", "#1"}, attrs
    # importing the same file again changes nothing
    again = ws.import_files("responses", [p], mapping=SURVEY_MAP).result
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)


def test_one_column_feeds_several_targets(ws, write):
    p = write("c.csv", "id,since\nA,2024-01-01\nB,2024-02-01\n")
    ws.import_files(
        "customers",
        [p],
        mapping={"customer_id": "id", "name": "id", "segment": "#1", "created_at": "since"},
    )
    rows = _rows(ws, "customers")
    assert {(r["customer_id"], r["name"], r["segment"]) for r in rows.values()} == {
        ("A", "A", "A"),
        ("B", "B", "B"),
    }


def test_a_column_by_position_and_an_unnamed_column(ws, write):
    p = write("c.csv", ",since\nA,2024-01-01\n")
    with pytest.raises(SourceError) as info:
        ws.import_files("customers", [p], mapping={"created_at": "since"})
    msg = str(info.value)
    assert "column 1 of the header has no name" in msg and "--map TARGET=#1" in msg
    ws.import_files("customers", [p], mapping={"customer_id": "#1", "created_at": "#2"})
    assert _rows(ws, "customers")["A"]["created_at"] == dt.datetime(2024, 1, 1)


def test_a_value_missing_from_a_value_map_fails_the_import(ws, write):
    p = write("k.csv", "case_id,opened_at,Again\nk1,2024-01-01,Yes\nk2,2024-01-02,maybe\n")
    before = snapshot(ws)
    with pytest.raises(ImportValidationError) as info:
        ws.import_files("cases", [p], mapping={"reopened": "Again:Yes->true,No->false"})
    msg = str(info.value)
    assert "k.csv, row 3, column 'reopened': value 'maybe'" in msg
    assert "not one of 'Yes', 'No'" in msg
    assert snapshot(ws) == before
    # with a catch-all the same file imports; the arrow may be →
    ws.import_files("cases", [p], mapping={"reopened": "Again:Yes→true,*→false"})
    rows = _rows(ws, "cases")
    assert (rows["k1"]["reopened"], rows["k2"]["reopened"]) == (True, False)


def test_a_sql_expression_that_fails_on_a_row_names_the_row(ws, write):
    p = write("c.csv", "id,d\nA,31/01/2024\nB,31/02/2024\n")
    before = snapshot(ws)
    with pytest.raises(ImportValidationError) as info:
        ws.import_files(
            "customers",
            [p],
            mapping={"customer_id": "id", "created_at": "sql:strptime(d, '%d/%m/%Y')"},
        )
    msg = str(info.value)
    assert "c.csv, row 3, column 'created_at': value 'd=31/02/2024'" in msg
    assert "the expression fails on this row" in msg
    assert "a value is required" not in msg  # the failing row is reported once
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("sql:(SELECT 1)", "only a scalar expression"),
        ("sql:score FROM t", "not a SQL expression"),
        ("sql:read_csv('/etc/passwd')", "the function 'read_csv' is not allowed"),
        ("sql:x.score", "without a table"),
        ("sql:1; DROP TABLE responses", "one SQL expression"),
        ("sql:round(nope::DOUBLE)", "'nope' is not a column of the file"),
        ("sql:round(score)", "the file's columns are text here"),
        ("round(score)", "for a SQL expression write sql:round(score)"),
        ("Score:Yes", "is not in the file"),
        ("Score:Yes->1,yes->2", "mapped twice"),
    ],
)
def test_bad_expressions_are_refused_before_anything_is_read(ws, write, expr, message):
    p = write("r.csv", "response_id,submitted_at,score\nr1,2024-01-01,5\n")
    with pytest.raises(SourceError, match=re.escape(message)) as info:
        ws.import_files("responses", [p], mapping={"nps": expr})
    if "is not in the file" in message or "not a column of the file" in message:
        assert "#1 response_id, #2 submitted_at, #3 score" in str(info.value)


def test_an_unknown_target_lists_the_contract_columns(ws, write):
    p = write("r.csv", "response_id,submitted_at,score\nr1,2024-01-01,5\n")
    with pytest.raises(SourceError) as info:
        ws.import_files("responses", [p], mapping={"nsp": "score"})
    assert "'nsp' is not a column of responses" in str(info.value)
    assert "response_id, submitted_at, customer_id" in str(info.value)


def test_parse_mapping_checks_forms_up_front():
    assert parse_mapping(["nps=Q1", "-=#1", "-=#4", "channel='web'"]) == {
        "nps": "Q1",
        "-": "#1",
        "--": "#4",
        "channel": "'web'",
    }
    with pytest.raises(SourceError, match="mapped twice"):
        parse_mapping(["nps=Q1", "NPS=Q2"])
    with pytest.raises(SourceError, match="not allowed"):
        parse_mapping(["nps=sql:getenv('HOME')"])
    with pytest.raises(SourceError, match="counted from #1"):
        parse_mapping(["nps=#0"])
    m = parse_expression("churned_at", "Churn:Yes->2024-01-31 10:00,No->")
    assert m.kind == "values" and m.column == "Churn"
    assert m.pairs == (("Yes", "2024-01-31 10:00"), ("No", ""))
    assert sorted(check_sql('lower("First name") || x', "w")) == ["First name", "x"]


@needs_postgres
def test_mapped_import_into_postgres_gives_the_same_rows(tmp_path, write):
    p = write("s.csv", SURVEY)
    with Workspace.open(fresh_postgres()) as pg, Workspace.open(tmp_path / "d.duckdb") as duck:
        for w in (pg, duck):
            w.import_files("responses", [p], mapping=SURVEY_MAP)
        cols = ["response_id", "customer_id", "submitted_at", "nps", "channel", "touchpoint"]
        got = [
            sorted(tuple(r[c] for c in cols) for r in _rows(w, "responses").values())
            for w in (pg, duck)
        ]
        assert got[0] == got[1]
        assert got[0][0] == ("r1", "r1", dt.datetime(2024, 1, 31), 9, "web", "escalated")


def test_sql_on_a_typed_file_sees_typed_values(ws, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "r.parquet"
    pq.write_table(
        pa.table({"id": ["a", "b"], "at": ["2024-01-01", "2024-01-02"], "score": [4.6, 9.2]}), p
    )
    ws.import_files(
        "responses",
        [p],
        mapping={"response_id": "id", "submitted_at": "at", "nps": "sql:round(score)"},
    )
    rows = _rows(ws, "responses")
    assert (rows["a"]["nps"], rows["b"]["nps"]) == (5, 9)
