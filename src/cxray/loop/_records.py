"""Writing the loop's records: alerts, follow-ups, their history and the outbox, together.

Every trigger becomes, in one transaction (on DuckDB; statement by statement elsewhere):
its alert, its follow-up and the follow-up's first event (when the rule opens one), and
one outbox message per notification target (when it notifies). Identifiers are digests of
the rule and what fired it, so recording the same trigger again writes nothing: one
trigger gives exactly one alert, one follow-up and one message per target, however often
the rules run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa

from cxray.config import LoopRule, ProgramConfig
from cxray.store import ALERTS, FOLLOWUP_EVENTS, FOLLOWUPS, OUTBOX, Store
from cxray.store._migrations import (
    ALERTS_SCHEMA,
    FOLLOWUP_EVENTS_SCHEMA,
    FOLLOWUPS_SCHEMA,
    OUTBOX_SCHEMA,
)

__all__ = [
    "Records",
    "Trigger",
    "alert_id",
    "followup_id",
    "insert_rows",
    "message_id",
    "prepare",
    "record",
    "server_transaction",
    "utcnow",
    "write",
]

SYSTEM = "cxray"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def alert_id(rule: str, subject: str) -> str:
    return "AL-" + _digest(rule, subject)[:20]


def followup_id(alert: str) -> str:
    return "FU-" + alert.removeprefix("AL-")[:12]


def message_id(alert: str, target: str) -> str:
    return "MS-" + _digest(alert, target)[:24]


@dataclass(frozen=True)
class Trigger:
    """One firing of a rule: what fired it, for whom, and the facts behind it."""

    rule: LoopRule
    subject: str
    customer_id: str | None
    title: str
    details: dict[str, Any] = field(default_factory=dict)
    #: the value of the rule's ``route_by`` attribute for this trigger
    route_value: str | None = None
    #: when it fired, if not when it is recorded (a simulation replaying history)
    at: dt.datetime | None = None

    @property
    def alert_id(self) -> str:
        return alert_id(self.rule.name, self.subject)


def _route(rule: LoopRule, value: str | None) -> tuple[str | None, str | None]:
    """``(owner, team)`` of a trigger: the rule's route for the value, else its defaults."""
    owner, team = rule.owner, rule.team
    target = rule.routes.get(str(value)) if value is not None else None
    if target is None and rule.routes:
        target = rule.routes.get("*")
    if target:
        if target.startswith("team:"):
            team, owner = target.removeprefix("team:"), None
        else:
            owner = target
    return owner, team


def _quiet_until(rule: LoopRule, now: dt.datetime, zone: str) -> dt.datetime | None:
    """When quiet hours end, if ``now`` (UTC) falls in them; ``None`` otherwise."""
    if not rule.quiet_hours:
        return None
    start_s, end_s = rule.quiet_hours.replace(" ", "").split("-")
    tz = ZoneInfo(zone)
    local = now.replace(tzinfo=dt.UTC).astimezone(tz)
    start = dt.time.fromisoformat(start_s)
    end = dt.time.fromisoformat(end_s)
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if (start < end or clock < end) else local.date() + dt.timedelta(days=1)
    until = dt.datetime.combine(day, end, tzinfo=tz)
    return until.astimezone(dt.UTC).replace(tzinfo=None)


@functools.lru_cache(maxsize=32)
def _arrow_schema(schema: Any) -> pa.Schema:
    """The Arrow schema of one of the loop's tables (made once: asked in every commit)."""
    return ibis.schema(schema).to_pyarrow()


def _rows(schema: Any, rows: Sequence[dict[str, Any]]) -> pa.Table:
    arrow = _arrow_schema(schema)
    return pa.Table.from_pylist([{k: r.get(k) for k in arrow.names} for r in rows], arrow)


def server_transaction(store: Store) -> Any:
    """On a database server (PostgreSQL), a transaction around the block: what the loop
    writes together is kept together (a savepoint when one is open already). DuckDB's
    transactions are begun by the writers themselves; there, and on backends without
    transactions, nothing."""
    con = None if store.is_duckdb else getattr(store.backend, "con", None)
    begin = getattr(con, "transaction", None)
    return begin() if callable(begin) else contextlib.nullcontext()


def insert_rows(store: Store, table: str, schema: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` to ``table`` through the store's connection (inside the caller's
    transaction, on DuckDB)."""
    if not rows:
        return
    data = _rows(schema, rows)
    if store.is_duckdb:
        # a relation over the Arrow rows, inserted by position: a third cheaper than
        # registering a view and INSERT ... SELECT (this runs inside every survey commit)
        store.backend.con.from_arrow(data).insert_into(table)
    else:
        store.backend.insert(table, data)


def _existing(store: Store, table: str, key: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    if store.is_duckdb:
        rows = store.backend.con.execute(
            f'SELECT "{key}" FROM "{table}" WHERE "{key}" IN (SELECT unnest($1::VARCHAR[]))',
            [ids],
        ).fetchall()
        return {r[0] for r in rows}
    t = store.backend.table(table)
    return set(t.filter(t[key].isin(ids)).select(key).to_pyarrow().column(0).to_pylist())


def _sent_today(store: Store, rule: str, now: dt.datetime, zone: str) -> int:
    tz = ZoneInfo(zone)
    local_midnight = dt.datetime.combine(
        now.replace(tzinfo=dt.UTC).astimezone(tz).date(), dt.time(), tzinfo=tz
    )
    since = local_midnight.astimezone(dt.UTC).replace(tzinfo=None)
    t = store.backend.table(OUTBOX)
    sent = t.filter((t.rule == rule) & (t.created_at >= since) & (t.status != "capped"))
    return int(sent.alert_id.nunique().to_pyarrow().as_py())


def record(
    store: Store,
    config: ProgramConfig,
    triggers: Iterable[Trigger],
    *,
    now: dt.datetime | None = None,
    compose: Any = None,
) -> list[str]:
    """Write the alerts, follow-ups, events and messages of new triggers; the ids of the
    alerts that were new. Call inside the store's write lock (and transaction, if any).

    ``compose(trigger, target, followup) -> (subject, payload)`` makes a message.
    """
    return write(store, prepare(store, config, triggers, now=now, compose=compose))


@dataclass
class Records:
    """The rows :func:`prepare` made for new triggers, for :func:`write`."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


def write(store: Store, records: Records) -> list[str]:
    """Insert what :func:`prepare` made; the new alerts' ids."""
    insert_rows(store, ALERTS, ALERTS_SCHEMA, records.alerts)
    insert_rows(store, FOLLOWUPS, FOLLOWUPS_SCHEMA, records.followups)
    insert_rows(store, FOLLOWUP_EVENTS, FOLLOWUP_EVENTS_SCHEMA, records.events)
    insert_rows(store, OUTBOX, OUTBOX_SCHEMA, records.messages)
    return [a["alert_id"] for a in records.alerts]


def prepare(
    store: Store,
    config: ProgramConfig,
    triggers: Iterable[Trigger],
    *,
    now: dt.datetime | None = None,
    compose: Any = None,
) -> Records:
    """The rows of the triggers that are new (reads the store, writes nothing): whatever
    goes wrong here leaves the caller's transaction untouched."""
    now = now or utcnow()
    fresh: dict[str, Trigger] = {}
    for t in triggers:
        fresh.setdefault(t.alert_id, t)
    seen = _existing(store, ALERTS, "alert_id", list(fresh))
    todo = [t for a, t in fresh.items() if a not in seen]
    if not todo:
        return Records()
    zone = config.program.timezone
    alerts, followups, events, messages = [], [], [], []
    sent: dict[str, int] = {}
    for t in todo:
        rule = t.rule
        aid = t.alert_id
        when = t.at or now
        fid = followup_id(aid) if rule.opens_followups else None
        owner, team = _route(rule, t.route_value)
        fu = None
        if fid is not None:
            fu = {
                "followup_id": fid,
                "alert_id": aid,
                "rule": rule.name,
                "customer_id": t.customer_id,
                "subject": t.subject,
                "title": t.title,
                "status": "open",
                "owner": owner,
                "team": team,
                "opened_at": when,
                "due_at": when + dt.timedelta(hours=rule.sla_hours),
                "updated_at": when,
            }
            followups.append(fu)
            events.append(
                {
                    "event_id": "EV-" + _digest(fid, "opened")[:24],
                    "followup_id": fid,
                    "at": when,
                    "actor": SYSTEM,
                    "action": "opened",
                    "status": "open",
                    "detail": json.dumps(
                        {"rule": rule.name, "owner": owner, "team": team}, default=str
                    ),
                }
            )
        notified: list[str] = []
        why = None
        if rule.notifies:
            if rule.name not in sent:
                # counted only for a rule with a cap (a query each commit otherwise)
                capping = rule.cap_per_day is not None
                sent[rule.name] = _sent_today(store, rule.name, now, zone) if capping else 0
            capped = rule.cap_per_day is not None and sent[rule.name] >= rule.cap_per_day
            quiet = _quiet_until(rule, when, zone)
            for target in rule.targets:
                subject, payload = compose(t, target, fu)
                messages.append(
                    {
                        "message_id": message_id(aid, str(target)),
                        "alert_id": aid,
                        "rule": rule.name,
                        "channel": target.kind,
                        "target": str(target),
                        "subject": subject,
                        "payload": json.dumps(payload, default=str, ensure_ascii=False),
                        "created_at": when,
                        "not_before": quiet,
                        "attempts": 0,
                        "next_attempt_at": quiet or when,
                        "status": "capped" if capped else "pending",
                    }
                )
                notified.append(str(target))
            if capped:
                why = f"capped: {rule.cap_per_day} notifications a day"
            else:
                sent[rule.name] += 1
                if quiet:
                    why = f"quiet hours: waits until {quiet:%Y-%m-%d %H:%M} UTC"
        alerts.append(
            {
                "alert_id": aid,
                "rule": rule.name,
                "source": rule.on,
                "subject": t.subject,
                "customer_id": t.customer_id,
                "title": t.title,
                "details": json.dumps(t.details, default=str, ensure_ascii=False),
                "fired_at": when,
                "followup_id": fid,
                "notified": json.dumps({"targets": notified, "note": why}),
            }
        )
    return Records(alerts, followups, events, messages)
