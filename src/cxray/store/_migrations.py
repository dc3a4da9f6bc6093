"""Versioned schema migrations of the store.

Each migration is a function of the raw DuckDB connection (or Ibis backend)
that moves the store from version ``n - 1`` to ``n``; the applied version is
kept in ``_cx_meta``. A store written by a newer cxray is refused rather than
guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis

from cxray.schema import CONTRACT

__all__ = [
    "ALERTS",
    "ALERTS_SCHEMA",
    "API_KEYS",
    "API_KEYS_SCHEMA",
    "AUDIT",
    "AUDIT_SCHEMA",
    "FOLLOWUPS",
    "FOLLOWUPS_SCHEMA",
    "FOLLOWUP_EVENTS",
    "FOLLOWUP_EVENTS_SCHEMA",
    "IMPORT_LOG",
    "IMPORT_LOG_SCHEMA",
    "INVITATIONS",
    "INVITATIONS_SCHEMA",
    "LOOP_STATE",
    "LOOP_STATE_SCHEMA",
    "META",
    "MIGRATIONS",
    "OUTBOX",
    "OUTBOX_SCHEMA",
    "SUBMISSIONS",
    "SUBMISSIONS_SCHEMA",
    "SURVEYS",
    "SURVEYS_SCHEMA",
    "SYSTEM_COLUMNS",
    "Migration",
]

META = "_cx_meta"
IMPORT_LOG = "_cx_imports"
#: columns cxray adds to every canonical table: which import wrote the row
SYSTEM_COLUMNS = {"_import_id": "int64"}

IMPORT_LOG_SCHEMA = ibis.schema(
    {
        "import_id": "int64",
        "table_name": "string",
        "source": "string",
        "files": "string",  # JSON: [{name, source, rows, sha256, repeated}]
        "rows_in": "int64",
        "added": "int64",
        "updated": "int64",
        "unchanged": "int64",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "cxray_version": "string",
    }
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[ibis.BaseBackend], None]


def _v1(backend: ibis.BaseBackend) -> None:
    existing = set(backend.list_tables())
    schemas = {
        spec.name: ibis.schema({c.name: c.ibis_type for c in spec.columns} | SYSTEM_COLUMNS)
        for spec in CONTRACT.values()
    }
    schemas[IMPORT_LOG] = IMPORT_LOG_SCHEMA
    for name, schema in schemas.items():
        if name in existing:
            continue
        if (
            backend.name == "duckdb"
        ):  # plain DDL: an order of magnitude faster than the generic path
            to_sql = backend.compiler.type_mapper.to_string
            cols = ", ".join(f'"{c}" {to_sql(t)}' for c, t in schema.items())
            backend.con.execute(f'CREATE TABLE "{name}" ({cols})')
        else:
            backend.create_table(name, schema=schema)


#: API keys (cxray.access): only the SHA-256 of each key is stored, never the key
API_KEYS = "_cx_api_keys"
API_KEYS_SCHEMA = ibis.schema(
    {
        "key_id": "int64",
        "name": "string",
        "role": "string",  # admin | analyst | viewer
        "prefix": "string",  # the first characters of the key, to recognise it in lists
        "key_hash": "string",  # hex SHA-256 of the whole key
        "created_at": "timestamp",
        "revoked_at": "timestamp",  # NULL while the key is valid
        # (migration 8 adds "permissions": string, comma-separated, e.g. "pii"; NULL: none)
    }
)


def _create(backend: ibis.BaseBackend, name: str, schema: ibis.Schema, keys: str) -> None:
    """Create ``name`` unless it exists; on DuckDB with its keys (``PRIMARY KEY ("id")``,
    ...), which keep the writes that race on them honest; elsewhere plain."""
    if name in set(backend.list_tables()):
        return
    if backend.name == "duckdb":
        to_sql = backend.compiler.type_mapper.to_string
        cols = ", ".join(f'"{c}" {to_sql(t)}' for c, t in schema.items())
        backend.con.execute(f'CREATE TABLE "{name}" ({cols}, {keys})')
    else:
        backend.create_table(name, schema=schema)


def _v2(backend: ibis.BaseBackend) -> None:
    _create(backend, API_KEYS, API_KEYS_SCHEMA, 'PRIMARY KEY ("key_id"), UNIQUE ("key_hash")')


#: survey definitions created through the API (those in cxray.toml are not copied here)
SURVEYS = "_cx_surveys"
SURVEYS_SCHEMA = ibis.schema(
    {
        "name": "string",
        "definition": "string",  # JSON of cxray.config.SurveyDefinition
        "created_at": "timestamp",
        "updated_at": "timestamp",
    }
)
#: invitations to a survey: one per customer and send; the token's signature is not stored
INVITATIONS = "_cx_invitations"
INVITATIONS_SCHEMA = ibis.schema(
    {
        "invitation_id": "string",
        "survey": "string",
        "customer_id": "string",
        "email": "string",
        "context": "string",  # what it follows, e.g. "case:C123" or "order:O9"
        "language": "string",
        "created_at": "timestamp",
        "expires_at": "timestamp",
        "sent_at": "timestamp",  # NULL until the e-mail went out
        "responded_at": "timestamp",  # NULL until a response completed it
        "response_id": "string",
    }
)
#: every collected response's answers as submitted, to merge steps and recognise repeats
SUBMISSIONS = "_cx_submissions"
SUBMISSIONS_SCHEMA = ibis.schema(
    {
        "response_id": "string",
        "survey": "string",
        "invitation_id": "string",
        "customer_id": "string",
        "language": "string",
        "channel": "string",
        "answers": "string",  # JSON object: question id -> answer
        "completed": "boolean",
        "first_at": "timestamp",
        "last_at": "timestamp",
    }
)
_KEYS = {SURVEYS: "name", INVITATIONS: "invitation_id", SUBMISSIONS: "response_id"}


def _v3(backend: ibis.BaseBackend) -> None:
    for name, schema in ((SURVEYS, SURVEYS_SCHEMA), (INVITATIONS, INVITATIONS_SCHEMA),
                         (SUBMISSIONS, SUBMISSIONS_SCHEMA)):  # fmt: skip
        _create(backend, name, schema, f'PRIMARY KEY ("{_KEYS[name]}")')


#: the closed loop (cxray.loop): alerts, follow-ups and their history, the outbox, state
ALERTS = "_cx_alerts"
ALERTS_SCHEMA = ibis.schema(
    {
        "alert_id": "string",  # a digest of the rule and what fired it: one alert per trigger
        "rule": "string",
        "source": "string",  # responses | cases | mentions | kpi | emerging
        "subject": "string",  # what fired it: "responses:R1", "kpi:nps:region=West:2026-06"
        "customer_id": "string",
        "title": "string",
        "details": "string",  # JSON: the numbers and rows behind it
        "fired_at": "timestamp",
        "followup_id": "string",  # NULL when the rule only notifies
        "notified": "string",  # JSON: the notification targets, or why none went
    }
)
#: follow-ups: part of the customer's timeline, worked in the Inbox
FOLLOWUPS = "followups"
FOLLOWUPS_SCHEMA = ibis.schema(
    {
        "followup_id": "string",
        "alert_id": "string",
        "rule": "string",
        "customer_id": "string",
        "subject": "string",
        "title": "string",
        "status": "string",  # open | contacted | resolved | closed_no_contact
        "owner": "string",
        "team": "string",
        "opened_at": "timestamp",
        "due_at": "timestamp",
        "contacted_at": "timestamp",
        "closed_at": "timestamp",
        "outcome": "string",
        "note": "string",  # the latest note
        "updated_at": "timestamp",
    }
)
#: every change of a follow-up: who, when, what
FOLLOWUP_EVENTS = "_cx_followup_events"
FOLLOWUP_EVENTS_SCHEMA = ibis.schema(
    {
        "event_id": "string",
        "followup_id": "string",
        "at": "timestamp",
        "actor": "string",
        "action": "string",  # opened | assigned | contacted | note | resolved | closed_no_contact
        "status": "string",  # the status after it
        "detail": "string",
    }
)
#: notifications waiting to be delivered, written with what triggered them
OUTBOX = "_cx_outbox"
OUTBOX_SCHEMA = ibis.schema(
    {
        "message_id": "string",  # a digest of the alert and the target: the idempotency key
        "alert_id": "string",
        "rule": "string",
        "channel": "string",  # email | webhook | slack
        "target": "string",
        "subject": "string",
        "payload": "string",  # JSON
        "created_at": "timestamp",
        "not_before": "timestamp",  # the end of quiet hours, when created in them
        "attempts": "int64",
        "next_attempt_at": "timestamp",
        "delivered_at": "timestamp",
        "last_error": "string",
        "status": "string",  # pending | delivered | failed
    }
)
#: the loop's own state: when each rule was first seen, when checks last ran
LOOP_STATE = "_cx_loop_state"
LOOP_STATE_SCHEMA = ibis.schema({"key": "string", "value": "string", "updated_at": "timestamp"})
_LOOP_KEYS = {
    ALERTS: "alert_id",
    FOLLOWUPS: "followup_id",
    FOLLOWUP_EVENTS: "event_id",
    OUTBOX: "message_id",
    LOOP_STATE: "key",
}
_LOOP_SCHEMAS = {
    ALERTS: ALERTS_SCHEMA,
    FOLLOWUPS: FOLLOWUPS_SCHEMA,
    FOLLOWUP_EVENTS: FOLLOWUP_EVENTS_SCHEMA,
    OUTBOX: OUTBOX_SCHEMA,
    LOOP_STATE: LOOP_STATE_SCHEMA,
}


def _v4(backend: ibis.BaseBackend) -> None:
    for name, schema in _LOOP_SCHEMAS.items():
        _create(backend, name, schema, f'PRIMARY KEY ("{_LOOP_KEYS[name]}")')


#: fitted models (churn risk, lifetime value): parameters and evaluation as JSON, never
#: pickles; a fit is kept under its name, the newest ``created_at`` is the one in use
MODELS = "_cx_models"
MODELS_SCHEMA = ibis.schema(
    {
        "model_id": "string",
        "name": "string",  # what the model is for: "churn_risk", "clv"
        "kind": "string",  # the method: "logistic", "bgnbd+gamma_gamma", ...
        "created_at": "timestamp",
        "data_version": "string",  # the store's state it was fitted on (latest import id)
        "spec": "string",  # JSON: everything needed to use it (coefficients, scaler, ...)
        "evaluation": "string",  # JSON: how well it did (AUC, log-likelihood, holdout, ...)
    }
)


def _v5(backend: ibis.BaseBackend) -> None:
    _create(backend, MODELS, MODELS_SCHEMA, 'PRIMARY KEY ("model_id")')


#: the audit log (cxray.access): who read, exported, imported, changed or erased what, when,
#: from where; never a key, a token, a password or a row's values
AUDIT = "_cx_audit"
AUDIT_SCHEMA = ibis.schema(
    {
        "event_id": "string",  # random, unique: an event written twice is kept once
        "at": "timestamp",  # UTC
        "actor": "string",  # the key's name, "local:<os user>" or "anonymous"
        "key_id": "int64",  # NULL unless an API key (or a session made from one)
        "role": "string",  # viewer | analyst | admin | owner (the store's local user) | ""
        "address": "string",  # the client's IP address; "" for the command line
        "interface": "string",  # api | web | cli
        "action": "string",  # read | export | import | keys | secrets | erase | login | ...
        "target": "string",  # the route, table, survey or follow-up; customers as a digest
        "status": "string",  # ok | denied | failed | error
        "detail": "string",  # JSON: method, HTTP status, counts; no personal data
    }
)


def _v7(backend: ibis.BaseBackend) -> None:
    _create(backend, AUDIT, AUDIT_SCHEMA, 'PRIMARY KEY ("event_id")')


def _v8(backend: ibis.BaseBackend) -> None:
    """API keys carry permissions beyond their role (``pii``: sees personal data unmasked);
    NULL for the keys made before, which keep their role's permissions."""
    if "permissions" in backend.table(API_KEYS).schema():
        return
    sql = f'ALTER TABLE "{API_KEYS}" ADD COLUMN "permissions" '
    if backend.name == "duckdb":
        backend.con.execute(sql + "VARCHAR")
    else:
        backend.raw_sql(sql + "TEXT")


MIGRATIONS: list[Migration] = [
    Migration(1, "the six canonical tables of contract v1 and the import log", _v1),
    Migration(2, "API keys for access control (hashed)", _v2),
    Migration(3, "surveys: definitions, invitations and collected submissions", _v3),
    Migration(4, "the closed loop: alerts, follow-ups and their history, the outbox", _v4),
    Migration(5, "fitted models (churn risk, lifetime value) stored as JSON", _v5),
    Migration(7, "the audit log: who read, exported, imported, changed or erased what", _v7),
    Migration(8, "API keys carry permissions beyond their role (pii)", _v8),
]
