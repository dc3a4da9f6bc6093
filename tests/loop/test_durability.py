"""No trigger lost, no notification acted on twice: SIGKILL a real ``cxray serve`` twice.

A detractor rule opens a follow-up and notifies a webhook receiver on loopback (a thread
of this test that verifies each signature, acts on each ``Idempotency-Key`` the first
time and counts every repeat). Eight clients submit survey responses, most of them
detractors, as fast as the server answers:

1. after a few hundred acknowledgements the server is killed with SIGKILL (deliveries
   may or may not be under way);
2. it is restarted on the same store; the receiver now holds each delivery open, and the
   server is killed while one is in flight (received, not yet answered), with clients
   still submitting;
3. it is restarted again and left to empty its outbox, then stopped.

Then every acknowledged detractor response must have exactly one alert and one
follow-up (as must every detractor response the store holds, acknowledged or not),
every outbox message must be delivered, and the receiver must have acted on each
message's key exactly once, and on no other key. Repeats (a delivery killed in flight
is sent again) are counted and reported, and at least one must have come.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from cxray.loop import alert_id, followup_id, message_id
from cxray.workspace import Workspace
from tests._serve import start_server
from tests.loop._receiver import Receiver
from tests.loop.conftest import SECRET

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CONFIG = """
[surveys.pulse]
title = "Pulse"
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
required = true
[[surveys.pulse.questions]]
id = "why"
type = "text"
text = "Why?"

[loop]
check_every = "1h"
retry_base_seconds = 1
max_attempts = 100

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
sla_hours = 24
notify = ["webhook:{url}"]
"""
RULE = "detractors"


class Clients:
    """Eight clients posting survey responses until stopped; what was acknowledged."""

    def __init__(self, base: str, phase: str, n: int = 8, *, kill: tuple[int, int] | None = None):
        self.base, self.phase = base, phase
        #: ``(acknowledgements, pid)``: the client that gets that many answers kills the
        #: server at once, so the kill falls right after an acknowledgement
        self.kill = kill
        self.killed_at: dt.datetime | None = None
        self.acked: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            j = 0
            while not self.stop.is_set():
                nps = (i * 7 + j) % 11  # 0..10 in turn: seven in eleven are detractors
                try:
                    r = http.post("/api/surveys/pulse/responses", json={
                        "answers": {"nps": nps, "why": f"{self.phase} client {i} #{j}"},
                        "submission_id": f"{self.phase}-c{i}-{j}",
                    })  # fmt: skip
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 201:
                    with self.lock:
                        self.acked[r.json()["response_id"]] = nps
                        if self.kill and len(self.acked) == self.kill[0]:
                            os.kill(self.kill[1], signal.SIGKILL)
                            self.killed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                j += 1

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def _wait(predicate, timeout: float, what: str, *, fail: bool = True) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if fail:
                raise AssertionError(f"timed out waiting for {what}")
            return False
        time.sleep(0.05)
    return True


def _kill(proc) -> dt.datetime:
    """SIGKILL (no shutdown, no flush); the moment, in UTC as the store keeps times."""
    os.kill(proc.pid, signal.SIGKILL)
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    proc.wait(timeout=10)
    return at


@pytest.mark.slow
def test_sigkill_loses_no_trigger_and_no_notification_is_acted_on_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CXRAY_WEBHOOK_SECRET", SECRET)  # the server signs with it
    receiver = Receiver(secret=SECRET.encode())
    url = receiver.start()
    db, config = tmp_path / "d.duckdb", tmp_path / "cxray.toml"
    config.write_text(CONFIG.replace("{url}", url), encoding="utf-8")
    with Workspace.open(db, config):
        pass  # create the store before the server opens it
    acked: dict[str, int] = {}
    figures: dict[str, object] = {}
    procs = []
    try:
        # 1. killed under load, after a few hundred acknowledgements
        proc, base = start_server(db, config)
        procs.append(proc)
        with Clients(base, "one", kill=(300, proc.pid)) as clients:
            _wait(lambda: clients.killed_at is not None, 90, "300 acknowledgements")
            delivered_before = len(receiver.deliveries)
            proc.wait(timeout=10)
            kills = [clients.killed_at]
        acked |= clients.acked
        figures["first kill"] = (
            f"after {len(clients.acked)} acknowledgements, "
            f"{delivered_before} deliveries received by then"
        )

        # 2. killed while a delivery is in flight (received, not answered), under load
        receiver.hold.set()
        proc, base = start_server(db, config)
        procs.append(proc)
        with Clients(base, "two") as clients:
            _wait(lambda: receiver.holding.is_set() and clients.count() >= 100, 90,
                  "a delivery in flight and 100 more acknowledgements")  # fmt: skip
            kills.append(_kill(proc))
        acked |= clients.acked
        in_flight = receiver.deliveries[-1].key
        figures["second kill"] = (
            f"after {len(clients.acked)} more acknowledgements, with delivery of "
            f"{in_flight} in flight"
        )
        receiver.hold.clear()
        receiver.release.set()

        # 3. restarted: the outbox empties; then a clean stop
        proc, base = start_server(db, config)
        procs.append(proc)
        want = {
            message_id(alert_id(RULE, f"responses:{rid}"), f"webhook:{url}")
            for rid, nps in acked.items()
            if nps <= 6
        }
        # (on a timeout the checks below say what is missing)
        if _wait(lambda: want <= set(receiver.acted), 60, "messages", fail=False):
            quiet_since = len(receiver.deliveries)
            time.sleep(12)  # two more delivery rounds: anything committed but unanswered goes
            while len(receiver.deliveries) != quiet_since:
                quiet_since = len(receiver.deliveries)
                time.sleep(6)
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        receiver.stop()

    detractors = {rid for rid, nps in acked.items() if nps <= 6}
    assert len(acked) >= 400 and len(detractors) >= 200, "too few acknowledgements to test"
    with Workspace.open(db, config) as ws:
        con = ws.store.backend.con
        stored = dict(con.sql("SELECT response_id, nps FROM responses").fetchall())
        fired = con.sql(
            "SELECT r.response_id, r.submitted_at, a.fired_at FROM responses r "
            "JOIN _cx_alerts a ON a.subject = 'responses:' || r.response_id"
        ).fetchall()
        lost = sorted(set(acked) - set(stored))
        assert not lost, f"{len(lost)} acknowledged responses lost, e.g. {lost[:3]}"
        alerts = Counter(r[0] for r in con.sql("SELECT subject FROM _cx_alerts").fetchall())
        followups = Counter(r[0] for r in con.sql("SELECT subject FROM followups").fetchall())
        opened = Counter(
            r[0]
            for r in con.sql(
                "SELECT followup_id FROM _cx_followup_events WHERE action = 'opened'"
            ).fetchall()
        )
        outbox = {
            r[0]: (r[1], r[2])
            for r in con.sql("SELECT message_id, status, alert_id FROM _cx_outbox").fetchall()
        }
    stored_detractors = {rid for rid, nps in stored.items() if nps is not None and nps <= 6}
    # every acknowledged detractor: exactly one alert, one follow-up, one opening
    for rid in detractors:
        subject = f"responses:{rid}"
        assert alerts[subject] == 1, f"{rid}: {alerts[subject]} alerts"
        assert followups[subject] == 1, f"{rid}: {followups[subject]} follow-ups"
        assert opened[followup_id(alert_id(RULE, subject))] == 1
    # and so has every detractor the store holds (committed, its answer lost in the kill)
    assert set(alerts) == {f"responses:{rid}" for rid in stored_detractors}
    assert set(followups) == set(alerts) and max(alerts.values()) == 1
    assert max(followups.values()) == 1 and max(opened.values()) == 1
    # each alert was written in the commit of its response, not caught up after a kill
    for rid, submitted, at in fired:
        for kill in kills:
            assert not (submitted < kill < at), f"{rid}: alert recorded only after a restart"
    # one message per alert, every one delivered
    assert len(outbox) == len(alerts)
    undelivered = [m for m, (status, _) in outbox.items() if status != "delivered"]
    assert not undelivered, f"{len(undelivered)} messages not delivered, e.g. {undelivered[:3]}"
    # the receiver acted on each message's key exactly once, and on nothing else
    keys = Counter(d.key for d in receiver.deliveries)
    assert receiver.refused == 0, "every delivery carried a valid signature"
    missing, unknown = set(outbox) - set(receiver.acted), set(receiver.acted) - set(outbox)
    assert not missing, f"{len(missing)} messages never arrived, e.g. {sorted(missing)[:3]}"
    assert not unknown, f"{len(unknown)} keys that are no message (acted on twice?)"
    assert sum(receiver.repeats.values()) == sum(keys.values()) - len(keys)
    assert receiver.repeats[in_flight] >= 1, "the delivery killed in flight came again"
    figures.update(
        acknowledged=len(acked),
        acknowledged_detractors=len(detractors),
        stored_detractors=len(stored_detractors),
        committed_not_acknowledged=len(set(stored) - set(acked)),
        messages=len(outbox),
        deliveries_received=sum(keys.values()),
        repeats_received=sum(receiver.repeats.values()),
        keys_repeated=len(receiver.repeats),
        acted_twice=0,
    )
    print("\nloop durability:", figures)
