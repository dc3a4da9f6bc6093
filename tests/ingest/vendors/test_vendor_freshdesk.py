"""Freshdesk tickets: the API v2 list (codes, ``stats``) and the Tickets view CSV export.

Fixtures follow the documented ticket object and its ``include=stats,requester`` embeds:
https://developers.freshdesk.com/api/#list_all_tickets and
https://developers.freshdesk.com/api/#ticket_attributes (status 2-5, priority 1-4, source
codes), and the column names of *Tickets → Export* as CSV
(https://support.freshdesk.com/support/solutions/articles/216548).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

API = "freshdesk_tickets.json"
CSV = "freshdesk_tickets.csv"


def _tickets(fixture_path):
    return json.loads(fixture_path(API).read_text(encoding="utf-8"))


def test_api_codes_and_stats_map_onto_cases(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(API)])
    assert batch.files[0].source == "freshdesk"
    rows = rows_by(batch, "case_id")
    assert list(rows) == ["1042", "1043", "1044"]
    damaged = rows["1042"]
    assert (damaged["status"], damaged["priority"], damaged["channel"]) == (
        "resolved",
        "high",
        "email",
    )
    assert damaged["customer_id"] == "5001234001"
    assert damaged["opened_at"] == datetime(2025, 3, 3, 9, 12, 44)
    assert damaged["first_response_at"] == datetime(2025, 3, 3, 9, 59, 44)
    assert damaged["resolved_at"] == datetime(2025, 3, 4, 11, 5, 10)
    assert (damaged["category"], damaged["team"], damaged["agent"]) == (
        "Problem",
        "5000045678",
        "5000098765",
    )
    assert damaged["reopened"] is False
    assert damaged["description"] == "The lid of the kettle is cracked."
    assert json.loads(damaged["tags"]) == ["damaged", "kettle"]
    assert damaged["custom_fields_cf_order_number"] == "HW-88812"
    refund = rows["1043"]
    assert (refund["status"], refund["priority"], refund["channel"]) == ("open", "low", "chat")
    assert (refund["first_response_at"], refund["resolved_at"]) == (None, None)
    address = rows["1044"]
    assert (address["status"], address["channel"], address["reopened"]) == (
        "closed",
        "phone",
        True,
    )
    assert address["resolved_at"] == datetime(2025, 3, 2, 15, 0)  # resolved before closing
    # the requester's name, e-mail and phones are personal data the cases table cannot hold
    assert not {"requester_name", "requester_email", "requester_mobile"} & set(batch.attributes)
    assert "requester_id" in batch.attributes


def test_csv_export_maps_names_and_local_times(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(CSV)])
    assert batch.files[0].source == "freshdesk"
    rows = rows_by(batch, "case_id")
    assert len(rows) == 3
    damaged = rows["1042"]
    assert (damaged["status"], damaged["priority"], damaged["channel"]) == (
        "resolved",
        "high",
        "email",
    )
    assert (damaged["team"], damaged["agent"]) == ("Returns", "Priya Nair")
    assert damaged["first_response_at"] == datetime(2025, 3, 3, 9, 59, 44)
    assert damaged["resolved_at"] == datetime(2025, 3, 4, 11, 5, 10)
    assert damaged["customer_id"] == "5001234001"  # Contact ID, not the e-mail
    assert damaged["survey_results"] == "Extremely happy"  # kept on the case
    assert rows["1043"]["resolved_at"] is None
    assert rows["1044"]["description"] == "Phone call: new address\nfor order HW-88790."
    assert rows["1044"]["resolved_at"] == datetime(2025, 3, 2, 15, 0)
    assert not {"full_name", "email", "mobile_phone", "work_phone"} & set(batch.attributes)
    assert "reopened" not in batch.present  # the CSV export has no reopen data


def test_unknown_priority_code_names_ticket_field_and_rule(fixture_path, tmp_path):
    tickets = _tickets(fixture_path)
    tickets[1]["priority"] = 9
    path = tmp_path / "bad_priority.json"
    path.write_text(json.dumps(tickets))
    with pytest.raises(ImportValidationError) as exc:
        read_batch("cases", [path], source="freshdesk")
    msg = str(exc.value)
    assert "bad_priority.json, row 2, column 'priority': value '9'" in msg
    assert "not a known Freshdesk priority (known: 1=low" in msg


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t[2].update(created_at="yesterday"),
            "row 3, column 'opened_at': value 'yesterday'",
        ),
        (lambda t: t[0].pop("id"), "row 1, column 'case_id'"),
        (
            lambda t: t[2].update(id=1042),
            "row 3, column 'case_id': value '1042': duplicate key: row 1",
        ),
    ],
    ids=["wrong type", "missing id", "duplicate id"],
)
def test_bad_files_write_nothing(fixture_path, tmp_path, change, expected):
    tickets = _tickets(fixture_path)
    change(tickets)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(tickets))
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("cases", [path])
        assert expected in str(exc.value)
        assert str(exc.value).startswith("bad.json") or "bad.json" in str(exc.value)
        assert ws.status().imports == []


@pytest.mark.parametrize("name", [API, CSV])
def test_import_is_idempotent(fixture_path, tmp_path, name):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("cases", [fixture_path(name)]).result
        again = ws.import_files("cases", [fixture_path(name)]).result
        assert (first.added, first.updated) == (3, 0)
        assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
        assert ws.table("cases").count().execute() == 3


def test_a_zendesk_export_is_not_a_freshdesk_one(fixture_path):
    with pytest.raises(SourceError, match=r"zendesk_tickets\.json: not a Freshdesk ticket export"):
        read_batch("cases", [fixture_path("zendesk_tickets.json")], source="freshdesk")
