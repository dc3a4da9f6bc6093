"""Canonical CSV, Parquet and JSON Lines: exact values in, exact errors out."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxray.config import ProgramConfig
from cxray.exceptions import ImportValidationError, SourceError
from cxray.ingest import read_batch, read_frame

RESPONSES = """\
response_id,submitted_at,customer_id,nps,csat,comment,Tier
R1,2025-03-01T14:05:00+02:00,007,9,5,Great service,gold
R2,2025-03-02,C2,0,1,  slow  ,
R3,2025-03-02 10:30:00,,7,,,silver
"""


def rows(batch):
    return batch.data.to_pylist()


def test_csv_values_types_and_attributes(write):
    with read_batch("responses", [write("r.csv", RESPONSES)]) as b:
        got = rows(b)
        assert b.present == ["response_id", "submitted_at", "customer_id", "nps", "csat", "comment"]
        assert b.attributes == {"tier": "VARCHAR"}
    assert got[0]["submitted_at"] == dt.datetime(2025, 3, 1, 12, 5)  # +02:00 → UTC
    assert got[1]["submitted_at"] == dt.datetime(2025, 3, 2)
    assert got[0]["customer_id"] == "007"  # IDs keep leading zeros
    assert got[2]["customer_id"] is None  # empty = missing (anonymous)
    assert [r["nps"] for r in got] == [9, 0, 7]
    assert got[1]["comment"] == "slow"
    assert got[0]["tier"] == "gold" and got[1]["tier"] is None
    assert got[0]["ces"] is None and got[0]["survey"] is None  # absent contract columns


def test_naive_timestamps_read_in_program_zone(write):
    cfg = ProgramConfig(program={"timezone": "Europe/Berlin"})
    with read_batch("responses", [write("r.csv", RESPONSES)], config=cfg) as b:
        got = rows(b)
    # naive 2025-03-02 10:30 in Berlin (UTC+1 in March) is 09:30 UTC; explicit offsets win
    assert got[2]["submitted_at"] == dt.datetime(2025, 3, 2, 9, 30)
    assert got[0]["submitted_at"] == dt.datetime(2025, 3, 1, 12, 5)


def test_header_names_are_matched_case_insensitively_after_trimming(write):
    p = write("r.csv", " Response ID ,SUBMITTED_AT,Nps\nA,2025-01-01,10\n")
    with read_batch("responses", [p]) as b:
        assert rows(b)[0]["response_id"] == "A" and rows(b)[0]["nps"] == 10


def test_mapping_renames_source_columns(write):
    p = write("r.csv", "id,when,Q1,Q2\nA,2025-01-01,8,fine\n")
    mapping = {"response_id": "id", "submitted_at": "when", "nps": "Q1", "comment": "q2"}
    with read_batch("responses", [p], mapping=mapping) as b:
        assert rows(b)[0] | {} == rows(b)[0]
        assert (rows(b)[0]["nps"], rows(b)[0]["comment"]) == (8, "fine")
    with pytest.raises(SourceError, match="column 'Q9' named in --map nps=Q9 is not in the file"):
        read_batch("responses", [p], mapping={"nps": "Q9"})
    with pytest.raises(SourceError, match="'score' is not a column of responses"):
        read_batch("responses", [p], mapping={"score": "Q1"})


def test_all_types_from_cases_and_orders(write):
    cases = write(
        "cases.csv",
        "case_id,opened_at,contacts,reopened,first_response_at\n"
        "K1,2025-01-01T08:00:00Z,1,yes,2025-01-01T09:30:00Z\n"
        "K2,2025-01-02T08:00:00Z,3,0,\n"
        "K3,2025-01-03T08:00:00Z,,False,\n",
    )
    with read_batch("cases", [cases]) as b:
        got = rows(b)
    assert [r["reopened"] for r in got] == [True, False, False]
    assert [r["contacts"] for r in got] == [1, 3, None]
    orders = write(
        "orders.csv",
        "order_id,customer_id,ordered_at,amount,currency\nO1,C1,2025-01-01,19.99,EUR\n"
        "O2,C1,2025-01-02,0,\n",
    )
    with read_batch("orders", [orders]) as b:
        got = rows(b)
    assert got[0]["amount"] == Decimal("19.9900") and got[1]["amount"] == Decimal("0")
    assert b.data.schema.field("amount").type == pa.decimal128(18, 4)


def test_parquet_keeps_types_and_converts(tmp_path):
    table = pa.table(
        {
            "mention_id": ["M1", "M2"],
            "posted_at": pa.array(
                [dt.datetime(2025, 5, 1, 12), dt.datetime(2025, 5, 2, 8)], pa.timestamp("us")
            ),
            "text": ["love it", "meh"],
            "rating": [5, 3],
            "likes": [10, 0],
        }
    )
    p = tmp_path / "m.parquet"
    pq.write_table(table, p)
    with read_batch("mentions", [p]) as b:
        got = rows(b)
        assert b.attributes == {"likes": "BIGINT"}
    assert got[0]["posted_at"] == dt.datetime(2025, 5, 1, 12)
    assert got[0]["rating"] == 5.0 and got[1]["likes"] == 0


def test_json_lines_with_nested_values(write):
    lines = [
        {
            "event_id": "E1",
            "customer_id": 42,
            "timestamp": "2025-02-01T10:00:00Z",
            "touchpoint": "order_placed",
            "properties": {"sku": "A1"},
        },
        {"customer_id": "C7", "timestamp": "2025-02-01T11:00:00Z", "touchpoint": "visit_site"},
    ]
    p = write("e.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    with read_batch("events", [p]) as b:
        got = rows(b)
    assert got[0]["customer_id"] == "42"
    assert got[0]["properties"] == '{"sku":"A1"}'
    # a missing event_id is derived from (customer_id, timestamp, touchpoint), stably
    assert got[0]["event_id"] == "E1" and len(got[1]["event_id"]) == 20
    with read_batch("events", [p]) as again:
        assert rows(again)[1]["event_id"] == got[1]["event_id"]


def test_frames_validate_like_files():
    import pandas as pd

    df = pd.DataFrame(
        {"response_id": ["a", "b"], "submitted_at": ["2025-01-01", "2025-01-02"], "nps": [3, 12]}
    )
    with pytest.raises(ImportValidationError, match=r"<frame>, row 2, column 'nps': value '12'"):
        read_frame("responses", df)


# ---------------------------------------------------------------- bad input


def test_each_rule_is_reported_with_file_row_column_value(write):
    p = write(
        "bad.csv",
        "response_id,submitted_at,nps,csat,ces\n"
        "R1,2025-03-01,11,3,4\n"  # row 2: nps out of range
        "R2,yesterday,5,3,4\n"  # row 3: not a timestamp
        "R3,2025-03-01,7.5,6,4\n"  # row 4: nps not integer; csat out of 1-5
        ",2025-03-01,5,3,x\n",  # row 5: missing key; ces not integer
    )
    with pytest.raises(ImportValidationError) as info:
        read_batch("responses", [p])
    msg = str(info.value)
    assert msg.startswith("6 problem(s) found; nothing was written:")
    for expected in [
        "bad.csv, row 2, column 'nps': value '11': out of range: must be an integer from 0 to 10",
        "bad.csv, row 3, column 'submitted_at': value 'yesterday': not an ISO 8601 timestamp",
        "bad.csv, row 4, column 'nps': value '7.5': not an integer",
        "bad.csv, row 4, column 'csat': value '6': out of range: must be an integer from 1 to 5",
        "bad.csv, row 5, column 'response_id': a value is required",
        "bad.csv, row 5, column 'ces': value 'x': not an integer",
    ]:
        assert expected in msg
    assert {(e.first.column, e.count) for e in info.value.errors} >= {("nps", 1)}


def test_many_failures_are_summarised_with_counts(write):
    body = "".join(f"R{i},2025-01-01,{20 + i}\n" for i in range(500))
    p = write("many.csv", "response_id,submitted_at,nps\n" + body)
    with pytest.raises(ImportValidationError) as info:
        read_batch("responses", [p])
    (summary,) = info.value.errors
    assert summary.count == 500 and summary.first.row == 2 and summary.first.value == "20"
    assert "(500 rows; first shown)" in str(info.value)


def test_scale_from_program_config(write):
    p = write("r.csv", "response_id,submitted_at,csat\nA,2025-01-01,7\n")
    with pytest.raises(ImportValidationError, match="from 1 to 5"):
        read_batch("responses", [p])
    cfg = ProgramConfig(scales={"csat": {"min": 1, "max": 7}})
    with read_batch("responses", [p], config=cfg) as b:
        assert rows(b)[0]["csat"] == 7


def test_range_rules_on_cases_and_orders(write):
    p = write("c.csv", "case_id,opened_at,contacts,reopened\nK1,2025-01-01,0,maybe\n")
    with pytest.raises(ImportValidationError) as info:
        read_batch("cases", [p])
    assert "column 'contacts': value '0': out of range: must be an integer ≥ 1" in str(info.value)
    assert "column 'reopened': value 'maybe': not a boolean" in str(info.value)
    p = write("o.csv", "order_id,customer_id,ordered_at,amount\nO1,C1,2025-01-01,-5\n")
    with pytest.raises(
        ImportValidationError, match="value '-5': out of range: must be a number ≥ 0"
    ):
        read_batch("orders", [p])


def test_missing_required_column_and_answer_columns(write):
    p = write("r.csv", "response_id,nps\nA,5\n")
    with pytest.raises(SourceError, match=r"r.csv: required column\(s\) missing: submitted_at"):
        read_batch("responses", [p])
    p = write("r2.csv", "response_id,submitted_at,channel\nA,2025-01-01,web\n")
    with pytest.raises(SourceError, match="needs at least one of the columns nps, csat, ces"):
        read_batch("responses", [p])


def test_conflicting_duplicate_keys_in_one_file(write):
    p = write("d.csv", "response_id,submitted_at,nps\nA,2025-01-01,5\nA,2025-01-01,6\n")
    with pytest.raises(
        ImportValidationError, match=r"d.csv, row 3, column 'response_id': value 'A': duplicate key"
    ):
        read_batch("responses", [p])


def test_exact_repeats_collapse_and_later_files_win(write):
    a = write(
        "a.csv", "response_id,submitted_at,nps\nA,2025-01-01,5\nA,2025-01-01,5\nB,2025-01-01,1\n"
    )
    b = write("b.csv", "response_id,submitted_at,nps\nB,2025-01-02,9\n")
    with read_batch("responses", [a, b]) as batch:
        got = {r["response_id"]: r["nps"] for r in rows(batch)}
        assert batch.files[0].repeated == 1
    assert got == {"A": 5, "B": 9}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "ragged.csv",
            "response_id,submitted_at,nps\nA,2025-01-01,5,extra,cells\n",
            "ragged.csv: cannot be read as CSV",
        ),
        ("empty.csv", "", "empty.csv: the file is empty"),
        ("x.jsonl", '{"response_id": "A"}\n{not json}\n', "x.jsonl, line 2: not valid JSON"),
        ("y.jsonl", "[1, 2]\n", "y.jsonl, line 1: expected a JSON object"),
        ("z.xlsx", "PK", "z.xlsx: unknown file type"),
    ],
)
def test_unreadable_files(write, name, text, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        read_batch("responses", [write(name, text)])


def test_missing_file_and_unknown_source(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_batch("responses", [tmp_path / "nope.csv"])
    with pytest.raises(SourceError, match="--source 'excel' is neither a named source"):
        read_batch("responses", [tmp_path / "nope.csv"], source="excel")


def test_row_numbers_hold_in_large_files_read_in_parallel(tmp_path):
    """DuckDB reads big CSVs in parallel; reported rows must still be the file's rows."""
    n = 300_000
    bad = {150_001: "77", n - 1: "-3"}  # 0-based data rows with a bad nps
    lines = ["response_id,submitted_at,nps,comment"]
    for i in range(n):
        nps = bad.get(i, str(i % 11))
        lines.append(f"R{i},2025-01-01T00:00:00Z,{nps},padding text to make the file larger")
    p = tmp_path / "big.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert p.stat().st_size > 16 * 2**20 // 2
    with pytest.raises(ImportValidationError) as info:
        read_batch("responses", [p])
    (summary,) = info.value.errors
    assert summary.count == 2
    assert (summary.first.row, summary.first.value) == (150_001 + 2, "77")
    # the same far-away rows through the key check: a conflicting repeat of R150001 at the end
    good = p.read_text(encoding="utf-8").replace(",77,", ",7,").replace(",-3,", ",3,")
    p.write_text(good + "R150001,2025-01-02T00:00:00Z,1,changed\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as info:
        read_batch("responses", [p])
    (summary,) = info.value.errors
    assert (summary.first.row, summary.first.value) == (n + 2, "R150001")
    assert "row 150003 has the same response_id" in summary.first.rule


@pytest.mark.parametrize(
    "value",
    [
        "infinity",
        "20250101",
        "2025-02-30",
        "03/14/2025",
        "2025-13-01",
        "yesterday",
        "2025-01-01T25:00",
    ],
)
def test_timestamps_must_be_iso_8601(write, value):
    p = write("t.csv", f"response_id,submitted_at,nps\nA,{value},5\n")
    with pytest.raises(ImportValidationError, match="not an ISO 8601 timestamp"):
        read_batch("responses", [p])


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2025-03-01T14:05:00+02:00", dt.datetime(2025, 3, 1, 12, 5)),
        ("2025-03-01T14:05:00-05:30", dt.datetime(2025, 3, 1, 19, 35)),
        ("2025-03-01T14:05:00+0200", dt.datetime(2025, 3, 1, 12, 5)),
        ("2025-03-01T14:05:00Z", dt.datetime(2025, 3, 1, 14, 5)),
        ("2025-03-01 14:05:00.250", dt.datetime(2025, 3, 1, 14, 5, 0, 250000)),
        ("2025-03-01", dt.datetime(2025, 3, 1)),
        ("2024-12-31T23:30:00-01:00", dt.datetime(2025, 1, 1, 0, 30)),
        ("2025-07-01T09:00Z", dt.datetime(2025, 7, 1, 9, 0)),
        ("2025-07-01T09:00+02:00", dt.datetime(2025, 7, 1, 7, 0)),
    ],
)
def test_timestamp_forms_convert_to_utc(write, value, utc):
    p = write("t.csv", f"response_id,submitted_at,nps\nA,{value},5\n")
    with read_batch("responses", [p]) as b:
        assert rows(b)[0]["submitted_at"] == utc
