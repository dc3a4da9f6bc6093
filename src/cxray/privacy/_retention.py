"""Retention: raw free text older than ``[privacy] retain_days`` is purged.

What goes, for rows whose time (``submitted_at``, ``opened_at``, ``posted_at``) is older
than the cutoff of their table: ``responses.comment`` and every text column outside the
contract of ``responses`` (survey text answers, texts an import brought), ``cases.subject``
and ``description``, ``mentions.text`` (emptied to ``""``, the contract requires it) and
``author`` and ``url``; the texts of those responses in the survey ledger; the texts in
alerts fired before the cutoff (their details keep numbers and categories) and the payloads
of notifications created before it and already delivered or given up. What stays: every
score, time, amount, category and key, so every KPI over any period is unchanged.

Per-row sentiment and themes of purged texts are deleted with them: they were derived from
the text, and enrichment drops a score whose text is gone, so keeping them would last only
until the next ``cxray text enrich``. Sentiment and theme trends therefore reach back as far
as the text does.

Each run is one transaction and writes a record to ``_cx_retention`` (when, the cutoff per
table, rows changed per table); a run with nothing to purge writes one too, so the record
shows the schedule ran. ``cxray serve`` runs it on start and every
:data:`RETENTION_EVERY` seconds when ``retain_days`` is set.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import ibis

from cxray._background import Background
from cxray.config import ProgramConfig
from cxray.privacy._erase import (
    EXTRA_PERSONAL,
    FREE_TEXT,
    KEPT_TEXT_REPORTS,
    TEXT_CACHES,
    ensure_table,
    ident,
    insert_row,
    numbers_only,
    plain_details,
    transaction,
)
from cxray.schema import CONTRACT
from cxray.store import ALERTS, OUTBOX, SUBMISSIONS, SURVEYS, Store

__all__ = [
    "RETENTION",
    "RETENTION_EVERY",
    "RetentionReport",
    "RetentionTimer",
    "purge_old_text",
    "purges",
]

log = logging.getLogger("cxray.privacy")

RETENTION = "_cx_retention"
RETENTION_SCHEMA = ibis.schema(
    {
        "run_id": "string",
        "ran_at": "timestamp",  # UTC: the clock the cutoffs were computed from
        "actor": "string",  # "schedule" (cxray serve), "local" or an API key's name
        "cutoffs": "string",  # JSON: table -> ISO time; older text was purged
        "counts": "string",  # JSON: table -> rows changed
    }
)
#: seconds between two retention runs inside ``cxray serve``
RETENTION_EVERY = 6 * 3600.0
#: the tables whose rows carry raw text, and what of them goes when it is old
TEXT_TABLES = ("responses", "cases", "mentions")


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run purged (or, for a dry run, would purge)."""

    ran_at: dt.datetime
    cutoffs: dict[str, dt.datetime]
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    run_id: str | None = None

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ran_at": self.ran_at.isoformat(),
            "dry_run": self.dry_run,
            "cutoffs": {t: c.isoformat() for t, c in self.cutoffs.items()},
            "counts": self.counts,
            "rows": self.rows,
        }


def cutoffs(config: ProgramConfig, now: dt.datetime) -> dict[str, dt.datetime]:
    """Per table with raw text: the time before which its text goes (``retain_days``)."""
    out = {}
    for table in TEXT_TABLES:
        days = config.privacy.retention(table)
        if days is not None:
            out[table] = now - dt.timedelta(days=days)
    return out


def survey_text_columns(store: Store, config: ProgramConfig) -> set[str]:
    """The ``responses`` columns that hold the answers of survey text questions (the
    surveys of ``cxray.toml`` and those saved through the API)."""
    from cxray.config import SurveyDefinition

    defs = list(config.surveys.define.values())
    if SURVEYS in store.backend.list_tables():
        for row in store.backend.table(SURVEYS).select("definition").to_pyarrow().to_pylist():
            try:
                defs.append(SurveyDefinition.model_validate_json(row["definition"]))
            except ValueError:
                continue
    return {d.column_of(q) for d in defs for q in d.questions if q.type == "text"}


def _text_plan(
    store: Store, config: ProgramConfig, table: str, answers: set[str]
) -> dict[str, str | None]:
    """The raw-text columns retention empties in ``table``, each with its new value: the
    contract's free text and personal columns, the columns ``[privacy] personal`` names and,
    in ``responses``, survey text answers. Other attributes (categories) stay."""
    spec = CONTRACT[table]
    stored = store.backend.table(table).schema()
    wanted = {
        *FREE_TEXT[table],
        *(c.name for c in spec.columns if c.personal),
        *EXTRA_PERSONAL.get(table, ()),
        *config.privacy.personal_columns(table),
        *(answers if table == "responses" else ()),
    }
    out: dict[str, str | None] = {}
    for name, typ in stored.items():
        if name.lower() in {w.lower() for w in wanted} and typ.is_string():
            if name in (spec.key, "customer_id"):
                continue
            out[name] = "" if name in spec and spec.column(name).required else None
    return out


def purge_old_text(
    store: Store,
    config: ProgramConfig,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    actor: str = "local",
) -> RetentionReport:
    """Purge raw text older than ``[privacy] retain_days`` (the caller holds the write lock);
    ``now`` (naive UTC) is the clock, for tests and for replaying a schedule."""
    now = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    cuts = cutoffs(config, now)
    if not cuts:
        return RetentionReport(now, {}, {}, dry_run)
    existing = set(store.backend.list_tables())
    answers = survey_text_columns(store, config) if "responses" in cuts else set()
    plans = {t: _text_plan(store, config, t, answers) for t in cuts if t in existing}
    counts: dict[str, int] = {}

    def add(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    run_id = "RT-" + secrets.token_hex(8)
    with transaction(store, dry_run=dry_run) as tx:
        for table, cols in plans.items():
            if not cols:
                continue
            spec = CONTRACT[table]
            when = ident(spec.time_column)
            # rows with some text left: counted once, emptied once
            has_text = " OR ".join(f"({ident(c)} IS NOT NULL AND {ident(c)} <> '')" for c in cols)
            older = f"{when} < ? AND ({has_text})"
            for cache in TEXT_CACHES:
                if cache in existing and FREE_TEXT.get(table):
                    add(
                        cache,
                        tx.run(
                            f"DELETE FROM {ident(cache)} WHERE table_name = ? AND row_key IN "
                            f"(SELECT {ident(spec.key)} FROM {ident(table)} WHERE {older})",
                            [table, cuts[table]],
                        ),
                    )
            if table == "responses" and SUBMISSIONS in existing:
                ledger = tx.rows(
                    f"SELECT response_id, answers FROM {ident(SUBMISSIONS)} WHERE response_id IN "
                    f"(SELECT response_id FROM responses WHERE {older})",
                    [cuts[table]],
                )
                changed = 0
                for response_id, answers in ledger:
                    kept = numbers_only(answers)
                    if kept != answers:
                        tx.run(
                            f"UPDATE {ident(SUBMISSIONS)} SET answers = ? WHERE response_id = ?",
                            [kept, response_id],
                        )
                        changed += 1
                add(SUBMISSIONS, changed)
            sets = ", ".join(f"{ident(c)} = ?" for c in cols)
            add(
                table,
                tx.run(
                    f"UPDATE {ident(table)} SET {sets} WHERE {older}",
                    [*cols.values(), cuts[table]],
                ),
            )
            # the closed loop's records of this table's rows: texts of alerts fired before
            # the cutoff, payloads of notifications no longer waiting to be sent
            if ALERTS in existing:
                alerts = tx.rows(
                    f"SELECT alert_id, details FROM {ident(ALERTS)} WHERE source = ? "
                    "AND fired_at < ?",
                    [table, cuts[table]],
                )
                changed = 0
                for alert_id, details in alerts:
                    kept = plain_details(details)
                    if kept != details:
                        tx.run(
                            f"UPDATE {ident(ALERTS)} SET details = ? WHERE alert_id = ?",
                            [kept, alert_id],
                        )
                        changed += 1
                add(ALERTS, changed)
                if OUTBOX in existing:
                    add(
                        OUTBOX,
                        tx.run(
                            f"UPDATE {ident(OUTBOX)} SET payload = ? WHERE payload <> ? "
                            "AND status <> 'pending' AND created_at < ? AND alert_id IN "
                            f"(SELECT alert_id FROM {ident(ALERTS)} WHERE source = ?)",
                            ["{}", "{}", cuts[table], table],
                        ),
                    )
        # the Text page's kept reports quote texts: when any text went, they go too
        if KEPT_TEXT_REPORTS in existing and any(counts.get(t) for t in plans):
            add(KEPT_TEXT_REPORTS, tx.run(f"DELETE FROM {ident(KEPT_TEXT_REPORTS)}", []))
        ensure_table(store, tx, RETENTION, RETENTION_SCHEMA, "run_id")
        insert_row(
            tx,
            RETENTION,
            {
                "run_id": run_id,
                "ran_at": now,
                "actor": actor,
                "cutoffs": json.dumps({t: c.isoformat() for t, c in cuts.items()}),
                "counts": json.dumps(counts, sort_keys=True),
            },
        )
    return RetentionReport(now, cuts, counts, dry_run, None if dry_run else run_id)


def purges(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The retention runs recorded, newest first."""
    if RETENTION not in store.backend.list_tables():
        return []
    t = store.backend.table(RETENTION)
    rows = t.order_by([ibis.desc("ran_at"), ibis.desc("run_id")]).limit(limit)
    out = rows.to_pyarrow().to_pylist()
    for r in out:
        r["cutoffs"] = json.loads(r["cutoffs"] or "{}")
        r["counts"] = json.loads(r["counts"] or "{}")
        r["ran_at"] = r["ran_at"].isoformat() if r["ran_at"] else None
    return out


class RetentionTimer(Background):
    """The schedule inside ``cxray serve``: one daemon thread that purges old raw text at
    start and every ``every`` seconds (``privacy()`` gives the workspace's
    :class:`~cxray.privacy.Privacy`). A failure is logged and the next run tries again;
    stopping waits for a run in progress."""

    def __init__(self, privacy: Any, *, every: float = RETENTION_EVERY):
        super().__init__(
            "cxray-retention", every=every, log=log, failed="retention: the scheduled purge failed"
        )
        self.privacy = privacy
        #: runs done (``failures``: runs failed; for tests and health)
        self.runs = 0

    def tick(self) -> None:
        report = self.privacy().retention(actor="schedule")
        if report.rows:
            log.info("retention: %s rows of old raw text purged", report.rows)
        self.runs += 1
