"""Trustpilot-style review exports (Business API JSON and the reviews CSV) into mentions.

The JSON fixture follows the Business API's review object
(https://developers.trustpilot.com/business-units-api-(private)#get-a-business-unit's-reviews:
``id``, ``createdAt``, ``stars``, ``title``, ``text``, ``consumer.displayName``,
``referenceId``, ``location``, ``companyReply``, ``tags``); the CSV fixture the column names of
the reviews download in Trustpilot Business (``Review ID``, ``Review Created (UTC)``,
``Review Stars``, ``Review Content``, ``Consumer Name``, ``Consumer Email``, ``Reference Id``).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

JSON = "trustpilot_reviews.json"
CSV = "trustpilot_reviews.csv"


def test_api_reviews_map_onto_mentions(fixture_path, rows_by):
    batch = read_batch("mentions", [fixture_path(JSON)])
    assert batch.files[0].source == "trustpilot"
    rows = rows_by(batch, "mention_id")
    damaged = rows["67c5a1b2e4b0a1c2d3e4f501"]
    assert damaged["posted_at"] == datetime(2025, 3, 3, 9, 12, 44)
    assert (damaged["rating"], damaged["platform"]) == (2.0, "trustpilot")
    assert damaged["text"].startswith("The lid was cracked")
    assert (damaged["author"], damaged["customer_id"]) == ("Ada Lovell", "C-0042")
    assert damaged["location"] == "Leeds, GB"  # the consumer's display location
    assert damaged["company_reply_text"] == "We are sorry, Ada. A new kettle is on its way."
    assert json.loads(damaged["tags"]) == [{"group": "Product", "value": "kettle"}]
    assert rows["67c5a1b2e4b0a1c2d3e4f502"]["location"] == "Bristol store"  # the review's own
    assert "referral_email" not in batch.attributes  # personal data, not kept


def test_csv_download_maps_onto_mentions(fixture_path, rows_by):
    batch = read_batch("mentions", [fixture_path(CSV)])
    assert batch.files[0].source == "trustpilot"
    rows = rows_by(batch, "mention_id")
    assert len(rows) == 3
    damaged = rows["67c5a1b2e4b0a1c2d3e4f501"]
    assert damaged["posted_at"] == datetime(2025, 3, 3, 9, 12, 44)
    assert (damaged["rating"], damaged["author"], damaged["customer_id"]) == (
        2.0,
        "Ada Lovell",
        "C-0042",
    )
    assert rows["67c5a1b2e4b0a1c2d3e4f503"]["text"] == "Great"  # the title when no content
    assert "consumer_email" not in batch.attributes


def test_utc_column_is_read_as_utc_whatever_the_program_zone(fixture_path, tmp_path, rows_by):
    from cxray.config import load_program_config

    toml = tmp_path / "cxray.toml"
    toml.write_text('[program]\ntimezone = "America/New_York"\n')
    config = load_program_config(toml)
    rows = rows_by(read_batch("mentions", [fixture_path(CSV)], config=config), "mention_id")
    assert rows["67c5a1b2e4b0a1c2d3e4f501"]["posted_at"] == datetime(2025, 3, 3, 9, 12, 44)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda rs: rs[1].update(stars="five"), "row 2, column 'rating': value 'five'"),
        (lambda rs: rs[0].update(text=None, title=None), "row 1, column 'text'"),
        (
            lambda rs: rs[1].update(id=rs[0]["id"]),
            "row 2, column 'mention_id': value '67c5a1b2e4b0a1c2d3e4f501': duplicate key: row 1",
        ),
    ],
    ids=["wrong type", "missing text", "duplicate id"],
)
def test_bad_exports_write_nothing(fixture_path, tmp_path, change, expected):
    export = json.loads(fixture_path(JSON).read_text())
    change(export["reviews"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(export))
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("mentions", [path], source="trustpilot")
        assert expected in str(exc.value) and "bad.json" in str(exc.value)
        assert ws.status().imports == []


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("mentions", [fixture_path(JSON)]).result
        again = ws.import_files("mentions", [fixture_path(JSON)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
        assert ws.table("mentions").count().execute() == 2
