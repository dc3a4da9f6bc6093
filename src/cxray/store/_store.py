"""The store: the six canonical tables behind one Ibis connection.

An embedded DuckDB file (``./cxray.duckdb``) by default; any Ibis connection
URL (``postgres://...``, ``duckdb:///path``) otherwise. Reads go through Ibis
expressions so that the same metric code runs on every backend. Writes are
whole batches: all rows of an import land in one transaction or none do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from cxray.exceptions import SchemaVersionError, StoreError, StoreLockedError, UnknownTableError
from cxray.ingest import BAD_COLUMN, Batch, quote_ident
from cxray.schema import CONTRACT, table_spec
from cxray.schema._status import ImportRecord, TableStatus, attribute_columns, import_record
from cxray.store._migrations import (
    FOLLOWUPS,
    IMPORT_LOG,
    INVITATIONS,
    META,
    MIGRATIONS,
    MODELS,
    MODELS_SCHEMA,
    SYSTEM_COLUMNS,
)
from cxray.store._secrets import (
    ENV_PREFIX,
    FILE_ENV,
    SECRETS,
    KeyFile,
    KeyRing,
    SigningKey,
    env_keys,
    new_key,
    next_id,
)
from cxray.store._served import find_server

__all__ = ["ImportRecord", "Store", "TableStatus", "WriteResult"]

q = quote_ident

#: tables text analytics derives from the canonical ones (sentiment and themes per row)
DERIVED_TABLES = ("text_sentiment", "text_themes")

_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE"}


@dataclass(frozen=True)
class WriteResult:
    """What writing a batch did (or, for a dry run, would do)."""

    table: str
    rows_in: int
    added: int
    updated: int
    unchanged: int
    import_id: int | None
    dry_run: bool = False
    new_attributes: list[str] = field(default_factory=list)


class Store:
    """The canonical tables, their migrations and the import log.

    >>> store = Store("cxray.duckdb")            # doctest: +SKIP
    >>> store.table("responses").nps.mean()      # doctest: +SKIP
    """

    def __init__(
        self, url: str | Path = "cxray.duckdb", *, read_only: bool = False, create: bool = True
    ):
        self.url = str(url)
        self.read_only = read_only
        self._memory_keys: dict[str, list[SigningKey]] = {}
        self._migrated: set[str] = set()
        self._secret_lock = threading.RLock()  # re-entered by a legacy secret's move
        #: import ids taken by imports still writing (their log rows are not committed yet);
        #: shared by copies of this store (a served view, an import's own connection)
        self._reserved_ids: set[int] = set()
        self.backend = _connect(self.url, read_only=read_only, create=create)
        #: the URL of the ``cxray serve`` this store is reached through (the file is
        #: held by it; see :mod:`cxray.store._remote`), or None when it is opened directly
        self.remote: str | None = getattr(self.backend, "server_url", None)
        self.is_duckdb = self.backend.name == "duckdb" and self.remote is None
        if not read_only and self.remote is None:
            self.migrate()
        else:
            self._check_version()  # a served store was brought up to date by its server

    def __repr__(self) -> str:
        through = f", remote={self.remote!r}" if self.remote is not None else ""
        return f"Store({self.url!r}{through})"

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self.backend.disconnect()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        if META not in self.backend.list_tables():
            return 0
        rows = self.backend.table(META).filter(ibis._.key == "schema_version").to_pyarrow()
        return int(rows["value"][0].as_py()) if rows.num_rows else 0

    def _check_version(self) -> int:
        current = self.schema_version
        latest = MIGRATIONS[-1].version
        if current > latest:
            raise SchemaVersionError(
                f"{self.url} was written by a newer cxray (schema version {current}; this "
                f"cxray knows up to {latest}); upgrade cxray to use it"
            )
        if current == 0 and self.read_only:
            raise StoreError(f"{self.url} is not a cxray store yet; run `cxray init` first")
        return current

    def migrate(self) -> list[int]:
        """Bring the store to the latest schema version; return the versions applied."""
        current = self._check_version()
        applied = []
        for m in MIGRATIONS:
            if m.version <= current:
                continue
            # Each migration is one transaction on DuckDB: all of it or none of it.
            if self.is_duckdb:
                self.backend.con.execute("BEGIN TRANSACTION")
            try:
                m.apply(self.backend)
                self._set_meta("schema_version", str(m.version))
            except BaseException:
                if self.is_duckdb:
                    self.backend.con.execute("ROLLBACK")
                raise
            if self.is_duckdb:
                self.backend.con.execute("COMMIT")
            applied.append(m.version)
        return applied

    def _set_meta(self, key: str, value: str) -> None:
        if self.is_duckdb:
            con = self.backend.con
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR)"
            )
            con.execute(f"INSERT OR REPLACE INTO {META} VALUES (?, ?)", [key, value])
            return
        if META not in self.backend.list_tables():
            self.backend.create_table(
                META, schema=ibis.schema({"key": "string", "value": "string"})
            )
        b = self.backend
        b.raw_sql(f"DELETE FROM {_sql_ident(b, META)} WHERE key = {_sql_literal(key)}")
        b.insert(META, ibis.memtable({"key": [key], "value": [value]}))

    def meta(self, key: str) -> str | None:
        """A value kept in the store's metadata table, or None."""
        rows = self.backend.table(META).filter(ibis._.key == key).to_pyarrow()
        return rows["value"][0].as_py() if rows.num_rows else None

    @property
    def secrets_file(self) -> Path | None:
        """The key file of this store's signing secrets: ``CXRAY_SECRETS_FILE`` if set, else
        ``<store>.secrets`` beside a DuckDB file; None for an in-memory or PostgreSQL store
        without that variable (docs/security.md)."""
        named = os.environ.get(FILE_ENV, "").strip()
        if named:
            return Path(named)
        path = _file_path(self.url)
        if path:
            return Path(path + ".secrets")
        if self.is_duckdb:
            return None  # in memory: the keys live as long as the store
        return _user_key_file(self.url)

    def keyring(self, name: str) -> KeyRing:
        """The keys of a signing secret (e.g. invitations): the newest signs, all verify.

        Kept outside the store (:mod:`cxray.store._secrets`): ``CXRAY_SECRET_<NAME>`` wins,
        else the key file, which is made (mode 0600) with a random 256-bit key on first
        use. A secret an older cxray kept in the store's metadata is moved to the key file
        as key ``k0`` (written there first, then deleted from the store) so that what it
        signed still verifies. An in-memory store keeps its keys in memory.
        """
        file = self.secrets_file
        legacy = self._legacy_secret(name, file)
        env = env_keys(name)
        if env is not None:
            kept = KeyFile(file).read().get(name, []) if file is not None else []
            keys = [*legacy, *[k for k in kept if k.id not in {e.id for e in env}], *env]
            return KeyRing(name, tuple(keys), "env")
        if file is None:
            if self.is_duckdb and _file_path(self.url) is None:
                ring = self._memory_keys.setdefault(name, [new_key("k1")])
                return KeyRing(name, tuple([*legacy, *ring]), "memory")
            where = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", self.url)  # no password
            raise StoreError(
                f"{where} has no place for its {name} signing key: set "
                f"{ENV_PREFIX}{name.upper()} (the key) or {FILE_ENV} (a key file path); "
                "see docs/security.md"
            )
        keys = KeyFile(file).read().get(name, [])
        if not keys:
            if self.read_only:
                raise StoreError(f"{self.url} is open read-only and has no {name} secret yet")
            with self._secret_lock:
                data = KeyFile(file).read()
                keys = data.get(name) or [new_key("k1")]
                if name not in data:
                    data[name] = keys
                    KeyFile(file).write(data)
        return KeyRing(name, tuple([*legacy, *keys]), str(file))

    def keyrings(self) -> list[KeyRing]:
        """Every signing secret this store holds, none made: the key file's,
        ``CXRAY_SECRET_<NAME>``'s (cxray's names, :data:`SECRETS`), one an older cxray kept
        in the store, an in-memory store's; cxray's names first, in their order."""
        file = self.secrets_file
        names = set(self._memory_keys) | {n for n in SECRETS if env_keys(n) is not None}
        if file is not None:
            names |= set(KeyFile(file).read())
        if META in self.backend.list_tables():
            t = self.backend.table(META)
            kept = t.filter(t.key.startswith("secret:")).key.to_pyarrow().to_pylist()
            names |= {k.removeprefix("secret:") for k in kept}
        order = list(SECRETS)
        ranked = sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))
        return [self.keyring(n) for n in ranked]

    def secret(self, name: str) -> bytes:
        """The current key of a signing secret (:meth:`keyring`), e.g. for webhooks."""
        return self.keyring(name).current.key

    def rotate_secret(self, name: str, *, drop_old: bool = False) -> KeyRing:
        """Add a new key that signs from now on; older keys keep verifying what they
        signed unless ``drop_old`` removes them (then their invitations are refused)."""
        file = self.secrets_file
        if file is None:
            raise StoreError(
                f"{self.url} keeps no key file: rotate by changing {ENV_PREFIX}{name.upper()} "
                f"(id=key entries, the last one signs) or set {FILE_ENV}"
            )
        if self.read_only:
            raise StoreError(f"{self.url} is open read-only")
        self.keyring(name)  # migrates a legacy secret, makes the file
        with self._secret_lock:
            data = KeyFile(file).read()
            keys = data.get(name, [])
            fresh = new_key(next_id(keys))
            data[name] = [fresh] if drop_old else [*keys, fresh]
            KeyFile(file).write(data)
        return self.keyring(name)

    def drop_old_secrets(self, name: str) -> KeyRing:
        """Keep only the newest key of a secret: tokens the older ones signed are refused."""
        file = self.secrets_file
        if file is None:
            raise StoreError(f"{self.url} keeps no key file (set {FILE_ENV})")
        with self._secret_lock:
            data = KeyFile(file).read()
            keys = data.get(name, [])
            if keys:
                data[name] = keys[-1:]
                KeyFile(file).write(data)
        return self.keyring(name)

    def _legacy_secret(self, name: str, file: Path | None) -> list[SigningKey]:
        """A secret an older cxray kept in ``_cx_meta``: moved to the key file (k0)."""
        if name in self._migrated:
            return []
        with self._secret_lock:  # server threads (survey pages) ask at once: one looks
            return self._legacy_secret_locked(name, file)

    def _legacy_secret_locked(self, name: str, file: Path | None) -> list[SigningKey]:
        if name in self._migrated:
            return []
        if META not in self.backend.list_tables():
            self._migrated.add(name)  # no metadata table: nothing older to move, ever
            return []
        value = self.meta(f"secret:{name}")
        if value is None:
            self._migrated.add(name)
            return []
        old = SigningKey("k0", bytes.fromhex(value), None)
        if file is None or self.read_only or self.remote is not None:
            return [old]  # nowhere to move it yet: it keeps verifying from the store
        with self._secret_lock:
            data = KeyFile(file).read()
            keys = data.get(name, [])
            if old.id not in {k.id for k in keys}:
                data[name] = [old, *keys]
                KeyFile(file).write(data)  # durable in the key file first ...
            self._delete_meta(f"secret:{name}")  # ... then gone from the store
            if self.is_duckdb:
                with contextlib.suppress(duckdb.Error):
                    self.backend.con.execute("CHECKPOINT")
        self._migrated.add(name)
        return []

    def _delete_meta(self, key: str) -> None:
        if self.is_duckdb:
            self.backend.con.execute(f"DELETE FROM {META} WHERE key = ?", [key])
            return
        b = self.backend
        b.raw_sql(f"DELETE FROM {_sql_ident(b, META)} WHERE key = {_sql_literal(key)}")

    # ------------------------------------------------------------ reading

    def table(self, name: str) -> ibis.Table:
        """The Ibis table expression of a canonical table, or of a table other layers read:
        the survey invitations (the response-rate KPI), the closed loop's follow-ups
        (timelines, loop KPIs), and the tables text analytics derives (sentiment and themes
        per row, which the feature layer reads; those raise
        :class:`~cxray.exceptions.UnknownTableError` until text enrichment made them)."""
        if name in (INVITATIONS, FOLLOWUPS):
            return self.backend.table(name)
        if name in DERIVED_TABLES:
            if name not in self.backend.list_tables():
                raise UnknownTableError(f"no {name} table yet: run `cxray text enrich`")
            return self.backend.table(name)
        return self.backend.table(table_spec(name).name)

    def columns(self, name: str) -> dict[str, str]:
        return {k: str(v) for k, v in self.table(name).schema().items()}

    def attributes(self, name: str) -> list[str]:
        return attribute_columns(table_spec(name), self.table(name).columns, SYSTEM_COLUMNS)

    def status(self) -> list[TableStatus]:
        out = []
        for spec in CONTRACT.values():
            t = self.table(spec.name)
            tc = t[spec.time_column]
            row = t.aggregate(rows=t.count(), first=tc.min(), last=tc.max()).to_pyarrow()
            out.append(
                TableStatus(
                    table=spec.name,
                    rows=int(row["rows"][0].as_py()),
                    first=row["first"][0].as_py(),
                    last=row["last"][0].as_py(),
                    attributes=self.attributes(spec.name),
                )
            )
        return out

    def imports(self, limit: int = 10) -> list[ImportRecord]:
        t = self.backend.table(IMPORT_LOG)
        rows = t.order_by(ibis.desc("import_id")).limit(limit).to_pyarrow().to_pylist()
        return [import_record(r) for r in rows]

    # ------------------------------------------------------------ fitted models

    def data_version(self) -> str:
        """The state of the data a model is fitted on: the latest import's id ("0": none)."""
        v = self.backend.table(IMPORT_LOG).import_id.max().to_pyarrow().as_py()
        return str(v or 0)

    def save_model(
        self,
        name: str,
        kind: str,
        spec: dict[str, Any],
        evaluation: dict[str, Any],
        *,
        model_id: str | None = None,
        created_at: dt.datetime | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Keep a fitted model in ``_cx_models`` as JSON (never a pickle): ``spec`` holds
        what is needed to use it, ``evaluation`` how well it did. ``replace`` drops the
        earlier models of that name in the same transaction. The caller holds the
        workspace's write lock. Returns the row written (its id, time and data version)."""
        if self.remote is not None:  # the server keeps it, under its write lock
            return self.backend.save_model(
                name=name,
                kind=kind,
                spec=spec,
                evaluation=evaluation,
                model_id=model_id,
                created_at=created_at,
                replace=replace,
            )
        row = {
            "model_id": model_id or f"{name}-{secrets.token_hex(6)}",
            "name": name,
            "kind": kind,
            "created_at": created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "data_version": self.data_version(),
            "spec": json.dumps(spec, allow_nan=False, default=str),
            "evaluation": json.dumps(evaluation, allow_nan=False, default=str),
        }
        data = pa.Table.from_pylist([row], MODELS_SCHEMA.to_pyarrow())
        if self.is_duckdb:
            con = self.backend.con
            con.execute("BEGIN TRANSACTION")
            try:
                if replace:
                    con.execute(f"DELETE FROM {q(MODELS)} WHERE name = ?", [name])
                con.from_arrow(data).insert_into(MODELS)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        else:
            con = getattr(self.backend, "con", None)
            tx = con.transaction() if hasattr(con, "transaction") else contextlib.nullcontext()
            with tx:
                if replace:  # names are the capabilities' own constants ("churn_cox")
                    literal = name.replace("'", "''")
                    self.backend.raw_sql(f"DELETE FROM {q(MODELS)} WHERE name = '{literal}'")
                self.backend.insert(MODELS, data)
        return row

    def latest_model(self, name: str) -> dict[str, Any] | None:
        """The model of that name kept last (``spec`` and ``evaluation`` parsed), or None."""
        t = self.backend.table(MODELS)
        rows = (
            t.filter(t.name == name)
            .order_by([ibis.desc("created_at"), ibis.desc("model_id")])
            .limit(1)
            .to_pyarrow()
            .to_pylist()
        )
        if not rows:
            return None
        r = rows[0]
        return {**r, "spec": json.loads(r["spec"]), "evaluation": json.loads(r["evaluation"])}

    # ------------------------------------------------------------ writing

    @property
    def duckdb_connection(self) -> duckdb.DuckDBPyConnection | None:
        """The raw DuckDB connection when the store is DuckDB (ingest stages into it)."""
        return self.backend.con if self.is_duckdb else None

    def write(
        self,
        batches: Batch | list[Batch],
        *,
        dry_run: bool = False,
        con: duckdb.DuckDBPyConnection | None = None,
        import_id: int | None = None,
    ) -> list[WriteResult]:
        """Write batches in one transaction: upsert by primary key, log each import.

        A row whose key exists replaces the stored row; a stored row equal to
        the incoming one is left as it is and counted as unchanged. With
        ``dry_run`` the counts are computed and nothing is written.

        ``con``: on DuckDB, the connection (a cursor of this store's) to write
        through, the one the batches were staged in; its transaction runs beside
        the store's own connection (survey collection commits meanwhile), so the
        batches' new columns must exist already (:meth:`add_columns`), and ``import_id``
        (the first id the batches are logged under) taken with :meth:`reserve_import_ids`.
        """
        if self.read_only:
            raise StoreError(f"{self.url} is open read-only")
        if self.remote is not None:
            raise self.backend.write_refused("a batch of rows; import files instead")
        batches = [batches] if isinstance(batches, Batch) else list(batches)
        if not self.is_duckdb:
            return _IbisWriter(self.backend).write(_verified(batches), dry_run=dry_run)
        if con is not None:
            return _concurrent(
                lambda: self._write_duckdb(batches, dry_run, con, import_id), self.url
            )
        return self._write_duckdb(batches, dry_run, self.backend.con)

    def _write_duckdb(
        self,
        batches: list[Batch],
        dry_run: bool,
        con: duckdb.DuckDBPyConnection,
        import_id: int | None = None,
    ) -> list[WriteResult]:
        writer = _DuckDBWriter(con)
        if len(batches) == 1 and not batches[0].verified and not dry_run:
            # One pass: check and insert together; on any failure the transaction is
            # rolled back and the batch verified, which raises the full report.
            with contextlib.suppress(_Deferred):
                return writer.write(batches, dry_run=False, import_id=import_id)
        return writer.write(_verified(batches), dry_run=dry_run, import_id=import_id)

    def next_import_id(self) -> int:
        """The next free import id: after the log's last and after every id an import still
        writing has taken (:meth:`reserve_import_ids`). The caller holds the write lock."""
        t = self.backend.table(IMPORT_LOG)
        latest = int(t.import_id.max().fill_null(0).to_pyarrow().as_py())
        return max([latest, *self._reserved_ids]) + 1

    def reserve_import_ids(self, count: int) -> int:
        """Take ``count`` import ids for an import written beside other writers (survey
        collection logs itself too); returns the first. The caller holds the write lock, and
        gives them back with :meth:`release_import_ids` once the import has committed or
        rolled back."""
        first = self.next_import_id()
        self._reserved_ids.update(range(first, first + count))
        return first

    def release_import_ids(self, first: int, count: int) -> None:
        self._reserved_ids.difference_update(range(first, first + count))

    def columns_to_add(self, batch: Batch) -> dict[str, str]:
        """The attribute columns (name -> type) writing ``batch`` would add to its table or
        widen there: what :meth:`add_columns` does before a concurrent write."""
        if not self.is_duckdb:
            return {}
        con = batch.con  # the connection it was staged in (not the one collection writes on)
        stored = {r[0]: r[1] for r in con.execute(f"DESCRIBE {q(batch.table.name)}").fetchall()}
        out = {}
        for attr, typ in batch.attributes.items():
            if attr not in stored:
                out[attr] = typ
            elif stored[attr] != typ and _widen(stored[attr], typ) != stored[attr]:
                out[attr] = _widen(stored[attr], typ)
        return out

    def add_columns(self, table: str, columns: dict[str, str]) -> list[str]:
        """Add (or widen) attribute columns in one short transaction of the store's own
        connection; returns those added, for :meth:`drop_columns` should the import fail.
        The caller holds the write lock: no survey commit is open meanwhile."""
        con = self.backend.con
        name = q(table_spec(table).name)
        added = []
        con.execute("BEGIN TRANSACTION")
        try:
            stored = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}
            for attr, typ in columns.items():
                if attr not in stored:
                    con.execute(f"ALTER TABLE {name} ADD COLUMN {q(attr)} {typ}")
                    added.append(attr)
                elif stored[attr] != typ:
                    con.execute(f"ALTER TABLE {name} ALTER COLUMN {q(attr)} TYPE {typ}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return added

    def drop_columns(self, table: str, columns: list[str]) -> None:
        """Drop columns :meth:`add_columns` added for an import that then failed (if still
        empty): a refused import leaves the table as it was."""
        con = self.backend.con
        name = q(table_spec(table).name)
        for c in columns:
            with contextlib.suppress(duckdb.Error):
                (used,) = con.execute(f"SELECT count({q(c)}) FROM {name}").fetchone()
                if not used:
                    con.execute(f"ALTER TABLE {name} DROP COLUMN {q(c)}")


def _concurrent(write: Any, url: str) -> list[WriteResult]:
    """A write beside survey collection: a conflict (the same rows changed, or a column
    added by a survey meanwhile) rolls it back whole, and says so."""
    try:
        return write()
    except duckdb.TransactionException as exc:
        raise StoreError(
            f"{url} changed while this import was written ({str(exc).splitlines()[0]}); "
            "nothing was written: run the import again"
        ) from exc


# ---------------------------------------------------------------- connecting


def _file_path(url: str) -> str | None:
    """The DuckDB file a store URL names, or None (in memory, or another database)."""
    is_url = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) is not None
    if is_url and not url.startswith("duckdb://"):
        return None
    path = url.removeprefix("duckdb://") if is_url else url
    if path.startswith("//") and is_url:
        path = path[1:]
    return None if path in ("", ":memory:") else path


def _user_key_file(url: str) -> Path:
    """The key file of a database store (PostgreSQL) without ``CXRAY_SECRETS_FILE``: in the
    user's config folder (``$XDG_CONFIG_HOME/cxray/secrets``, made 0700), one per database."""
    import hashlib

    bare = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1@", url)  # the password is not part of it
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", bare.split("://", 1)[-1])[:60].strip("-")
    digest = hashlib.sha256(bare.encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    folder = base / "cxray" / "secrets"
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{name}-{digest}.secrets"


def _private_files() -> None:
    """Files this process makes from now on are its user's only (umask 077): the store,
    its write-ahead log (which DuckDB makes anew after every checkpoint) and what is
    exported from it hold customers' personal data. CXRAY_UMASK=keep leaves it alone."""
    if os.environ.get("CXRAY_UMASK", "").strip().lower() == "keep":
        return
    current = os.umask(0o077)
    os.umask(current | 0o077)


#: Ibis backends cxray reads tables from (a table source) but keeps no store in
_ANALYSIS_ONLY = ("pyspark", "spark")


def _connect(url: str, *, read_only: bool, create: bool) -> ibis.BaseBackend:
    is_url = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) is not None
    if is_url and url.split(":", 1)[0].lower() in _ANALYSIS_ONLY:
        raise StoreError(
            f"{url}: Apache Spark cannot hold a cxray store (imports, text enrichment and "
            "the Text page's reports delete and replace rows in transactions); keep the store "
            "in DuckDB or PostgreSQL, and read its tables on Spark through a table source "
            "(docs/metrics.md: Portability)"
        )
    try:
        if is_url and not url.startswith("duckdb://"):
            return ibis.connect(url)
        path = url.removeprefix("duckdb://") if is_url else url
        if path.startswith("/") and is_url and path.startswith("//"):
            path = path[1:]
        if path not in ("", ":memory:"):
            p = Path(path)
            if not p.exists() and (read_only or not create):
                raise StoreError(f"no cxray store at {path}; run `cxray init` or import data first")
            if p.exists() and p.is_dir():
                raise StoreError(f"{path} is a folder, not a DuckDB file")
            if p.parent and not p.parent.exists():
                raise StoreError(f"the folder of {path} does not exist")
        fresh = path not in ("", ":memory:") and not Path(path).exists()
        if path not in ("", ":memory:") and not read_only:
            _private_files()
        backend = ibis.duckdb.connect(path or ":memory:", read_only=read_only)
        if fresh:
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)
        backend.con.execute("SET TimeZone = 'UTC'")
        # cxray shows its own progress; DuckDB's bar would print into the command's output
        backend.con.execute("SET enable_progress_bar = false")
        return backend
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            served = find_server(path)
            if served is not None:  # `cxray serve` holds it: read and write through it
                from cxray.store._remote import RemoteBackend

                return RemoteBackend.open(served, db=path, read_only=read_only)
            pid = re.search(r"PID (\d+)", msg)
            who = f" (process {pid.group(1)})" if pid else ""
            raise StoreLockedError(
                f"{url} is in use by another cxray process{who}: wait for it to finish or "
                "close it. To use one store from the dashboard, the CLI and notebooks at "
                "once, keep `cxray serve` running: the others work through it (docs/serving.md)"
            ) from exc
        raise StoreError(f"cannot open {url}: {msg.splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {url}: {str(exc).splitlines()[0]}") from exc
    except StoreError:
        raise
    except Exception as exc:  # an unknown URL scheme or a missing driver
        raise StoreError(f"cannot connect to {url}: {exc}") from exc


# ---------------------------------------------------------------- writers


class _Deferred(Exception):
    """An unverified batch cannot be written in one pass; verify it and write again."""


def _verified(batches: list[Batch]) -> list[Batch]:
    out = []
    for b in batches:
        v = b.verify()
        if v is not b:
            b.counted(v.num_rows)
        out.append(v)
    return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _log_row(batch: Batch, result: WriteResult, started: dt.datetime) -> dict[str, Any]:
    from cxray import __version__

    return {
        "import_id": result.import_id,
        "table_name": batch.table.name,
        "source": ",".join(sorted({f.source for f in batch.files})),
        "files": json.dumps([asdict(f) for f in batch.files]),
        "rows_in": result.rows_in,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "started_at": started,
        "finished_at": _now(),
        "cxray_version": __version__,
    }


def _widen(stored: str, incoming: str) -> str:
    """The type that holds both a stored and an incoming attribute type."""
    if stored == incoming:
        return stored
    if stored in _NUMERIC and incoming in _NUMERIC:
        return "DOUBLE"
    return "VARCHAR"


class _DuckDBWriter:
    """Upserts through one DuckDB transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def write(
        self, batches: list[Batch], *, dry_run: bool, import_id: int | None = None
    ) -> list[WriteResult]:
        con = self.con
        results = []
        con.execute("BEGIN TRANSACTION")
        try:
            if import_id is None:
                next_id = con.execute(f"SELECT coalesce(max(import_id), 0) + 1 FROM {IMPORT_LOG}")
                import_id = next_id.fetchone()[0]
            for batch in batches:
                started = _now()
                result = self._write_one(batch, import_id, dry_run=dry_run)
                results.append(result)
                if not dry_run:
                    row = _log_row(batch, result, started)
                    cols = ", ".join(row)
                    marks = ", ".join("?" for _ in row)
                    con.execute(
                        f"INSERT INTO {IMPORT_LOG} ({cols}) VALUES ({marks})", list(row.values())
                    )
                    import_id += 1
            if dry_run:
                con.execute("ROLLBACK")
            else:
                con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
                con.execute("ROLLBACK")
            raise
        return results

    def _write_one(self, batch: Batch, import_id: int, *, dry_run: bool) -> WriteResult:
        con = self.con
        spec = batch.table
        name = q(spec.name)
        key = q(spec.key)
        stored = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        new_attrs = []
        casts: dict[str, str] = {}
        for attr, typ in batch.attributes.items():
            if attr not in stored:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {q(attr)} {typ}")
                stored[attr] = typ
                new_attrs.append(attr)
            elif stored[attr] != typ:
                wide = _widen(stored[attr], typ)
                if wide != stored[attr]:
                    con.execute(f"ALTER TABLE {name} ALTER COLUMN {q(attr)} TYPE {wide}")
                    stored[attr] = wide
                casts[attr] = wide
        incoming = set(batch.columns)
        value_cols = [c for c in stored if c not in SYSTEM_COLUMNS]
        sel = []
        for c in value_cols:
            if c in incoming:
                expr = f"CAST({q(c)} AS {casts[c]})" if c in casts else q(c)
            else:
                expr = f"CAST(NULL AS {stored[c]})"
            sel.append(f"{expr} AS {q(c)}")
        cols = ", ".join(q(c) for c in value_cols)
        if not batch.verified:  # always built in this connection (see Store.write)
            (empty,) = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {name})").fetchone()
            return self._write_unverified(
                batch, name, key, cols, sel, import_id, new_attrs, empty=empty
            )
        # A batch built in this connection is read in place; any other comes as Arrow.
        local = batch.con is con
        src = q(batch.relation) if local else "_cx_batch_arrow"
        if not local:
            con.register("_cx_batch_arrow", batch.data)
        try:
            (empty,) = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {name})").fetchone()
            matched = (
                0
                if empty
                else con.execute(
                    f"SELECT count(*) FROM {src} b JOIN {name} s ON b.{key} = s.{key}"
                ).fetchone()[0]
            )
            if matched == 0 and not dry_run:
                # Nothing to compare or replace: insert straight from the batch.
                con.execute(
                    f"INSERT INTO {name} ({cols}, _import_id) "
                    f"SELECT {', '.join(sel)}, {import_id} FROM {src}"
                )
            elif matched:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _cx_batch AS SELECT {', '.join(sel)} FROM {src}"
                )
        finally:
            if not local:
                con.unregister("_cx_batch_arrow")
        rows_in = batch.num_rows
        if matched == 0:
            return WriteResult(
                spec.name,
                rows_in,
                rows_in,
                0,
                0,
                None if dry_run else import_id,
                dry_run,
                new_attrs,
            )
        same = " AND ".join(f"b.{q(c)} IS NOT DISTINCT FROM s.{q(c)}" for c in value_cols)
        (unchanged,) = con.execute(
            f"SELECT count(*) FROM _cx_batch b JOIN {name} s ON b.{key} = s.{key} WHERE {same}"
        ).fetchone()
        result = WriteResult(
            table=spec.name,
            rows_in=rows_in,
            added=rows_in - matched,
            updated=matched - unchanged,
            unchanged=unchanged,
            import_id=None if dry_run else import_id,
            dry_run=dry_run,
            new_attributes=new_attrs,
        )
        if dry_run or unchanged == rows_in:
            con.execute("DROP TABLE _cx_batch")
            return result
        if unchanged:
            con.execute(
                f"""
                DELETE FROM _cx_batch b WHERE EXISTS (
                    SELECT 1 FROM {name} s WHERE b.{key} = s.{key} AND {same})
                """
            )
        if matched > unchanged:
            con.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM _cx_batch)")
        con.execute(
            f"INSERT INTO {name} ({cols}, _import_id) SELECT {cols}, {import_id} FROM _cx_batch"
        )
        con.execute("DROP TABLE _cx_batch")
        return result

    def _write_unverified(
        self,
        batch: Batch,
        name: str,
        key: str,
        cols: str,
        sel: list[str],
        import_id: int,
        new_attrs: list[str],
        *,
        empty: bool,
    ) -> WriteResult:
        """Insert into an empty table, checking every row in the same pass.

        A row whose rule flag is set makes ``error()`` abort the INSERT; repeated
        keys are counted afterwards in the same transaction. Either way the caller
        rolls back and verifies the batch for the full report.
        """
        if not empty:
            raise _Deferred  # replacing rows needs the keys compared first
        con = self.con
        guard = (
            f"CASE WHEN {BAD_COLUMN} THEN error('cxray: a row breaks a rule') ELSE {import_id} END"
        )
        try:
            (inserted,) = con.execute(
                f"INSERT INTO {name} ({cols}, _import_id) "
                f"SELECT {', '.join(sel)}, {guard} FROM {q(batch.relation)}"
            ).fetchone()
            (repeats,) = con.execute(
                f"SELECT count(*) - count(DISTINCT {key}) FROM {name}"
            ).fetchone()
        except duckdb.Error as exc:
            raise _Deferred from exc
        if repeats:
            raise _Deferred
        batch.counted(inserted)
        return WriteResult(batch.table.name, inserted, inserted, 0, 0, import_id, False, new_attrs)


def _sql_ident(backend: ibis.BaseBackend, name: str) -> str:
    import sqlglot

    return sqlglot.exp.to_identifier(name, quoted=True).sql(dialect=backend.dialect)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _IbisWriter:
    """Upserts through Ibis on backends other than DuckDB.

    Portable steps: the batch goes to a temporary table; counts come from Ibis
    joins; replaced rows go by a standard ``DELETE ... WHERE key IN (SELECT ...)``
    and the batch is inserted. Every row is validated before the first write, so
    bad input writes nothing on any backend; but Ibis commits its own statements,
    so unlike on DuckDB the write itself is not one transaction: a connection lost
    halfway can leave part of a batch written (importing it again completes it).
    """

    def __init__(self, backend: ibis.BaseBackend):
        self.backend = backend

    def _sql(self, sql: str) -> None:
        b = self.backend
        result = b.raw_sql(sql)
        close = getattr(result, "close", None)
        if close is not None:
            close()

    def write(self, batches: list[Batch], *, dry_run: bool) -> list[WriteResult]:
        b = self.backend
        log = b.table(IMPORT_LOG)
        import_id = (log.import_id.max().to_pyarrow().as_py() or 0) + 1
        results = []
        for batch in batches:
            results.append(self._write_one(batch, import_id, dry_run=dry_run))
            import_id += 1
        return results

    def _write_one(self, batch: Batch, import_id: int, *, dry_run: bool) -> WriteResult:
        b = self.backend
        started = _now()
        spec = batch.table
        name = _sql_ident(b, spec.name)
        stored = b.table(spec.name)
        new_attrs = [a for a in batch.attributes if a not in stored.columns]
        data = batch.data
        for attr in [] if dry_run else new_attrs:
            typ = b.compiler.type_mapper.to_string(ibis.dtype(data.schema.field(attr).type))
            self._sql(f"ALTER TABLE {name} ADD COLUMN {_sql_ident(b, attr)} {typ}")
        stored = b.table(spec.name)
        value_cols = [c for c in stored.columns if c not in SYSTEM_COLUMNS]
        data = data.append_column("_import_id", pa.array([import_id] * data.num_rows, pa.int64()))
        tmp = f"_cx_batch_{import_id}"
        incoming = b.create_table(tmp, data, temp=True, overwrite=True)
        try:
            incoming = incoming.select(
                *[
                    (incoming[c] if c in data.column_names else ibis.null())
                    .cast(stored[c].type())
                    .name(c)
                    for c in value_cols
                ],
                incoming._import_id,
            )
            joined = incoming.inner_join(stored, spec.key, rname="{name}_stored")
            same = ibis.and_(
                *[
                    joined[c].identical_to(joined[f"{c}_stored"])
                    for c in value_cols
                    if c != spec.key
                ]
            )
            counts = joined.aggregate(matched=joined.count(), unchanged=same.sum()).to_pyarrow()
            matched = int(counts["matched"][0].as_py() or 0)
            unchanged = int(counts["unchanged"][0].as_py() or 0)
            rows_in = batch.num_rows
            result = WriteResult(
                spec.name,
                rows_in,
                rows_in - matched,
                matched - unchanged,
                unchanged,
                None if dry_run else import_id,
                dry_run,
                new_attrs,
            )
            if dry_run:
                return result
            # Rows equal to the stored ones stay as they are (and keep their _import_id);
            # the others replace their key's row or are added.
            if unchanged:
                same_keys = joined.filter(same).select(spec.key)
                incoming = incoming.anti_join(same_keys, spec.key)
            changed = b.create_table(f"{tmp}_w", incoming, temp=True, overwrite=True)
            key = _sql_ident(b, spec.key)
            if matched > unchanged:
                self._sql(
                    f"DELETE FROM {name} WHERE {key} IN "
                    f"(SELECT {key} FROM {_sql_ident(b, f'{tmp}_w')})"
                )
            b.insert(spec.name, changed)
            b.insert(IMPORT_LOG, ibis.memtable([_log_row(batch, result, started)]))
            return result
        finally:
            b.drop_table(f"{tmp}_w", force=True)
            b.drop_table(tmp, force=True)
