"""Every importer through the store: re-import changes nothing; a bad file changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxray.exceptions import CXError
from tests.conftest import snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vendors"

GOOD = [
    ("responses", "qualtrics_responses.csv", "qualtrics"),
    ("responses", "surveymonkey_responses.csv", "surveymonkey"),
    ("responses", "typeform_responses.json", "typeform"),
    ("responses", "typeform_responses.jsonl", "typeform"),
    ("cases", "zendesk_tickets.json", "zendesk"),
    ("cases", "zendesk_tickets_pages.jsonl", "zendesk"),
    ("events", "segment_calls.jsonl", "segment"),
    ("customers", "segment_calls.jsonl", "segment"),
]
BAD = [
    ("responses", "qualtrics_nps_out_of_range.csv", "qualtrics_nps_out_of_range.csv, row"),
    ("responses", "surveymonkey_bad_date.csv", "surveymonkey_bad_date.csv"),
]


@pytest.mark.parametrize(("table", "name", "source"), GOOD)
def test_vendor_import_is_idempotent(ws, table, name, source):
    path = FIXTURES / name
    first = ws.import_files(table, [path])  # detected, not named
    assert {f.source for f in first.files} == {source}
    assert first.result.added > 0 and first.result.updated == 0
    rows = ws.table(table).count().to_pyarrow().as_py()
    assert rows == first.result.added
    again = ws.import_files(table, [path], source=source)
    assert (again.result.added, again.result.updated) == (0, 0)
    assert again.result.unchanged == first.result.rows_in
    assert ws.table(table).count().to_pyarrow().as_py() == rows


@pytest.mark.parametrize(("table", "name", "message"), BAD)
def test_bad_vendor_file_writes_nothing(ws, write, table, name, message):
    ws.import_files(
        "responses", [write("seed.csv", "response_id,submitted_at,nps\nS1,2025-01-01,8\n")]
    )
    before = snapshot(ws)
    with pytest.raises(CXError, match=message):
        ws.import_files(table, [FIXTURES / name])
    assert snapshot(ws) == before


CANONICAL_BAD = [
    (
        "customers",
        "customer_id,created_at,churned_at\nC1,2025-01-01,soon\n",
        "row 2, column 'churned_at': value 'soon': not an ISO 8601 timestamp",
    ),
    (
        "events",
        "customer_id,timestamp,touchpoint\nC1,2025-01-01,\n",
        "row 2, column 'touchpoint': a value is required",
    ),
    (
        "cases",
        "case_id,opened_at,contacts\nK1,2025-01-01,0\n",
        "row 2, column 'contacts': value '0': out of range",
    ),
    (
        "orders",
        "order_id,customer_id,ordered_at,amount\nO1,C1,2025-01-01,ten\n",
        "row 2, column 'amount': value 'ten': not a number",
    ),
    (
        "mentions",
        "mention_id,posted_at,text,rating\nM1,2025-01-01,hi,great\n",
        "row 2, column 'rating': value 'great': not a number",
    ),
]


@pytest.mark.parametrize(("table", "text", "message"), CANONICAL_BAD)
def test_bad_canonical_file_writes_nothing(ws, write, table, text, message):
    before = snapshot(ws)
    with pytest.raises(CXError, match=message):
        ws.import_files(table, [write(f"{table}.csv", text)])
    assert snapshot(ws) == before


def test_jsonl_round_trip_of_every_table(ws, tmp_path):
    """Rows exported from the store import back unchanged."""
    ws.load_demo(seed=3, customers=300, months=2)
    for table in ("customers", "events", "responses", "cases", "orders", "mentions"):
        rows = ws.table(table).drop("_import_id").to_pyarrow().to_pylist()
        path = tmp_path / f"{table}.jsonl"
        path.write_text("\n".join(json.dumps(r, default=str) for r in rows), encoding="utf-8")
        r = ws.import_files(table, [path]).result
        assert (r.added, r.updated, r.unchanged) == (0, 0, len(rows)), table


@pytest.mark.parametrize(
    ("table", "name", "rows", "skipped"),
    [
        ("events", "segment_calls.jsonl", 5, 5),
        ("customers", "segment_calls.jsonl", 2, 7),
        ("cases", "zendesk_tickets.json", 3, 1),
    ],
)
def test_records_a_source_leaves_out_are_counted(ws, table, name, rows, skipped):
    """Calls of another type, superseded ticket versions: counted, logged, never silent."""
    report = ws.import_files(table, [FIXTURES / name])
    (info,) = report.files
    assert (info.rows, info.skipped) == (rows, skipped)
    assert info.skipped_reason
    logged = ws.status().imports[0].files[0]
    assert (logged["skipped"], logged["skipped_reason"]) == (skipped, info.skipped_reason)


def _zendesk_bad_date(tmp_path: Path) -> Path:
    page = json.loads((FIXTURES / "zendesk_tickets.json").read_text(encoding="utf-8"))
    page["tickets"][1]["created_at"] = "03/03/2025 14:30"
    path = tmp_path / "zd_bad.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def _segment_bad_time(tmp_path: Path) -> Path:
    lines = (FIXTURES / "segment_calls.jsonl").read_text(encoding="utf-8").splitlines()
    calls = [json.loads(x) for x in lines if x.strip()]
    calls[3]["timestamp"] = "yesterday"
    path = tmp_path / "seg_bad.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    return path


def _typeform_ces(tmp_path: Path) -> Path:
    return FIXTURES / "typeform_responses.jsonl"  # 'effort' holds a 9: out of CES 1-7


@pytest.mark.parametrize(
    ("table", "build", "mapping", "message"),
    [
        ("cases", _zendesk_bad_date, None, "zd_bad.json, row 2, column 'opened_at'"),
        ("events", _segment_bad_time, None, "seg_bad.jsonl, row 4, column 'timestamp'"),
        (
            "responses",
            _typeform_ces,
            {"ces": "effort"},
            "typeform_responses.jsonl, row 2, column 'ces': value '9'",
        ),
    ],
)
def test_bad_json_vendor_files_write_nothing(ws, write, tmp_path, table, build, mapping, message):
    ws.import_files(
        "responses", [write("seed.csv", "response_id,submitted_at,nps\nS1,2025-01-01,8\n")]
    )
    before = snapshot(ws)
    with pytest.raises(CXError, match=message):
        ws.import_files(table, [build(tmp_path)], mapping=mapping)
    assert snapshot(ws) == before
