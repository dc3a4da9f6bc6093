"""Erasure of one customer (GDPR art. 17), in every table, in one transaction.

What happens to each table (``docs/privacy.md``, "Erasure and retention"): the customer's
rows are *anonymised*, not deleted, so that every statistic the team relies on (NPS, CSAT,
churn, order value, loop measures) keeps counting what happened, while nothing left can be
tied to the person:

* ``customer_id`` becomes one random pseudonym (``erased-`` and 16 hex digits) in every
  table, the same for all of this customer's rows (so per-customer counts stay right) and
  recorded nowhere;
* personal columns (e-mail, name, mention author and url, the columns ``[privacy]
  personal`` names) and free text (comments, case subjects and descriptions, mention texts,
  churn reasons) are emptied, and so is every text column outside the contract (attributes
  an import brought, survey answers) but those named ``*_id`` (links to other rows, such as
  an event's ``order_id``): cxray cannot vouch for what a text holds;
* scores, times, amounts, categories and row keys stay;
* the survey ledger keeps the numbers of each answer, drops its texts; invitations lose
  the e-mail address; alerts keep numbers and categories of their details; follow-up notes
  and the history's details are emptied; notifications not yet sent are cancelled, and
  every notification's text is replaced;
* per-row sentiment and themes of the emptied texts are deleted (they were derived from
  the text, and enrichment drops them once a text is gone);
* fitted models whose JSON names the customer get the pseudonym instead; any other table
  with a ``customer_id`` column (the audit log, tables of later versions) gets it too;
* archived executive digests that name the customer (``_cx_reports_archive.customers``;
  one kept before cxray recorded that is taken to name anyone) lose their file in the same
  transaction; :class:`Privacy` then has them made again from what remains (``ws.reports``)
  or, without a way to make them, deletes them.

The erasure record (``_cx_erasures``) says when, who, why and how many rows per table, and
holds a keyed digest of the customer id (HMAC-SHA256 with the store's ``erasures`` signing
key, kept outside the store like the invitation keys): it lets a second erasure of the same
id answer "already erased" rather than "unknown", and an admin confirm to the person that
it was done, yet reveals nothing to whoever reads the store without the key.

DuckDB writes changed data to new blocks and leaves the old bytes in the file's unused space
until they are overwritten; :func:`compact` rewrites the file so that nothing erased is
left in it (the command line does so after an erasure when it holds the file itself).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis

from cxray.config import ProgramConfig
from cxray.exceptions import NotFoundError, QueryError, StoreError
from cxray.schema import CONTRACT
from cxray.store import (
    ALERTS,
    FOLLOWUP_EVENTS,
    FOLLOWUPS,
    INVITATIONS,
    MODELS,
    OUTBOX,
    SUBMISSIONS,
    SURVEYS,
    SYSTEM_COLUMNS,
    Store,
)

__all__ = [
    "ERASURES",
    "ErasureReport",
    "compact",
    "erase_customer",
    "erasures",
    "transaction",
]

ERASURES = "_cx_erasures"
ERASURES_SCHEMA = ibis.schema(
    {
        "erasure_id": "string",
        "erased_at": "timestamp",  # UTC
        "actor": "string",  # "local" (the command line, the library) or the API key's name
        "role": "string",  # the caller's role: admin, or "owner" for the store's local user
        "subject": "string",  # hex HMAC-SHA256 of the customer id with the erasures key
        "key_id": "string",  # the id of the key the digest was made with
        "reason": "string",
        "counts": "string",  # JSON: table -> rows changed
    }
)
#: the derived per-row text tables (``cxray.text``): (table_name, row_key)
TEXT_CACHES = ("text_sentiment", "text_themes")
#: reports of the Text page kept in the store (cxray.text._reports.KEPT_TABLE)
KEPT_TEXT_REPORTS = "_cx_text_reports"
#: the executive digests kept (cxray.reports.ARCHIVE), each with the customers it names
REPORTS_ARCHIVE = "_cx_reports_archive"
#: free-text columns of the contract (``free_text=True``): emptied by erasure and retention
FREE_TEXT = {
    name: tuple(c.name for c in spec.columns if getattr(c, "free_text", False))
    for name, spec in CONTRACT.items()
}
#: personal columns also when the contract does not mark them (a public post's address)
EXTRA_PERSONAL = {"mentions": ("url",)}
#: keys of an alert's details that are categories, kept when its texts go
KEPT_DETAILS = ("survey", "touchpoint", "channel", "platform", "category", "priority", "status")
PSEUDONYM_PREFIX = "erased-"
MAX_REASON = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- SQL in one transaction


def ident(name: str) -> str:
    """A quoted SQL identifier (DuckDB and PostgreSQL spell it the same)."""
    return '"' + name.replace('"', '""') + '"'


class _Rollback(Exception):
    """Ends a dry run: everything the transaction did is undone."""


class Tx:
    """Plain, parameterised SQL (``?`` placeholders) inside one open transaction on the
    store's own connection: standard ``UPDATE``/``DELETE``/``replace``/``strpos`` that DuckDB
    and PostgreSQL both run. Values always travel as parameters."""

    def __init__(self, store: Store):
        self.duckdb = store.is_duckdb
        self.con = store.backend.con

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed (0 for DDL)."""
        if self.duckdb:
            cur = self.con.execute(sql, list(params))
            if sql.lstrip().upper().startswith(("UPDATE", "DELETE", "INSERT")):
                row = cur.fetchone()
                return int(row[0]) if row else 0
            return 0
        with self.con.cursor() as cur:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
            return max(int(cur.rowcount or 0), 0)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.duckdb:
            return self.con.execute(sql, list(params)).fetchall()
        with self.con.cursor() as cur:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
            return list(cur.fetchall())


@contextlib.contextmanager
def transaction(store: Store, *, dry_run: bool = False) -> Iterator[Tx]:
    """A transaction on the store's connection: committed when the block ends, rolled back
    when it raises, and always rolled back for a ``dry_run``."""
    if store.read_only:
        raise StoreError(f"{store.url} is open read-only")
    if store.remote is not None:
        raise StoreError(
            f"{store.url} is held by the cxray serve at {store.remote}: run the command there "
            "(`cxray erase` and `cxray privacy` are sent to it) or use its API"
        )
    con = getattr(store.backend, "con", None)
    if con is None or not (store.is_duckdb or hasattr(con, "transaction")):
        raise StoreError(f"cxray cannot change rows of a {store.backend.name} store in place")
    tx = Tx(store)
    if store.is_duckdb:
        con.execute("BEGIN TRANSACTION")
        try:
            yield tx
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("ROLLBACK" if dry_run else "COMMIT")
        return
    try:
        with con.transaction():
            yield tx
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass


def ensure_table(store: Store, tx: Tx, name: str, schema: ibis.Schema, key: str) -> None:
    """Create one of this package's own tables inside the transaction, unless it exists."""
    if name in store.backend.list_tables():
        return
    to_sql = store.backend.compiler.type_mapper.to_string
    cols = ", ".join(f"{ident(c)} {to_sql(t)}" for c, t in schema.items())
    tx.run(f"CREATE TABLE IF NOT EXISTS {ident(name)} ({cols}, PRIMARY KEY ({ident(key)}))")


def insert_row(tx: Tx, table: str, row: dict[str, Any]) -> None:
    cols = ", ".join(ident(c) for c in row)
    tx.run(f"INSERT INTO {ident(table)} ({cols}) VALUES ({', '.join('?' * len(row))})",
           list(row.values()))  # fmt: skip


# ---------------------------------------------------------------- what to empty


def text_columns(store: Store, config: ProgramConfig, table: str) -> dict[str, str | None]:
    """The columns of a canonical table erasure empties, each with the value it gets
    (``None``: NULL; ``""`` for the contract's required text, ``mentions.text``)."""
    spec = CONTRACT[table]
    stored = store.backend.table(table).schema()
    out: dict[str, str | None] = {}
    for col in spec.columns:
        if (
            col.personal
            or col.name in FREE_TEXT[table]
            or col.name in EXTRA_PERSONAL.get(table, ())
        ):
            out[col.name] = "" if col.required else None
    personal = config.privacy.personal_columns(table)
    for name, typ in stored.items():
        if name in SYSTEM_COLUMNS or name in spec:
            if name.lower() in personal and name != spec.key and name != "customer_id":
                out.setdefault(name, None)
            continue
        if name.lower() in personal or (typ.is_string() and not name.lower().endswith("_id")):
            out[name] = None  # attributes: cxray cannot vouch for what a text holds
    return out


def _kept_json(text: str | None, keep: Callable[[str, object], bool]) -> str | None:
    """A JSON object's text with only the entries ``keep(key, value)`` accepts ("{}" for
    anything that is not one); None stays None."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return "{}"
    if not isinstance(data, dict):
        return "{}"
    kept = {k: v for k, v in data.items() if keep(k, v)}
    return json.dumps(kept, separators=(",", ":"), default=str)


def numbers_only(answers: str | None) -> str | None:
    """A survey ledger's answers (JSON) without its texts: numbers and booleans stay."""
    return _kept_json(answers, lambda k, v: isinstance(v, bool | int | float))


def plain_details(details: str | None, keep: Sequence[str] = KEPT_DETAILS) -> str | None:
    """An alert's details (JSON) without texts: numbers, booleans and the categories in
    ``keep`` stay; every other string (comments, authors, ids) goes."""
    return _kept_json(
        details,
        lambda k, v: (
            (isinstance(v, bool | int | float) and k != "customer_id")
            or (k in keep and isinstance(v, str))
        ),
    )


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure did (or, for a dry run, would do)."""

    customer_found: bool
    already_erased: bool
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    erasure_id: str | None = None
    erased_at: dt.datetime | None = None
    actor: str = "local"
    reason: str = ""
    #: what became of the bytes on disk: "rewritten" (a DuckDB file copied anew),
    #: "checkpointed" (DuckDB: the log is folded in; old bytes may stay in unused space
    #: until `cxray privacy compact`), "database" (PostgreSQL: VACUUM reclaims the space)
    storage: str = ""
    #: the archived digests that named the customer (their files emptied by the erasure)
    digests: tuple[str, ...] = ()
    #: of those, how many were made again from what remains, and how many deleted
    digests_rewritten: int = 0
    digests_removed: int = 0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "erasure_id": self.erasure_id,
            "erased_at": self.erased_at.isoformat() if self.erased_at else None,
            "actor": self.actor,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "already_erased": self.already_erased,
            "counts": self.counts,
            "rows": self.rows,
            "storage": self.storage,
            "digests": len(self.digests),
            "digests_rewritten": self.digests_rewritten,
            "digests_removed": self.digests_removed,
        }


def _digests(store: Store, customer_id: str) -> list[tuple[str, str]]:
    """``(key id, digest)`` of the customer id under every key of the erasures secret; the
    last is the current key's."""
    ring = store.keyring("erasures")
    return [
        (k.id, hmac.new(k.key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest())
        for k in ring.keys
    ]


def _recorded(store: Store, digests: list[tuple[str, str]]) -> bool:
    if ERASURES not in store.backend.list_tables():
        return False
    t = store.backend.table(ERASURES)
    hits = t.filter(t.subject.isin([d for _, d in digests])).count().to_pyarrow().as_py()
    return bool(hits)


def erasures(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The erasure records, newest first (never a customer id: the digest is not shown)."""
    if ERASURES not in store.backend.list_tables():
        return []
    t = store.backend.table(ERASURES)
    rows = (
        t.order_by([ibis.desc("erased_at"), ibis.desc("erasure_id")])
        .limit(limit)
        .drop("subject")
        .to_pyarrow()
        .to_pylist()
    )
    for r in rows:
        r["counts"] = json.loads(r["counts"] or "{}")
        r["erased_at"] = r["erased_at"].isoformat() if r["erased_at"] else None
    return rows


# ---------------------------------------------------------------- erasing


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _tables_with_customer(store: Store) -> list[str]:
    """Every table of the store with a ``customer_id`` column, canonical ones first."""
    b = store.backend
    names = [t for t in b.list_tables() if not t.startswith("_cx_batch")]
    canonical = [t for t in CONTRACT if t in names]
    others = []
    for name in sorted(set(names) - set(canonical) - {ERASURES, KEPT_TEXT_REPORTS, *TEXT_CACHES}):
        with contextlib.suppress(Exception):
            if "customer_id" in b.table(name).columns:
                others.append(name)
    return canonical + others


def erase_customer(
    store: Store,
    config: ProgramConfig,
    customer_id: str,
    *,
    actor: str = "local",
    role: str = "owner",
    reason: str = "",
    dry_run: bool = False,
    now: dt.datetime | None = None,
    settle: bool = True,
) -> ErasureReport:
    """Anonymise one customer in every table, all in one transaction (the caller holds the
    write lock); with ``settle``, then what :func:`_settle` does. Raises
    :class:`~cxray.exceptions.NotFoundError` for an id no table holds and that was never
    erased; an id erased before gives ``already_erased`` and writes nothing."""
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise QueryError("give the customer id to erase (--customer ID)")
    if "\x00" in customer_id or len(customer_id) > 1000 or not _utf8(customer_id):
        raise QueryError("a customer id has at most 1000 characters, no NUL byte, valid UTF-8")
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise QueryError(f"the reason has {len(reason)} characters; at most {MAX_REASON}")
    if "\x00" in reason or not _utf8(reason):
        raise QueryError("the reason may not hold a NUL byte and must be valid UTF-8")
    now = now or _now()
    cid = customer_id
    tables = _tables_with_customer(store)
    plans = {t: text_columns(store, config, t) for t in CONTRACT if t in tables}
    existing = set(store.backend.list_tables())
    digests = _digests(store, cid) if not store.read_only else []
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(8)
    counts: dict[str, int] = {}

    def add(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    with transaction(store, dry_run=dry_run) as tx:
        # the canonical tables: the pseudonym, personal columns and texts emptied
        for table, cols in plans.items():
            sets = ["customer_id = ?", *[f"{ident(c)} = ?" for c in cols]]
            n = tx.run(
                f"UPDATE {ident(table)} SET {', '.join(sets)} WHERE customer_id = ?",
                [pseudonym, *cols.values(), cid],
            )
            add(table, n)
        # per-row sentiment and themes of the texts just emptied
        for cache in TEXT_CACHES:
            if cache not in existing:
                continue
            for table, fields in FREE_TEXT.items():
                if not fields:
                    continue
                key = CONTRACT[table].key
                add(
                    cache,
                    tx.run(
                        f"DELETE FROM {ident(cache)} WHERE table_name = ? AND row_key IN "
                        f"(SELECT {ident(key)} FROM {ident(table)} WHERE customer_id = ?)",
                        [table, pseudonym],
                    ),
                )
        # the text reports kept for the dashboard (quotes, examples): all of them go, and
        # are computed again from what remains by `cxray text enrich` or the server
        if KEPT_TEXT_REPORTS in existing:
            add(KEPT_TEXT_REPORTS, tx.run(f"DELETE FROM {ident(KEPT_TEXT_REPORTS)}", []))
        # the survey ledger: numbers stay, texts go
        if SUBMISSIONS in existing:
            ledger = tx.rows(
                f"SELECT response_id, answers FROM {ident(SUBMISSIONS)} WHERE customer_id = ? "
                f"OR response_id IN (SELECT response_id FROM responses WHERE customer_id = ?)",
                [cid, pseudonym],
            )
            for response_id, answers in ledger:
                tx.run(
                    f"UPDATE {ident(SUBMISSIONS)} SET customer_id = ?, answers = ? "
                    "WHERE response_id = ?",
                    [pseudonym, numbers_only(answers), response_id],
                )
            add(SUBMISSIONS, len(ledger))
        if INVITATIONS in existing:
            add(
                INVITATIONS,
                tx.run(
                    f"UPDATE {ident(INVITATIONS)} SET customer_id = ?, email = NULL "
                    "WHERE customer_id = ?",
                    [pseudonym, cid],
                ),
            )
        # the closed loop: alerts keep numbers, notes and messages lose their texts
        if ALERTS in existing:
            alerts = tx.rows(
                f"SELECT alert_id, details FROM {ident(ALERTS)} WHERE customer_id = ?", [cid]
            )
            for alert_id, details in alerts:
                tx.run(
                    f"UPDATE {ident(ALERTS)} SET customer_id = ?, details = ? WHERE alert_id = ?",
                    [pseudonym, plain_details(details), alert_id],
                )
            add(ALERTS, len(alerts))
            if OUTBOX in existing:
                add(
                    OUTBOX,
                    tx.run(
                        f"UPDATE {ident(OUTBOX)} SET subject = ?, payload = ?, "
                        "last_error = CASE WHEN status = 'pending' THEN ? ELSE last_error END, "
                        "status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END "
                        f"WHERE alert_id IN (SELECT alert_id FROM {ident(ALERTS)} "
                        "WHERE customer_id = ?)",
                        ["(erased)", "{}", "not sent: the customer was erased", pseudonym],
                    ),
                )
        if FOLLOWUPS in existing:
            add(
                FOLLOWUPS,
                tx.run(
                    f"UPDATE {ident(FOLLOWUPS)} SET customer_id = ?, note = NULL "
                    "WHERE customer_id = ?",
                    [pseudonym, cid],
                ),
            )
            if FOLLOWUP_EVENTS in existing:
                add(
                    FOLLOWUP_EVENTS,
                    tx.run(
                        f"UPDATE {ident(FOLLOWUP_EVENTS)} SET detail = NULL WHERE followup_id IN "
                        f"(SELECT followup_id FROM {ident(FOLLOWUPS)} WHERE customer_id = ?) "
                        "AND detail IS NOT NULL",
                        [pseudonym],
                    ),
                )
        # fitted models whose JSON names the customer (as a JSON string)
        if MODELS in existing:
            needle, stand_in = json.dumps(cid), json.dumps(pseudonym)
            add(
                MODELS,
                tx.run(
                    f"UPDATE {ident(MODELS)} SET spec = replace(spec, ?, ?), "
                    "evaluation = replace(evaluation, ?, ?) "
                    "WHERE strpos(spec, ?) > 0 OR strpos(evaluation, ?) > 0",
                    [needle, stand_in, needle, stand_in, needle, needle],
                ),
            )
        # any other table with a customer_id column (the audit log, later tables)
        handled = {*plans, SUBMISSIONS, INVITATIONS, ALERTS, FOLLOWUPS, SURVEYS}
        for table in tables:
            if table not in handled:
                add(
                    table,
                    tx.run(
                        f"UPDATE {ident(table)} SET customer_id = ? WHERE customer_id = ?",
                        [pseudonym, cid],
                    ),
                )
        found = bool(counts)
        if not found:
            if digests and _recorded(store, digests):
                return ErasureReport(False, True, dry_run, {}, actor=actor, reason=reason)
            raise NotFoundError(f"no customer {cid!r} in this store (nothing to erase)")
        named = _empty_digests(store, tx, cid) if REPORTS_ARCHIVE in existing else ()
        add(REPORTS_ARCHIVE, len(named))
        erasure_id = "ER-" + secrets.token_hex(8)
        key_id, digest = digests[-1]
        ensure_table(store, tx, ERASURES, ERASURES_SCHEMA, "erasure_id")
        insert_row(
            tx,
            ERASURES,
            {
                "erasure_id": erasure_id,
                "erased_at": now,
                "actor": actor,
                "role": role,
                "subject": digest,
                "key_id": key_id,
                "reason": reason,
                "counts": json.dumps(counts, sort_keys=True),
            },
        )
    storage = "" if dry_run or not settle else _settle(store)
    return ErasureReport(
        True, False, dry_run, counts, None if dry_run else erasure_id, now, actor, reason, storage,
        tuple(named),
    )  # fmt: skip


def _empty_digests(store: Store, tx: Tx, cid: str) -> list[str]:
    """Empty the file of every archived digest that names ``cid`` (or that was kept before
    the archive recorded whom a digest names); their ids, to be made again or deleted."""
    columns = store.backend.table(REPORTS_ARCHIVE).columns
    if "customers" in columns:
        where, params = "customers IS NULL OR strpos(customers, ?) > 0", [json.dumps(cid)]
    else:
        where, params = "1 = 1", []
    ids = [r[0] for r in tx.rows(
        f"SELECT report_id FROM {ident(REPORTS_ARCHIVE)} WHERE {where}", params
    )]  # fmt: skip
    for rid in ids:
        tx.run(
            f"UPDATE {ident(REPORTS_ARCHIVE)} SET content = ?, size = 0 WHERE report_id = ?",
            [b"", rid],
        )
    return ids


def _delete_digests(store: Store, ids: Sequence[str]) -> int:
    """Delete archived digests (emptied by an erasure and not made again)."""
    with transaction(store) as tx:
        return sum(
            tx.run(f"DELETE FROM {ident(REPORTS_ARCHIVE)} WHERE report_id = ?", [rid])
            for rid in ids
        )


def _settle(store: Store, *, checkpoint: bool = True) -> str:
    """After a commit (the caller holds the write lock): on PostgreSQL, drop this session's
    copies of imported rows; dead row versions are reclaimed by (auto)vacuum. On DuckDB, fold
    the write-ahead log into the file (so the log holds no erased value), unless
    ``checkpoint`` is False (then :func:`checkpoint` does it later, outside the lock)."""
    if not store.is_duckdb:
        _drop_session_copies(store)
        return "database"
    return checkpoint_store(store) if checkpoint else "logged"


def checkpoint_store(store: Store) -> str:
    """``CHECKPOINT`` a DuckDB store through a cursor of its own (safe beside the threads
    that use the store's connection); retried briefly while another transaction is open."""
    import time

    cur = store.backend.con.cursor()
    try:
        # a reader's transaction (the server's background reports) may last seconds
        for wait in [0.05] * 20 + [0.25] * 60:
            try:
                cur.execute("CHECKPOINT")
                return "checkpointed"
            except Exception:  # another connection's transaction is open: try again shortly
                time.sleep(wait)
        return "logged"
    finally:
        cur.close()


def _drop_session_copies(store: Store) -> None:
    """Ibis sends the rows of an import (and other in-memory tables) to PostgreSQL as
    temporary tables of its session and keeps them for as long as the connection lives: a
    long-running server would hold copies of the customer's rows there. They are dropped
    (the caller holds the write lock, so no import is using one)."""
    con = store.backend.con
    with contextlib.suppress(Exception), con.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = "
            "(SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()) "
            "AND tablename LIKE 'ibis_pyarrow_memtable_%%'"
        )
        names = [r[0] for r in cur.fetchall()]
        for name in names:
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{ident(name)}")


# ---------------------------------------------------------------- compacting a DuckDB file


def _duckdb_path(store: Store) -> Path | None:
    from cxray.store._store import _file_path

    path = _file_path(store.url)
    return Path(path) if path else None


def compact(store: Store, *, reopen: Callable[[ibis.BaseBackend], None] | None = None) -> dict:
    """Rewrite a DuckDB store into a fresh file and put it in place of the old one, so that
    no byte of erased or purged data is left in the file's unused space.

    Only for a store this process opened itself and nothing else reads (not one a running
    ``cxray serve`` holds): the connection is closed, the file replaced (mode 0600) and the
    store reopened. Returns the sizes before and after."""
    path = _duckdb_path(store) if store.is_duckdb else None
    if path is None or store.remote is not None:
        raise StoreError("only a DuckDB file opened by this process can be compacted")
    if store.read_only:
        raise StoreError(f"{store.url} is open read-only")
    con = store.backend.con
    before = path.stat().st_size
    fresh = path.with_name(f".{path.name}.compact-{secrets.token_hex(4)}")
    try:
        con.execute("CHECKPOINT")
        (db,) = con.execute("SELECT current_database()").fetchone()
        con.execute(f"ATTACH '{str(fresh).replace(chr(39), chr(39) * 2)}' AS _cx_fresh")
        try:
            con.execute(f"COPY FROM DATABASE {ident(db)} TO _cx_fresh")
        finally:
            con.execute("DETACH _cx_fresh")
        os.chmod(fresh, 0o600)
        store.close()
        os.replace(fresh, path)
    except BaseException:
        with contextlib.suppress(OSError):
            fresh.unlink()
        with contextlib.suppress(OSError):
            Path(f"{fresh}.wal").unlink()
        raise
    with contextlib.suppress(OSError):
        Path(f"{fresh}.wal").unlink()
    reopened = Store(store.url)
    store.backend = reopened.backend
    if reopen is not None:
        reopen(store.backend)
    return {"path": str(path), "bytes_before": before, "bytes_after": path.stat().st_size}


# ---------------------------------------------------------------- the workspace's face


class Privacy:
    """Erasure and retention over one store (``Workspace.privacy``; ``docs/privacy.md``).

    ``lock`` is the workspace's write lock, held around every change; ``before_write`` is
    called first, outside it (the workspace writes the survey answers still queued, so an
    answer acknowledged before the erasure is erased too); ``owns_file``: this process
    opened the store itself and nothing else reads it, so :meth:`compact` may replace the
    file (not inside ``cxray serve``).
    """

    def __init__(
        self,
        store: Store,
        config: ProgramConfig,
        *,
        lock: Any = None,
        before_write: Callable[[], None] | None = None,
        owns_file: bool = False,
        rewrite_digests: Callable[[Sequence[str]], tuple[int, int]] | None = None,
    ):
        import threading

        self.store = store
        self.config = config
        self.lock = lock or threading.RLock()
        self.before_write = before_write
        self.owns_file = owns_file
        #: makes archived digests emptied by an erasure again: (rewritten, removed)
        self.rewrite_digests = rewrite_digests

    def erase(
        self,
        customer_id: str,
        *,
        actor: str = "local",
        role: str = "owner",
        reason: str = "",
        dry_run: bool = False,
    ) -> ErasureReport:
        """Anonymise a customer in every table (see the module's docstring), in one
        transaction under the write lock; write the erasure record. An unknown id raises
        :class:`~cxray.exceptions.NotFoundError`; an id erased before changes nothing."""
        import dataclasses

        if self.before_write is not None and not dry_run:
            self.before_write()
        with self.lock:
            report = erase_customer(
                self.store,
                self.config,
                customer_id,
                actor=actor,
                role=role,
                reason=reason,
                dry_run=dry_run,
                settle=False,
            )
            if report.rows and not dry_run:
                report = dataclasses.replace(report, storage=_settle(self.store, checkpoint=False))
        if report.digests and not dry_run:  # made again outside the lock (it reads a while)
            if self.rewrite_digests is not None:
                done, gone = self.rewrite_digests(report.digests)
            else:
                with self.lock:
                    done, gone = 0, _delete_digests(self.store, report.digests)
            report = dataclasses.replace(report, digests_rewritten=done, digests_removed=gone)
        if report.storage == "logged":  # the checkpoint outside the lock: collection goes on
            report = dataclasses.replace(report, storage=checkpoint_store(self.store))
        return report

    def erasures(self, limit: int = 100) -> list[dict[str, Any]]:
        """The erasure records, newest first (when, who, why, rows per table)."""
        return erasures(self.store, limit)

    @property
    def can_compact(self) -> bool:
        return self.owns_file and self.store.is_duckdb and _duckdb_path(self.store) is not None

    def compact(self) -> dict[str, Any]:
        """Rewrite the DuckDB file so that no erased or purged byte is left in its unused
        space (:func:`compact`); refused inside ``cxray serve`` and for other stores."""
        if not self.can_compact:
            raise StoreError(
                "the store can be rewritten only by a process that holds its DuckDB file "
                "alone: stop `cxray serve` and run `cxray privacy compact`"
            )
        with self.lock:
            return compact(self.store)

    def retention(
        self, *, dry_run: bool = False, now: dt.datetime | None = None, actor: str = "local"
    ) -> Any:
        """Purge raw text older than ``[privacy] retain_days``
        (:class:`cxray.privacy.RetentionReport`)."""
        from cxray.privacy._retention import purge_old_text

        with self.lock:  # survey answers being collected now are new: none is purged
            report = purge_old_text(self.store, self.config, now=now, dry_run=dry_run, actor=actor)
            if report.rows and not dry_run:
                _settle(self.store, checkpoint=False)
        if report.rows and not dry_run and self.store.is_duckdb:  # outside the lock
            checkpoint_store(self.store)
        return report

    def purges(self, limit: int = 100) -> list[dict[str, Any]]:
        """The retention runs recorded, newest first."""
        from cxray.privacy._retention import purges

        return purges(self.store, limit)
