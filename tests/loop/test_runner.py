"""The loop inside ``cxray serve``: a thread that catches up at start, checks the rules on
schedule and delivers what falls due; a failure is logged and it goes on; stopping ends a
round between two messages."""

from __future__ import annotations

import time

from cxray.loop import LoopRunner
from cxray.store import LOOP_STATE, OUTBOX
from tests.loop._receiver import Receiver
from tests.loop.conftest import RESPONSES, SECRET, rows

RULES = """
[loop]
check_every = "1h"

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
notify = ["webhook:{url}"]

[[loop.rules]]
name = "kpi-nps"
on = "kpi"
metric = "nps"
when = "significant_change"
period = "month"
action = "followup"
"""


def test_the_runner_catches_up_and_delivers(open_ws, receiver):
    ws = open_ws(RULES.replace("{url}", receiver.url))
    ws.import_frame("responses", RESPONSES)  # recorded by the import, waiting in the outbox
    runner = LoopRunner(ws.loop, deliver_every=0.1)
    runner.start()
    try:
        assert receiver.wait_for(lambda r: len(r.acted) == 3, timeout=30)
    finally:
        runner.stop()
    assert runner.checks == 1 and runner.rounds >= 1  # one check: the next is an hour away
    assert {m["status"] for m in rows(ws, OUTBOX)} == {"delivered"}
    assert "last_run" in {r["key"] for r in rows(ws, LOOP_STATE)}


def test_a_failing_check_is_logged_and_delivery_goes_on(open_ws, receiver, monkeypatch, caplog):
    ws = open_ws(RULES.replace("{url}", receiver.url))
    ws.import_frame("responses", RESPONSES)

    def broken(**kwargs):
        raise RuntimeError("the scorecard fell over")

    monkeypatch.setattr(ws.loop, "run", broken)
    runner = LoopRunner(ws.loop, deliver_every=0.1)
    runner.start()
    try:
        assert receiver.wait_for(lambda r: len(r.acted) == 3, timeout=30)
    finally:
        runner.stop()
    assert "the scheduled check failed" in caplog.text
    assert runner.checks == 1 and runner.rounds >= 1


def test_stopping_ends_a_round_between_two_messages(open_ws):
    slow = Receiver(secret=SECRET.encode(), respond=lambda key, nth: time.sleep(0.3) or 200)
    url = slow.start()
    try:
        ws = open_ws(RULES.replace("{url}", url))
        many = RESPONSES.iloc[:1].loc[[0] * 20].reset_index(drop=True)
        ws.import_frame("responses", many.assign(response_id=[f"S{i}" for i in range(20)]))
        runner = LoopRunner(ws.loop, deliver_every=0.1)
        runner.start()
        assert slow.wait_for(lambda r: len(r.deliveries) >= 1, timeout=30)
        started = time.monotonic()
        runner.stop()
        assert time.monotonic() - started < 2  # not the 20 x 0.3 s round
        time.sleep(0.5)
        sent = len(slow.deliveries)
        assert sent < 20
        statuses = [m["status"] for m in rows(ws, OUTBOX)]
        assert statuses.count("delivered") >= sent - 1 and statuses.count("pending") >= 1
    finally:
        slow.stop()


def test_a_start_after_a_stop_catches_up_again(open_ws, receiver):
    ws = open_ws(RULES.replace("{url}", receiver.url))
    runner = LoopRunner(ws.loop, deliver_every=0.1)
    for checks in (1, 2):  # the next scheduled check is an hour away: each is a start's
        runner.start()
        deadline = time.monotonic() + 30
        while runner.checks < checks and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.stop()
        assert runner.checks == checks and runner.failures == 0
