"""One customer's profile and timeline across every table, time-ordered."""

from __future__ import annotations

from tests.api.conftest import assert_envelope


def _busiest(demo) -> str:
    e = demo.ws.table("events")
    top = e.group_by("customer_id").aggregate(n=e.count()).order_by(lambda t: t.n.desc())
    return top.limit(1).to_pyarrow()["customer_id"][0].as_py()


def test_timeline_is_complete_and_time_ordered(demo):
    cid = _busiest(demo)
    body = demo.get(f"/api/customers/{cid}").json()
    assert body["customer_id"] == cid and body["profile"]["customer_id"] == cid
    for name in ("responses", "cases", "orders", "events", "mentions"):
        t = demo.ws.table(name)
        assert body["counts"][name] == t.filter(t.customer_id == cid).count().to_pyarrow().as_py()
    items = body["timeline"]
    assert len(items) == sum(body["counts"].values()) and not body["truncated"]
    assert {i["table"] for i in items} >= {"events", "orders"}
    times = [i["time"] for i in items]
    assert times == sorted(times)
    assert all(i["data"]["customer_id"] == cid for i in items)
    kinds = {"responses": "response", "orders": "order", "events": "event", "cases": "case"}
    assert all(i["kind"] == kinds.get(i["table"], "mention") for i in items)


def test_a_cut_timeline_keeps_the_latest(demo):
    cid = _busiest(demo)
    full = demo.get(f"/api/customers/{cid}").json()["timeline"]
    cut = demo.get(f"/api/customers/{cid}?limit=3").json()
    assert cut["truncated"] and [i["id"] for i in cut["timeline"]] == [i["id"] for i in full[-3:]]


def test_unknown_customer_is_404(demo):
    err = assert_envelope(demo.get("/api/customers/nobody"), 404, "not_found")
    assert "nobody" in err["message"]
