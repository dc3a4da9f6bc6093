"""Exports stream CSV and Parquet; importing an export again changes nothing."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from tests.api.conftest import assert_envelope

CASES = "\n".join(
    [
        "case_id,opened_at,customer_id,contacts,reopened,category,queue",
        'K1,2025-02-01T08:30:00Z,C1,1,no,billing,"tier 1, ""west"""',
        "K2,2025-02-02T09:00:00+02:00,C2,3,yes,delivery,",
        "K3,2025-02-03,,2,,billing,tier 2",
        "",
    ]
)


def test_csv_export_round_trip(make_api, tmp_path):
    def setup(ws):
        p = tmp_path / "cases.csv"
        p.write_text(CASES, encoding="utf-8")
        ws.import_files("cases", [p])

    api = make_api(setup)
    r = api.get("/api/tables/cases/export?format=csv&sort=case_id")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="cases.csv"' in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0].startswith('"case_id","customer_id","opened_at"')
    assert "_import_id" not in lines[0] and len(lines) == 4
    assert "2025-02-02T07:00:00.000000Z" in lines[2]
    back = api.post(
        "/api/imports/cases", files={"files": ("cases.csv", r.content, "text/csv")}
    ).json()
    assert (back["rows_in"], back["unchanged"], back["added"], back["updated"]) == (3, 3, 0, 0)
    # filters apply to exports too
    only = api.get("/api/tables/cases/export?filter=category:billing&from=2025-02-02")
    assert only.text.splitlines()[1].startswith('"K3"')
    assert len(only.text.splitlines()) == 2


def test_parquet_export_round_trip_of_typed_demo_rows(demo):
    r = demo.get("/api/tables/orders/export?format=parquet")
    assert r.status_code == 200
    table = pq.read_table(io.BytesIO(r.content))
    orders = demo.ws.table("orders")
    assert table.num_rows == orders.count().to_pyarrow().as_py() > 0
    assert str(table.schema.field("ordered_at").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("amount").type) == "decimal128(18, 4)"
    assert "_import_id" not in table.column_names
    back = demo.post(
        "/api/imports/orders",
        files={"files": ("orders.parquet", r.content, "application/octet-stream")},
        data={"dry_run": "true"},
    ).json()
    assert back["unchanged"] == table.num_rows and back["added"] == back["updated"] == 0


def test_csv_export_of_demo_events_reimports_unchanged(demo):
    r = demo.get("/api/tables/events/export?format=csv")
    n = demo.ws.table("events").count().to_pyarrow().as_py()
    assert len(r.content.splitlines()) == n + 1
    back = demo.post(
        "/api/imports/events",
        files={"files": ("events.csv", r.content, "text/csv")},
        data={"dry_run": "true"},
    ).json()
    assert back["unchanged"] == n


def test_export_errors_are_envelopes(demo):
    assert_envelope(demo.get("/api/tables/nope/export"), 404, "unknown_table")
    assert_envelope(demo.get("/api/tables/orders/export?format=xlsx"), 422, "invalid_request")
    assert_envelope(demo.get("/api/tables/orders/export?sort=zzz"), 422, "invalid_request")
    assert_envelope(demo.client.get("/api/tables/orders/export"), 401, "unauthenticated")
