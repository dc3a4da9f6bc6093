"""Zendesk incremental ticket exports: last version per ticket, metrics side-loaded."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch

EXPORT = "zendesk_tickets.json"
PAGES = "zendesk_tickets_pages.jsonl"


def _page(fixture_path):
    return json.loads(fixture_path(EXPORT).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", [EXPORT, PAGES])
def test_maps_tickets_onto_cases(fixture_path, rows_by, name):
    batch = read_batch("cases", [fixture_path(name)], source="zendesk")
    rows = rows_by(batch, "case_id")
    assert list(rows) == ["35437", "35438", "35436"]  # file order of each ticket's last version
    damaged = rows["35436"]
    assert damaged["status"] == "solved"  # the later of its two versions
    assert damaged["customer_id"] == "9001234567"
    assert damaged["opened_at"] == datetime(2025, 3, 3, 9, 12, 44)
    assert damaged["first_response_at"] == datetime(2025, 3, 3, 9, 59, 44)  # + 47 minutes
    assert damaged["resolved_at"] == datetime(2025, 3, 4, 11, 5, 10)
    assert damaged["channel"] == "email"
    assert (damaged["category"], damaged["priority"]) == ("incident", "high")
    assert (damaged["team"], damaged["agent"]) == ("360004455", "3600112233")
    assert damaged["reopened"] is False
    assert damaged["subject"] == "Parcel arrived damaged"
    assert damaged["contacts"] is None  # no honest source in the export
    new = rows["35437"]
    assert (new["first_response_at"], new["resolved_at"], new["category"]) == (None, None, None)
    chat = rows["35438"]
    assert chat["channel"] == "chat"
    assert chat["first_response_at"] == datetime(2025, 3, 1, 8, 3)
    assert chat["resolved_at"] == datetime(2025, 3, 2, 16, 45)
    assert chat["reopened"] is True


def test_tags_custom_fields_and_metrics_are_attributes(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(EXPORT)])
    assert batch.files[0].source == "zendesk"
    for name in (
        "tags",
        "custom_field_360012345678",
        "satisfaction_rating_score",
        "metric_replies",
        "metric_reopens",
        "metric_solved_at",
        "metric_full_resolution_time_in_minutes_calendar",
        "organization_id",
    ):
        assert name in batch.attributes, name
    assert "fields" not in batch.attributes  # a copy of custom_fields
    chat = rows_by(batch, "case_id")["35438"]
    assert json.loads(chat["tags"]) == ["refund", "returns"]
    assert chat["custom_field_360012345678"] == "refund_delay"
    assert chat["satisfaction_rating_score"] == "good"
    assert chat["metric_replies"] == 4
    assert chat["metric_full_resolution_time_in_minutes_calendar"] == 1965


def test_detected_pages(fixture_path):
    batch = read_batch("cases", [fixture_path(PAGES)])
    assert batch.files[0].source == "zendesk"
    assert batch.num_rows == 3


def test_last_version_is_the_latest_update_not_the_last_line(fixture_path, tmp_path, rows_by):
    page = _page(fixture_path)
    page["tickets"].reverse()  # the solved version now comes first
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(page))
    row = rows_by(read_batch("cases", [path], source="zendesk"), "case_id")["35436"]
    assert row["status"] == "solved"
    assert row["resolved_at"] == datetime(2025, 3, 4, 11, 5, 10)


def test_open_ticket_has_no_resolution_even_with_an_old_solved_at(fixture_path, tmp_path, rows_by):
    page = _page(fixture_path)
    page["tickets"][2]["status"] = "open"  # reopened after being solved
    path = tmp_path / "reopened.json"
    path.write_text(json.dumps(page))
    row = rows_by(read_batch("cases", [path], source="zendesk"), "case_id")["35438"]
    assert row["resolved_at"] is None
    assert row["metric_solved_at"] == "2025-03-02T16:45:00Z"


def test_without_metric_sets(fixture_path, tmp_path, rows_by):
    page = _page(fixture_path)
    for ticket in page["tickets"]:
        del ticket["metric_set"]
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(page))
    batch = read_batch("cases", [path], source="zendesk")
    assert "first_response_at" not in batch.present
    assert "reopened" not in batch.present
    assert rows_by(batch, "case_id")["35436"]["status"] == "solved"


def test_bad_value_names_the_ticket_position(fixture_path, tmp_path):
    page = _page(fixture_path)
    page["tickets"][1]["created_at"] = "03/03/2025 14:30"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(page))
    with pytest.raises(ImportValidationError) as exc:
        read_batch("cases", [path], source="zendesk")
    assert "bad.json, row 2, column 'opened_at': value '03/03/2025 14:30'" in str(exc.value)


def test_other_json_is_not_a_zendesk_export(fixture_path):
    with pytest.raises(SourceError, match=r"typeform_responses\.json: not a Zendesk ticket export"):
        read_batch("cases", [fixture_path("typeform_responses.json")], source="zendesk")


def test_broken_page_line_is_named(fixture_path, tmp_path):
    lines = fixture_path(PAGES).read_text().splitlines()
    path = tmp_path / "broken.jsonl"
    path.write_text(lines[0] + "\n" + lines[1][:200] + "\n")
    with pytest.raises(SourceError, match=r"broken\.jsonl, line 2: not valid JSON"):
        read_batch("cases", [path], source="zendesk")
