"""Segment calls: track/page/screen → events, identify → customers."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch

CALLS = "segment_calls.jsonl"


def _calls(fixture_path):
    return [json.loads(line) for line in fixture_path(CALLS).read_text().splitlines()]


def test_events_from_track_page_and_screen(fixture_path, rows_by):
    batch = read_batch("events", [fixture_path(CALLS)], source="segment")
    rows = rows_by(batch, "event_id")
    assert batch.num_rows == 5  # 4 identify calls and 1 group call skipped
    page = rows["ajs-next-0c9d1e2f3a4b5c6d7e8f"]
    assert page["touchpoint"] == "page_viewed"
    assert page["customer_id"] == "e2b1c0d9-8f7a-4b6c-9d5e-3a2f1b0c9d8e"  # anonymousId
    assert (page["name"], page["channel"]) == ("Pricing", "web")
    assert page["context_campaign_source"] == "google"
    assert page["prop_path"] == "/pricing"
    viewed = rows["ajs-next-1a2b3c4d5e6f7a8b9c0d"]
    assert viewed["touchpoint"] == "product_viewed"
    assert viewed["event"] == "Product Viewed"
    assert viewed["customer_id"] == "user_1042"
    assert viewed["anonymous_id"] == "a7f3c2e1-9b4d-4c8a-b6e2-1d5f8a3c7e90"
    assert viewed["timestamp"] == datetime(2025, 2, 10, 8, 15)  # 09:15+01:00
    order = rows["ajs-next-9f8e7d6c5b4a39281706"]
    assert order["touchpoint"] == "order_completed"
    assert order["timestamp"] == datetime(2025, 2, 10, 8, 21, 40, 500000)
    assert order["prop_total"] == 129.0
    assert json.loads(order["prop_products"]) == [{"product_id": "SKU-40017", "quantity": 1}]
    screen = rows["8C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F"]
    assert (screen["touchpoint"], screen["channel"], screen["name"]) == (
        "screen_viewed",
        "app",
        "Cart",
    )
    server = rows["node-3f2e1d0c-9b8a-4766-8554-433221100ffe"]
    assert (server["touchpoint"], server["channel"]) == ("subscription_renewed", None)
    assert "integrations" not in batch.attributes


def test_customers_from_identify(fixture_path, rows_by):
    batch = read_batch("customers", [fixture_path(CALLS)], source="segment")
    rows = rows_by(batch, "customer_id")
    assert set(rows) == {"user_1042", "user_2210"}  # the anonymous identify is skipped
    noor = rows["user_1042"]
    assert noor["created_at"] == datetime(2024, 11, 2, 9, 30)  # traits.createdAt
    assert (noor["email"], noor["name"], noor["region"]) == (
        "noor.haddad@example.com",
        "Noor Haddad",
        "EMEA",
    )
    assert noor["plan"] == "pro"  # the later identify call wins
    assert noor["trait_company_name"] == "Haddad Design"
    assert json.loads(noor["anonymous_ids"]) == ["a7f3c2e1-9b4d-4c8a-b6e2-1d5f8a3c7e90"]
    li = rows["user_2210"]
    assert li["created_at"] == datetime(2025, 2, 11, 19, 40)  # no createdAt: first identify
    assert li["name"] == "Li Wei"  # from firstName and lastName
    assert li["trait_first_name"] == "Li"


def test_detected_for_both_tables(fixture_path):
    assert read_batch("events", [fixture_path(CALLS)]).files[0].source == "segment"
    assert read_batch("customers", [fixture_path(CALLS)]).files[0].source == "segment"


def test_batch_and_array(fixture_path, tmp_path):
    calls = _calls(fixture_path)
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps({"batch": calls, "sentAt": "2025-02-15T00:00:06Z"}))
    array_file = tmp_path / "array.json"
    array_file.write_text(json.dumps(calls))
    for path in (batch_file, array_file):
        assert read_batch("events", [path], source="segment").num_rows == 5
        assert read_batch("customers", [path], source="segment").num_rows == 2


def test_conflicting_created_at_takes_the_earliest(fixture_path, tmp_path, rows_by):
    calls = _calls(fixture_path)
    calls[5]["traits"]["created_at"] = "2024-10-01T00:00:00+02:00"
    path = tmp_path / "created.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    rows = rows_by(read_batch("customers", [path], source="segment"), "customer_id")
    assert rows["user_1042"]["created_at"] == datetime(2024, 9, 30, 22, 0)


def test_file_without_usable_calls(tmp_path):
    path = tmp_path / "identify.jsonl"
    path.write_text(
        json.dumps(
            {"type": "identify", "userId": "u1", "traits": {}, "timestamp": "2025-01-01T00:00:00Z"}
        )
        + "\n"
    )
    with pytest.raises(SourceError, match=r"identify\.jsonl: no track / page / screen calls"):
        read_batch("events", [path], source="segment")
    assert read_batch("customers", [path], source="segment").num_rows == 1


def test_line_that_is_not_a_call(fixture_path, tmp_path):
    lines = fixture_path(CALLS).read_text().splitlines()
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([lines[0], lines[1], '{"event": "Order Completed"}']) + "\n")
    with pytest.raises(SourceError, match=r"mixed\.jsonl, line 3: not a Segment call"):
        read_batch("events", [path], source="segment")


def test_bad_timestamp_names_the_line(fixture_path, tmp_path):
    calls = _calls(fixture_path)
    calls[3]["timestamp"] = "yesterday"
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    with pytest.raises(ImportValidationError) as exc:
        read_batch("events", [path], source="segment")
    assert "bad.jsonl, row 4, column 'timestamp': value 'yesterday'" in str(exc.value)
