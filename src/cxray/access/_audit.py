"""The audit log: who read, exported, imported, changed or erased what, when and from where.

Every event is one row of ``_cx_audit`` (store migration 7): the time (UTC), the
actor (an API key's name and id, ``local:<os user>`` for the store's owner on the
command line, or ``anonymous``), the role, the client's address, the interface
(``api``, ``web``, ``cli``), the action (one of :data:`ACTIONS`), its target (a
route, table, survey or follow-up; a customer as a digest keyed with the store's
``audit`` secret, :func:`customer_ref`, whose scheme the target says),
the outcome and a little JSON detail. It never holds a key, a token, a password,
a query string or a row's values.

Recording never slows the work it records: :meth:`AuditLog.record` puts the
event on a bounded in-memory queue and returns; one background thread writes
what has queued up in batches (every ``flush_every`` seconds or ``batch``
events), each batch one short insert under the store's write lock. When the
queue is full the event is counted, never waited for, and the count is written
as a ``dropped`` event with the next batch. Sensitive actions can be written at
once (``sync=True``: keys, secrets, erasure on the command line). ``close()``
writes what is still queued.

>>> log = AuditLog(store)                                       # doctest: +SKIP
>>> log.record("read", actor="wallboard", key_id=3, role="viewer",
...            address="10.0.0.7", target="/api/scorecard")     # doctest: +SKIP
>>> log.events(action="read", limit=10)                         # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import contextvars
import datetime as dt
import functools
import getpass
import hashlib
import hmac
import json
import operator
import re
import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from cxray.exceptions import CXError, QueryError
from cxray.store import AUDIT, Store
from cxray.store._secrets import KeyRing, SigningKey

__all__ = [
    "ACTIONS",
    "INTERFACES",
    "AuditEvent",
    "AuditLog",
    "audit_call",
    "customer_ref",
    "digest_scheme",
    "legacy_customer_ref",
    "local_actor",
    "note_call",
]

#: what an event records; ``dropped`` counts events a full queue could not keep
ACTIONS = (
    "read",
    "export",
    "import",
    "config",
    "keys",
    "secrets",
    "erase",
    "login",
    "login_failed",
    "logout",
    "survey_change",
    "loop_change",
    "model",
    "dropped",
)
INTERFACES = ("api", "web", "cli")
STATUSES = ("ok", "denied", "failed", "error")

_ARROW = pa.schema(
    [
        ("event_id", pa.string()),
        ("at", pa.timestamp("us")),
        ("actor", pa.string()),
        ("key_id", pa.int64()),
        ("role", pa.string()),
        ("address", pa.string()),
        ("interface", pa.string()),
        ("action", pa.string()),
        ("target", pa.string()),
        ("status", pa.string()),
        ("detail", pa.string()),
    ]
)
_MAX_TEXT = 300  # a target or actor longer than this is cut (no free text is stored)
#: the signing secret (kept outside the store, like the others) that keys customer digests
AUDIT_SECRET = "audit"
_REF = "customer:"
#: a customer digest in a target: keyed (its key id), unkeyed (older), or no key to be had
_REF_IN = re.compile(r"customer:(?:hmac-([A-Za-z0-9_-]{1,32}):[0-9a-f]{16}|([0-9a-f]{16})|nokey)")
#: how a customer is named when no audit key can be read (a read-only store without one)
_NO_KEY = f"{_REF}nokey"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def customer_ref(customer_id: str, key: SigningKey) -> str:
    """How a customer appears in the audit log: ``customer:hmac-<key id>:`` and 16 hex
    digits of the HMAC-SHA256 of the id under the store's ``audit`` key (``key``), so the
    log names no one, survives the customer's erasure, and an id cannot be found by
    hashing guesses without the key; an auditor who knows an id finds its events
    (:meth:`AuditLog.customer_refs`). The key id in the digest says which key made it."""
    mac = hmac.new(key.key, str(customer_id).encode("utf-8", "replace"), hashlib.sha256)
    return f"{_REF}hmac-{key.id}:{mac.hexdigest()[:16]}"


def legacy_customer_ref(customer_id: str) -> str:
    """How events written before the keyed digest named a customer: ``customer:`` and 16
    hex digits of the unkeyed SHA-256 of the id (still found by a lookup, never written)."""
    digest = hashlib.sha256(str(customer_id).encode("utf-8", "replace")).hexdigest()
    return f"{_REF}{digest[:16]}"


def digest_scheme(target: str) -> str | None:
    """The scheme of the customer digest a target holds: ``"hmac-sha256:<key id>"`` (keyed
    with the ``audit`` key of that id), ``"sha256"`` (unkeyed, written by an older cxray),
    ``"none"`` (no audit key could be read: the customer is not named), or None (no
    customer in the target)."""
    found = _REF_IN.search(target)
    if found is None:
        return None
    if found.group(1) is not None:
        return f"hmac-sha256:{found.group(1)}"
    return "sha256" if found.group(2) is not None else "none"


def local_actor() -> str:
    """The store's owner working on this machine: ``local:<os user>``."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = "unknown"
    return f"local:{user}"


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log."""

    action: str
    actor: str = "anonymous"
    key_id: int | None = None
    role: str = ""
    address: str = ""
    interface: str = "api"
    target: str = ""
    status: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime = field(default_factory=_utcnow)
    event_id: str = field(default_factory=lambda: secrets.token_hex(12))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat() + "Z"
        return d


def _check(event: AuditEvent) -> AuditEvent:
    if event.action not in ACTIONS:
        raise QueryError(f"unknown audit action {event.action!r}; the actions are: {ACTIONS}")
    if event.interface not in INTERFACES:
        raise QueryError(f"unknown interface {event.interface!r}; one of {INTERFACES}")
    if event.status not in STATUSES:
        raise QueryError(f"unknown audit status {event.status!r}; one of {STATUSES}")
    return event


def _row(e: AuditEvent) -> dict[str, Any]:
    detail = {k: v for k, v in e.detail.items() if isinstance(v, int | float | bool | str)}
    return {
        "event_id": e.event_id,
        "at": e.at,
        "actor": e.actor[:_MAX_TEXT],
        "key_id": e.key_id,
        "role": e.role,
        "address": e.address[:_MAX_TEXT],
        "interface": e.interface,
        "action": e.action,
        "target": e.target[:_MAX_TEXT],
        "status": e.status,
        "detail": json.dumps(detail, sort_keys=True, separators=(",", ":")),
    }


class AuditLog:
    """The audit log of one store: record events (queued), read them back.

    ``lock``: the store's write lock (every writer's); each batch is written
    under it, one insert. ``flush_every`` (seconds) and ``batch`` (events) say
    when the writer thread writes; ``max_queued`` bounds the queue.
    """

    def __init__(
        self,
        store: Store,
        *,
        lock: threading.RLock | None = None,
        flush_every: float = 0.5,
        batch: int = 500,
        max_queued: int = 100_000,
    ):
        self.store = store
        self.lock = lock or threading.RLock()
        self.flush_every = flush_every
        self.batch = batch
        self.max_queued = max_queued
        # a deque's append and popleft are atomic: recording takes no lock, and the writer
        # wakes every flush_every seconds or when a batch is full, never once per event
        self._pending: collections.deque[AuditEvent] = collections.deque()
        self._wake = threading.Event()
        self._waiters: list[threading.Event] = []
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self._write_lock = threading.Lock()  # one writer of the audit table at a time
        self._dropped = 0
        self._dropped_lock = threading.Lock()
        self._cursor: Any = None
        #: batches written and events in them (for tests: batched, not one by one), and the
        #: seconds the write lock was held for them, in all and at most (for the benchmark)
        self.flushes = 0
        self.written = 0
        self.locked_seconds = 0.0
        self.longest_lock = 0.0
        self.closed = False
        self._ring: tuple[float, KeyRing] | None = None  # (read at, the audit keys)
        self._ring_lock = threading.Lock()

    # ------------------------------------------------------------ customer digests

    def keyring(self) -> KeyRing:
        """The ``audit`` signing secret (made once, on first use, like the store's other
        keys: docs/security.md); read again after a second so a rotation needs no restart."""
        cached = self._ring
        if cached is None or time.monotonic() - cached[0] > 1.0:
            with self._ring_lock:
                cached = self._ring
                if cached is None or time.monotonic() - cached[0] > 1.0:
                    cached = self._ring = (time.monotonic(), self.store.keyring(AUDIT_SECRET))
        return cached[1]

    def customer_ref(self, customer_id: str) -> str:
        """How an event names a customer: the keyed digest under the current ``audit`` key
        (:func:`customer_ref`); ``customer:nokey`` (no one named) when no key can be had,
        e.g. a read-only store that has none yet, so the event is still recorded."""
        try:
            key = self.keyring().current
        except CXError:
            return _NO_KEY
        return customer_ref(customer_id, key)

    def customer_refs(self, customer_id: str) -> list[str]:
        """Every digest an event about this customer may hold: one per ``audit`` key kept
        (older keys after a rotation) and the unkeyed one events written before the keyed
        digest hold."""
        try:
            keys: tuple[SigningKey, ...] = self.keyring().keys
        except CXError:  # a read-only store without an audit key: only older events
            keys = ()
        return [*(customer_ref(customer_id, k) for k in keys), legacy_customer_ref(customer_id)]

    # ------------------------------------------------------------ recording

    def record(self, action: str, *, sync: bool = False, **fields: Any) -> AuditEvent:
        """Record one event (fields of :class:`AuditEvent`); queued unless ``sync``.

        Never blocks on a full queue: the event is counted as dropped instead.
        """
        event = _check(AuditEvent(action, **fields))
        if sync or self.closed:
            self._write([event])
            return event
        if self._thread is None:
            self._ensure_thread()
        pending = self._pending
        if len(pending) >= self.max_queued:
            with self._dropped_lock:
                self._dropped += 1
            return event
        pending.append(event)
        if len(pending) >= self.batch:
            self._wake.set()
        return event

    @property
    def dropped(self) -> int:
        """Events not kept since the last batch was written (the queue was full)."""
        return self._dropped

    def flush(self, timeout: float = 30.0) -> None:
        """Write everything queued so far; returns once it is in the store."""
        if self._thread is None:
            self._write_all()
            return
        done = threading.Event()
        self._waiters.append(done)
        self._wake.set()
        done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued and stop the writer (later events are written at once)."""
        self.closed = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join(timeout)
        self._write_all()
        if self._cursor is not None:
            with contextlib.suppress(Exception):
                self._cursor.close()
            self._cursor = None

    # ------------------------------------------------------------ the writer

    def _ensure_thread(self) -> None:
        # what DuckDB imports to read an Arrow table registers an exit hook, which fails
        # once the interpreter is shutting down: imported now, the last flush at exit works
        import pyarrow.dataset  # noqa: F401

        with self._started:
            if self._thread is None and not self.closed:
                t = threading.Thread(target=self._run, name="cxray-audit", daemon=True)
                t.start()
                self._thread = t
                _RUNNING.add(self)

    def _write_all(self) -> None:
        """Write the events queued now, ``batch`` at a time (one insert each); those that
        arrive meanwhile wait for the next round rather than make more, smaller inserts."""
        pending = self._pending
        left = len(pending)
        while True:
            chunk = []
            while left and len(chunk) < self.batch:
                chunk.append(pending.popleft())
                left -= 1
            if not chunk and not self._dropped:
                return
            try:
                self._write(chunk)
            except Exception:  # the store failed or is gone: counted, reported with the next
                with self._dropped_lock:
                    self._dropped += len(chunk)
                return
            if not left:
                return

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_every)
            self._wake.clear()
            waiters, self._waiters = self._waiters, []  # each saw its events queued first
            self._write_all()
            for w in waiters:
                w.set()
            if self._stopping:
                return

    def _write(self, events: list[AuditEvent]) -> None:
        with self._dropped_lock:
            dropped, self._dropped = self._dropped, 0
        if dropped:
            events = [*events, AuditEvent("dropped", actor="cxray", detail={"count": dropped})]
        if not events:
            return
        data = pa.Table.from_pylist([_row(e) for e in events], schema=_ARROW)
        with self._write_lock, self.lock:  # one short insert under the store's write lock
            held = time.perf_counter()
            if self.store.is_duckdb:
                if self._cursor is None:
                    self._cursor = self.store.backend.con.cursor()
                cur = self._cursor
                cur.register("_cx_audit_batch", data)
                try:
                    cur.execute(f"INSERT INTO {AUDIT} BY NAME SELECT * FROM _cx_audit_batch")
                finally:
                    cur.unregister("_cx_audit_batch")
            else:
                self.store.backend.insert(AUDIT, ibis.memtable(data))
            self.flushes += 1
            self.written += len(events)
            held = time.perf_counter() - held
            self.locked_seconds += held
            self.longest_lock = max(self.longest_lock, held)

    # ------------------------------------------------------------ reading

    def table(self, backend: ibis.BaseBackend | None = None) -> ibis.Table:
        """The audit log as an Ibis table (``backend``: a reader's, default the store's)."""
        return (backend or self.store.backend).table(AUDIT)

    def events(
        self,
        *,
        since: dt.datetime | str | None = None,
        until: dt.datetime | str | None = None,
        actor: str | int | None = None,
        action: str | None = None,
        customer: str | None = None,
        limit: int = 100,
        offset: int = 0,
        backend: ibis.BaseBackend | None = None,
    ) -> list[AuditEvent]:
        """Events, newest first. ``since``/``until``: UTC times (ISO text or datetime;
        ``until`` is exclusive); ``actor``: a key's id (``3`` or ``#3``) or an actor as
        recorded (``local:ana``, a key's name); ``action``: one of :data:`ACTIONS`;
        ``customer``: a customer id, found by its digest. What is queued is written first
        (unless ``backend``, a reader's snapshot, is given: flush before taking it).
        """
        if limit < 0 or offset < 0:
            raise QueryError("limit and offset must be 0 or more")
        if action is not None and action not in ACTIONS:
            raise QueryError(f"unknown audit action {action!r}; the actions are: {ACTIONS}")
        if backend is None and not self.closed:
            self.flush()
        t = self.table(backend)
        preds = []
        if since is not None:
            preds.append(t.at >= _time(since, "since"))
        if until is not None:
            preds.append(t.at < _time(until, "until"))
        if action is not None:
            preds.append(t.action == action)
        if customer is not None:
            refs = [t.target.contains(ref) for ref in self.customer_refs(customer)]
            preds.append(functools.reduce(operator.or_, refs))
        if actor is not None:
            text = str(actor).strip()
            if any(ord(c) < 32 for c in text):
                raise QueryError(f"actor={text!r} holds a control character; no actor does")
            number = text.removeprefix("#")
            if number.isdecimal() and len(number) <= 18:  # a key id (int64)
                preds.append(t.key_id == int(number))
            else:
                preds.append(t.actor == text)
        if preds:
            t = t.filter(*preds)
        t = t.order_by([ibis.desc("at"), ibis.desc("event_id")]).limit(limit, offset=offset)
        return [_event(r) for r in t.to_pyarrow().to_pylist()]


def _time(value: dt.datetime | str, name: str) -> dt.datetime:
    try:
        moment = (
            value
            if isinstance(value, dt.datetime)
            else dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        )
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise QueryError(
            f"{name}={value!r} is not a time; use ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:30:00Z"
        ) from None
    return moment


def _event(r: dict[str, Any]) -> AuditEvent:
    try:
        detail = json.loads(r["detail"] or "{}")
    except ValueError:
        detail = {}
    at = r["at"]
    if isinstance(at, dt.datetime) and at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    key_id = r["key_id"]
    return AuditEvent(
        action=r["action"],
        actor=r["actor"] or "",
        key_id=None if key_id is None else int(key_id),
        role=r["role"] or "",
        address=r["address"] or "",
        interface=r["interface"] or "",
        target=r["target"] or "",
        status=r["status"] or "",
        detail=detail,
        at=at,
        event_id=r["event_id"],
    )


#: logs whose writer thread runs: a process that ends without closing one still writes
#: what it queued (at exit, before the interpreter stops its threads)
_RUNNING: weakref.WeakSet[AuditLog] = weakref.WeakSet()


@atexit.register
def _close_running() -> None:
    for log in list(_RUNNING):
        with contextlib.suppress(Exception):
            log.close(timeout=5.0)


# ---------------------------------------------------------------- one call's caller

#: what one request (or command) has learnt about its caller: set by the interface's
#: boundary (:func:`audit_call`), filled in where the caller is identified (:func:`note_call`)
_CALL: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "cxray_audit_call", default=None
)


@contextlib.contextmanager
def audit_call() -> Iterator[dict[str, Any]]:
    """Around one request: a dict that :func:`note_call` fills in (in this context and
    the worker threads it starts), read by the boundary after the request."""
    slot: dict[str, Any] = {}
    token = _CALL.set(slot)
    try:
        yield slot
    finally:
        _CALL.reset(token)


def note_call(**fields: Any) -> None:
    """Tell the current request's audit record who the caller is (``actor``, ``key_id``,
    ``role``) or what happened (``action``, ``status``); nothing outside a request."""
    slot = _CALL.get()
    if slot is not None:
        slot.update(fields)
