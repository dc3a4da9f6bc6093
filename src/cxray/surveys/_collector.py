"""The collector: every survey submission lands in ``responses``, durably, before it is answered.

Submissions are queued to one writer thread, which takes whatever has queued
up while the previous commit ran and writes it in one transaction (a *group
commit*): the answers merged over the response's earlier steps, the
``responses`` row replaced, the submission ledger (``_cx_submissions``) and
the invitation updated, the import log's collection entry counted. Only
after the commit returns is any of them acknowledged, so an acknowledged
response survives the process being killed the next instant (DuckDB has
written its log by then). Under load a commit carries dozens of submissions,
so throughput grows with load while each waits at most one commit.

Repeats are recognised by ``response_id``: the same answers again are
*unchanged* (nothing written), more answers to a partial response *update*
it, and other answers to a completed response are refused
(:class:`~cxray.exceptions.AlreadySubmittedError`), as is a second response
to one invitation.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import pyarrow as pa

from cxray.config import ProgramConfig
from cxray.exceptions import (
    AlreadySubmittedError,
    CXError,
    InvalidTokenError,
    StoreError,
)
from cxray.store import IMPORT_LOG, INVITATIONS, SUBMISSIONS, Store
from cxray.surveys._answers import merge, response_values
from cxray.surveys._registry import SurveyRegistry

__all__ = ["Collector", "Receipt", "Submission"]

SOURCE = "surveys"
#: how often the collection's entry in the import log is brought up to date
LOG_EVERY = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Submission:
    """One submission of answers (already type-checked with ``check_answers``)."""

    survey: str
    response_id: str
    answers: dict[str, Any]
    complete: bool = True
    customer_id: str | None = None
    invitation_id: str | None = None
    language: str | None = None
    channel: str | None = None
    #: may not add to a partial response stored before it (an anonymous client without
    #: that response's resume token; ``Surveys.prepare``)
    bound: bool = False


@dataclass(frozen=True)
class Receipt:
    """What happened to a submission once it is durable."""

    response_id: str
    status: Literal["created", "updated", "unchanged"]
    completed: bool
    answers: dict[str, Any]
    customer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "status": self.status,
            "completed": self.completed,
            "answers": self.answers,
        }


@dataclass
class _State:
    answers: dict[str, Any]
    completed: bool
    first_at: dt.datetime
    stored: bool  # a row exists in the store (before this batch)
    survey: str
    invitation_id: str | None
    customer_id: str | None
    language: str | None
    channel: str | None
    dirty: bool = False


@dataclass
class _Item:
    sub: Submission
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


_STOP = object()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Collector:
    """Writes submissions with group commit; one per store and process.

    ``lock`` is the lock every other writer of the store holds (the server's
    write lock), so a commit never interleaves with an import.
    """

    def __init__(
        self,
        store: Store,
        registry: SurveyRegistry,
        config: ProgramConfig,
        *,
        lock: threading.RLock | None = None,
        max_batch: int = 512,
        after_write: Any = None,
    ):
        if store.read_only:
            raise StoreError(f"{store.url} is open read-only; surveys cannot be collected")
        self.store = store
        self.registry = registry
        self.config = config
        self.lock = lock or threading.RLock()
        self.max_batch = max_batch
        #: ``after_write(rows)``: called with the responses rows of each commit, inside the
        #: commit (the closed loop records its alerts, follow-ups and outbox there)
        self.after_write = after_write
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._import_id: int | None = None
        self._prepared: set[str] = set()
        self._unlogged = (0, 0, 0)  # rows_in, added, updated not yet in the import log
        self._logged_at = dt.datetime.min
        self._types: dict[str, str] | None = None  # column types of responses
        self._started = threading.Lock()
        #: commits made, and submissions in them (for tests and the benchmark)
        self.commits = 0
        self.written = 0

    # ------------------------------------------------------------ lifecycle

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._started:
            if self._thread is None:
                t = threading.Thread(target=self._run, name="cxray-collector", daemon=True)
                t.start()
                self._thread = t

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the writer."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self._unlogged[0]:
            with self.lock:
                self._flush_log(_utcnow())

    # ------------------------------------------------------------ submitting

    def submit(self, sub: Submission) -> concurrent.futures.Future:
        """Queue a submission; the future's result is its :class:`Receipt` once committed."""
        self._ensure_thread()
        item = _Item(sub)
        self._queue.put(item)
        return item.future

    def collect(self, sub: Submission, timeout: float = 60.0) -> Receipt:
        """Submit and wait for the commit (raises the submission's error)."""
        return self.submit(sub).result(timeout)

    # ------------------------------------------------------------ the writer

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._process(batch)

    def _process(self, batch: list[_Item]) -> None:
        pending: list[_Item] = []
        for item in batch:  # a survey's columns are added outside the transaction
            if item.sub.survey not in self._prepared:
                try:
                    with self.lock:
                        self.registry.prepared(item.sub.survey)
                except CXError as exc:
                    item.future.set_exception(exc)
                    continue
                self._prepared.add(item.sub.survey)
                self._types = None  # it may have added columns
            pending.append(item)
        if not pending:
            return
        try:
            with self.lock, self._transaction():
                outcomes = self._apply(pending)
        except Exception as exc:  # the commit failed: none of them is stored
            err = exc if isinstance(exc, CXError) else StoreError(f"could not store: {exc}")
            for item in pending:
                if not item.future.done():
                    item.future.set_exception(err)
            return
        self.commits += 1
        for item, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if not self.store.is_duckdb:  # other backends: statement by statement
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

    # ------------------------------------------------------------ one transaction

    def _read_ledger(self, ids: list[str]) -> dict[str, _State]:
        b = self.store.backend
        if self.store.is_duckdb:
            rows = b.con.execute(
                f"SELECT response_id, survey, invitation_id, answers, completed, first_at, "
                f"customer_id, language, channel "
                f"FROM {SUBMISSIONS} WHERE response_id IN (SELECT unnest($1::VARCHAR[]))",
                [ids],
            ).fetchall()
        else:
            t = b.table(SUBMISSIONS)
            rows = [
                tuple(r.values())
                for r in t.filter(t.response_id.isin(ids))
                .select(
                    "response_id",
                    "survey",
                    "invitation_id",
                    "answers",
                    "completed",
                    "first_at",
                    "customer_id",
                    "language",
                    "channel",
                )
                .to_pyarrow()
                .to_pylist()
            ]
        return {
            r[0]: _State(
                answers=json.loads(r[3]),
                completed=bool(r[4]),
                first_at=r[5],
                stored=True,
                survey=r[1],
                invitation_id=r[2],
                customer_id=r[6],
                language=r[7],
                channel=r[8],
            )
            for r in rows
        }

    def _read_invitations(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        t = self.store.backend.table(INVITATIONS)
        rows = (
            t.filter(t.invitation_id.isin(ids))
            .select("invitation_id", "survey", "customer_id", "responded_at", "response_id")
            .to_pyarrow()
            .to_pylist()
        )
        return {r["invitation_id"]: r for r in rows}

    def _apply(self, items: list[_Item]) -> list[Receipt | BaseException]:
        now = _utcnow()
        ids = sorted({i.sub.response_id for i in items})
        states = self._read_ledger(ids)
        invitations = self._read_invitations(
            sorted({i.sub.invitation_id for i in items if i.sub.invitation_id})
        )
        outcomes: list[Receipt | BaseException] = []
        for item in items:
            try:
                outcomes.append(self._one(item.sub, states, invitations, now))
            except CXError as exc:
                outcomes.append(exc)
        dirty = {rid: s for rid, s in states.items() if s.dirty}
        if dirty:
            self._write(dirty, now)
        return outcomes

    def _one(
        self,
        sub: Submission,
        states: dict[str, _State],
        invitations: dict[str, dict[str, Any]],
        now: dt.datetime,
    ) -> Receipt:
        survey = self.registry.get(sub.survey)
        if sub.invitation_id is not None:
            inv = invitations.get(sub.invitation_id)
            if inv is None or inv["survey"] != sub.survey:
                raise InvalidTokenError("the invitation token names no invitation of this store")
            if inv["response_id"] not in (None, sub.response_id):
                raise AlreadySubmittedError("this invitation has already been answered")
        prev = states.get(sub.response_id)
        if prev is not None and prev.survey != sub.survey:
            raise AlreadySubmittedError(
                f"response {sub.response_id!r} belongs to survey {prev.survey!r}"
            )
        if prev is not None and prev.completed:
            if {**prev.answers, **sub.answers} == prev.answers:
                return Receipt(sub.response_id, "unchanged", True, prev.answers,
                               prev.customer_id)  # fmt: skip
            what = "this invitation" if sub.invitation_id else f"response {sub.response_id!r}"
            raise AlreadySubmittedError(
                f"{what} has already been answered; a completed response cannot be changed"
            )
        merged = merge(
            survey,
            prev.answers if prev else None,
            sub.answers,
            complete=sub.complete,
            survey_name=sub.survey,
        )
        if prev is not None and merged == prev.answers and sub.complete == prev.completed:
            return Receipt(sub.response_id, "unchanged", prev.completed, merged, prev.customer_id)
        if prev is not None and sub.bound:
            raise InvalidTokenError(
                f"response {sub.response_id!r} was started by another client: continue it "
                "with the resume_token its first step was answered with"
            )
        state = _State(
            answers=merged,
            completed=sub.complete,
            first_at=prev.first_at if prev else now,
            stored=prev.stored if prev else False,
            survey=sub.survey,
            invitation_id=sub.invitation_id or (prev.invitation_id if prev else None),
            customer_id=sub.customer_id or (prev.customer_id if prev else None),
            language=sub.language or (prev.language if prev else None),
            channel=sub.channel or (prev.channel if prev else None),
            dirty=True,
        )
        states[sub.response_id] = state
        status = "updated" if prev is not None else "created"
        return Receipt(sub.response_id, status, sub.complete, merged, state.customer_id)

    def _log_id(self) -> int:
        """This process's entry in the import log, made on the first write."""
        if self._import_id is not None:
            return self._import_id
        from cxray import __version__  # the package's, set after its modules load

        b = self.store.backend
        next_id = self.store.next_import_id()  # not one an import still writing has taken
        now = _utcnow()
        row = {
            "import_id": next_id,
            "table_name": "responses",
            "source": SOURCE,
            "files": "[]",
            "rows_in": 0,
            "added": 0,
            "updated": 0,
            "unchanged": 0,
            "started_at": now,
            "finished_at": now,
            "cxray_version": __version__,
        }
        if self.store.is_duckdb:
            cols = ", ".join(row)
            b.con.execute(
                f"INSERT INTO {IMPORT_LOG} ({cols}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        else:
            b.insert(IMPORT_LOG, ibis.memtable([row]))
        self._import_id = next_id
        return next_id

    def _write(self, dirty: dict[str, _State], now: dt.datetime) -> None:
        import_id = self._log_id()
        rows = []
        for rid, s in dirty.items():
            survey = self.registry.get(s.survey)
            rows.append(
                {
                    "response_id": rid,
                    "submitted_at": now,
                    "customer_id": s.customer_id,
                    "survey": s.survey,
                    "touchpoint": survey.touchpoint,
                    "channel": s.channel,
                    **response_values(survey, s.answers),
                    "completed": s.completed,
                    "language": s.language,
                    "invitation_id": s.invitation_id,
                    "_import_id": import_id,
                }
            )
        replaced = [rid for rid, s in dirty.items() if s.stored]
        states = list(dirty.values())
        ledger = pa.table(
            {
                "response_id": list(dirty),
                "survey": [s.survey for s in states],
                "invitation_id": [s.invitation_id for s in states],
                "customer_id": [s.customer_id for s in states],
                "language": [s.language for s in states],
                "channel": [s.channel for s in states],
                "answers": [json.dumps(s.answers, separators=(",", ":")) for s in states],
                "completed": [s.completed for s in states],
                "first_at": [s.first_at for s in states],
                "last_at": [now] * len(states),
            },
            schema=_LEDGER,  # typed even where a column is all null
        )
        answered = [
            (s.invitation_id, rid) for rid, s in dirty.items() if s.invitation_id and s.completed
        ]
        added = len(dirty) - len(replaced)
        if self.store.is_duckdb:
            self._write_duckdb(rows, replaced, ledger, answered, now, import_id, added)
        else:
            self._write_ibis(rows, replaced, ledger, answered, now, import_id, added)
        if self.after_write is not None:
            self.after_write(rows)
        self.written += len(dirty)

    def _write_duckdb(self, rows, replaced, ledger, answered, now, import_id, added) -> None:
        con = self.store.backend.con
        if self._types is None:
            self._types = self.store.columns("responses")
        data = _arrow_rows(rows, self._types)
        if replaced:
            con.execute(
                "DELETE FROM responses WHERE response_id IN (SELECT unnest($1::VARCHAR[]))",
                [replaced],
            )
        con.register("_cx_collected", data)
        con.register("_cx_ledger", ledger)
        try:
            con.execute("INSERT INTO responses BY NAME SELECT * FROM _cx_collected")
            if replaced:  # a plain insert keeps the ledger's key index cheap to maintain
                con.execute(
                    f"DELETE FROM {SUBMISSIONS} WHERE response_id IN "
                    "(SELECT unnest($1::VARCHAR[]))",
                    [replaced],
                )
            con.execute(f"INSERT INTO {SUBMISSIONS} BY NAME SELECT * FROM _cx_ledger")
        finally:
            con.unregister("_cx_collected")
            con.unregister("_cx_ledger")
        for inv_id, rid in answered:
            con.execute(
                f"UPDATE {INVITATIONS} SET responded_at = $1, response_id = $2 "
                "WHERE invitation_id = $3",
                [now, rid, inv_id],
            )
        self._unlogged = (
            self._unlogged[0] + len(rows), self._unlogged[1] + added,
            self._unlogged[2] + len(replaced),
        )  # fmt: skip
        if now - self._logged_at >= LOG_EVERY:
            self._flush_log(now)

    def _flush_log(self, now: dt.datetime) -> None:
        """Add the counts written since the last flush to this process's import-log entry.

        Done at most once a second (and when the collector closes), in the
        transaction of a write: the counts are bookkeeping, the rows themselves
        are committed with every batch.
        """
        rows, added, updated = self._unlogged
        if self._import_id is None or rows == 0:
            return
        sql = (
            f"UPDATE {IMPORT_LOG} SET rows_in = rows_in + {rows}, added = added + {added}, "
            f"updated = updated + {updated}, finished_at = '{now.isoformat(sep=' ')}' "
            f"WHERE import_id = {self._import_id}"
        )
        if self.store.is_duckdb:
            self.store.backend.con.execute(sql)
        else:
            self.store.backend.raw_sql(sql)
        self._unlogged = (0, 0, 0)
        self._logged_at = now

    def _write_ibis(self, rows, replaced, ledger, answered, now, import_id, added) -> None:
        b = self.store.backend

        def quoted(values: list[str]) -> str:
            return ", ".join("'" + v.replace("'", "''") + "'" for v in values)

        schema = b.table("responses").schema()
        data = _arrow_rows(rows, {k: str(v) for k, v in schema.items()}, full=True)
        if replaced:
            b.raw_sql(f"DELETE FROM responses WHERE response_id IN ({quoted(replaced)})")
        ids = ledger["response_id"].to_pylist()
        b.raw_sql(f"DELETE FROM {SUBMISSIONS} WHERE response_id IN ({quoted(ids)})")
        b.insert("responses", ibis.memtable(data).cast(schema))
        b.insert(SUBMISSIONS, ibis.memtable(ledger))
        for inv_id, rid in answered:
            b.raw_sql(
                f"UPDATE {INVITATIONS} SET responded_at = '{now.isoformat(sep=' ')}', "
                f"response_id = {quoted([rid])} WHERE invitation_id = {quoted([inv_id])}"
            )
        self._unlogged = (
            self._unlogged[0] + len(rows), self._unlogged[1] + added,
            self._unlogged[2] + len(replaced),
        )  # fmt: skip
        self._flush_log(now)


_LEDGER = pa.schema(
    [(c, pa.string()) for c in ("response_id", "survey", "invitation_id", "customer_id",
                                "language", "channel", "answers")]
    + [("completed", pa.bool_()), ("first_at", pa.timestamp("us")),
       ("last_at", pa.timestamp("us"))]
)  # fmt: skip
_ARROW = {
    "int64": pa.int64(), "bigint": pa.int64(), "string": pa.string(), "varchar": pa.string(),
    "boolean": pa.bool_(), "float64": pa.float64(), "double": pa.float64(),
}  # fmt: skip


def _arrow_type(type_name: str) -> pa.DataType:
    name = type_name.lower().removesuffix("!")
    if name.startswith("timestamp"):
        return pa.timestamp("us")
    return _ARROW.get(name, pa.string())


def _arrow_rows(
    rows: list[dict[str, Any]], types: dict[str, str], *, full: bool = False
) -> pa.Table:
    """The rows as Arrow with the store's column types (all its columns when ``full``)."""
    names = list(types) if full else [c for c in types if any(c in r for r in rows)]
    return pa.table({c: pa.array([r.get(c) for r in rows], _arrow_type(types[c])) for c in names})
