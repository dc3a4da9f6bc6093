"""Which source claims which file: vendors by their sniffers, never canonical files."""

from __future__ import annotations

import gzip

import pytest

from cxray.ingest import SOURCES, detect_source, get_source, read_batch

VENDORS = {"qualtrics", "surveymonkey", "typeform", "zendesk", "segment"}


def test_importing_the_registry_registers_every_vendor():
    for name in VENDORS:
        assert get_source(name).name == name
    assert set(SOURCES) >= VENDORS


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("qualtrics_responses.csv", "responses", "qualtrics"),
        ("surveymonkey_responses.csv", "responses", "surveymonkey"),
        ("typeform_responses.json", "responses", "typeform"),
        ("typeform_responses.jsonl", "responses", "typeform"),
        ("zendesk_tickets.json", "cases", "zendesk"),
        ("zendesk_tickets_pages.jsonl", "cases", "zendesk"),
        ("segment_calls.jsonl", "events", "segment"),
        ("segment_calls.jsonl", "customers", "segment"),
        # a vendor file offered for a table its vendor does not feed is not claimed
        ("zendesk_tickets.json", "responses", "canonical"),
        ("qualtrics_responses.csv", "cases", "canonical"),
    ],
)
def test_vendor_files_are_detected(fixture_path, name, table, expected):
    assert detect_source(fixture_path(name), table).name == expected


@pytest.mark.parametrize(
    ("name", "text", "table"),
    [
        ("responses.csv", "response_id,submitted_at,nps\nr1,2025-03-01,9\n", "responses"),
        (
            "events.jsonl",
            '{"customer_id": "c1", "timestamp": "2025-03-01T10:00:00Z", "touchpoint": "visit",'
            ' "type": "track"}\n',
            "events",
        ),
        ("cases.jsonl", '{"case_id": "1", "opened_at": "2025-03-01"}\n', "cases"),
    ],
)
def test_canonical_files_are_not_claimed(tmp_path, name, text, table):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect_source(path, table).name == "canonical"


def test_compressed_exports_are_detected_and_read(fixture_path, tmp_path):
    for name, table, expected_rows in (
        ("qualtrics_responses.csv", "responses", 4),
        ("segment_calls.jsonl", "events", 5),
    ):
        path = tmp_path / f"{name}.gz"
        path.write_bytes(gzip.compress(fixture_path(name).read_bytes()))
        assert detect_source(path, table).name == name.split("_")[0]
        assert read_batch(table, [path]).num_rows == expected_rows
