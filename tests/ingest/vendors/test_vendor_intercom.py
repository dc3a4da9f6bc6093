"""Intercom conversations: cases from the conversation list, CSAT responses from ratings.

The fixture follows the documented conversation model (``source.author``, ``contacts``,
``statistics``, ``conversation_rating``, ``tags``, Unix-second times):
https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/listconversations
and https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/conversation
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

EXPORT = "intercom_conversations.json"


def _export(fixture_path):
    return json.loads(fixture_path(EXPORT).read_text(encoding="utf-8"))


def test_conversations_map_onto_cases(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(EXPORT)])
    assert batch.files[0].source == "intercom"
    rows = rows_by(batch, "case_id")
    assert list(rows) == ["147", "148", "149"]
    kettle = rows["147"]
    assert kettle["customer_id"] == "C-0042"  # the contact's external_id: your own user id
    assert kettle["opened_at"] == datetime(2025, 3, 3, 9, 32, 44)  # 1740994364 s, UTC
    assert kettle["first_response_at"] == datetime(2025, 3, 3, 10, 19, 44)
    assert kettle["resolved_at"] == datetime(2025, 3, 4, 10, 25, 10)
    assert (kettle["channel"], kettle["status"], kettle["reopened"]) == ("chat", "closed", False)
    assert (kettle["team"], kettle["agent"]) == ("5017691", "814860")
    assert json.loads(kettle["tags"]) == ["refund"]
    assert (kettle["rating"], kettle["rating_remark"]) == (5, "Quick and kind, thank you")
    assert kettle["custom_attributes_order_number"] == "HW-88812"
    assert kettle["statistics_count_conversation_parts"] == 6
    refund = rows["148"]
    assert (refund["channel"], refund["status"], refund["subject"]) == (
        "email",
        "open",
        "Refund not received",
    )
    assert (refund["first_response_at"], refund["resolved_at"]) == (None, None)
    assert rows["149"]["reopened"] is True
    assert rows["149"]["resolved_at"] == datetime(2025, 3, 3, 11, 30)  # the last close
    # the author's name and e-mail are personal data the cases table cannot hold
    assert not [a for a in batch.attributes if "name" in a or "email" in a]


def test_ratings_become_csat_responses(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)])
    assert batch.files[0].source == "intercom"
    assert (batch.files[0].skipped, batch.files[0].skipped_reason) == (
        1,
        "conversations without a rating",
    )
    rows = rows_by(batch, "response_id")
    assert {k: v["csat"] for k, v in rows.items()} == {"147": 5, "149": 2}
    assert rows["147"]["submitted_at"] == datetime(2025, 3, 4, 10, 26, 40)
    assert rows["147"]["comment"] == "Quick and kind, thank you"
    assert rows["149"]["comment"] is None
    assert (rows["149"]["customer_id"], rows["149"]["case_id"]) == ("C-0042", "149")


def test_without_external_ids_the_intercom_contact_id_is_used(fixture_path, tmp_path, rows_by):
    export = _export(fixture_path)
    for c in export["conversations"]:
        for contact in c["contacts"]["contacts"]:
            del contact["external_id"]
    path = tmp_path / "no_external.json"
    path.write_text(json.dumps(export))
    rows = rows_by(read_batch("cases", [path], source="intercom"), "case_id")
    assert rows["148"]["customer_id"] == "5ba682d23d7cf92bef87bfd5"


def test_a_time_that_is_not_unix_seconds_is_named(fixture_path, tmp_path):
    export = _export(fixture_path)
    export["conversations"][1]["created_at"] = "2025-03-04T08:00:00Z"
    path = tmp_path / "iso_time.json"
    path.write_text(json.dumps(export))
    with pytest.raises(ImportValidationError) as exc:
        read_batch("cases", [path], source="intercom")
    assert str(exc.value) == (
        "iso_time.json, row 2, column 'created_at': value '2025-03-04T08:00:00Z': must be a "
        "whole number of seconds since 1970-01-01 UTC. Nothing was written."
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda cs: cs[0]["conversation_rating"].update(rating=9),
            "row 1, column 'csat': value '9'",
        ),
        (lambda cs: cs[0].pop("id"), "row 1, column 'response_id'"),
        (
            lambda cs: cs[2].update(id="147"),
            "row 3, column 'response_id': value '147': duplicate key: row 1",
        ),
    ],
    ids=["rating out of range", "missing id", "duplicate id"],
)
def test_bad_files_write_nothing(fixture_path, tmp_path, change, expected):
    export = _export(fixture_path)
    change(export["conversations"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(export))
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("responses", [path])
        assert expected in str(exc.value) and "bad.json" in str(exc.value)
        assert ws.status().imports == []


def test_import_is_idempotent(fixture_path, tmp_path):
    path = fixture_path(EXPORT)
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        for table, n in (("cases", 3), ("responses", 2)):
            first = ws.import_files(table, [path]).result
            again = ws.import_files(table, [path]).result
            assert (first.added, again.added, again.updated, again.unchanged) == (n, 0, 0, n)
            assert ws.table(table).count().execute() == n


def test_no_rated_conversation_is_a_clear_error(fixture_path, tmp_path):
    export = _export(fixture_path)
    for c in export["conversations"]:
        c["conversation_rating"] = None
    path = tmp_path / "unrated.json"
    path.write_text(json.dumps(export))
    with pytest.raises(SourceError, match=r"unrated\.json: no rated conversations"):
        read_batch("responses", [path], source="intercom")


def test_other_json_is_not_an_intercom_export(fixture_path):
    with pytest.raises(SourceError, match=r"zendesk_tickets\.json: not an Intercom conversation"):
        read_batch("cases", [fixture_path("zendesk_tickets.json")], source="intercom")
