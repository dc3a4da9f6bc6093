"""Follow-ups: the work the loop hands to people, and every change made to it.

A follow-up is *open* when a rule opens it, *contacted* once someone reached the
customer, and ends *resolved* (contacted, with an outcome) or *closed_no_contact* (the
customer could not be reached, or did not need it). It has an owner and/or a team, a due
time (the rule's SLA), the latest note and an outcome. Every change (opened, assigned,
contacted, a note, closed) is kept in ``_cx_followup_events`` with who made it and when;
a change that does not fit the status (contacting a closed follow-up) is refused, and
nothing is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from typing import Any, Literal

import ibis

from cxray.exceptions import ConflictError, NotFoundError, QueryError
from cxray.loop._records import insert_rows, server_transaction, utcnow
from cxray.store import ALERTS, FOLLOWUP_EVENTS, FOLLOWUPS, Store
from cxray.store._migrations import FOLLOWUP_EVENTS_SCHEMA

__all__ = ["STATUSES", "Followups"]

STATUSES = ("open", "contacted", "resolved", "closed_no_contact")
_PAST = {"closed_no_contact": "closed", "resolved": "closed", "note": "annotated"}
OPEN = ("open", "contacted")
Status = Literal["open", "contacted", "resolved", "closed_no_contact"]


def _set(store: Store, fid: str, values: dict[str, Any]) -> None:
    if store.is_duckdb:
        sets = ", ".join(f'"{k}" = ?' for k in values)
        store.backend.con.execute(
            f'UPDATE "{FOLLOWUPS}" SET {sets} WHERE "followup_id" = ?', [*values.values(), fid]
        )
        return
    from cxray.loop._delivery import _close

    def lit(v: Any) -> str:
        if v is None:
            return "NULL"
        return "'" + str(v).replace("'", "''") + "'"

    sets = ", ".join(f"{k} = {lit(v)}" for k, v in values.items())
    _close(store.backend.raw_sql(f"UPDATE {FOLLOWUPS} SET {sets} WHERE followup_id = {lit(fid)}"))


class Followups:
    """Listing and working follow-ups (``ws.loop.followups``)."""

    def __init__(self, store: Store, lock: Any):
        self.store = store
        self.lock = lock

    # ------------------------------------------------------------ reading
    def list(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        team: str | None = None,
        customer_id: str | None = None,
        overdue: bool = False,
        rule: str | None = None,
        limit: int = 100,
        offset: int = 0,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Follow-ups, due first: ``{"total", "rows", "has_more"}``. ``status`` is one of
        :data:`STATUSES` or ``active`` (open or contacted); ``overdue``: active and past due."""
        t = self.store.backend.table(FOLLOWUPS)
        if status == "active":
            t = t.filter(t.status.isin(OPEN))
        elif status:
            if status not in STATUSES:
                raise QueryError(f"status {status!r}: use one of active, {', '.join(STATUSES)}")
            t = t.filter(t.status == status)
        if owner:
            t = t.filter(t.owner == owner)
        if team:
            t = t.filter(t.team == team)
        if customer_id:
            t = t.filter(t.customer_id == customer_id)
        if rule:
            t = t.filter(t.rule == rule)
        if overdue:
            t = t.filter(t.status.isin(OPEN) & (t.due_at < (now or utcnow())))
        total = int(t.count().to_pyarrow().as_py())
        rows = (
            t.order_by([ibis.asc("due_at"), "followup_id"])
            .limit(limit, offset=offset)
            .to_pyarrow()
            .to_pylist()
        )
        moment = now or utcnow()
        for r in rows:
            r["overdue"] = r["status"] in OPEN and r["due_at"] is not None and r["due_at"] < moment
        return {"total": total, "rows": rows, "has_more": offset + len(rows) < total}

    def get(self, followup_id: str) -> dict[str, Any]:
        """One follow-up with its history (oldest first) and the alert that opened it."""
        t = self.store.backend.table(FOLLOWUPS)
        rows = t.filter(t.followup_id == followup_id).to_pyarrow().to_pylist()
        if not rows:
            raise NotFoundError(f"no follow-up {followup_id!r}")
        fu = rows[0]
        fu["overdue"] = (
            fu["status"] in OPEN and fu["due_at"] is not None and fu["due_at"] < utcnow()
        )
        e = self.store.backend.table(FOLLOWUP_EVENTS)
        events = (
            e.filter(e.followup_id == followup_id)
            .order_by(["at", "event_id"])
            .to_pyarrow()
            .to_pylist()
        )
        for ev in events:
            with contextlib.suppress(ValueError):
                ev["detail"] = json.loads(ev["detail"]) if ev["detail"] else None
        a = self.store.backend.table(ALERTS)
        alert = a.filter(a.alert_id == fu["alert_id"]).to_pyarrow().to_pylist()
        if alert:
            alert[0]["details"] = json.loads(alert[0]["details"] or "{}")
            alert[0]["notified"] = json.loads(alert[0]["notified"] or "{}")
        return {**fu, "history": events, "alert": alert[0] if alert else None}

    # ------------------------------------------------------------ working
    def _change(
        self,
        followup_id: str,
        actor: str,
        action: str,
        values: dict[str, Any],
        detail: dict[str, Any],
        allowed: tuple[str, ...],
    ) -> dict[str, Any]:
        if not actor:
            raise QueryError("say who makes the change (actor)")
        with self.lock:
            current = self.get(followup_id)
            if current["status"] not in allowed:
                can = " or ".join(allowed)
                raise ConflictError(
                    f"follow-up {followup_id} is already {current['status']}: only {can} "
                    f"follow-ups can be {_PAST.get(action, action)}"
                )
            now = utcnow()
            values = {**values, "updated_at": now}
            status = values.get("status", current["status"])
            tx = self.store.is_duckdb
            con = self.store.backend.con if tx else None
            if con is not None:
                con.execute("BEGIN TRANSACTION")
            try:
                with server_transaction(self.store):
                    self._write(followup_id, values, actor, action, status, detail, now)
            except BaseException:
                if con is not None:
                    con.execute("ROLLBACK")
                raise
            if con is not None:
                con.execute("COMMIT")
        return self.get(followup_id)

    def _write(
        self,
        followup_id: str,
        values: dict[str, Any],
        actor: str,
        action: str,
        status: str,
        detail: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """The change and its history entry (the caller holds them in one transaction)."""
        _set(self.store, followup_id, values)
        insert_rows(
            self.store,
            FOLLOWUP_EVENTS,
            FOLLOWUP_EVENTS_SCHEMA,
            [
                {
                    "event_id": "EV-" + uuid.uuid4().hex[:24],
                    "followup_id": followup_id,
                    "at": now,
                    "actor": actor,
                    "action": action,
                    "status": status,
                    "detail": json.dumps(detail, default=str, ensure_ascii=False),
                }
            ],
        )

    def assign(
        self, followup_id: str, *, actor: str, owner: str | None = None, team: str | None = None
    ) -> dict[str, Any]:
        """Give it to a person and/or a team (an empty string clears one)."""
        if owner is None and team is None:
            raise QueryError("name an owner or a team to assign to")
        values: dict[str, Any] = {}
        if owner is not None:
            values["owner"] = owner or None
        if team is not None:
            values["team"] = team or None
        return self._change(followup_id, actor, "assigned", values, values, OPEN)

    def contact(self, followup_id: str, *, actor: str, note: str | None = None) -> dict[str, Any]:
        """The customer was reached."""
        values: dict[str, Any] = {"status": "contacted", "contacted_at": utcnow()}
        if note:
            values["note"] = note
        return self._change(followup_id, actor, "contacted", values, {"note": note}, ("open",))

    def note(self, followup_id: str, *, actor: str, text: str) -> dict[str, Any]:
        """Add a note (it becomes the follow-up's latest note)."""
        if not text or not text.strip():
            raise QueryError("a note needs text")
        return self._change(
            followup_id, actor, "note", {"note": text.strip()}, {"note": text.strip()}, STATUSES
        )

    def close(
        self,
        followup_id: str,
        *,
        actor: str,
        outcome: str | None = None,
        contacted: bool = True,
        note: str | None = None,
    ) -> dict[str, Any]:
        """End it: *resolved* (the customer was contacted; ``outcome`` says how it ended) or
        *closed_no_contact* (``contacted=False``)."""
        now = utcnow()
        status = "resolved" if contacted else "closed_no_contact"
        values: dict[str, Any] = {"status": status, "closed_at": now, "outcome": outcome}
        current = self.get(followup_id)
        if contacted and current["contacted_at"] is None:
            values["contacted_at"] = now
        if note:
            values["note"] = note
        return self._change(
            followup_id,
            actor,
            status,
            values,
            {"outcome": outcome, "note": note},
            OPEN,
        )
