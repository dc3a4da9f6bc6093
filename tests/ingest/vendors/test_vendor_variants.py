"""Real-export variants: surveys without an NPS question (rating questions with detected
scales), the Typeform refs an error lists, SurveyMonkey's RespondentID header, the legacy
Qualtrics message, and Zendesk metric sets side-loaded as the incremental export sends them."""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.conftest import snapshot

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.ingest.vendors._common import rating_scale


@pytest.mark.parametrize(
    ("values", "hint", "scale"),
    [
        ([4, 1, 5], None, "1-5"),
        (["6", "2", "7"], None, "1-7"),
        ([9, 0, 10], None, "0-10"),
        ([3, 8], None, "0-10"),
        ([0, 3], None, "0-10"),
        ([1, 4], "0-10", "0-10"),  # the vendor's word wins when the answers fit it
        ([1, 9], "1-5", "0-10"),  # ... and not when they do not
        ([1, 11], None, None),
        (["4", "very"], None, None),
        ([2.5], None, None),
        ([None, None], None, None),
    ],
)
def test_rating_scale_from_the_answers(values, hint, scale):
    assert rating_scale(values, hint=hint) == scale


def test_typeform_without_nps_imports_its_rating_questions(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path("typeform_ratings_no_nps.json")])
    assert batch.files[0].source == "typeform"
    assert batch.files[0].questions == {"delivery_stars": "1-5", "ease_0_10": "0-10"}
    rows = rows_by(batch, "response_id")
    assert [r["delivery_stars"] for r in rows.values()] == [4, 2, 5]
    assert [r["ease_0_10"] for r in rows.values()] == [9, 0, 10]
    assert all(r["nps"] is None for r in rows.values())
    assert [r["customer_id"] for r in rows.values()] == ["cus_501", "cus_502", "cus_503"]


def test_typeform_error_lists_the_answer_refs_of_the_responses(fixture_path):
    with pytest.raises(SourceError) as info:
        read_batch("responses", [fixture_path("typeform_no_ratings.json")])
    msg = str(info.value)
    assert "no NPS field and no rating question" in msg
    assert "favourite_product (multiple_choice)" in msg
    assert "a8f1c2d4-0b6e-4f3a-9c7d-2e5b1a0f9d83 (short_text)" in msg
    # mapped as the error says, the file imports
    batch = read_batch(
        "responses",
        [fixture_path("typeform_no_ratings.json")],
        mapping={"comment": "a8f1c2d4-0b6e-4f3a-9c7d-2e5b1a0f9d83"},
    )
    assert batch.num_rows == 2


def test_qualtrics_without_nps_imports_its_rating_questions(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path("qualtrics_ratings_no_nps.csv")])
    assert batch.files[0].source == "qualtrics"
    assert batch.files[0].questions == {"q1": "1-5", "q2": "1-7"}
    rows = rows_by(batch, "response_id")
    assert [r["q1"] for r in rows.values()] == ["4", "1", "5"]
    assert [r["q2"] for r in rows.values()] == ["6", "2", "7"]
    first = rows["R_3aQw9Zx1Lm2Nb4C"]
    assert first["submitted_at"] == datetime(2025, 7, 1, 15, 3, 1)  # Denver, UTC-6 in July
    assert first["customer_id"] == "cus_201"


def test_surveymonkey_respondentid_header(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path("surveymonkey_respondentid.csv")])
    assert batch.files[0].source == "surveymonkey"
    rows = rows_by(batch, "response_id")
    assert list(rows) == ["11473012558", "11473019920", "11473020117"]
    first = rows["11473012558"]
    assert first["submitted_at"] == datetime(2025, 3, 14, 10, 22, 31)  # EndDate
    assert (first["nps"], first["comment"]) == (9, "Faster tracking updates")
    assert first["customer_id"] == "cus_77"
    # the satisfaction question is a rating question (1-5); the NPS question is nps
    q = "how_satisfied_were_you_with_your_delivery"
    assert batch.files[0].questions == {q: "1-5"}
    assert [r[q] for r in rows.values()] == ["4", "2", "5"]


@pytest.mark.parametrize("source", [None, "qualtrics"])
def test_legacy_qualtrics_is_named(fixture_path, source):
    with pytest.raises(SourceError) as info:
        read_batch("responses", [fixture_path("qualtrics_legacy.csv")], source=source)
    msg = str(info.value)
    assert "this looks like a legacy Qualtrics export" in msg
    assert "has no name" not in msg


def test_an_unnamed_column_of_a_plain_file_says_how_to_map_it(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("response_id,submitted_at,nps,\nr1,2025-01-01,9,x\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"column 4 of the header has no name.*--map TARGET=#4"):
        read_batch("responses", [p])
    assert read_batch("responses", [p], mapping={"-": "#4"}).num_rows == 1


ZENDESK = "zendesk_incremental_metric_sets.json"


def test_zendesk_metric_sets_side_loaded(fixture_path, rows_by):
    batch = read_batch("cases", [fixture_path(ZENDESK)])
    info = batch.files[0]
    assert info.source == "zendesk" and info.skipped == 1  # 48101's earlier version
    rows = rows_by(batch, "case_id")
    assert sorted(rows) == ["48101", "48102", "48103"]
    solved = rows["48101"]
    assert solved["opened_at"] == datetime(2025, 5, 5, 8, 0)
    assert solved["first_response_at"] == datetime(2025, 5, 5, 8, 42)  # 42 calendar minutes
    assert solved["resolved_at"] == datetime(2025, 5, 7, 12, 0)
    assert solved["reopened"] is True and solved["status"] == "solved"
    new = rows["48102"]
    assert new["first_response_at"] is None and new["resolved_at"] is None
    assert new["reopened"] is False and new["agent"] is None
    closed = rows["48103"]
    assert closed["first_response_at"] == datetime(2025, 5, 6, 9, 10, 30)  # 5,430 s
    assert closed["resolved_at"] == datetime(2025, 5, 7, 15, 10)
    assert (closed["channel"], closed["category"], closed["priority"]) == (
        "mobile",
        "incident",
        "urgent",
    )
    assert rows["48101"]["metric_replies"] == 3


def test_zendesk_metric_sets_import_all_or_nothing_and_idempotent(ws, fixture_path):
    report = ws.import_files("cases", [fixture_path(ZENDESK)])
    assert report.result.added == 3
    again = ws.import_files("cases", [fixture_path(ZENDESK)]).result
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    before = snapshot(ws)
    with pytest.raises(ImportValidationError) as info:
        ws.import_files("cases", [fixture_path("zendesk_incremental_metric_sets_bad.json")])
    assert "column 'opened_at': value '08/05/2025'" in str(info.value)
    assert snapshot(ws) == before


def test_rating_only_surveys_import_idempotent_and_all_or_nothing(ws, fixture_path):
    good = [
        fixture_path("typeform_ratings_no_nps.json"),
        fixture_path("surveymonkey_respondentid.csv"),
        fixture_path("qualtrics_ratings_no_nps.csv"),
    ]
    for p in good:
        assert ws.import_files("responses", [p]).result.added == 3
    for p in good:
        again = ws.import_files("responses", [p]).result
        assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    before = snapshot(ws)
    # a refused file among good ones writes nothing, from any of them
    for bad in ("typeform_no_ratings.json", "qualtrics_legacy.csv"):
        with pytest.raises(SourceError):
            ws.import_files("responses", [good[0], fixture_path(bad)])
    assert snapshot(ws) == before
