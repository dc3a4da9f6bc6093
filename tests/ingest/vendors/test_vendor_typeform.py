"""Typeform responses: API pages, arrays, JSON Lines and webhook payloads."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch

EXPORT = "typeform_responses.json"
FIRST = "9x2kq7zvbn4w1hs0y3mc9x2kq7zvbn4w"
SECOND = "b7t3m1q8x0c5v2n6z4k9b7t3m1q8x0c5"
THIRD = "h5w8e2r6t1y9u3i7o0p4h5w8e2r6t1y9"


def _items(fixture_path):
    return json.loads(fixture_path(EXPORT).read_text(encoding="utf-8"))["items"]


def test_maps_api_page_onto_responses(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="typeform")
    rows = rows_by(batch, "response_id")
    assert list(rows) == [FIRST, SECOND, THIRD]
    first = rows[FIRST]
    assert first["submitted_at"] == datetime(2025, 4, 2, 8, 14, 3)
    assert first["customer_id"] == "cus_8812"  # hidden.customer_id
    assert first["touchpoint"] == "order_delivered"  # a hidden field named like the contract
    assert first["nps"] == 10
    assert first["comment"] == "Everything arrived on time, well packed."
    second = rows[SECOND]
    assert (second["nps"], second["customer_id"]) == (4, "cus_1203")
    third = rows[THIRD]
    assert third["submitted_at"] == datetime(2025, 4, 5, 9, 23, 10)  # 11:23:10+02:00
    assert third["customer_id"] is None
    assert (third["nps"], third["comment"]) == (8, None)


def test_answers_and_metadata_are_attributes(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="typeform")
    for name in (
        "effort",
        "products_bought",
        "would_buy_again",
        "landed_at",
        "metadata_platform",
        "metadata_referer",
        "calculated_score",
    ):
        assert name in batch.attributes, name
    # a field whose ref is a generated UUID keeps it as its (normalized) name
    uuid_col = "a3c1f0e4_5b7d_4e2a_9f61_0c8d2b7e4a19"
    assert uuid_col in batch.attributes
    rows = rows_by(batch, "response_id")
    assert rows[FIRST]["effort"] == 7
    assert json.loads(rows[FIRST]["products_bought"]) == ["Tent", "Sleeping bag"]
    assert rows[FIRST]["would_buy_again"] is True
    assert rows[FIRST][uuid_col] == "Website"
    assert rows[SECOND][uuid_col] == "Phone"  # "other" answer of a choice
    assert rows[SECOND]["metadata_platform"] == "mobile"


def test_detected_json_and_json_lines(fixture_path):
    for name in (EXPORT, "typeform_responses.jsonl"):
        batch = read_batch("responses", [fixture_path(name)])
        assert batch.files[0].source == "typeform"
        assert batch.num_rows == 3


def test_bad_value_names_the_line(fixture_path):
    with pytest.raises(ImportValidationError) as exc:
        read_batch(
            "responses", [fixture_path("typeform_responses.jsonl")], mapping={"ces": "effort"}
        )
    msg = str(exc.value)
    assert "typeform_responses.jsonl, row 2, column 'ces': value '9'" in msg
    assert "out of range" in msg


def test_array_webhook_and_user_id(fixture_path, tmp_path, rows_by):
    items = _items(fixture_path)
    for item in items:
        item["hidden"] = {"user_id": item["hidden"]["customer_id"] or None}
    array = tmp_path / "items.json"
    array.write_text(json.dumps(items), encoding="utf-8")
    hooks = tmp_path / "hooks.jsonl"
    hooks.write_text(
        "".join(
            json.dumps({"event_id": f"ev{i}", "event_type": "form_response", "form_response": it})
            + "\n"
            for i, it in enumerate(items)
        ),
        encoding="utf-8",
    )
    for path in (array, hooks):
        rows = rows_by(read_batch("responses", [path], source="typeform"), "response_id")
        assert rows[FIRST]["customer_id"] == "cus_8812"
        assert rows[THIRD]["customer_id"] is None
        assert rows[SECOND]["nps"] == 4


def test_partial_response_takes_landing_time(fixture_path, tmp_path, rows_by):
    items = _items(fixture_path)
    del items[2]["submitted_at"]
    items[2]["response_type"] = "partial"
    path = tmp_path / "partial.json"
    path.write_text(json.dumps({"total_items": 3, "page_count": 1, "items": items}))
    rows = rows_by(read_batch("responses", [path], source="typeform"), "response_id")
    assert rows[THIRD]["submitted_at"] == datetime(2025, 4, 5, 9, 20, 0)
    assert rows[THIRD]["response_type"] == "partial"


def test_two_nps_fields_must_be_chosen(fixture_path, tmp_path, rows_by):
    items = _items(fixture_path)
    field = {"id": "Xy1Xy1Xy1Xy1", "type": "nps", "ref": "recommend_support"}
    items[0]["answers"].append({"field": field, "type": "number", "number": 3})
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"items": items}))
    with pytest.raises(SourceError, match=r"two\.json: .*several NPS fields"):
        read_batch("responses", [path], source="typeform")
    batch = read_batch("responses", [path], source="typeform", mapping={"nps": "recommend_support"})
    assert rows_by(batch, "response_id")[FIRST]["nps"] == 3


def test_not_json_names_the_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"landed_at": "2025-04-02T08:11:45Z", "answers": []}\n{"landed_at": \n')
    with pytest.raises(SourceError, match=r"broken\.jsonl, line 2: not valid JSON"):
        read_batch("responses", [path], source="typeform")


def test_other_json_is_not_a_typeform_file(fixture_path):
    with pytest.raises(
        SourceError, match=r"zendesk_tickets\.json, item 1: not a Typeform response"
    ):
        read_batch("responses", [fixture_path("zendesk_tickets.json")], source="typeform")
