"""App Store Connect customer reviews (API JSON) into mentions.

The fixture follows the documented ``customerReviews`` resource
(https://developer.apple.com/documentation/appstoreconnectapi/customerreview and
https://developer.apple.com/documentation/appstoreconnectapi/customerreview/attributes:
``rating``, ``title``, ``body``, ``reviewerNickname``, ``createdDate``, ``territory``).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

EXPORT = "app_store_reviews.json"
FIRST = "00000029-1f2a-4b1c-9d3e-000000000001"


def test_reviews_map_onto_mentions(fixture_path, rows_by):
    batch = read_batch("mentions", [fixture_path(EXPORT)])
    assert batch.files[0].source == "app_store"
    rows = rows_by(batch, "mention_id")
    logout = rows[FIRST]
    assert logout["posted_at"] == datetime(2025, 3, 3, 5, 15)  # 21:15 at -08:00, in UTC
    assert (logout["rating"], logout["author"], logout["platform"]) == (
        1.0,
        "kettle_fan_88",
        "app_store",
    )
    assert logout["text"].startswith("Since the last update")
    assert (logout["title"], logout["territory"]) == ("Keeps logging me out", "USA")
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d[0]["attributes"].update(createdDate="last Sunday"),
            "row 1, column 'posted_at': value 'last Sunday'",
        ),
        (lambda d: d[1].pop("id"), "row 2, column 'mention_id'"),
        (
            lambda d: d[1].update(id=FIRST),
            f"row 2, column 'mention_id': value '{FIRST}': duplicate key: row 1",
        ),
    ],
    ids=["wrong type", "missing id", "duplicate id"],
)
def test_bad_exports_write_nothing(fixture_path, tmp_path, change, expected):
    export = json.loads(fixture_path(EXPORT).read_text())
    change(export["data"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(export))
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("mentions", [path], source="app_store")
        assert expected in str(exc.value) and "bad.json" in str(exc.value)
        assert ws.status().imports == []


def test_a_resource_of_another_type_is_named(fixture_path, tmp_path):
    export = json.loads(fixture_path(EXPORT).read_text())
    export["data"][1]["type"] = "customerReviewResponses"
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(export))
    with pytest.raises(SourceError, match=r"mixed\.json: review 2 is not an App Store Connect"):
        read_batch("mentions", [path], source="app_store")


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("mentions", [fixture_path(EXPORT)]).result
        again = ws.import_files("mentions", [fixture_path(EXPORT)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
        assert ws.table("mentions").count().execute() == 2


def test_review_csv_maps_onto_mentions(fixture_path, rows_by):
    batch = read_batch("mentions", [fixture_path("app_store_reviews.csv")])
    assert batch.files[0].source == "app_store"
    assert (batch.num_rows, batch.files[0].skipped) == (2, 1)  # a rating without text
    rows = rows_by(batch, "mention_id")
    logout = rows["10987654321"]
    assert logout["text"] == "Since the last update the app logs me out\nevery time I open it."
    assert (logout["rating"], logout["author"], logout["territory"]) == (
        1.0,
        "kettle_fan_88",
        "USA",
    )
    assert logout["posted_at"] == datetime(2025, 3, 2, 21, 15)
    assert rows["10987654322"]["app_version"] == "4.12.0"


def test_a_review_list_without_ids_gets_stable_ids(tmp_path, rows_by):
    # the shape of review lists gathered outside App Store Connect (date,title,review,rating)
    path = tmp_path / "reviews.csv"
    path.write_text(
        "date,title,review,rating\n"
        '2023-05-21 16:42:24,Accessible,"Works well with VoiceOver.",5\n'
        "2023-05-22 09:00:00,Logs out,Logs me out daily,2\n",
        encoding="utf-8",
    )
    first = rows_by(read_batch("mentions", [path], source="app_store"), "mention_id")
    again = rows_by(read_batch("mentions", [path], source="app_store"), "mention_id")
    assert list(first) == list(again) and len(first) == 2
    assert all(k.startswith("app_store:") and len(k) == len("app_store:") + 16 for k in first)
    assert {r["rating"] for r in first.values()} == {5.0, 2.0}
    with pytest.raises(SourceError, match="no column for posted_at"):
        bad = tmp_path / "nodate.csv"
        bad.write_text("title,review,rating\nx,y,3\n", encoding="utf-8")
        read_batch("mentions", [bad], source="app_store")
