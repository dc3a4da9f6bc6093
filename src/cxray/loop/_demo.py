"""The demo company's closed loop (``cxray demo --loop``): rules, replayed history, the work.

After the demo world is written, :func:`simulate` runs a fixed rule set
(:data:`DEMO_LOOP_TOML`) over its whole history, each trigger recorded at the moment its
row happened (a response when it was submitted, a KPI or an emerging issue when its period
ended), and then simulates the people who work the follow-ups: most customers are
contacted within the SLA, some late, some never (closed without contact, or left open),
with notes and outcomes, every change written to the follow-up history at the time it
happened, by a named demo agent. Everything is decided by digests of the seed and the
follow-up id, so the same world gives the same loop whatever the order of the rows.

It also plants the recovery effect (:func:`cxray.demo.recovery_effect`): a customer reached
within the SLA answers the next NPS (CSAT) question after the contact a few points higher.
Because that changes later answers, and later answers may fire rules of their own, the
answers are worked out first, customer by customer in time order, with the rules'
conditions evaluated in memory exactly as the store evaluates them; then the changed
answers are written (an import like any other), and the engine replays the rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa

from cxray.config import CONDITION_NAMES, LoopConfig, LoopRule, ProgramConfig
from cxray.demo import STRENGTHS, Strengths
from cxray.loop._conditions import evaluate
from cxray.loop._records import (
    Trigger,
    _digest,
    _existing,
    alert_id,
    followup_id,
    insert_rows,
    record,
)
from cxray.metrics import bottom_box_values, data_end
from cxray.store import FOLLOWUP_EVENTS, FOLLOWUPS, OUTBOX, Store
from cxray.store._migrations import FOLLOWUP_EVENTS_SCHEMA

__all__ = ["DEMO_LOOP_TOML", "LoopDemoReport", "demo_loop_config", "simulate"]

#: the demo's rules, as they are written to the demo folder's cxray.toml
DEMO_LOOP_TOML = """\
# The demo company's closed loop (written by `cxray demo --loop`; docs/loop.md explains
# every key). `cxray loop run` evaluates the rules, `cxray serve` runs them on a schedule.
[loop]
check_every = "15m"

# Every detractor whose customer had no recent e-mail case: the region's CX lead calls back.
[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6 and cases_via_email == 0"
action = "followup"
route_by = "region"
sla_hours = 48
[loop.rules.routes]
Northeast = "maya.chen"
Southeast = "luis.ortega"
Midwest = "sam.okafor"
West = "jordan.lee"
Southwest = "ana.ruiz"
Canada = "claire.tremblay"
"*" = "team:Customer Care"

# Unhappy answers after an e-mail case (the slow channel): the support team follows up
# within a day, and its lead hears at once (outside quiet hours).
[[loop.rules]]
name = "email-detractors"
on = "responses"
where = "(nps <= 6 or csat <= 2) and cases_via_email > 0"
action = "both"
team = "Customer Care"
notify = ["email:support-lead@hearthwell.example"]
sla_hours = 24
quiet_hours = "22:00-07:00"

# A case category far above its usual share in a month (the June 2026 thermostat fault).
[[loop.rules]]
name = "emerging-issues"
on = "emerging"
period = "month"
action = "notify"
notify = ["email:quality@hearthwell.example"]

# A region's monthly NPS below its action threshold ([targets] nps action, 0).
[[loop.rules]]
name = "region-nps"
on = "kpi"
metric = "nps"
by = "region"
period = "month"
action = "notify"
notify = ["email:cx-leads@hearthwell.example"]
"""

#: who works the follow-ups of a team
TEAMS = {
    "Customer Care": ("priya.shah", "tom.becker", "nina.kowalski", "omar.haddad"),
}
#: the team's lead, who hands its follow-ups out
LEADS = {"Customer Care": "rosa.martin"}

#: how the work goes: contacted within the SLA, late, or not at all
P_IN_TIME = 0.70
P_LATE = 0.15
#: of those not contacted, the share closed as unreachable (the rest are never worked)
P_CLOSED_NO_CONTACT = 0.6
#: of those contacted, the share also closed as resolved
P_RESOLVED = 0.85

_CONTACT_NOTES = (
    "Called the customer and apologised; listened to what went wrong.",
    "Reached them by phone; they were glad someone called back.",
    "Spoke to the customer; went through the order and what happened.",
    "Called back; the customer explained the problem in detail.",
    "E-mailed, then reached them by phone the same day.",
    "Talked it through with the customer; promised a follow-up e-mail.",
)
_OUTCOMES = (
    ("refund issued", "Refunded the delivery fee and confirmed by e-mail."),
    ("voucher sent", "Sent a 15% voucher for the next order."),
    ("replacement shipped", "Shipped a replacement with next-day delivery."),
    ("problem solved", "Sorted out the issue on the call; customer satisfied."),
    ("feedback passed on", "Passed the feedback on to the product team."),
    ("escalated", "Escalated to Technical Support; case reopened and solved."),
)
_MISSED_NOTES = (
    "Tried to call, no answer; left a voicemail.",
    "No answer by phone; sent an e-mail.",
)
_NO_CONTACT_NOTES = (
    "No answer after three calls and an e-mail.",
    "Customer asked not to be contacted.",
    "Could not reach the customer; number out of service.",
)
#: comments that replace the old one when a recovered answer changes its group
_RECOVERY_COMMENTS = (
    "Someone from Hearthwell called me after my last review and sorted it out. Much better.",
    "Thanks for calling me back last time, that made a real difference.",
    "After the call from customer care I feel a lot better about ordering again.",
    "Good to see you listen: the problem was fixed quickly after your call.",
)


def demo_loop_config() -> LoopConfig:
    """The demo's ``[loop]`` section (:data:`DEMO_LOOP_TOML`)."""
    return LoopConfig(**tomllib.loads(DEMO_LOOP_TOML)["loop"])


@dataclass
class LoopDemoReport:
    """What :func:`simulate` did."""

    alerts: int = 0
    followups: int = 0
    messages: int = 0
    #: follow-ups by simulated fate: in_time, late, closed_no_contact, never, pending
    fates: dict[str, int] = field(default_factory=dict)
    #: responses whose answers the recovery effect changed
    answers_changed: int = 0
    #: response follow-ups the engine opened that the answer pass did not expect, or the
    #: reverse (0 when the in-memory conditions agree with the store's)
    mismatched: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _unit(seed: int, *parts: str) -> float:
    """A number in [0, 1) from the seed and the parts (the same every run)."""
    h = hashlib.sha256("\x1f".join((str(seed), *parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def _pick(seed: int, options: tuple[Any, ...], *parts: str) -> Any:
    return options[int(_unit(seed, "pick", *parts) * len(options))]


@dataclass(frozen=True)
class _Fate:
    """What happens to one follow-up, before the world's end cuts it short."""

    kind: str  # in_time | late | closed_no_contact | never
    contact_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


def _fate(seed: int, fid: str, opened: dt.datetime, sla_hours: float) -> _Fate:
    u = _unit(seed, fid, "fate")
    due = opened + dt.timedelta(hours=sla_hours)
    if u < P_IN_TIME + P_LATE:
        if u < P_IN_TIME:  # somewhere in the SLA, most early
            hours = sla_hours * (0.03 + 0.95 * _unit(seed, fid, "delay") ** 1.7)
            contact = opened + dt.timedelta(hours=hours)
            kind = "in_time"
        else:  # after it: hours to days late
            late = -36.0 * math.log(1.0 - _unit(seed, fid, "delay"))
            contact = due + dt.timedelta(hours=0.5 + late)
            kind = "late"
        closed = None
        if _unit(seed, fid, "resolved") < P_RESOLVED:
            closed = contact + dt.timedelta(hours=0.2 + 30 * _unit(seed, fid, "closing"))
        return _Fate(kind, _whole(contact), _whole(closed))
    if _unit(seed, fid, "closed") < P_CLOSED_NO_CONTACT:
        closed = due + dt.timedelta(hours=2 + 70 * _unit(seed, fid, "closing"))
        return _Fate("closed_no_contact", None, _whole(closed))
    return _Fate("never")


def _whole(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else t.replace(microsecond=0)


# ------------------------------------------------------------------ the answers first
def _response_rules(rules: Iterable[LoopRule]) -> list[LoopRule]:
    return [r for r in rules if r.enabled and r.on == "responses" and r.opens_followups]


def _answers(store: Store, config: ProgramConfig, rules: list[LoopRule]) -> pa.Table:
    """Responses of known customers with what the rules' conditions read, in time order."""
    from cxray.features import Features

    r = store.table("responses")
    names = set().union(*(rule.condition.names() for rule in rules if rule.condition))
    own = [c for c in sorted(names | {"nps", "csat"}) if c in r.columns]
    features = sorted(names - set(r.columns) - set(CONDITION_NAMES["responses"]))
    t = r.filter(r.customer_id.notnull()).select(
        "response_id", "customer_id", "submitted_at", *[c for c in own if c != "customer_id"]
    )
    if features:
        f = Features(store.table, config).responses()
        f = f.select(_fk=f.response_id, **{n: f[n] for n in features})
        t = t.left_join(f, t.response_id == f._fk).drop("_fk")
    return t.order_by(["customer_id", "submitted_at", "response_id"]).to_pyarrow()


def _plan_answers(
    rows: list[dict[str, Any]],
    rules: list[LoopRule],
    seed: int,
    s: Strengths,
    csat_max: int,
    world_end: dt.datetime,
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Customer by customer in time order: which rules fire on each answer (after earlier
    contacts changed it), which follow-ups reach the customer in time, and so which later
    answers change. ``({response_id: new values}, {follow-up ids expected})``."""
    changed: dict[str, dict[str, Any]] = {}
    expected: set[str] = set()
    conditions = [(rule, rule.condition) for rule in rules]  # parsed once
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j]["customer_id"] == rows[i]["customer_id"]:
            j += 1
        mine = rows[i:j]
        lift: dict[int, set[str]] = {}
        for k, row in enumerate(mine):
            for kind in lift.pop(k, ()):
                old = row[kind]
                top = 10 if kind == "nps" else csat_max
                points = s.recovery_nps_points if kind == "nps" else s.recovery_csat_points
                row[kind] = min(top, old + points)
                if row[kind] != old:
                    changed.setdefault(row["response_id"], {})[kind] = row[kind]
            for rule, cond in conditions:
                if cond is not None and evaluate(cond, row) is not True:
                    continue
                fid = followup_id(alert_id(rule.name, f"responses:{row['response_id']}"))
                expected.add(fid)
                fate = _fate(seed, fid, row["submitted_at"], rule.sla_hours)
                if fate.kind != "in_time" or fate.contact_at > world_end:
                    continue
                for kind in ("nps", "csat"):  # the next answer of each kind after this one
                    nxt = next((m for m in range(k + 1, len(mine)) if mine[m][kind] is not None),
                               None)  # fmt: skip
                    if nxt is not None and mine[nxt]["submitted_at"] > fate.contact_at:
                        lift.setdefault(nxt, set()).add(kind)
        i = j
    return changed, expected


def _write_answers(
    store: Store,
    config: ProgramConfig,
    changed: dict[str, dict[str, Any]],
    seed: int,
    source: str,
) -> None:
    """The changed answers, as an import (validated, logged) of the whole rows."""
    from cxray.ingest import read_frame
    from cxray.schema import table_spec

    spec = table_spec("responses")
    r = store.table("responses")
    columns = [c for c in r.columns if c in spec or c in store.attributes("responses")]
    ids = ibis.memtable(pa.table({"_id": sorted(changed)}))
    rows = r.semi_join(ids, r.response_id == ids._id).select(*columns).to_pyarrow()
    lo, hi = bottom_box_values(config.scales.csat)
    out = []
    for row in rows.to_pylist():
        new = changed[row["response_id"]]
        detractor = row["nps"] is not None and row["nps"] <= 6
        low = row["csat"] is not None and lo <= row["csat"] <= hi
        row.update(new)
        recovered = (detractor and row["nps"] >= 7) or (low and not lo <= row["csat"] <= hi)
        if recovered and row.get("comment"):
            row["comment"] = _pick(seed, _RECOVERY_COMMENTS, row["response_id"])
            if "language" in row:
                row["language"] = "en"
        out.append(row)
    data = pa.Table.from_pylist(out, schema=rows.schema)
    batch = read_frame(
        "responses",
        data,
        name="demo loop: answers after follow-ups",
        config=config,
        con=store.duckdb_connection,
        source=source,
    )
    with batch:
        store.write(batch)


# ------------------------------------------------------------------ replaying the rules
def _period_end(label: str, period: str, zone: str) -> dt.datetime:
    """The end of a period (``2026-06``, or a day or a week's Monday), in UTC."""
    if period == "month":
        year, month = (int(x) for x in label.split("-")[:2])
        start = dt.datetime(year + month // 12, month % 12 + 1, 1)
    else:
        day = dt.datetime.fromisoformat(label)
        start = day + dt.timedelta(days=7 if period == "week" else 1)
    local = start.replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _at(trigger: Trigger, zone: str) -> dt.datetime | None:
    """When a trigger happened: its row's time, or the end of its period."""
    rule, d = trigger.rule, trigger.details
    if rule.on in ("responses", "cases", "mentions"):
        value = d.get({"responses": "submitted_at", "cases": "opened_at"}.get(rule.on, "posted_at"))
        return value if isinstance(value, dt.datetime) else None
    period = d.get("period")
    return None if period is None else _period_end(str(period), rule.period, zone)


# ------------------------------------------------------------------ the work
def _work(
    fu: dict[str, Any], seed: int, world_end: dt.datetime, sla_hours: float
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """One follow-up's simulated work: its new values, its events, and its fate."""
    fid, opened, team = fu["followup_id"], fu["opened_at"], fu["team"]
    fate = _fate(seed, fid, opened, sla_hours)
    values: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    owner = fu["owner"]

    def event(at: dt.datetime, actor: str, action: str, status: str, detail: dict) -> None:
        if at > world_end:
            return
        events.append(
            {
                "event_id": "EV-" + _digest(fid, "demo", str(len(events)))[:24],
                "followup_id": fid,
                "at": at,
                "actor": actor,
                "action": action,
                "status": status,
                "detail": json.dumps(detail, ensure_ascii=False),
            }
        )
        values["updated_at"] = at

    if owner is None and team in TEAMS:  # the lead hands it to an agent
        agent = _pick(seed, TEAMS[team], fid, "agent")
        at = _whole(opened + dt.timedelta(hours=0.1 + 2 * _unit(seed, fid, "assign")))
        event(at, LEADS[team], "assigned", "open", {"owner": agent})
        if at <= world_end:
            owner = values["owner"] = agent
    actor = owner or LEADS.get(team or "", "cx.lead")
    due = opened + dt.timedelta(hours=sla_hours)
    kind = fate.kind
    if kind == "late":
        missed = _pick(seed, _MISSED_NOTES, fid, "missed")
        event(_whole(opened + dt.timedelta(hours=0.6 * sla_hours)), actor, "note", "open",
              {"note": missed})  # fmt: skip
        if opened + dt.timedelta(hours=0.6 * sla_hours) <= world_end:
            values["note"] = missed
    if fate.contact_at is not None:
        if fate.contact_at > world_end:
            return values, events, "pending" if due > world_end else "never"
        note = _pick(seed, _CONTACT_NOTES, fid, "contact")
        event(fate.contact_at, actor, "contacted", "contacted", {"note": note})
        values.update(status="contacted", contacted_at=fate.contact_at, note=note)
        if fate.closed_at is not None and fate.closed_at <= world_end:
            outcome, closing = _pick(seed, _OUTCOMES, fid, "outcome")
            event(fate.closed_at, actor, "resolved", "resolved",
                  {"outcome": outcome, "note": closing})  # fmt: skip
            values.update(status="resolved", closed_at=fate.closed_at, outcome=outcome,
                          note=closing)  # fmt: skip
        return values, events, kind
    if kind == "closed_no_contact" and fate.closed_at is not None:
        if fate.closed_at > world_end:
            return values, events, "pending" if due > world_end else "never"
        note = _pick(seed, _NO_CONTACT_NOTES, fid, "unreachable")
        event(fate.closed_at, actor, "closed_no_contact", "closed_no_contact",
              {"outcome": "unreachable", "note": note})  # fmt: skip
        values.update(status="closed_no_contact", closed_at=fate.closed_at, outcome="unreachable",
                      note=note)  # fmt: skip
        return values, events, kind
    return values, events, "pending" if due > world_end else "never"


_UPDATABLE = ("status", "owner", "contacted_at", "closed_at", "outcome", "note", "updated_at")


def _write_work(
    store: Store, followups: list[dict[str, Any]], changes: dict[str, dict[str, Any]]
) -> None:
    """Set the follow-ups' new values (one statement on DuckDB)."""
    rows = [
        {"followup_id": fu["followup_id"], **{k: fu[k] for k in _UPDATABLE},
         **changes[fu["followup_id"]]}
        for fu in followups
        if changes.get(fu["followup_id"])
    ]  # fmt: skip
    if not rows:
        return
    types = store.backend.table(FOLLOWUPS).schema()
    schema = ibis.schema({"followup_id": "string", **{k: types[k] for k in _UPDATABLE}})
    data = pa.Table.from_pylist(rows, schema=schema.to_pyarrow())
    if store.is_duckdb:
        con = store.backend.con
        con.register("_cx_demo_work", data)
        try:
            sets = ", ".join(f'"{k}" = w."{k}"' for k in _UPDATABLE)
            con.execute(
                f'UPDATE "{FOLLOWUPS}" SET {sets} FROM _cx_demo_work w '
                f'WHERE "{FOLLOWUPS}".followup_id = w.followup_id'
            )
        finally:
            con.unregister("_cx_demo_work")
        return
    from cxray.loop._followups import _set

    for row in data.to_pylist():
        _set(store, row.pop("followup_id"), row)


def _mark_delivered(store: Store, rules: list[str]) -> int:
    """The demo's notifications went out when they were made (or when quiet hours ended)."""
    t = store.backend.table(OUTBOX)
    n = int(t.filter(t.rule.isin(rules)).count().to_pyarrow().as_py())
    names = ", ".join("'" + r.replace("'", "''") + "'" for r in rules)
    sql = (
        f"UPDATE {OUTBOX} SET status = 'delivered', attempts = 1, "
        f"delivered_at = coalesce(not_before, created_at) + INTERVAL '4 seconds' "
        f"WHERE status = 'pending' AND rule IN ({names})"
    )
    if store.is_duckdb:
        store.backend.con.execute(sql)
    else:
        from cxray.loop._delivery import _close

        _close(store.backend.raw_sql(sql))
    return n


def simulate(
    store: Store,
    config: ProgramConfig,
    *,
    lock: Any,
    seed: int = 42,
    source: str = "demo",
    strengths: Strengths = STRENGTHS,
) -> LoopDemoReport:
    """Run the demo's closed loop over the world in ``store`` (see the module docstring).

    ``config``'s ``[loop]`` is replaced by the demo's rules; ``lock`` is the store's write
    lock; ``source`` names the import of the changed answers in the import log.
    """
    import time

    from cxray.loop._engine import Loop

    started = time.perf_counter()
    config = config.model_copy(update={"loop": demo_loop_config()})
    report = LoopDemoReport()
    world_end = data_end(store.table)
    if world_end is None:
        return report
    rules = _response_rules(config.loop.rules)
    with lock:
        answers = _answers(store, config, rules).to_pylist()
        csat_max = config.scales.csat.max
        changed, expected = _plan_answers(answers, rules, seed, strengths, csat_max, world_end)
        if changed:
            _write_answers(store, config, changed, seed, source)
        report.answers_changed = len(changed)

        loop = Loop(store, config, lock=lock)
        triggers, report.errors = loop.evaluate(backfill=True)
        zone = config.program.timezone
        dated = []
        for t in triggers:
            at = _at(t, zone)
            dated.append(Trigger(t.rule, t.subject, t.customer_id, t.title, t.details,
                                 t.route_value, at))  # fmt: skip
        with loop._transaction():
            new = record(store, config, dated, compose=loop.compose)
        loop._since()  # the rules are seen: later runs look at later imports only
        report.alerts = len(new)

        f = store.backend.table(FOLLOWUPS)
        rule_names = [r.name for r in config.loop.rules]
        fus = f.filter(f.rule.isin(rule_names)).to_pyarrow().to_pylist()
        sla = {r.name: r.sla_hours for r in config.loop.rules}
        opened = {fu["followup_id"] for fu in fus if fu["subject"].startswith("responses:")}
        report.mismatched = len(opened ^ expected)
        changes, events = {}, []
        for fu in sorted(fus, key=lambda x: x["followup_id"]):
            values, evs, kind = _work(fu, seed, world_end, sla[fu["rule"]])
            changes[fu["followup_id"]] = values
            events += evs
            report.fates[kind] = report.fates.get(kind, 0) + 1
        with loop._transaction():
            _write_work(store, fus, changes)
            have = _existing(store, FOLLOWUP_EVENTS, "event_id", [e["event_id"] for e in events])
            fresh = [e for e in events if e["event_id"] not in have]  # a demo run again
            insert_rows(store, FOLLOWUP_EVENTS, FOLLOWUP_EVENTS_SCHEMA, fresh)
            report.messages = _mark_delivered(store, rule_names)
        report.followups = len(fus)
    report.seconds = time.perf_counter() - started
    return report
