"""Qualtrics responses exports: three header rows, NPS auto-detected, zones honoured."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest

from cxray.config import ProgramConfig
from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch

EXPORT = "qualtrics_responses.csv"


def _rewrite(src, dst, edit):
    """Copy a Qualtrics fixture, letting ``edit(rows)`` change the parsed rows."""
    with src.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows)
    with dst.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return dst


def test_maps_export_onto_responses(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="qualtrics")
    assert batch.files[0].source == "qualtrics"
    assert batch.num_rows == 4
    rows = rows_by(batch, "response_id")
    ada = rows["R_3kVt9xQm2LpA7wE"]
    # 09:05 in America/Denver (MST, UTC-7, before the DST switch on 9 March)
    assert ada["submitted_at"] == datetime(2025, 3, 1, 16, 5, 0)
    assert ada["customer_id"] == "C-00417"
    assert ada["channel"] == "email"
    assert ada["nps"] == 9
    assert ada["comment"] == "Fast delivery, and the jacket fits, perfectly."
    erik = rows["R_1bQz8NcYw4HdT2s"]
    # 10:22:31 in America/Denver (MDT, UTC-6, after the DST switch)
    assert erik["submitted_at"] == datetime(2025, 3, 14, 16, 22, 31)
    assert erik["nps"] == 6
    assert erik["comment"] == 'Support took "three days" to answer.\nStill waiting on my refund.'
    anonymous = rows["R_7pXw2RaE5uKj9Nd"]
    assert anonymous["customer_id"] is None
    assert anonymous["channel"] == "anonymous"
    # a partial response: RecordedDate (when Qualtrics closed it) is its time
    lea = rows["R_2mFh6TyU8oLs1Cv"]
    assert lea["submitted_at"] == datetime(2025, 3, 29, 18, 2, 3)
    assert (lea["progress"], lea["finished"]) == ("60", "False")


def test_keeps_vendor_columns_as_attributes(fixture_path, rows_by):
    batch = read_batch("responses", [fixture_path(EXPORT)], source="qualtrics")
    for name in (
        "progress",
        "finished",
        "duration_in_seconds",
        "status",
        "q1_nps_group",
        "recipient_email",
        "start_date",
        "end_date",
        "q3",
        "q4",
        "q4_5_text",
        "plan",
    ):
        assert name in batch.attributes, name
    assert set(batch.present) == {
        "response_id",
        "submitted_at",
        "customer_id",
        "channel",
        "nps",
        "comment",
    }
    ada = rows_by(batch, "response_id")["R_3kVt9xQm2LpA7wE"]
    assert ada["start_date"] == "2025-03-01T08:58:12-07:00"
    assert ada["recipient_email"] == "ada.okafor@example.com"
    assert ada["q1_nps_group"] == "3"
    assert ada["plan"] == "premium"


def test_detected_without_naming_the_source(fixture_path):
    batch = read_batch("responses", [fixture_path(EXPORT)])
    assert batch.files[0].source == "qualtrics"
    assert batch.num_rows == 4


def test_user_mapping_adds_answers_and_overrides_defaults(fixture_path, rows_by):
    batch = read_batch(
        "responses",
        [fixture_path(EXPORT)],
        source="qualtrics",
        mapping={"csat": "Q3", "customer_id": "RecipientEmail"},
    )
    rows = rows_by(batch, "response_id")
    assert rows["R_3kVt9xQm2LpA7wE"]["csat"] == 5
    assert rows["R_1bQz8NcYw4HdT2s"]["csat"] == 2
    assert rows["R_2mFh6TyU8oLs1Cv"]["csat"] is None
    assert rows["R_3kVt9xQm2LpA7wE"]["customer_id"] == "ada.okafor@example.com"
    # the default customer column stays, as an attribute
    assert rows["R_3kVt9xQm2LpA7wE"]["external_reference"] == "C-00417"


def test_nps_out_of_range_names_file_row_column_and_value(fixture_path):
    with pytest.raises(ImportValidationError) as exc:
        read_batch("responses", [fixture_path("qualtrics_nps_out_of_range.csv")])
    msg = str(exc.value)
    assert "qualtrics_nps_out_of_range.csv" in msg
    assert "row 5" in msg  # header rows are 1-3; the second response is row 5
    assert "'nps'" in msg
    assert "'11'" in msg


def test_first_response_is_row_4(fixture_path, tmp_path):
    def edit(rows):
        rows[3][17] = "eleven"

    path = _rewrite(fixture_path(EXPORT), tmp_path / "bad.csv", edit)
    with pytest.raises(ImportValidationError) as exc:
        read_batch("responses", [path], source="qualtrics")
    assert "bad.csv, row 4, column 'nps': value 'eleven': not an integer" in str(exc.value)


def test_without_time_zone_times_are_read_in_the_program_zone(fixture_path, tmp_path, rows_by):
    def edit(rows):
        rows[2] = [c.replace(',"timeZone":"America/Denver"', "") for c in rows[2]]

    path = _rewrite(fixture_path(EXPORT), tmp_path / "naive.csv", edit)
    config = ProgramConfig(program={"timezone": "Europe/Berlin"})
    batch = read_batch("responses", [path], source="qualtrics", config=config)
    ada = rows_by(batch, "response_id")["R_3kVt9xQm2LpA7wE"]
    assert ada["submitted_at"] == datetime(2025, 3, 1, 8, 5, 0)  # 09:05 CET


def test_customer_id_falls_back_to_recipient_email(fixture_path, tmp_path, rows_by):
    def edit(rows):
        for row in rows[3:]:
            row[12] = ""  # no ExternalReference anywhere in the file

    path = _rewrite(fixture_path(EXPORT), tmp_path / "emails.csv", edit)
    rows = rows_by(read_batch("responses", [path], source="qualtrics"), "response_id")
    assert rows["R_3kVt9xQm2LpA7wE"]["customer_id"] == "ada.okafor@example.com"
    assert rows["R_7pXw2RaE5uKj9Nd"]["customer_id"] is None


def test_embedded_data_named_like_a_contract_column_wins(fixture_path, tmp_path, rows_by):
    def edit(rows):
        rows[0][-1], rows[1][-1], rows[2][-1] = "channel", "channel", '{"ImportId":"channel"}'

    path = _rewrite(fixture_path(EXPORT), tmp_path / "embedded.csv", edit)
    rows = rows_by(read_batch("responses", [path], source="qualtrics"), "response_id")
    assert rows["R_3kVt9xQm2LpA7wE"]["channel"] == "premium"
    assert rows["R_3kVt9xQm2LpA7wE"]["distribution_channel"] == "email"


def test_several_nps_questions_must_be_chosen(fixture_path, tmp_path, rows_by):
    def edit(rows):
        rows[0][20:22] = ["Q5", "Q5_NPS_GROUP"]
        rows[2][20:22] = ['{"ImportId":"QID5"}', '{"ImportId":"QID5_NPS_GROUP"}']

    path = _rewrite(fixture_path(EXPORT), tmp_path / "two_nps.csv", edit)
    with pytest.raises(SourceError, match=r"two_nps\.csv: .*several NPS questions \(Q1, Q5\)"):
        read_batch("responses", [path], source="qualtrics")
    batch = read_batch("responses", [path], source="qualtrics", mapping={"nps": "Q5"})
    assert rows_by(batch, "response_id")["R_3kVt9xQm2LpA7wE"]["nps"] == 5
    assert rows_by(batch, "response_id")["R_3kVt9xQm2LpA7wE"]["q1"] == "9"


def test_a_file_without_import_ids_is_not_a_qualtrics_export(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(
        "response_id,submitted_at,nps\nr1,2025-03-01T10:00:00,9\nr2,2025-03-02T10:00:00,7\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match=r"plain\.csv, row 3: not a Qualtrics export"):
        read_batch("responses", [path], source="qualtrics")


def test_a_truncated_file_is_not_a_qualtrics_export(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("StartDate,EndDate,ResponseId\nStart Date,End Date,Response ID\n")
    with pytest.raises(SourceError, match=r"short\.csv: not a Qualtrics export"):
        read_batch("responses", [path], source="qualtrics")


def test_a_ragged_row_names_its_row(fixture_path, tmp_path):
    def edit(rows):
        rows[4] = rows[4][:10]

    path = _rewrite(fixture_path(EXPORT), tmp_path / "ragged.csv", edit)
    with pytest.raises(SourceError, match=r"ragged\.csv, row 5: has 10 fields"):
        read_batch("responses", [path], source="qualtrics")
