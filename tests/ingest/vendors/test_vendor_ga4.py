"""Google Analytics 4 events in the BigQuery export schema (JSON Lines and Parquet).

The fixture rows follow the documented export schema
(https://support.google.com/analytics/answer/7029846): ``event_timestamp`` in microseconds
(64-bit integers written as text in JSON), repeated ``event_params`` with
``string_value``/``int_value``/``float_value``/``double_value``, ``user_properties``,
``device.web_info``, ``geo``, ``traffic_source``, ``ecommerce`` and ``items``. The session id
is ``user_pseudo_id`` + ``ga_session_id``, as Google recommends for counting sessions
(https://support.google.com/analytics/answer/9191807).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

JSONL = "ga4_events.jsonl"
PARQUET = "ga4_events.parquet"
WEB = "1197296716.1740990000"
APP = "e2f3a9c6b1d04e5f8a7b6c5d4e3f2a1b"


def _events(fixture_path):
    return [json.loads(line) for line in fixture_path(JSONL).read_text().splitlines()]


def _write(tmp_path, events, name="bad.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.mark.parametrize("name", [JSONL, PARQUET])
def test_events_map_onto_the_contract(fixture_path, name):
    batch = read_batch("events", [fixture_path(name)])
    assert batch.files[0].source == "ga4"
    rows = batch.data.to_pylist()
    assert [r["touchpoint"] for r in rows] == [
        "session_start",
        "page_view",
        "add_to_cart",
        "screen_view",
        "purchase",
    ]
    view = rows[1]
    assert view["timestamp"] == datetime(2025, 3, 3, 9, 32, 44, 123456)  # microseconds kept
    assert (view["customer_id"], view["channel"]) == (WEB, "web")  # no user_id: the pseudo id
    assert view["session_id"] == f"{WEB}.1740994364"
    assert view["page_location"] == "https://hearthwell.example/kettles"
    assert view["page_referrer"] == "https://www.google.com/"
    assert (view["geo_country"], view["device_web_info_browser"]) == ("United Kingdom", "Chrome")
    assert view["traffic_source_source"] == "google"
    assert view["event_id"] == f"{WEB}.1740994364123456.page_view.1"
    assert rows[0]["event_id"] != view["event_id"]  # same time, another event
    cart = rows[2]
    assert (cart["param_currency"], cart["param_value"]) == ("GBP", 79.0)
    assert json.loads(cart["items"])[0]["item_id"] == "K-COPPER"
    purchase = rows[4]
    assert (purchase["customer_id"], purchase["user_pseudo_id"]) == ("C-0042", APP)
    assert (purchase["channel"], purchase["session_id"]) == ("app", f"{APP}.1741075190")
    assert purchase["user_property_plan"] == "plus"
    assert purchase["ecommerce_purchase_revenue"] == 129.5
    assert purchase["timestamp"] == datetime(2025, 3, 4, 8, 1, 0, 500000)


def test_parquet_and_json_lines_give_the_same_rows(fixture_path):
    a = read_batch("events", [fixture_path(JSONL)]).data.to_pylist()
    b = read_batch("events", [fixture_path(PARQUET)]).data.to_pylist()
    keep = ("event_id", "customer_id", "timestamp", "touchpoint", "session_id", "channel")
    assert [{k: r[k] for k in keep} for r in a] == [{k: r[k] for k in keep} for r in b]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda es: es[2].update(event_timestamp="2025-03-03T09:33:45Z"),
            "bad.jsonl, row 3, column 'event_timestamp': value '2025-03-03T09:33:45Z': must be "
            "a whole number of microseconds since 1970-01-01 UTC",
        ),
        (lambda es: es[3].update(event_name=None), "bad.jsonl, row 4, column 'touchpoint'"),
        (
            lambda es: es.append({**es[4], "event_params": []}),
            "bad.jsonl, row 6, column 'event_id'",
        ),
    ],
    ids=["wrong type", "missing event name", "duplicate event"],
)
def test_bad_exports_write_nothing(fixture_path, tmp_path, change, expected):
    events = _events(fixture_path)
    change(events)
    path = _write(tmp_path, events)
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("events", [path], source="ga4")
        assert expected in str(exc.value)
        assert ws.status().imports == []


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("events", [fixture_path(JSONL)]).result
        again = ws.import_files("events", [fixture_path(PARQUET)]).result  # the same events
        assert (first.added, again.added, again.updated, again.unchanged) == (5, 0, 0, 5)
        assert ws.table("events").count().execute() == 5


@pytest.mark.parametrize("name", [JSONL, PARQUET])
def test_duckdb_path_gives_the_rows_of_the_python_path(fixture_path, monkeypatch, name):
    from cxray.ingest.vendors import ga4

    used = []
    real = ga4._stage_in_duckdb
    monkeypatch.setattr(ga4, "_stage_in_duckdb", lambda *a: used.append(real(*a)) or used[-1])
    fast = read_batch("events", [fixture_path(name)]).data.to_pylist()
    assert used == [True]
    monkeypatch.setattr(ga4, "_stage_in_duckdb", lambda *a: False)
    slow = read_batch("events", [fixture_path(name)]).data.to_pylist()
    assert len(fast) == len(slow) == 5
    for a, b in zip(fast, slow, strict=True):
        shared = set(a) & set(b)
        assert len(shared) > 60
        assert {k: a[k] for k in shared} == {k: b[k] for k in shared}


def test_events_under_a_key_take_the_python_path(fixture_path, tmp_path):
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"events": _events(fixture_path)}))
    batch = read_batch("events", [path], source="ga4")
    assert [r["touchpoint"] for r in batch.data.to_pylist()][-1] == "purchase"
    assert batch.num_rows == 5
