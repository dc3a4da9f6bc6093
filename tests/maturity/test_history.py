"""History: assessments kept in _cx_maturity as JSON, read back whole and in order."""

from __future__ import annotations

import pytest

from cxray.exceptions import StoreError

from .conftest import TODAY


def test_two_assessments_two_rows_in_order(open_world):
    with open_world() as ws:
        m = ws.maturity
        assert m.history() == [] and m.latest() is None
        first = m.assess({"closed_loop.followup": 1}, today=TODAY, source="api")
        second = m.assess({"closed_loop.followup": 3, "measurement.kpis": 3}, today=TODAY)
        id1 = m.save(first, actor="ana")
        id2 = m.save(second.to_dict(), actor="bo")
        rows = m.history()
        assert [r["assessment_id"] for r in rows] == [id1, id2]
        assert [r["actor"] for r in rows] == ["ana", "bo"]
        assert rows[0]["assessed_at"] < rows[1]["assessed_at"]
        assert rows[1]["overall_score"] == round(second.overall_score, 4)  # as stored
        assert rows[1]["overall_level"] == second.overall_level
        full = m.history(full=True)
        assert full[0]["result"] == {**first.to_dict(), "assessment_id": id1}
        assert m.latest() == {**second.to_dict(), "assessment_id": id2}
        assert m.history(limit=1)[0]["assessment_id"] == id2  # the latest, when limited


def test_a_read_only_store_keeps_nothing(open_world):
    with open_world(read_only=True, create=False) as ws:
        a = ws.maturity.assess(None, today=TODAY)
        with pytest.raises(StoreError, match="read-only"):
            ws.maturity.save(a)


def test_an_empty_store_is_assessed_from_what_is_missing(ws):
    import json

    a = ws.maturity.assess(None, today=TODAY)
    body = a.to_dict()
    json.dumps(body, allow_nan=False)  # nothing measured is null, never NaN
    items = {e["id"]: e for d in body["dimensions"] for e in d["evidence"]}
    assert items["tables_integrated"]["figure"]["estimate"] == 0
    assert items["data_freshness"]["implies"] is None
    assert items["data_freshness"]["figure"]["estimate"] is None
    # measurable: no tables, no KPIs, no journeys measured, no rules (0), no models (1)
    assert body["overall"]["level"] == "Reactive"
    assert body["roadmap"][0]["phase"] == "quick_win"
    ws.maturity.save(a)
    assert [r["overall_level"] for r in ws.maturity.history()] == ["Reactive"]
