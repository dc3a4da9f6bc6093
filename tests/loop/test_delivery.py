"""Delivering the outbox to real receivers on loopback: SMTP (aiosmtpd) and HTTP.

Webhooks arrive signed (checked with ``cxray.loop.verify_signature``) with the message id
as ``Idempotency-Key``; a receiver that answers 500 gets the message again after
``retry_base_seconds``, then twice that, and so on; an unreachable receiver or SMTP server
is a recorded failure with its error, tried again, and *failed* after ``max_attempts``,
never a crash. E-mails go one per target, with a Message-ID that stays the same across
attempts.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

from cxray.loop import _delivery as delivery_module
from cxray.loop import deliver, message_id, verify_signature
from cxray.loop._delivery import MAX_WAIT
from cxray.store import ALERTS, FOLLOWUPS, OUTBOX
from tests._serve import free_port
from tests.loop._receiver import Receiver
from tests.loop.conftest import RESPONSES, SECRET, rows

T0 = dt.datetime(2030, 1, 1, 12, 0)  # after the messages are made: they are due


def rule(*targets: str, attempts: int = 3, base: float = 30) -> str:
    quoted = ", ".join(f'"{t}"' for t in targets)
    return f"""
[loop]
max_attempts = {attempts}
retry_base_seconds = {base}

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
sla_hours = 24
notify = [{quoted}]
"""


def outbox(ws) -> dict[str, dict]:
    return {m["message_id"]: m for m in rows(ws, OUTBOX)}


def test_webhooks_arrive_signed_with_an_idempotency_key(open_ws, receiver):
    ws = open_ws(rule(f"webhook:{receiver.url}"))
    ws.import_frame("responses", RESPONSES)
    report = ws.loop.run()
    assert (report.delivered, report.retrying, report.failed) == (3, 0, 0)
    assert len(receiver.deliveries) == 3 and receiver.refused == 0
    sent = outbox(ws)
    for d in receiver.deliveries:
        assert d.verified and d.path == "/hook"
        assert d.key in sent  # the idempotency key is the message id
        h = d.headers
        assert h["content-type"] == "application/json"
        assert h["x-cxray-event"] == "alert.fired" and h["user-agent"] == "cxray-loop"
        assert abs(int(h["x-cxray-timestamp"]) - time.time()) < 60
        sig = h["x-cxray-signature"]
        assert sig.startswith("sha256=") and len(sig) == 7 + 64
        # the documented check: HMAC-SHA256 of "<timestamp>.<body>" with the secret
        ts = h["x-cxray-timestamp"]
        assert verify_signature(SECRET.encode(), ts, d.body, sig)
        assert not verify_signature(b"another secret", ts, d.body, sig)
        assert not verify_signature(SECRET.encode(), ts, d.body + b" ", sig)
        assert not verify_signature(SECRET.encode(), str(int(ts) + 1), d.body, sig)
        assert not verify_signature(SECRET.encode(), ts, d.body, sig, now=int(ts) + 301)
        payload = d.payload
        assert payload["event"] == "alert.fired"
        alert = payload["alert"]
        (stored,) = rows(ws, ALERTS, alert_id=alert["alert_id"])
        assert alert["rule"] == "detractors" and alert["subject"] == stored["subject"]
        assert alert["details"]["nps"] <= 6
        (fu,) = rows(ws, FOLLOWUPS, alert_id=alert["alert_id"])
        assert payload["followup"]["followup_id"] == fu["followup_id"]
        assert payload["followup"]["team"] == "care"
        assert payload["link"].endswith(f"/inbox?followup={fu['followup_id']}")
        assert d.key == message_id(alert["alert_id"], f"webhook:{receiver.url}")
    for m in sent.values():
        assert m["status"] == "delivered" and m["attempts"] == 1 and m["delivered_at"]
        assert m["last_error"] is None
    # nothing is due any more
    assert ws.loop.run().delivered == 0 and len(receiver.deliveries) == 3


def test_a_receiver_that_fails_gets_the_message_again_with_backoff(open_ws):
    failing = Receiver(secret=SECRET.encode(), respond=lambda key, nth: 500 if nth <= 2 else 200)
    url = failing.start()
    try:
        ws = open_ws(rule(f"webhook:{url}", attempts=5))
        ws.import_frame("responses", RESPONSES.iloc[:1])
        (mid,) = outbox(ws)

        def attempt(at: dt.datetime):
            return deliver(ws.store, ws.config, lock=ws.write_lock, now=at)

        first = attempt(T0)
        assert (first.delivered, first.retrying, first.failed) == (0, 1, 0)
        assert "HTTP 500" in first.errors[0]
        m = outbox(ws)[mid]
        assert (m["status"], m["attempts"]) == ("pending", 1)
        assert m["next_attempt_at"] == T0 + dt.timedelta(seconds=30)
        assert m["last_error"].startswith("HTTP 500")
        assert attempt(T0 + dt.timedelta(seconds=29)).retrying == 0  # not due yet
        t1 = T0 + dt.timedelta(seconds=30)
        assert attempt(t1).retrying == 1
        assert outbox(ws)[mid]["next_attempt_at"] == t1 + dt.timedelta(seconds=60)
        t2 = t1 + dt.timedelta(seconds=60)
        assert attempt(t2).delivered == 1
        m = outbox(ws)[mid]
        assert (m["status"], m["attempts"], m["delivered_at"], m["last_error"]) == (
            "delivered", 3, t2, None
        )  # fmt: skip
        # three requests with the same key; the receiver acted once
        assert failing.keys() == [mid, mid, mid]
        assert list(failing.acted) == [mid] and not failing.repeats
    finally:
        failing.stop()


def test_the_wait_doubles_up_to_six_hours(open_ws):
    dead = f"webhook:http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    ws = open_ws(rule(dead, attempts=10, base=3600))
    ws.import_frame("responses", RESPONSES.iloc[:1])
    (mid,) = outbox(ws)
    at, waits = T0, []
    for _ in range(5):
        report = deliver(ws.store, ws.config, lock=ws.write_lock, now=at)
        assert report.retrying == 1 and "ConnectError" in report.errors[0]
        nxt = outbox(ws)[mid]["next_attempt_at"]
        waits.append(nxt - at)
        at = nxt
    hour = dt.timedelta(hours=1)
    assert waits == [hour, 2 * hour, 4 * hour, MAX_WAIT, MAX_WAIT]


def test_an_unreachable_receiver_is_recorded_and_failed_after_max_attempts(open_ws, receiver):
    dead = f"webhook:http://127.0.0.1:{free_port()}/hook"
    ws = open_ws(rule(dead, f"webhook:{receiver.url}"))
    ws.import_frame("responses", RESPONSES.iloc[:1])
    at = T0
    for n in (1, 2, 3):
        report = deliver(ws.store, ws.config, lock=ws.write_lock, now=at)
        m = next(m for m in outbox(ws).values() if m["target"] == dead)
        assert m["attempts"] == n and "ConnectError" in m["last_error"]
        at = at + dt.timedelta(days=1)
    assert (report.failed, m["status"]) == (1, "failed")
    # the other target was delivered the first time, and the failed one is never tried again
    assert len(receiver.deliveries) == 1
    assert deliver(ws.store, ws.config, lock=ws.write_lock, now=at + MAX_WAIT).failed == 0
    assert next(m for m in outbox(ws).values() if m["target"] == dead)["attempts"] == 3


def test_an_unexpected_error_is_a_recorded_failure_and_the_rest_go(open_ws, receiver):
    ws = open_ws(rule(f"webhook:{receiver.url}"))
    ws.import_frame("responses", RESPONSES)

    class Flaky:
        def __init__(self):
            self.sent = []

        def send(self, msg):
            if not self.sent:
                self.sent.append(None)
                raise RuntimeError("something nobody expected")
            self.sent.append(msg["message_id"])

        def close(self):
            pass

    report = deliver(ws.store, ws.config, lock=ws.write_lock, now=T0, sender=Flaky())
    assert (report.delivered, report.retrying) == (2, 1)
    broken = [m for m in outbox(ws).values() if m["status"] == "pending"]
    assert len(broken) == 1 and "RuntimeError: something nobody expected" in broken[0]["last_error"]


def test_two_deliveries_at_once_send_each_message_once(open_ws):
    slow = Receiver(secret=SECRET.encode(), respond=lambda key, nth: time.sleep(0.2) or 200)
    url = slow.start()
    try:
        ws = open_ws(rule(f"webhook:{url}"))
        ws.import_frame("responses", RESPONSES)
        threads = [
            threading.Thread(target=deliver, args=(ws.store, ws.config),
                             kwargs={"lock": ws.write_lock})
            for _ in range(3)
        ]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(slow.keys()) == sorted(outbox(ws))  # each once
        assert {m["status"] for m in outbox(ws).values()} == {"delivered"}
    finally:
        slow.stop()


# ------------------------------------------------------------ e-mail


def test_email_one_message_per_target_with_its_content(open_ws, smtp):
    ws = open_ws(rule("email:care@example.com", "email:lead@example.com"))
    ws.import_frame("responses", RESPONSES)
    report = ws.loop.run()
    assert (report.delivered, report.retrying) == (6, 0)
    assert len(smtp.messages) == 6
    care = smtp.to("care@example.com")
    assert len(care) == 3 and len(smtp.to("lead@example.com")) == 3
    by_subject = {a["subject"]: a for a in rows(ws, ALERTS)}
    (r1,) = [m for m in care if "Response R1" in m["Subject"]]
    alert = by_subject["responses:R1"]
    (fu,) = rows(ws, FOLLOWUPS, alert_id=alert["alert_id"])
    mid = message_id(alert["alert_id"], "email:care@example.com")
    assert r1["Subject"] == "[cxray] detractors: Response R1"
    assert r1["From"] == ws.config.surveys.sender and r1["To"] == "care@example.com"
    assert r1["X-Cxray-Message-Id"] == mid
    assert r1["Message-ID"].startswith(f"<{mid}@")  # the same on every attempt
    body = r1.get_content().replace("\r\n", "\n")
    assert body.startswith("detractors: Response R1\n\nRule: detractors\nAbout: responses:R1\n")
    assert "Customer: C1" in body and "nps: 2" in body
    assert "comment: The parcel came late and broken" in body
    assert f"Follow-up {fu['followup_id']} for care, due " in body
    assert f"/inbox?followup={fu['followup_id']}" in body
    sender, rcpt, _ = smtp.messages[0]
    assert sender == "surveys@localhost" and len(rcpt) == 1


def test_a_refused_recipient_is_retried_with_backoff(open_ws, smtp):
    smtp.refuse.add("lead@example.com")
    ws = open_ws(rule("email:care@example.com", "email:lead@example.com"))
    ws.import_frame("responses", RESPONSES.iloc[:1])
    report = deliver(ws.store, ws.config, lock=ws.write_lock, now=T0)
    assert (report.delivered, report.retrying) == (1, 1)
    lead = next(m for m in outbox(ws).values() if m["target"] == "email:lead@example.com")
    assert "550" in lead["last_error"] and lead["attempts"] == 1
    assert lead["next_attempt_at"] == T0 + dt.timedelta(seconds=30)
    smtp.refuse.clear()
    later = T0 + dt.timedelta(seconds=30)
    assert deliver(ws.store, ws.config, lock=ws.write_lock, now=later).delivered == 1
    assert len(smtp.to("lead@example.com")) == 1 and len(smtp.to("care@example.com")) == 1
    first, again = smtp.to("lead@example.com")[0], outbox(ws)[lead["message_id"]]
    assert again["status"] == "delivered" and again["attempts"] == 2
    assert first["Message-ID"].startswith(f"<{lead['message_id']}@")


def test_an_unreachable_smtp_server_is_recorded_never_a_crash(open_ws, monkeypatch, receiver):
    monkeypatch.setenv("CXRAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXRAY_SMTP_PORT", str(free_port()))  # nothing listens there
    ws = open_ws(rule("email:care@example.com", f"webhook:{receiver.url}"))
    ws.import_frame("responses", RESPONSES.iloc[:2])
    at = T0
    for n in (1, 2, 3):
        report = ws.loop.run(now=at)
        mails = [m for m in outbox(ws).values() if m["channel"] == "email"]
        assert all(m["attempts"] == n for m in mails)
        assert all("cannot reach the SMTP server 127.0.0.1" in m["last_error"] for m in mails)
        at += dt.timedelta(hours=1)
    assert report.failed == 2
    assert {m["status"] for m in outbox(ws).values() if m["channel"] == "email"} == {"failed"}
    assert len(receiver.deliveries) == 2  # the webhooks went the first time


def test_bad_smtp_settings_are_a_recorded_failure(open_ws, monkeypatch):
    monkeypatch.setenv("CXRAY_SMTP_PORT", "twenty-five")
    ws = open_ws(rule("email:care@example.com"))
    ws.import_frame("responses", RESPONSES.iloc[:1])
    report = deliver(ws.store, ws.config, lock=ws.write_lock, now=T0)
    assert report.retrying == 1 and "CXRAY_SMTP_PORT" in report.errors[0]


def test_slack_targets_post_slack_json_unsigned(open_ws):
    plain = Receiver()  # Slack checks no signature; the key is there all the same
    url = plain.start()
    try:
        ws = open_ws(rule(f"slack:{url}"))
        ws.import_frame("responses", RESPONSES.iloc[:1])
        assert ws.loop.run().delivered == 1
        (d,) = plain.deliveries
        assert set(d.payload) == {"text", "blocks"}
        assert "x-cxray-signature" not in d.headers
        assert d.key == next(iter(outbox(ws)))
    finally:
        plain.stop()


def test_a_server_that_does_not_answer_is_waited_on_once_a_round(open_ws, monkeypatch):
    monkeypatch.setattr(delivery_module, "TIMEOUT", 0.5)
    with socket.socket() as silent:  # takes connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        ws = open_ws(rule(f"webhook:http://127.0.0.1:{port}/hook"))
        ws.import_frame("responses", RESPONSES)
        started = time.monotonic()
        report = deliver(ws.store, ws.config, lock=ws.write_lock, now=T0)
        took = time.monotonic() - started
    assert report.retrying == 3 and took < 1.4  # one timeout, not three
    for m in outbox(ws).values():
        assert m["attempts"] == 1 and m["last_error"].startswith("ReadTimeout")
        assert m["next_attempt_at"] == T0 + dt.timedelta(seconds=30)
