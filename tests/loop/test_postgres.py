"""The loop's writes on PostgreSQL: records, follow-up changes, deliveries, loop state.

Every write path of the loop has a branch for stores other than DuckDB (SQL of its own,
Ibis inserts); these tests run them on a real PostgreSQL. Needs
``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` sets it); skipped without, a failure under CI.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cxray.exceptions import ConflictError
from cxray.loop import _records as records_module
from cxray.loop import alert_id, deliver, followup_id
from cxray.store import ALERTS, FOLLOWUP_EVENTS, FOLLOWUPS, LOOP_STATE, OUTBOX
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres, require_backends_under_ci
from tests.loop._receiver import Receiver
from tests.loop.conftest import CASES, CUSTOMERS, RESPONSES, SECRET, counts, rows

pytestmark = needs_postgres
require_backends_under_ci("the loop's writes")

SURVEY = """
[surveys.pulse]
title = "Pulse"
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely?"
required = true
"""


def toml(url: str) -> str:
    return (
        SURVEY
        + f"""
[loop]
max_attempts = 2
retry_base_seconds = 60

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
route_by = "region"
routes = {{ West = "wes" }}
notify = ["webhook:{url}"]

[[loop.rules]]
name = "slow-email"
on = "cases"
where = 'channel == "email" and first_response_hours > 24'
action = "followup"
owner = "lead"
"""
    )


@pytest.fixture
def pg(tmp_path):
    receiver = Receiver(secret=SECRET.encode(), respond=lambda key, nth: 500 if nth == 1 else 200)
    url = receiver.start()
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(toml(url), encoding="utf-8")
    db = fresh_postgres()
    with Workspace.open(db, cfg) as ws:
        ws.import_frame("customers", CUSTOMERS)
        yield ws, receiver, db, cfg
    receiver.stop()


def test_records_are_written_once_on_postgres(pg):
    ws, _, db, cfg = pg
    report = ws.import_frame("responses", RESPONSES)
    assert report.loop["fired"] == {"detractors": 3}
    ws.import_frame("cases", CASES)
    assert counts(ws) == {"alerts": 4, "followups": 4, "events": 4, "messages": 3}
    for _ in range(2):
        assert ws.loop.run(deliver=False).new_alerts == 0
        assert ws.loop.run(backfill=True, deliver=False).new_alerts == 0
    assert counts(ws) == {"alerts": 4, "followups": 4, "events": 4, "messages": 3}
    (fu,) = rows(ws, FOLLOWUPS, subject="responses:R1")
    assert (fu["owner"], fu["team"], fu["customer_id"]) == ("wes", "care", "C1")
    assert fu["due_at"] - fu["opened_at"] == dt.timedelta(hours=48)
    (k1,) = rows(ws, FOLLOWUPS, subject="cases:K1")
    assert k1["owner"] == "lead"
    # the rules' start is kept in the store: another workspace finds it
    state = {r["key"]: r["value"] for r in rows(ws, LOOP_STATE)}
    assert state["rule:detractors:since_import"] == str(report.result.import_id)
    with Workspace.open(db, cfg) as again:
        assert again.loop.run(deliver=False).new_alerts == 0
        again.import_frame("responses", RESPONSES.iloc[:1].assign(response_id=["N1"]))
        assert {a["subject"] for a in rows(again, ALERTS) if a["rule"] == "detractors"} == {
            "responses:R1", "responses:R2", "responses:R3", "responses:N1"
        }  # fmt: skip
    # the state row is replaced, not added to
    ws.loop.run(deliver=False)
    ws.loop.run(deliver=False)
    assert sum(1 for r in rows(ws, LOOP_STATE) if r["key"] == "last_run") == 1


def test_a_survey_commit_records_its_triggers_on_postgres(pg):
    ws, _, _, _ = pg
    sv = ws.surveys
    for i, nps in enumerate([2, 9, 5]):
        sv.collector.collect(sv.prepare("pulse", {"nps": nps}, submission_id=f"s{i}",
                                        customer_id="C1", trusted=True))  # fmt: skip
    assert counts(ws) == {"alerts": 2, "followups": 2, "events": 2, "messages": 2}
    assert ws.loop.run(backfill=True, deliver=False).new_alerts == 0
    assert {f["owner"] for f in rows(ws, FOLLOWUPS)} == {"wes"}  # C1 is in the West


def test_followup_changes_and_their_history_on_postgres(pg):
    ws, _, _, _ = pg
    ws.import_frame("responses", RESPONSES)
    fid = followup_id(alert_id("detractors", "responses:R2"))
    fus = ws.loop.followups
    fus.assign(fid, actor="ann", owner="bo", team="")
    fus.contact(fid, actor="bo", note="Called, will send a voucher")
    fus.note(fid, actor="bo", text="Voucher sent; it's done")
    done = fus.close(fid, actor="bo", outcome="recovered")
    assert (done["status"], done["owner"], done["team"], done["outcome"]) == (
        "resolved", "bo", None, "recovered"
    )  # fmt: skip
    assert done["contacted_at"] and done["closed_at"] and done["note"] == "Voucher sent; it's done"
    history = [(e["actor"], e["action"], e["status"]) for e in done["history"]]
    assert history == [
        ("cxray", "opened", "open"),
        ("ann", "assigned", "open"),
        ("bo", "contacted", "contacted"),
        ("bo", "note", "contacted"),
        ("bo", "resolved", "resolved"),
    ]
    with pytest.raises(ConflictError, match="already resolved"):
        fus.contact(fid, actor="bo")
    assert len(rows(ws, FOLLOWUP_EVENTS, followup_id=fid)) == 5  # nothing written
    page = ws.loop.followups.list(status="active")
    assert page["total"] == 2 and fid not in {r["followup_id"] for r in page["rows"]}


def test_deliveries_retry_and_fail_on_postgres(pg):
    ws, receiver, _, _ = pg
    ws.import_frame("responses", RESPONSES.iloc[:1])
    t0 = dt.datetime(2030, 1, 1)
    first = deliver(ws.store, ws.config, lock=ws.write_lock, now=t0)
    assert (first.delivered, first.retrying) == (0, 1)  # the receiver answered 500
    (m,) = rows(ws, OUTBOX)
    assert (m["attempts"], m["status"], m["next_attempt_at"]) == (
        1, "pending", t0 + dt.timedelta(seconds=60)
    )  # fmt: skip
    assert m["last_error"].startswith("HTTP 500")
    later = t0 + dt.timedelta(seconds=60)
    assert deliver(ws.store, ws.config, lock=ws.write_lock, now=later).delivered == 1
    (m,) = rows(ws, OUTBOX)
    assert (m["attempts"], m["status"], m["delivered_at"], m["last_error"]) == (
        2, "delivered", later, None
    )  # fmt: skip
    assert len(receiver.acted) == 1 and sum(receiver.repeats.values()) == 0
    # an unreachable target fails after max_attempts (2), its error kept (quotes and all)
    ws.store.backend.raw_sql(
        f"UPDATE {OUTBOX} SET status = 'pending', target = 'webhook:http://127.0.0.1:9/x', "
        "attempts = 0, next_attempt_at = NULL"
    ).close()
    deliver(ws.store, ws.config, lock=ws.write_lock, now=later)
    report = deliver(ws.store, ws.config, lock=ws.write_lock, now=later + dt.timedelta(hours=1))
    (m,) = rows(ws, OUTBOX)
    assert (report.failed, m["status"], m["attempts"]) == (1, "failed", 2)
    assert "ConnectError" in m["last_error"]
    payload = json.loads(m["payload"])
    assert payload["alert"]["subject"] == "responses:R1"


def test_a_trigger_is_recorded_whole_or_not_at_all_on_postgres(pg, monkeypatch):
    ws, _, _, _ = pg
    ws.loop.run(deliver=False)  # the rules start here
    real = records_module.insert_rows

    def failing(store, table, schema, data):
        if table == OUTBOX:
            raise RuntimeError("the connection dropped")
        return real(store, table, schema, data)

    monkeypatch.setattr(records_module, "insert_rows", failing)
    report = ws.import_frame("responses", RESPONSES)
    assert report.result.added == 6  # the import stands
    assert "the connection dropped" in report.loop["error"]
    # nothing of the triggers was kept: no alert without its message
    assert counts(ws) == {"alerts": 0, "followups": 0, "events": 0, "messages": 0}
    monkeypatch.undo()
    assert ws.loop.run(deliver=False).new_alerts == 3  # the next run records them whole
    assert counts(ws) == {"alerts": 3, "followups": 3, "events": 3, "messages": 3}
