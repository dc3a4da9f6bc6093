"""SurveyMonkey exports: two header rows combined, US dates converted, NPS detected."""

from __future__ import annotations

from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch
from cxray.ingest.vendors.surveymonkey import combine_headers

EXPORT = "surveymonkey_responses.csv"
SATISFIED = "How satisfied were you with the delivery of your order?"
RECOMMEND = "How likely is it that you would recommend Contoso Bikes to a friend or colleague?"


def test_combine_headers():
    headings = ["Respondent ID", "Q1?", "Q2?", "", "", "Contact", "", "Q1?"]
    labels = [
        "",
        "Response",
        "Web",
        "App",
        "Other (please specify)",
        "Name",
        "Email",
        "Open-Ended Response",
    ]
    assert combine_headers(headings, labels) == [
        "Respondent ID",
        "Q1?",
        "Q2? - Web",
        "Q2? - App",
        "Q2? - Other (please specify)",
        "Contact - Name",
        "Contact - Email",
        "Q1? (2)",
    ]


def test_maps_export_onto_responses(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="surveymonkey")
    assert batch.files[0].source == "surveymonkey"
    rows = rows_by(batch, "response_id")
    assert set(rows) == {"114298765401", "114298765877", "114298766120"}
    maria = rows["114298765401"]
    assert maria["submitted_at"] == datetime(2025, 3, 14, 10, 22, 31)
    assert maria["customer_id"] == "CUST-0042"  # Custom Data 1
    assert maria["nps"] == 9
    assert maria["comment"] == "Great bikes, friendly staff"
    assert rows["114298765877"]["submitted_at"] == datetime(2025, 3, 14, 13, 9, 45)  # 01:09 PM
    last = rows["114298766120"]
    assert last["submitted_at"] == datetime(2025, 3, 16, 0, 4, 10)  # 12:04 AM
    assert last["customer_id"] is None  # no Custom Data 1: anonymous, email kept aside
    assert last["email_address"] == "sam@example.net"
    assert last["nps"] == 7
    assert last["comment"] is None


def test_keeps_other_columns_as_attributes(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="surveymonkey")
    for name in (
        "collector_id",
        "start_date",
        "email_address",
        "how_satisfied_were_you_with_the_delivery_of_your_order",
        "which_of_these_did_you_use_to_shop_with_us_select_all_that_apply_website",
        "which_of_these_did_you_use_to_shop_with_us_select_all_that_apply_other_please_specify",
        "please_rate_the_following_ease_of_checkout",
    ):
        assert name in batch.attributes, name
    jun = rows_by(batch, "response_id")["114298765877"]
    assert jun["start_date"] == "2025-03-14T13:02:00"
    assert (
        jun["which_of_these_did_you_use_to_shop_with_us_select_all_that_apply_other_please_specify"]
        == "Phone call"
    )


def test_detected_and_mapped_by_question_heading(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], mapping={"csat": SATISFIED})
    assert batch.files[0].source == "surveymonkey"
    rows = rows_by(batch, "response_id")
    assert [rows[k]["csat"] for k in sorted(rows)] == [5, 2, 4]


def test_unreadable_date_names_the_row(fixture_path):
    with pytest.raises(SourceError) as exc:
        read_batch("responses", [fixture_path("surveymonkey_bad_date.csv")])
    assert str(exc.value).startswith(
        "surveymonkey_bad_date.csv, row 4, column 'End Date': value '14/03/2025 13:09:45'"
    )


def test_bad_value_names_first_data_row_3(fixture_path):
    # the 0-10 answers do not fit the 1-5 CSAT scale
    with pytest.raises(ImportValidationError) as exc:
        read_batch("responses", [fixture_path(EXPORT)], mapping={"csat": RECOMMEND})
    msg = str(exc.value)
    assert "surveymonkey_responses.csv, row 3, column 'csat': value '9'" in msg
    assert "out of range" in msg


def test_a_qualtrics_file_is_not_a_surveymonkey_export(fixture_path):
    with pytest.raises(SourceError, match=r"qualtrics_responses\.csv, row 1: not a SurveyMonkey"):
        read_batch("responses", [fixture_path("qualtrics_responses.csv")], source="surveymonkey")


def test_recommend_question_with_other_values_is_not_nps(tmp_path):
    path = tmp_path / "sm.csv"
    path.write_text(
        "Respondent ID,End Date,How likely are you to recommend us (1-5 stars)?,Why?\n"
        ",,Response,Open-Ended Response\n"
        "1,03/14/2025 10:22:31 AM,5 stars,Good\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="needs at least one of the columns"):
        read_batch("responses", [path], source="surveymonkey")
    batch = read_batch("responses", [path], source="surveymonkey", mapping={"comment": "Why?"})
    assert batch.data.to_pylist()[0]["comment"] == "Good"
