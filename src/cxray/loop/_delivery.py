"""Delivering the outbox: e-mail, webhooks and Slack-compatible webhooks, with retries.

Messages are written to ``_cx_outbox`` with what triggered them; delivery reads the ones
that are due, sends each outside the write lock, and then marks it delivered, or counts
the attempt and waits before the next (``retry_base_seconds``, then twice that, four
times ... up to six hours; after ``max_attempts`` the message is *failed*, with its last
error kept). Whatever goes wrong with one message (a refused recipient, an unreachable
server, a bad setting) is recorded on it; the others still go. A server that cannot be
reached or does not answer is waited on once a round: its other messages in that round
are recorded with the same error at once. A process killed after
sending and before marking sends that message again after a restart; its
``Idempotency-Key`` (the message id; for e-mail the Message-ID header, which stays the
same on every attempt) lets the receiver drop the repeat, so nothing is lost and nothing
is acted on twice. Within one process one round delivers at a time, so two callers never
send the same message at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from cxray.config import ProgramConfig
from cxray.exceptions import CXError
from cxray.loop._messages import sign
from cxray.loop._records import utcnow
from cxray.store import OUTBOX, Store

__all__ = ["DeliveryReport", "deliver", "webhook_secret"]

#: the longest wait between two attempts
MAX_WAIT = dt.timedelta(hours=6)
#: how long a webhook or SMTP server may take to answer
TIMEOUT = 10.0

log = logging.getLogger("cxray.loop")

#: one delivery round at a time per store in this process (store URL -> lock)
_ROUNDS: dict[str, threading.Lock] = {}
_ROUNDS_LOCK = threading.Lock()


def _round_lock(store: Store) -> threading.Lock:
    with _ROUNDS_LOCK:
        return _ROUNDS.setdefault(str(store.url), threading.Lock())


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def webhook_secret(store: Store, config: ProgramConfig) -> bytes:
    """The webhook signing secret: the ``[loop] webhook_secret_env`` variable if set, else
    the store's own (``cxray loop secret`` shows it)."""
    value = os.environ.get(config.loop.webhook_secret_env)
    if value:
        return value.encode("utf-8")
    return store.secret("webhooks").hex().encode("ascii")


class _Sender:
    """Sends one message by its channel; raises with a short reason when it cannot."""

    def __init__(self, store: Store, config: ProgramConfig):
        self.store = store
        self.config = config
        self._secret: bytes | None = None
        self._smtp: Any = None
        self._client: Any = None
        #: servers found unreachable in this round (SMTP, or a webhook's scheme://host:port)
        #: and why: their other messages fail the same way without waiting on them again
        self._down: dict[str, str] = {}

    def close(self) -> None:
        self._drop_smtp()
        if self._client is not None:
            self._client.close()

    def _drop_smtp(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:  # the connection may be gone already
                smtp.close()

    def send(self, msg: dict[str, Any]) -> None:
        payload = json.loads(msg["payload"])
        if msg["channel"] == "email":
            self._email(msg, payload)
        else:
            self._post(msg, payload)

    def _email(self, msg: dict[str, Any], payload: dict[str, Any]) -> None:
        from cxray.surveys import MailSettings, connect

        if "smtp" in self._down:
            raise CXError(self._down["smtp"])
        settings = MailSettings.from_env(self.config)
        if self._smtp is None:
            try:
                self._smtp = connect(settings)
            except CXError as exc:
                self._down["smtp"] = str(exc)
                raise
        mail = EmailMessage()
        mail["From"] = settings.sender
        mail["To"] = payload["to"]
        mail["Subject"] = payload["subject"].replace("\n", " ")
        # the same on every attempt, so a repeat after a restart can be recognised
        domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "cxray.invalid"
        mail["Message-ID"] = f"<{msg['message_id']}@{domain}>"
        mail["X-Cxray-Message-Id"] = msg["message_id"]
        mail.set_content(payload["body"])
        try:
            refused = self._smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:  # the session goes on
            raise CXError(f"SMTP refused {_refusals(exc.recipients)}") from None
        except Exception as exc:
            self._drop_smtp()
            raise CXError(f"SMTP: {exc}") from None
        if refused:
            raise CXError(f"SMTP refused {_refusals(refused)}")

    def _post(self, msg: dict[str, Any], payload: Any) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=TIMEOUT)
        url = msg["target"].split(":", 1)[1]
        server = _server(url)
        if server in self._down:
            raise CXError(self._down[server])
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": msg["message_id"],
            "User-Agent": "cxray-loop",
        }
        if msg["channel"] == "webhook":
            if self._secret is None:
                self._secret = webhook_secret(self.store, self.config)
            ts = int(time.time())
            headers["X-Cxray-Event"] = "alert.fired"
            headers["X-Cxray-Timestamp"] = str(ts)
            headers["X-Cxray-Signature"] = sign(self._secret, ts, body)
        try:
            r = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, httpx.TransportError):  # no answer: do not wait on it again
                self._down[server] = why
            raise CXError(why) from None
        if not 200 <= r.status_code < 300:
            raise CXError(f"HTTP {r.status_code}: {r.text[:200]}")


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def _refusals(refused: dict[str, Any]) -> str:
    return ", ".join(f"{addr} ({code} {_text(why)})" for addr, (code, why) in refused.items())


def _text(why: Any) -> str:
    return why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)


def _due(store: Store, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    t = store.backend.table(OUTBOX)
    ready = (t.status == "pending") & (t.next_attempt_at.isnull() | (t.next_attempt_at <= now))
    ready = ready & (t.not_before.isnull() | (t.not_before <= now))
    return (
        t.filter(ready)
        .order_by(["created_at", "message_id"])
        .limit(limit)
        .select("message_id", "channel", "target", "payload", "attempts")
        .to_pyarrow()
        .to_pylist()
    )


def _update(store: Store, message: str, values: dict[str, Any]) -> None:
    sets = ", ".join(f'"{k}" = ?' for k in values)
    if store.is_duckdb:
        store.backend.con.execute(
            f'UPDATE "{OUTBOX}" SET {sets} WHERE "message_id" = ?', [*values.values(), message]
        )
        return
    lit = []
    for v in values.values():
        if v is None:
            lit.append("NULL")
        elif isinstance(v, int | float):
            lit.append(str(v))
        else:
            lit.append("'" + str(v).replace("'", "''") + "'")
    sets = ", ".join(f"{k} = {x}" for k, x in zip(values, lit, strict=True))
    safe = message.replace("'", "''")
    _close(store.backend.raw_sql(f"UPDATE {OUTBOX} SET {sets} WHERE message_id = '{safe}'"))


def _close(result: Any) -> None:
    """Close what ``raw_sql`` returned (a cursor on PostgreSQL)."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


def deliver(
    store: Store,
    config: ProgramConfig,
    *,
    lock: Any,
    now: dt.datetime | None = None,
    limit: int = 500,
    sender: Any = None,
    stop: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send every message that is due (at most ``limit``); see the module docstring.
    ``stop()``, asked between messages, ends the round early (the rest wait for the next)."""
    with _round_lock(store):
        return _deliver(store, config, lock=lock, now=now, limit=limit, sender=sender, stop=stop)


def _deliver(
    store: Store,
    config: ProgramConfig,
    *,
    lock: Any,
    now: dt.datetime | None,
    limit: int,
    sender: Any,
    stop: Callable[[], bool] | None,
) -> DeliveryReport:
    report = DeliveryReport()
    with lock:
        due = _due(store, now or utcnow(), limit)
    if not due:
        return report
    own = sender is None
    sender = sender or _Sender(store, config)
    if own and any(m["channel"] == "webhook" for m in due):
        # the store's secret is read (or made) under the writers' lock: the store's
        # connection is not to be used by two threads at once (a survey commit may be on it)
        with lock:
            sender._secret = webhook_secret(store, config)
    cfg = config.loop
    #: failed attempts, written together at the end of the round (one statement on DuckDB:
    #: a receiver that is down fails every message, and an UPDATE each held the writers'
    #: lock hundreds of times a round); a crash before that only forgets the attempts
    failures: list[tuple[str, dict[str, Any]]] = []
    try:
        for msg in due:
            if stop is not None and stop():
                break
            try:
                sender.send(msg)
            except Exception as exc:  # recorded on the message, whatever it is
                why = str(exc) if isinstance(exc, CXError) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, CXError):
                    log.warning("loop: sending %s failed unexpectedly: %s", msg["message_id"], why)
                attempts = int(msg["attempts"] or 0) + 1
                when = now or utcnow()
                if attempts >= cfg.max_attempts:
                    values = {"attempts": attempts, "last_error": why, "status": "failed"}
                    report.failed += 1
                else:
                    seconds = cfg.retry_base_seconds * 2.0 ** min(attempts - 1, 64)
                    wait = dt.timedelta(seconds=min(seconds, MAX_WAIT.total_seconds()))
                    values = {
                        "attempts": attempts,
                        "last_error": why,
                        "next_attempt_at": when + wait,
                    }
                    report.retrying += 1
                report.errors.append(f"{msg['target']}: {why}")
                failures.append((msg["message_id"], values))
                continue
            with lock:
                _update(
                    store,
                    msg["message_id"],
                    {
                        "attempts": int(msg["attempts"] or 0) + 1,
                        "delivered_at": now or utcnow(),
                        "status": "delivered",
                        "last_error": None,
                    },
                )
            report.delivered += 1
    finally:
        try:
            if failures:
                with lock:
                    _update_failures(store, failures)
        finally:
            if own:
                sender.close()
    return report


def _update_failures(store: Store, failures: list[tuple[str, dict[str, Any]]]) -> None:
    """Record failed attempts: ``(message id, values)`` as :func:`_deliver` makes them."""
    if not store.is_duckdb:
        for message, values in failures:
            _update(store, message, values)
        return
    import pyarrow as pa

    data = pa.table(
        {
            "message_id": [m for m, _ in failures],
            "attempts": pa.array([v["attempts"] for _, v in failures], pa.int64()),
            "last_error": [v["last_error"] for _, v in failures],
            "next_attempt_at": pa.array(
                [v.get("next_attempt_at") for _, v in failures], pa.timestamp("us")
            ),
            "status": pa.array([v.get("status") for _, v in failures], pa.string()),
        }
    )
    con = store.backend.con
    con.register("_cx_failed_attempts", data)
    try:
        con.execute(
            f'UPDATE "{OUTBOX}" SET attempts = f.attempts, last_error = f.last_error, '
            f'next_attempt_at = coalesce(f.next_attempt_at, "{OUTBOX}".next_attempt_at), '
            f'status = coalesce(f.status, "{OUTBOX}".status) '
            f'FROM _cx_failed_attempts f WHERE "{OUTBOX}".message_id = f.message_id'
        )
    finally:
        con.unregister("_cx_failed_attempts")
