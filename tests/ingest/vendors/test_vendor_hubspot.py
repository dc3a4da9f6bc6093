"""HubSpot tickets: CRM v3 objects API JSON (``results[].properties``) and the CSV export.

The fixtures use HubSpot's documented ticket properties and API shape:
https://developers.hubspot.com/docs/api/crm/tickets (``results``, ``properties``,
``associations``, ``paging``), https://knowledge.hubspot.com/properties/hubspots-default-ticket-properties
(``hs_pipeline_stage``, ``createdate``, ``closed_date``, ``hs_ticket_priority``,
``hs_ticket_category``, ``source_type``, ``first_agent_reply_date``) and the default support
pipeline's stages (https://knowledge.hubspot.com/tickets/customize-ticket-pipelines-and-statuses).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

API = "hubspot_tickets.json"
CSV = "hubspot_tickets.csv"


def _export(fixture_path):
    return json.loads(fixture_path(API).read_text(encoding="utf-8"))


def test_api_properties_map_onto_cases(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(API)])
    assert batch.files[0].source == "hubspot"
    rows = rows_by(batch, "case_id")
    assert list(rows) == ["512", "513", "514"]
    kettle = rows["512"]
    assert kettle["opened_at"] == datetime(2025, 3, 3, 9, 12, 44, 883000)
    assert kettle["first_response_at"] == datetime(2025, 3, 3, 9, 59, 44)
    assert kettle["resolved_at"] == datetime(2025, 3, 4, 11, 5, 10)
    assert (kettle["status"], kettle["priority"], kettle["category"], kettle["channel"]) == (
        "closed",
        "high",
        "PRODUCT_ISSUE",
        "email",
    )
    assert (kettle["customer_id"], kettle["agent"]) == ("201", "71234567")
    assert kettle["time_to_close"] == "93146117"  # other properties are attributes
    new = rows["513"]
    assert (new["status"], new["resolved_at"], new["channel"]) == ("new", None, "chat")
    custom = rows["514"]  # a custom pipeline: its stage id is kept, not guessed
    assert (custom["status"], custom["pipeline"]) == ("87654321", "12345678")
    assert custom["customer_id"] is None  # no associated contact
    # no first_agent_reply_date: createdate + time_to_first_agent_reply (300,000 ms)
    assert custom["first_response_at"] == datetime(2025, 3, 1, 10, 5)


def test_csv_export_labels_map_onto_cases(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(CSV)])
    assert batch.files[0].source == "hubspot"
    rows = rows_by(batch, "case_id")
    assert {k: v["status"] for k, v in rows.items()} == {
        "512": "closed",
        "513": "new",
        "514": "waiting on contact",
    }
    assert rows["512"]["resolved_at"] == datetime(2025, 3, 4, 11, 5)
    assert rows["512"]["agent"] == "Priya Nair"
    assert rows["514"]["customer_id"] == "201"  # the first associated contact
    assert json.loads(rows["514"]["associated_contacts"]) == ["201", "203"]
    # "Associated Contact" lists names and e-mails: personal data, not kept
    assert "associated_contact" not in batch.attributes


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t[1]["properties"].update(createdate="03/04/2025"),
            "row 2, column 'opened_at': value '03/04/2025'",
        ),
        (
            lambda t: (t[0].pop("id"), t[0]["properties"].pop("hs_object_id")),
            "row 1, column 'case_id'",
        ),
        (
            lambda t: t[2].update(id="512"),
            "row 3, column 'case_id': value '512': duplicate key: row 1",
        ),
    ],
    ids=["wrong type", "missing id", "duplicate id"],
)
def test_bad_files_write_nothing(fixture_path, tmp_path, change, expected):
    export = _export(fixture_path)
    change(export["results"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(export))
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("cases", [path])
        assert expected in str(exc.value) and "bad.json" in str(exc.value)
        assert ws.status().imports == []


@pytest.mark.parametrize("name", [API, CSV])
def test_import_is_idempotent(fixture_path, tmp_path, name):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("cases", [fixture_path(name)]).result
        again = ws.import_files("cases", [fixture_path(name)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (3, 0, 0, 3)
        assert ws.table("cases").count().execute() == 3


def test_a_ticket_without_properties_is_not_hubspot(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"results": [{"id": "1", "subject": "x"}]}))
    with pytest.raises(SourceError, match=r"flat\.json: ticket 1 has no 'properties' object"):
        read_batch("cases", [path], source="hubspot")
