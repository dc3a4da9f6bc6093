"""The alerts engine: which rules fire, on which rows or figures, and what that records.

Row rules (``on = "responses" | "cases" | "mentions"``) are evaluated in the store: the
rows that meet the condition, were imported since the rule was first seen (or any row,
with ``backfill``), and have not fired the rule yet. KPI rules read the scorecard of the
rule's period (the latest one; every one with ``backfill``); emerging-issue rules read the
case trends; churn-risk rules score the customers with the kept churn-risk model and fire
once per crossing of their threshold (:mod:`cxray.loop._churn_risk`). Whatever fires is
recorded by :func:`cxray.loop._records.record`: alert,
follow-up and outbox messages together, idempotently. :meth:`Loop.collected` evaluates
response rules on the rows a survey commit writes, inside that commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis

from cxray.config import CONDITION_NAMES, LoopRule, ProgramConfig, check_names
from cxray.exceptions import ConfigError, CXError, StoreError
from cxray.loop._conditions import derived_names, evaluate, to_filter, with_derived
from cxray.loop._messages import composer
from cxray.loop._records import (
    Trigger,
    prepare,
    record,
    server_transaction,
    utcnow,
    write,
)
from cxray.store import ALERTS, IMPORT_LOG, LOOP_STATE, Store
from cxray.store._migrations import LOOP_STATE_SCHEMA

__all__ = ["Loop", "RunReport"]

log = logging.getLogger("cxray.loop")

_KEY = {"responses": "response_id", "cases": "case_id", "mentions": "mention_id"}
_TIME = {"responses": "submitted_at", "cases": "opened_at", "mentions": "posted_at"}
#: columns an alert's details carry, per table (those present)
_DETAILS = {
    "responses": ("survey", "touchpoint", "channel", "nps", "csat", "ces", "comment"),
    "cases": ("channel", "category", "priority", "status", "contacts", "reopened", "subject"),
    "mentions": ("platform", "author", "rating", "text", "url"),
}
_TITLES = {
    "responses": "Response {key}",
    "cases": "Case {key}",
    "mentions": "Mention {key}",
}


@dataclass
class RunReport:
    """What one run of the rules found and recorded."""

    rules: int = 0
    fired: dict[str, int] = field(default_factory=dict)
    new_alerts: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    #: what a rule could not look at, though nothing failed (a churn-risk rule with no
    #: customer active to score)
    notes: dict[str, str] = field(default_factory=dict)
    delivered: int = 0
    failed: int = 0
    retrying: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _kind(typ: Any) -> str:
    if typ.is_boolean():
        return "flag"
    if typ.is_numeric():
        return "number"
    return "text"


class Loop:
    """The closed loop over one store: rules, alerts, follow-ups, notifications.

    ``lock`` is the store's write lock (the server's); everything that writes holds it.
    """

    def __init__(self, store: Store, config: ProgramConfig, *, lock: Any = None):
        import threading

        self.store = store
        self.config = config
        self.lock = lock or threading.RLock()
        self.compose = composer(config)
        self._checked = False
        self._memory_rules: dict[str, bool] = {}
        self._started: set[str] | None = None  # state keys of rules started (survey commits)
        self._local = threading.local()
        from cxray.loop._followups import Followups

        #: the follow-ups: list, show, assign, contact, note, close
        self.followups = Followups(store, self.lock)

    @property
    def rs(self) -> Store:
        """The store to read from in this thread: on DuckDB a cursor of its own (reads
        never share the connection an import or a survey commit writes through)."""
        if not self.store.is_duckdb:
            return self.store
        local = self._local
        store = getattr(local, "store", None)
        if store is None:
            import copy

            cursor = self.store.duckdb_connection.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            store = copy.copy(self.store)
            store.backend = ibis.duckdb.from_connection(cursor)
            local.store = store
        return store

    # ------------------------------------------------------------ rules
    @property
    def rules(self) -> list[LoopRule]:
        return [r for r in self.config.loop.rules if r.enabled]

    def check(self) -> None:
        """Every rule against the store: columns exist and are compared with values of
        their type; KPIs exist. ``ConfigError`` naming the rule otherwise."""
        if self._checked:
            return
        from cxray.metrics import get_kpi

        path = f"{self.config.path}: " if self.config.path else ""
        features: list[str] | None = None  # the feature catalogue costs queries: once at most
        for i, rule in enumerate(self.config.loop.rules):
            field = "where"
            try:
                if rule.condition is not None:
                    t = self.rs.table(rule.on)
                    known = {c: _kind(typ) for c, typ in t.schema().items() if c[0] != "_"}
                    known |= {k: v for k, v in CONDITION_NAMES[rule.on].items() if k not in known}
                    if rule.on == "responses":
                        known |= {k: v for k, v in self._survey_columns().items() if k not in known}
                        if rule.condition.names() - known.keys():  # features, only when named
                            if features is None:
                                features = self._feature_names()
                            known |= {k: "number" for k in features if k not in known}
                    check_names(rule.condition, rule.on, known)
                if rule.route_by:
                    field = "route_by"
                    self._check_route(rule)
                if rule.on == "kpi":
                    field = "metric"
                    get_kpi(str(rule.metric), self.config.journeys, self.config.kpis)
                    field = "when"
                    th = self.config.threshold(str(rule.metric))
                    if rule.when == "action" and th.action is None:
                        where = (
                            f"[kpis.{rule.metric}] action"
                            if rule.metric in self.config.kpis
                            else "[targets]"
                        )
                        raise ValueError(
                            f"{rule.metric} has no action threshold: set one in {where} "
                            f'or use when = "significant_change"'
                        )
            except (ValueError, CXError) as exc:
                raise ConfigError(
                    f"{path}[loop.rules.{i}.{field}] rule {rule.name!r}: {exc}"
                ) from exc
        self._checked = True

    def _check_route(self, rule: LoopRule) -> None:
        """``route_by`` names what a trigger carries: a column of the row or its customer,
        the KPI rule's ``by``, an emerging issue's ``category``."""
        name = rule.route_by
        if rule.on == "kpi":
            if name != rule.by:
                raise ValueError(
                    f"a KPI rule routes by the slices of its by: route_by = {rule.by!r}"
                    if rule.by
                    else f"route_by {name!r} needs by = {name!r} (a KPI rule routes by its slices)"
                )
            return
        if rule.on == "emerging":
            if name != "category":
                raise ValueError('an emerging-issue rule routes by route_by = "category"')
            return
        if rule.on == "churn_risk":
            if name not in self.rs.table("customers").columns:
                raise ValueError(f"{name!r} is no column of customers")
            return
        columns = set(self.rs.table(rule.on).columns) | set(self.rs.table("customers").columns)
        if rule.on == "responses":
            columns |= set(self._survey_columns())
        if name not in columns:
            raise ValueError(f"{name!r} is no column of {rule.on} nor of customers")

    def _survey_columns(self) -> dict[str, str]:
        """The ``responses`` columns the config's surveys fill (name -> kind): a rule may
        name a survey question before its first answer adds the column."""
        out: dict[str, str] = {}
        for survey in self.config.surveys.define.values():
            for q in survey.questions:
                out[survey.column_of(q)] = (
                    "number" if q.type in ("nps", "csat", "ces", "rating") else "text"
                )
        return out

    def _feature_names(self) -> list[str]:
        """Features of the responses a condition may use (``late_deliveries > 0``)."""
        from cxray.features import Features

        return [f.name for f in Features(self.rs.table, self.config).catalogue("responses")]

    def _feature_columns(self, rule: LoopRule) -> list[str]:
        if rule.on != "responses" or rule.condition is None:
            return []
        columns = set(self.rs.table("responses").columns)
        wanted = rule.condition.names() - columns - set(CONDITION_NAMES["responses"])
        return sorted(wanted)

    # ------------------------------------------------------------ state
    def _state(self) -> dict[str, str]:
        t = self.rs.backend.table(LOOP_STATE)
        return {r["key"]: r["value"] for r in t.to_pyarrow().to_pylist()}

    def _set_state(self, values: dict[str, str]) -> None:
        from cxray.loop._records import insert_rows

        if not values:
            return
        now = utcnow()
        b = self.store.backend
        for key in values:
            if self.store.is_duckdb:
                b.con.execute(f'DELETE FROM "{LOOP_STATE}" WHERE "key" = ?', [key])
            else:
                from cxray.loop._delivery import _close

                _close(
                    b.raw_sql(f"DELETE FROM {LOOP_STATE} WHERE key = '{key.replace(chr(39), '')}'")
                )
        insert_rows(
            self.store,
            LOOP_STATE,
            LOOP_STATE_SCHEMA,
            [{"key": k, "value": v, "updated_at": now} for k, v in values.items()],
        )

    def _since(self, first: int | None = None) -> dict[str, int]:
        """Each row rule's first import: rows of earlier imports do not fire it (unless
        backfilled). A rule seen for the first time starts with import ``first`` (the
        import whose rows are being checked) or else after the latest import."""
        state = self._state()
        log = self.rs.backend.table(IMPORT_LOG)
        latest = int(log.import_id.max().to_pyarrow().as_py() or 0)
        out, new = {}, {}
        for r in self.rules:
            key = f"rule:{r.name}:since_import"
            if key in state:
                out[r.name] = int(state[key])
            else:
                out[r.name] = new[key] = first if first is not None else latest + 1
        if new:
            with self.lock:  # another thread (a survey commit) may have started it meanwhile
                t = self.store.backend.table(LOOP_STATE)
                now = {r["key"]: r["value"] for r in t.to_pyarrow().to_pylist()}
                for key in [k for k in new if k in now]:
                    out[key.split(":")[1]] = int(now[key])
                    del new[key]
                with server_transaction(self.store):
                    self._set_state({k: str(v) for k, v in new.items()})
        return out

    def _start_collected(self, rows: list[dict[str, Any]]) -> None:
        """Inside a survey commit: response rules not started yet start with the import
        its rows belong to, so a run after it sees them (a rule first seen by a run
        would start after that import)."""
        if self._started is None:
            t = self.store.backend.table(LOOP_STATE)
            self._started = {r["key"] for r in t.select("key").to_pyarrow().to_pylist()}
        keys = [f"rule:{r.name}:since_import" for r in self.rules if r.on == "responses"]
        new = [k for k in keys if k not in self._started]
        ids = [r["_import_id"] for r in rows if r.get("_import_id") is not None]
        if new and ids:
            with server_transaction(self.store):
                self._set_state({k: str(min(ids)) for k in new})
            self._started |= set(new)

    # ------------------------------------------------------------ row rules
    def _row_triggers(self, rule: LoopRule, since: int | None) -> list[Trigger]:
        table = rule.on
        key = _KEY[table]
        t = self.rs.table(table)
        cond = rule.condition
        names = derived_names(cond)
        if names:
            t = with_derived(t, table, names, self.rs.table)
        features = self._feature_columns(rule)
        if features:  # what happened before each response (cxray.features)
            from cxray.features import Features

            f = Features(self.rs.table, self.config).responses()
            f = f.select(_fk=f.response_id, **{n: f[n] for n in features})
            t = t.left_join(f, t[key] == f._fk).drop("_fk")
        if cond is not None:
            t = t.filter(to_filter(t, cond))
        if since is not None:
            t = t.filter(t._import_id >= since)
        subject = ibis.literal(f"{table}:") + t[key].cast("string")
        t = t.mutate(_subject=subject)
        alerts = self.rs.backend.table(ALERTS)
        done = alerts.filter(alerts.rule == rule.name).select(_done=alerts.subject)
        t = t.anti_join(done, t._subject == done._done)
        cols = [c for c in _DETAILS[table] if c in t.columns]
        route = rule.route_by
        pick = [key, "customer_id", _TIME[table], "_subject", *cols]
        if route and route in t.columns and route not in pick:
            pick.append(route)
        rows = t.select(*pick)
        if route and route not in rows.columns:
            c = self.rs.table("customers")
            if route in c.columns:
                c = c.select(_rc=c.customer_id, **{route: c[route].cast("string")})
                rows = rows.left_join(c, rows.customer_id == c._rc).drop("_rc")
        return [self._row_trigger(rule, r) for r in rows.to_pyarrow().to_pylist()]

    def _row_trigger(self, rule: LoopRule, row: dict[str, Any]) -> Trigger:
        from cxray.text import redactor

        table = rule.on
        key = row.get(_KEY[table])
        hide = redactor(self.config)
        details = {
            k: hide(v) if isinstance(v, str) and k in ("comment", "subject", "text") else v
            for k, v in row.items()
            if k not in ("_subject",) and v is not None
        }
        title = rule.title or f"{rule.name}: " + _TITLES[table].format(key=key)
        route = row.get(rule.route_by) if rule.route_by else None
        return Trigger(
            rule,
            str(row["_subject"]),
            row.get("customer_id"),
            title,
            details,
            None if route is None else str(route),
        )

    # ------------------------------------------------------------ KPI rules
    def _kpi_triggers(self, rule: LoopRule, backfill: bool) -> list[Trigger]:
        from cxray.metrics import scorecard

        card = scorecard(
            self.rs.table,
            self.config,
            by=[rule.by] if rule.by else [],
            period=rule.period,
            metrics=[str(rule.metric)],
        )
        records = card.records()
        if not records:
            return []
        latest = max(r["period"] for r in records if r.get("period") is not None)
        th = self.config.threshold(str(rule.metric))
        out = []
        for r in records:
            if r.get("period") is None or (not backfill and r["period"] != latest):
                continue
            fired = (
                r.get("status") == "action" if rule.when == "action" else bool(r.get("significant"))
            )
            if not fired or r.get("suppressed"):
                continue
            slice_ = f"{rule.by}={r.get(rule.by)}" if rule.by else "all"
            what = (
                f"worse than its action threshold ({th.action:g})"
                if rule.when == "action"
                else f"changed significantly ({r.get('change'):+.1f}, q={r.get('q_value'):.3g})"
            )
            title = rule.title or (
                f"{r['title']} {r['estimate']:.1f} in {r['period']}"
                + (f" for {slice_}" if rule.by else "")
                + f": {what}"
            )
            details = {
                k: r.get(k)
                for k in (
                    "metric",
                    "period",
                    "estimate",
                    "ci_low",
                    "ci_high",
                    "n",
                    "status",
                    "change",
                    "p_value",
                    "q_value",
                )
                if r.get(k) is not None
            }
            details.update({"target": th.target, "action_threshold": th.action})
            if rule.by:
                details[rule.by] = r.get(rule.by)
            out.append(
                Trigger(
                    rule,
                    f"kpi:{rule.metric}:{slice_}:{r['period']}",
                    None,
                    title,
                    details,
                    None if not rule.by else str(r.get(rule.by)),
                )
            )
        return out

    # ------------------------------------------------------------ emerging issues
    def _emerging_triggers(self, rule: LoopRule, backfill: bool) -> list[Trigger]:
        from cxray.text import case_trends

        report = case_trends(self.rs, self.config, period=rule.period)
        issues = report.emerging
        if not issues:
            return []
        latest = max(report.periods) if report.periods else None
        out = []
        for e in issues:
            if not backfill and e.period != latest:
                continue
            title = rule.title or (
                f"Emerging issue: {e.category} in {e.period} ({e.cases} cases, "
                f"{e.ratio:.1f}x its usual share)"
            )
            details = {
                "category": e.category,
                "period": e.period,
                "cases": e.cases,
                "share": e.share,
                "baseline_share": e.baseline_share,
                "ratio": e.ratio,
                "q_value": e.q_value,
                "examples": [x.get("case_id") for x in e.examples if isinstance(x, dict)],
            }
            out.append(
                Trigger(rule, f"emerging:{e.category}:{e.period}", None, title, details, e.category)
            )
        return out

    # ------------------------------------------------------------ churn-risk rules
    def _churn_risk_triggers(self, rule: LoopRule, state: dict[str, str]) -> list[Trigger]:
        """The customers newly at or above the rule's risk and value (once per crossing);
        the customers it now holds as above wait in ``self._local.pending`` for :meth:`run`
        to write with the alerts."""
        from cxray.loop._churn_risk import churn_risk_triggers, dumps, loads, state_key

        key = state_key(rule)
        triggers, above, note = churn_risk_triggers(
            rule, self.rs, self.config, self.lock, loads(state.get(key)),
            self._customer_attribute,
        )  # fmt: skip
        pending = getattr(self._local, "pending", None)
        if pending is not None:
            pending[key] = dumps(above)
        notes = getattr(self._local, "notes", None)
        if note and notes is not None:
            notes[rule.name] = f"churn_risk rule {rule.name}: {note}"
        return triggers

    def _customer_attribute(self, name: str, ids: list[str]) -> dict[str, Any]:
        c = self.rs.table("customers")
        if name not in c.columns or not ids:
            return {}
        rows = c.filter(c.customer_id.isin(ids)).select("customer_id", name).to_pyarrow()
        return {r["customer_id"]: r[name] for r in rows.to_pylist()}

    # ------------------------------------------------------------ running
    def evaluate(
        self,
        *,
        backfill: bool = False,
        sources: Sequence[str] | None = None,
        first_import: int | None = None,
    ) -> tuple[list[Trigger], dict[str, str]]:
        """Every enabled rule's new triggers (nothing written) and the errors of rules that
        could not be evaluated (such as a theme rule before any text enrichment)."""
        self.check()
        since = {} if backfill else self._since(first_import)
        triggers: list[Trigger] = []
        errors: dict[str, str] = {}
        churn = [r for r in self.rules if r.on == "churn_risk"]
        state = self._state() if churn and (sources is None or "churn_risk" in sources) else {}
        for rule in self.rules:
            if sources is not None and rule.on not in sources:
                continue
            try:
                if rule.on in _KEY:
                    triggers += self._row_triggers(rule, since.get(rule.name))
                elif rule.on == "kpi":
                    triggers += self._kpi_triggers(rule, backfill)
                elif rule.on == "churn_risk":
                    triggers += self._churn_risk_triggers(rule, state)
                else:
                    triggers += self._emerging_triggers(rule, backfill)
            except CXError as exc:
                kind = "churn_risk rule " + rule.name + ": " if rule.on == "churn_risk" else ""
                errors[rule.name] = kind + str(exc)
            except Exception as exc:  # a rule never stops the others (nor an import)
                log.exception("loop: rule %s could not be evaluated", rule.name)
                errors[rule.name] = f"{type(exc).__name__}: {exc}"
        return triggers, errors

    def run(
        self,
        *,
        backfill: bool = False,
        sources: Sequence[str] | None = None,
        deliver: bool = True,
        now: dt.datetime | None = None,
        first_import: int | None = None,
    ) -> RunReport:
        """Evaluate the rules, record what fired (one transaction), then deliver what waits.
        ``first_import``: the import just written (a rule seen for the first time fires on
        its rows)."""
        report = RunReport(rules=len(self.rules))
        self._local.pending = pending = {}  # state the rules keep (churn risk: who is above)
        self._local.notes = report.notes
        try:
            triggers, report.errors = self.evaluate(
                backfill=backfill, sources=sources, first_import=first_import
            )
        finally:
            self._local.pending = self._local.notes = None
        for t in triggers:
            report.fired[t.rule.name] = report.fired.get(t.rule.name, 0) + 1
        try:
            with self.lock, self._transaction():
                report.new_alerts = len(record(self.store, self.config, triggers, now=now,
                                               compose=self.compose))  # fmt: skip
                self._set_state({**pending, "last_run": (now or utcnow()).isoformat()})
        except CXError:
            raise
        except Exception as exc:  # nothing was recorded; the next run tries again
            raise StoreError(f"the loop could not record its alerts: {exc}") from exc
        if deliver:
            from cxray.loop._delivery import deliver as send

            d = send(self.store, self.config, lock=self.lock, now=now)
            report.delivered, report.failed, report.retrying = d.delivered, d.failed, d.retrying
        return report

    def collected(self, rows: Iterable[dict[str, Any]], *, now: dt.datetime | None = None) -> int:
        """Response rules on rows a survey commit is writing (call inside that commit): the
        alerts, follow-ups and messages are written in the same transaction. Rules whose
        condition needs derived names (sentiment, theme) wait for :meth:`run`."""
        rows = list(rows)
        self._start_collected(rows)
        rules = [r for r in self.rules if r.on == "responses" and self._in_memory(r)]
        if not rules:
            return 0
        try:
            attrs = self._customer_attributes(rules, rows)
            triggers = []
            for row in rows:
                for rule in rules:
                    if rule.condition is not None and evaluate(rule.condition, row) is not True:
                        continue
                    data = {
                        k: row.get(k)
                        for k in _DETAILS["responses"] + ("response_id", "customer_id")
                    }
                    data["_subject"] = f"responses:{row['response_id']}"
                    if rule.route_by:
                        data[rule.route_by] = row.get(
                            rule.route_by, attrs.get((rule.route_by, row.get("customer_id")))
                        )
                    triggers.append(self._row_trigger(rule, data))
            records = prepare(self.store, self.config, triggers, now=now, compose=self.compose)
        except Exception:  # never fail a survey commit for a rule: the next run catches up
            log.exception("loop: response rules could not be evaluated on collected rows")
            return 0
        with server_transaction(self.store):  # on DuckDB: inside the commit already
            return len(write(self.store, records))

    def _in_memory(self, rule: LoopRule) -> bool:
        """Whether a response rule can be evaluated on the rows a survey commit writes:
        not when its condition needs what only the store computes (sentiment, themes,
        features of what happened before); the next run evaluates those. A name that is
        a column now stays one, so the answer is kept."""
        known = self._memory_rules.get(rule.name)
        if known is None:
            names = set() if rule.condition is None else rule.condition.names()
            columns = set(self.store.columns("responses")) | set(CONDITION_NAMES["responses"])
            known = not derived_names(rule.condition) and names <= columns
            self._memory_rules[rule.name] = known
        return known

    def _customer_attributes(
        self, rules: list[LoopRule], rows: list[dict[str, Any]]
    ) -> dict[tuple[str, Any], Any]:
        """``(attribute, customer) -> value`` for the rules' ``route_by`` attributes that the
        collected rows do not carry themselves."""
        names = {r.route_by for r in rules if r.route_by}
        ids = sorted({r["customer_id"] for r in rows if r.get("customer_id")})
        if not names or not ids:  # nothing to look up: no query on every survey commit
            return {}
        c = self.store.table("customers")
        names = {n for n in names if n in c.columns and not any(n in r for r in rows)}
        if not names or not ids:
            return {}
        found = (
            c.filter(c.customer_id.isin(ids))
            .select("customer_id", *sorted(names))
            .to_pyarrow()
            .to_pylist()
        )
        return {(n, f["customer_id"]): f[n] for f in found for n in names}

    def _transaction(self) -> Any:
        import contextlib

        @contextlib.contextmanager
        def tx():  # type: ignore[no-untyped-def]
            if not self.store.is_duckdb:
                with server_transaction(self.store):
                    yield
                return
            con = self.store.backend.con
            con.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

        return tx()

    # ------------------------------------------------------------ measuring
    def measure(
        self,
        start: Any = None,
        end: Any = None,
        rule: str | None = None,
        *,
        now: dt.datetime | None = None,
    ) -> Any:
        """Follow-up rate, time to first contact, SLA met and recovery of the follow-ups
        opened from ``start`` to ``end`` (inclusive dates): a
        :class:`cxray.loop.LoopMeasures` (``docs/loop.md``)."""
        from cxray.loop._measure import measure

        return measure(self.rs.table, self.config, start=start, end=end, rule=rule, now=now)

    # ------------------------------------------------------------ reading
    def alerts(
        self, *, rule: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Alerts, newest first, with their details parsed."""
        t = self.store.backend.table(ALERTS)
        if rule:
            t = t.filter(t.rule == rule)
        rows = (
            t.order_by([ibis.desc("fired_at"), "alert_id"])
            .limit(limit, offset=offset)
            .to_pyarrow()
            .to_pylist()
        )
        for r in rows:
            r["details"] = json.loads(r["details"] or "{}")
            r["notified"] = json.loads(r["notified"] or "{}")
        return rows
