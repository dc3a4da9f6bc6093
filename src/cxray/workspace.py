"""The Workspace: the one core object every interface is a thin shell over.

It holds the store and the program config, and offers what a CX team does:
import data, look at what is there, build the demo world, (and, as cxray
grows, measure, explain and act). The CLI, the REST API and the dashboard call
these methods and add nothing but presentation.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis

from cxray import stats
from cxray.config import ProgramConfig, Settings, load_program_config
from cxray.exceptions import StoreError
from cxray.ingest import Batch, FileInfo, ProgressFn, read_batch, read_frame
from cxray.store import IMPORT_LOG, ImportRecord, Store, TableStatus, WriteResult, serve_file
from cxray.surveys import Surveys

__all__ = ["DemoReport", "ImportReport", "Workspace", "WorkspaceStatus", "resolving_from"]

DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one import (or dry run)."""

    table: str
    files: list[FileInfo]
    result: WriteResult
    attributes: list[str]
    #: sentiment scored right after the import (``cxray.text.EnrichReport.to_dict()``), if any
    sentiment: dict[str, Any] | None = None
    #: the closed loop's row rules run on the new rows (``cxray.loop.RunReport.to_dict()``)
    loop: dict[str, Any] | None = None

    @property
    def dry_run(self) -> bool:
        return self.result.dry_run

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "table": self.table,
            "files": [f.__dict__ for f in self.files],
            "rows_in": r.rows_in,
            "added": r.added,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "import_id": r.import_id,
            "dry_run": r.dry_run,
            "attributes": self.attributes,
            "new_attributes": r.new_attributes,
            "sentiment": self.sentiment,
            "loop": self.loop,
        }


@dataclass(frozen=True)
class DemoReport:
    """What ``load_demo`` generated and wrote."""

    seed: int
    customers: int
    months: int
    rows: dict[str, int]
    added: int
    updated: int
    unchanged: int
    effects: list[Any]
    seconds_generate: float
    seconds_write: float
    #: the closed loop replayed over the world (``load_demo(loop=True)``):
    #: a :class:`cxray.loop.LoopDemoReport`
    loop: Any = None


@dataclass(frozen=True)
class WorkspaceStatus:
    store: str
    schema_version: int
    tables: list[TableStatus]
    imports: list[ImportRecord] = field(default_factory=list)


class Workspace:
    """A store plus the program config that says how to read it.

    >>> ws = Workspace.open()                                  # doctest: +SKIP
    >>> ws.import_files("responses", ["responses.csv"])        # doctest: +SKIP
    """

    def __init__(self, store: Store, config: ProgramConfig):
        self.store = store
        self.config = config
        self._surveys: Surveys | None = None
        self._loop: Any = None
        self._audit: Any = None
        #: held by every writer of the store's own connection in this process (survey
        #: collection, keys, the loop, an import's short steps); a server shares it
        self.write_lock = threading.RLock()
        #: held by an import from its first write to its end: one import at a time, while
        #: survey commits go on beside it (docs/security.md, "Imports never block collection")
        self.import_lock = threading.RLock()

    @classmethod
    def open(
        cls,
        db: str | Path | None = None,
        config: str | Path | None = None,
        *,
        read_only: bool = False,
        create: bool = True,
    ) -> Workspace:
        """Open the store at ``db`` (default ``CXRAY_DB`` or ``./cxray.duckdb``).

        Inside a process that serves this store (see :meth:`serving`), this is a
        view of the served workspace instead of a second connection.
        """
        settings = Settings()
        program = load_program_config(config if config is not None else settings.config)
        db = db if db is not None else settings.db
        owner = _served_owner(db) if _SERVED else None  # this process serves it
        if owner is not None:
            return _ServedView(owner, str(db), program, read_only=read_only)
        store = Store(_in_folder(db), read_only=read_only, create=create)
        return cls(store, program)

    @contextlib.contextmanager
    def serving(self) -> Iterator[Workspace]:
        """Share this workspace with the rest of the process while the block runs.

        ``cxray serve`` holds its store's DuckDB file, which no second connection
        may open for writing; commands it runs for other processes (the CLI
        through the server) call :meth:`open` like anywhere else. While this
        block runs, ``Workspace.open`` of this store (the same file, any
        spelling of its path) returns a non-owning view: the same store (read
        through a cursor of this connection, so threads do not share one), the
        same :attr:`write_lock` around imports and the demo, ``read_only``
        honoured by refusing writes, and ``close()`` closing only the cursor.
        Stores that are not a DuckDB file are left alone: processes connect to
        them on their own. A command run for another process resolves a relative
        store path against that process's folder: :func:`resolving_from`.
        """
        key = _served_key(self.store.url)
        if key is None:
            yield self
            return
        with _SERVED_LOCK:
            _SERVED[key] = self
        try:
            yield self
        finally:
            with _SERVED_LOCK:
                if _SERVED.get(key) is self:
                    del _SERVED[key]

    def close(self) -> None:
        if self._surveys is not None:
            self._surveys.close()  # writes what is queued first
        if self._audit is not None and self._audit.store is self.store:
            self._audit.close()  # writes what is queued first
        self.store.close()

    def collected_commits(self) -> int:
        """How many commits of survey responses this workspace has made (a data version)."""
        return 0 if self._surveys is None else self._surveys.commits

    @property
    def features(self) -> Any:
        """The feature layer: per-response and per-customer features as Ibis tables
        (:class:`cxray.features.Features`, ``docs/drivers.md``)."""
        from cxray.features import Features

        return Features(self.table, self.config)

    @property
    def drivers(self) -> Any:
        """Key drivers and moments of truth (:class:`cxray.drivers.Drivers`); call it
        (``ws.drivers(outcome="nps")``) for a driver analysis (``docs/drivers.md``)."""
        from cxray.drivers import Drivers

        return Drivers(self.table, self.config)

    @property
    def journeys(self) -> Any:
        """Journey analytics over events: funnels, paths, the directly-follows graph
        (:class:`cxray.journeys.Journeys`, ``docs/journeys.md``)."""
        from cxray.journeys import Journeys

        return Journeys(self.table, self.config)

    @property
    def churn(self) -> Any:
        """Churn reasons, survival curves and the churn-risk model per customer
        (:class:`cxray.churn.Churn`, ``docs/churn.md``)."""
        from cxray.churn import Churn

        return Churn(self.store, self.config, lock=self.write_lock)

    @property
    def value(self) -> Any:
        """Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma fits, CLV per
        customer, and the money of CX (:class:`cxray.value.Value`, ``docs/value.md``)."""
        from cxray.value import Value

        return Value(self.store, self.config, lock=self.write_lock)

    @property
    def reports(self) -> Any:
        """Executive digests: generate, archive, list, e-mail on a schedule
        (:class:`cxray.reports.Reports`, ``docs/reports.md``)."""
        from cxray.reports import Reports

        return Reports(self, lock=self.write_lock)

    @property
    def maturity(self) -> Any:
        """The CX maturity assessment: answers, evidence from the store, levels, roadmap,
        history (:class:`cxray.maturity.Maturity`, ``docs/maturity.md``)."""
        from cxray.maturity import Maturity

        return Maturity(self)

    @property
    def views(self) -> Any:
        """Saved views: named pages with their filters, shared by link, role defaults
        (:class:`cxray.views.SavedViews`, ``docs/dashboard.md``)."""
        from cxray.views import SavedViews

        return SavedViews(self.store, self.config.views.default, lock=self.write_lock)

    @property
    def loop(self) -> Any:
        """The closed loop: rules, alerts, follow-ups, notifications
        (:class:`cxray.loop.Loop`, ``docs/loop.md``)."""
        if self._loop is None:
            from cxray.loop import Loop

            self._loop = Loop(self.store, self.config, lock=self.write_lock)
        return self._loop

    @property
    def audit(self) -> Any:
        """The audit log: who read, exported, imported, changed or erased what, when and
        from where (:class:`cxray.access.AuditLog`, ``docs/audit.md``). Inside a server, a
        view of its store shares the server's log."""
        if self._audit is None:
            owner = _served_owner(self.store.url) if _SERVED else None
            if owner is not None and owner is not self:
                self._audit = owner.audit
            else:
                from cxray.access import AuditLog

                self._audit = AuditLog(self.store, lock=self.write_lock)
        return self._audit

    @property
    def privacy(self) -> Any:
        """Erasure of a customer and retention of raw text
        (:class:`cxray.privacy.Privacy`, ``docs/privacy.md``)."""
        from cxray.privacy._erase import Privacy

        def write_queued() -> None:  # answers submitted before are written first
            collector = self._surveys._collector if self._surveys is not None else None
            deadline = time.monotonic() + 5.0
            while collector is not None and not collector._queue.empty():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)

        return Privacy(
            self.store,
            self.config,
            lock=self.write_lock,
            before_write=write_queued,
            owns_file=not isinstance(self, _ServedView) and self not in _SERVED.values(),
            rewrite_digests=lambda ids: self.reports.rewrite(ids),  # archived digests naming them
        )

    @property
    def surveys(self) -> Surveys:
        """Survey definitions, collection and invitations (``docs/surveys.md``)."""
        if self._surveys is None:
            watched = any(r.on == "responses" for r in self.config.loop.rules)
            self._surveys = Surveys(
                self.store,
                self.config,
                lock=self.write_lock,
                after_write=self.loop.collected if watched else None,
            )
        return self._surveys

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ data in

    def import_files(
        self,
        table: str,
        paths: Sequence[str | Path],
        *,
        source: str | None = None,
        mapping: dict[str, str] | None = None,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Validate files and upsert them into ``table``, all or nothing.

        On a store held by ``cxray serve`` (``store.remote``) the server imports them:
        its workspace, under its write lock, from the files where they are."""
        if self.store.remote is not None:
            if progress:
                progress(f"importing through {self.store.remote}", 0, 1)
            answer = self.store.backend.import_files(
                table, list(paths), source=source, mapping=mapping, dry_run=dry_run
            )
            if progress:
                progress("done", 1, 1)
            result = WriteResult(
                answer["table"],
                answer["rows_in"],
                answer["added"],
                answer["updated"],
                answer["unchanged"],
                answer["import_id"],
                answer["dry_run"],
                answer["new_attributes"],
            )
            return ImportReport(
                answer["table"],
                [FileInfo(**f) for f in answer["files"]],
                result,
                answer["attributes"],
                answer["sentiment"],
                answer["loop"],
            )
        with self._import_connection() as con:
            # read and checked without the write lock, in a connection of the import's own
            batch = read_batch(
                table,
                paths,
                config=self.config,
                source=source,
                mapping=mapping,
                progress=progress,
                con=con,
                verify=False,  # the store checks while it writes, or verifies first
            )
            return self._write(batch, dry_run=dry_run, progress=progress, con=con)

    @contextlib.contextmanager
    def _import_connection(self) -> Iterator[Any]:
        """On DuckDB, a cursor of the store's own for one import (its own transactions
        beside survey collection's); on other backends None (a private DuckDB stages)."""
        con = self.store.duckdb_connection
        if con is None:
            yield None
            return
        cursor = con.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.execute("SET enable_progress_bar = false")
            yield cursor
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def import_frame(
        self,
        table: str,
        data: Any,
        *,
        name: str = "<frame>",
        dry_run: bool = False,
        mapping: dict[str, str] | None = None,
    ) -> ImportReport:
        """Validate an in-memory table (pandas or Arrow) and upsert it into ``table``."""
        batch = read_frame(
            table,
            data,
            name=name,
            config=self.config,
            mapping=mapping,
            con=self.store.duckdb_connection,
        )
        return self._write(batch, dry_run=dry_run)

    def _write(
        self,
        batch: Batch,
        *,
        dry_run: bool,
        progress: ProgressFn | None = None,
        con: Any = None,
    ) -> ImportReport:
        steps = 2 * len(batch.files) + 2
        if progress:
            progress("writing" if not dry_run else "comparing", steps - 1, steps)
        with batch, self.import_lock:
            result = self._commit(batch, dry_run=dry_run, con=con)
        store = self.store if con is None else self._store_on(con)
        sentiment = None
        if not dry_run and self.config.text.enrich_on_import:
            from cxray.text import enrich_imported

            # scored and written on the import's own connection: collection goes on
            sentiment = enrich_imported(store, result, self.config)
        loop = None
        table = batch.table.name
        if not dry_run and any(r.on == table for r in self.config.loop.rules if r.enabled):
            loop = self._run_loop(table, result.import_id)
        if progress:
            progress("done", steps, steps)
        return ImportReport(table, batch.files, result, list(batch.attributes), sentiment, loop)

    def _commit(self, batch: Batch, *, dry_run: bool, con: Any) -> WriteResult:
        """Write a staged batch. The write lock (survey commits wait for it) is held only
        for short steps: adding the batch's new columns, or the whole write where the store
        has one connection (PostgreSQL) or a dry run must add columns to compare."""
        if con is None:  # one connection for every writer
            if not self.store.is_duckdb:  # staged in a private DuckDB: checked before the lock
                batch = batch.verify()
            with self.write_lock:
                (result,) = self.store.write(batch, dry_run=dry_run)
            return result
        columns = self.store.columns_to_add(batch)
        if dry_run and columns:
            with self.write_lock:
                (result,) = self.store.write(batch, dry_run=True, con=con)
            return result
        added: list[str] = []
        with self.write_lock:
            if columns:
                added = self.store.add_columns(batch.table.name, columns)
            # its import id, taken so that survey collection logging meanwhile takes another
            import_id = self.store.reserve_import_ids(1)
        try:
            (result,) = self.store.write(batch, dry_run=dry_run, con=con, import_id=import_id)
        except BaseException:
            if added:
                with self.write_lock:
                    self.store.drop_columns(batch.table.name, added)
            raise
        finally:
            self.store.release_import_ids(import_id, 1)
        if added:  # added just before the write: new to this import all the same
            result = dataclasses.replace(result, new_attributes=[*added, *result.new_attributes])
        return result

    def _store_on(self, con: Any) -> Store:
        """This store, read and written through ``con`` (a cursor of its connection)."""
        store = copy.copy(self.store)
        store.backend = ibis.duckdb.from_connection(con)
        return store

    def _run_loop(self, table: str, import_id: int | None) -> dict[str, Any]:
        """The closed loop's rules on a table's new rows, right after an import commits.
        The import stands whatever happens here: a rule that fails is reported, and the
        next run (``cxray loop run``, or ``cxray serve``'s schedule) catches up."""
        from cxray.exceptions import CXError

        try:
            return self.loop.run(sources=[table], deliver=False, first_import=import_id).to_dict()
        except CXError as exc:
            return {"error": str(exc)}

    # ------------------------------------------------------------ looking

    def table(self, name: str) -> ibis.Table:
        """An Ibis expression over a canonical table."""
        return self.store.table(name)

    def status(self, *, imports: int = 5) -> WorkspaceStatus:
        return WorkspaceStatus(
            store=self.store.url,
            schema_version=self.store.schema_version,
            tables=self.store.status(),
            imports=self.store.imports(imports),
        )

    def is_empty(self) -> bool:
        return all(t.rows == 0 for t in self.store.status())

    def require_rows(self, table: str) -> None:
        if self.store.table(table).count().to_pyarrow().as_py() == 0:
            raise StoreError(f"the {table} table is empty; import data or run `cxray demo`")

    # ------------------------------------------------------------ demo world

    def load_demo(
        self,
        *,
        seed: int = 42,
        customers: int = 20_000,
        months: int = 24,
        chunk_customers: int = 200_000,
        progress: ProgressFn | None = None,
        loop: bool = False,
    ) -> DemoReport:
        """Generate the demo company and write it, validated like any import.

        The world is built and written in chunks of customers (one transaction
        each), so worlds of tens of millions of rows never sit in memory at
        once. Refuses a store that holds data from real imports.

        ``loop``: then run the demo's closed loop over its history (its rules, alerts,
        follow-ups worked by demo agents, and the planted recovery effect;
        :func:`cxray.loop.simulate_demo`). A workspace whose config has no rules of its
        own takes the demo's (:data:`cxray.loop.DEMO_LOOP_TOML`).
        """
        from cxray.demo import BLOCK_CUSTOMERS, generate_chunks

        self._refuse_real_data()
        chunks = -(-customers // (-(-chunk_customers // BLOCK_CUSTOMERS) * BLOCK_CUSTOMERS))
        rows: dict[str, int] = {}
        added = updated = unchanged = 0
        effects: list[Any] = []
        t_gen = t_write = 0.0
        started = time.perf_counter()
        for i, world in enumerate(
            generate_chunks(
                seed=seed, customers=customers, months=months, chunk_customers=chunk_customers
            )
        ):
            if progress:
                progress(f"writing chunk {i + 1} of {chunks}", i, chunks)
            t_gen += time.perf_counter() - started
            started = time.perf_counter()
            effects = world.effects
            batches = []
            try:
                for name, table in world.tables().items():
                    batches.append(
                        read_frame(
                            name,
                            table,
                            name=f"demo seed={seed} part {i + 1}/{chunks}",
                            config=self.config,
                            con=self.store.duckdb_connection,
                            source=DEMO_SOURCE,
                        )
                    )
                    rows[name] = rows.get(name, 0) + table.num_rows
                for r in self.store.write(batches):
                    added, updated, unchanged = (
                        added + r.added,
                        updated + r.updated,
                        unchanged + r.unchanged,
                    )
            finally:
                for b in batches:
                    b.close()
            t_write += time.perf_counter() - started
            started = time.perf_counter()
        loop_report = None
        if loop:
            if progress:
                progress("the closed loop", chunks, chunks + 1)
            loop_report = self._demo_loop(seed)
            from cxray.demo import recovery_effect

            effects = [*effects, recovery_effect()]
        if progress:
            progress("done", chunks, chunks)
        return DemoReport(
            seed,
            customers,
            months,
            rows,
            added,
            updated,
            unchanged,
            effects,
            t_gen,
            t_write,
            loop_report,
        )

    def _demo_loop(self, seed: int) -> Any:
        from cxray.loop import demo_loop_config, simulate_demo

        report = simulate_demo(
            self.store, self.config, lock=self.write_lock, seed=seed, source=DEMO_SOURCE
        )
        if not self.config.loop.rules:  # serve and loop commands keep working with them
            self.config = self.config.model_copy(update={"loop": demo_loop_config()})
            self._loop = None
        return report

    def _refuse_real_data(self) -> None:
        log = self.store.backend.table(IMPORT_LOG)
        real = log.filter(log.source != DEMO_SOURCE).count().to_pyarrow().as_py()
        if real:
            raise StoreError(
                f"{self.store.url} holds imported data; the demo world goes into a store of "
                "its own: run `cxray --db demo.duckdb demo`"
            )

    # ------------------------------------------------------------ explore (cxray.explore)

    def rows(
        self,
        table: str,
        *,
        filters: Sequence[str] = (),
        sort: Sequence[str] = (),
        start: str | None = None,
        end: str | None = None,
        limit: int = 100,
        offset: int = 0,
        present: Sequence[str] = (),
    ) -> dict[str, Any]:
        """One page of the rows behind a figure: ``filters`` as ``COLUMN:VALUE`` (a
        customer attribute too), ``sort`` as column names (``-`` first for descending),
        ``start``/``end`` on the time column, ``present``: columns that must hold a value."""
        from cxray.explore import RowSelection, page_rows

        sel = RowSelection(table, list(filters), list(sort), start, end, list(present))
        zone = self.config.program.timezone
        return page_rows(self.store.backend, sel, zone, limit=limit, offset=offset)

    def customer(self, customer_id: str, *, limit: int = 1000) -> dict[str, Any]:
        """A customer's profile and timeline across responses, cases, orders, events, mentions."""
        from cxray.explore import customer_timeline

        return customer_timeline(self.store.backend, customer_id, limit=limit)

    # ------------------------------------------------------------ scorecard (cxray.metrics)
    # Thin wrappers: every definition and computation lives in cxray.metrics.

    def scorecard(
        self,
        by: Sequence[str] = (),
        period: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        metrics: Sequence[str] | None = None,
    ) -> Any:
        """Every KPI by attributes and period, with intervals, status and change.

        Returns a :class:`cxray.metrics.Scorecard` (``records()``, ``to_frame()``).
        """
        from cxray.metrics import scorecard

        return scorecard(
            self.table, self.config, by=by, period=period, start=start, end=end, metrics=metrics
        )

    def doctor(self) -> Any:
        """Which KPIs and analyses the data supports, and for each one it does not, why and
        what to import (:class:`cxray.metrics.Coverage`, ``to_dict()``; ``cxray doctor``)."""
        from cxray.metrics import coverage

        return coverage(self.table, self.config)

    def mix_shift(
        self, by: str, before: Sequence[Any], after: Sequence[Any], metric: str = "nps"
    ) -> stats.MixShift:
        """NPS (or CSAT) change between two windows split into mix and within-segment parts."""
        from cxray.metrics import mix_shift

        return mix_shift(
            self.table,
            self.config,
            by=by,
            before=before,
            after=after,
            metric=metric,  # type: ignore[arg-type]
        )

    def plan_sample_size(self, delta_points: float, metric: str = "nps", **kwargs: Any) -> Any:
        """Responses per group to detect ``delta_points`` of change, from today's baseline."""
        from cxray.metrics import plan_sample_size

        return plan_sample_size(
            self.table,
            self.config,
            delta_points=delta_points,
            metric=metric,
            **kwargs,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------- served workspaces

#: the workspaces this process serves, by the real path of their DuckDB file (``serving``)
_SERVED: dict[str, Workspace] = {}
_SERVED_LOCK = threading.Lock()
#: the folder a relative store path means (the client's, for a command run for it)
_FOLDER: contextvars.ContextVar[str | None] = contextvars.ContextVar("folder", default=None)


@contextlib.contextmanager
def resolving_from(folder: str | Path) -> Iterator[None]:
    """Inside the block (this thread), a relative path of a served store means one in
    ``folder``: a command a server runs for a process there names the store as typed."""
    token = _FOLDER.set(str(folder))
    try:
        yield
    finally:
        _FOLDER.reset(token)


def _in_folder(db: str | Path) -> str | Path:
    folder = _FOLDER.get()
    if folder is not None and "://" not in str(db) and not os.path.isabs(db):
        return os.path.join(folder, db)
    return db


def _served_key(db: str | Path) -> str | None:
    try:
        return os.path.realpath(serve_file(_in_folder(db)))
    except ValueError:  # not a DuckDB file: nothing to share
        return None


def _served_owner(db: str | Path) -> Workspace | None:
    key = _served_key(db)
    with _SERVED_LOCK:
        return _SERVED.get(key) if key is not None else None


class _ServedView(Workspace):
    """A served workspace as ``Workspace.open`` returns it inside the serving process."""

    def __init__(self, owner: Workspace, url: str, config: ProgramConfig, *, read_only: bool):
        store = copy.copy(owner.store)  # the same store, its own handle
        store.url, store.read_only = url, read_only
        self._cursor = None
        con = owner.store.duckdb_connection
        if con is not None:  # one DuckDB connection is not for several threads: a cursor
            self._cursor = con.cursor()
            self._cursor.execute("SET TimeZone = 'UTC'")
            self._cursor.execute("SET enable_progress_bar = false")
            store.backend = ibis.duckdb.from_connection(self._cursor)
        super().__init__(store, config)
        self.write_lock = owner.write_lock  # writes in the order the server's lock gives them
        self.import_lock = owner.import_lock

    def close(self) -> None:
        if self._surveys is not None:
            self._surveys.close()
        if self._cursor is not None:
            with contextlib.suppress(Exception):
                self._cursor.close()
            self._cursor = None

    def load_demo(self, **kwargs: Any) -> DemoReport:
        if self.store.read_only:
            raise StoreError(f"{self.store.url} is open read-only")
        with self.write_lock:
            return super().load_demo(**kwargs)
