"""The audit log as a library and from the command line: events kept, filtered, batched,
never blocking, written at close; on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from cxray.access import ACTIONS, AuditLog, local_actor
from cxray.cli import main
from cxray.exceptions import QueryError
from cxray.store import AUDIT, MIGRATIONS, Store
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres


def _rows(store: Store) -> list[dict]:
    return store.backend.table(AUDIT).to_pyarrow().to_pylist()


def _check_round_trip(store: Store) -> None:
    log = AuditLog(store, flush_every=0.05)
    t0 = dt.datetime(2026, 11, 1, 9, 0, 0)
    for i in range(12):
        log.record(
            "read" if i % 3 else "export",
            actor=f"key {i % 2}",
            key_id=i % 2 + 1,
            role="viewer",
            address="10.0.0.7",
            target=f"/api/tables/t{i}/rows",
            detail={"method": "GET", "http": 200},
            at=t0 + dt.timedelta(minutes=i),
        )
    log.record("erase", actor=local_actor(), role="owner", interface="cli",
               target=log.customer_ref("C-42"), at=t0 + dt.timedelta(hours=2))  # fmt: skip
    every = log.events(limit=100)
    assert len(every) == 13
    assert [e.at for e in every] == sorted((e.at for e in every), reverse=True)  # newest first
    assert every[0].action == "erase" and every[0].interface == "cli"
    exports = log.events(action="export")
    assert [e.target for e in exports] == [f"/api/tables/t{i}/rows" for i in (9, 6, 3, 0)]
    assert {e.key_id for e in log.events(actor=2)} == {2} and len(log.events(actor="#2")) == 6
    assert len(log.events(actor="key 0")) == 6
    window = log.events(since="2026-11-01T09:03:00Z", until=t0 + dt.timedelta(minutes=6))
    assert sorted(int(e.target.split("/")[3][1:]) for e in window) == [3, 4, 5]
    page = log.events(limit=5, offset=5)
    assert [e.event_id for e in page] == [e.event_id for e in every[5:10]]
    found = log.events(customer="C-42")
    assert len(found) == 1 and "C-42" not in found[0].target
    assert found[0].detail == {} and every[1].detail == {"http": 200, "method": "GET"}
    log.close()


def test_migration_creates_the_audit_table(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        assert AUDIT in s.backend.list_tables()
        assert s.schema_version == MIGRATIONS[-1].version
        assert _rows(s) == []


def test_events_round_trip_with_filters_and_paging(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        _check_round_trip(s)


@needs_postgres
def test_events_round_trip_on_postgres():
    with Store(fresh_postgres()) as s:
        assert AUDIT in s.backend.list_tables()
        _check_round_trip(s)
        assert len(_rows(s)) == 13


def test_bad_filters_and_unknown_actions_are_refused(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        log = AuditLog(s)
        with pytest.raises(QueryError, match="unknown audit action 'delete'"):
            log.record("delete", actor="x")
        with pytest.raises(QueryError, match="since='yesterday' is not a time"):
            log.events(since="yesterday")
        with pytest.raises(QueryError, match="unknown audit action"):
            log.events(action="nothing")
        with pytest.raises(QueryError, match="control character"):
            log.events(actor="a\x00b")
        assert log.events(actor="9" * 30) == [] and log.events(actor="#") == []
        for bad in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-10:00", "2026-13-01"):
            with pytest.raises(QueryError, match="is not a time"):
                log.events(until=bad)
        log.close()
        assert _rows(s) == []  # nothing written by any of them
    assert set(ACTIONS) >= {"read", "export", "import", "keys", "secrets", "erase", "login"}


def test_the_queue_is_written_at_close(tmp_path):
    db = tmp_path / "s.duckdb"
    with Workspace.open(db) as ws:
        log = ws.audit
        log.flush_every = 60.0  # the writer would wait a minute: only close() writes them
        for i in range(40):
            log.record("read", actor="wallboard", key_id=1, role="viewer", target=f"/r/{i}")
        time.sleep(0.2)
        assert len(_rows(ws.store)) == 0  # still queued
    with Store(db) as s:
        assert sorted(r["target"] for r in _rows(s)) == sorted(f"/r/{i}" for i in range(40))


class _CountingLock:
    """The store's write lock, counting how often it is taken and the longest hold in events."""

    def __init__(self):
        self._lock = threading.RLock()
        self.taken = 0

    def __enter__(self):
        self._lock.acquire()
        self.taken += 1
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def acquire(self, *a, **kw):
        return self._lock.acquire(*a, **kw)

    def release(self):
        self._lock.release()


def test_a_burst_of_5000_reads_is_kept_whole_in_few_short_writes(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        lock = _CountingLock()
        log = AuditLog(s, lock=lock, flush_every=0.05, batch=500)  # type: ignore[arg-type]

        def reader(n: int) -> None:
            for i in range(1250):
                log.record("read", actor=f"k{n}", key_id=n, role="viewer", target=f"/x/{i}")

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log.flush()
        rows = _rows(s)
        assert len(rows) == 5000 and len({r["event_id"] for r in rows}) == 5000
        assert {r["actor"] for r in rows} == {"k0", "k1", "k2", "k3"}
        # batched: each time the lock is taken one insert of up to 500 events is made,
        # so 5,000 events take the lock at least 10 and far fewer than 5,000 times
        assert log.written == 5000 and log.flushes == lock.taken
        assert 10 <= lock.taken <= 60
        log.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        lock = threading.RLock()
        log = AuditLog(s, lock=lock, flush_every=0.01, max_queued=10)
        returned = threading.Event()

        def burst() -> None:
            for i in range(200):
                log.record("read", actor="a", target=f"/{i}")
            returned.set()

        with lock:  # an import holds the write lock: the writer cannot write
            t = threading.Thread(target=burst)
            t.start()
            assert returned.wait(10), "record() waited for the write lock"
        t.join()
        log.flush()
        log.close()
        rows = _rows(s)
        kept = [r for r in rows if r["action"] == "read"]
        dropped = [r for r in rows if r["action"] == "dropped"]
        assert len(dropped) >= 1 and len(kept) < 200
        import json

        assert len(kept) + sum(json.loads(r["detail"])["count"] for r in dropped) == 200


# ---------------------------------------------------------------- the command line


def _cli(capsys, *args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    capsys.readouterr()
    return exc.value.code


def test_cli_changes_are_recorded_as_the_local_user(tmp_path, capsys, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "cli.duckdb")
    p = write("c.csv", "customer_id,email,created_at\nC-7,ana@example.com,2026-01-01\n")
    assert _cli(capsys, "--db", db, "import", "customers", str(p)) == 0
    assert _cli(capsys, "--db", db, "keys", "create", "--role", "viewer", "--name", "wb") == 0
    assert _cli(capsys, "--db", db, "keys", "list") == 0  # a read: not recorded
    assert _cli(capsys, "--db", db, "status") == 0  # neither
    code = _cli(capsys, "--db", db, "erase", "--customer", "C-7", "--yes")
    bad = write("bad.csv", "customer_id\nC-8\n")
    assert _cli(capsys, "--db", db, "import", "customers", str(bad)) == 1
    with Workspace.open(db) as ws:
        events = list(reversed(ws.audit.events()))
    # `cxray erase` is recorded once it exists (a usage error, exit 2, runs no command)
    erased = [("erase", "ok" if code == 0 else "failed")] if code != 2 else []
    assert [(e.action, e.status) for e in events] == [
        ("import", "ok"),
        ("keys", "ok"),
        *erased,
        ("import", "failed"),
    ]
    assert {(e.actor, e.role, e.interface, e.address) for e in events} == {
        (local_actor(), "owner", "cli", "")
    }
    assert events[0].target == "customers" and events[0].detail == {"command": "import", "exit": 0}
    assert events[-1].detail == {"command": "import", "exit": 1}
    if erased:
        with Workspace.open(db) as ws:
            assert events[2].target == ws.audit.customer_ref("C-7")
        assert events[2].detail["exit"] == code
    with Workspace.open(db) as ws:
        text = repr(ws.store.backend.table(AUDIT).to_pyarrow().to_pylist())
    assert "ana@example.com" not in text and "C-7" not in text


def test_cxray_audit_prints_json_and_csv(tmp_path, capsys, monkeypatch, write):
    import json

    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "cli.duckdb")
    assert _cli(capsys, "--db", db, "keys", "create", "--role", "admin") == 0
    with pytest.raises(SystemExit):
        main(["--db", db, "audit", "--format", "json", "--action", "keys"])
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1 and out[0]["action"] == "keys" and out[0]["interface"] == "cli"
    with pytest.raises(SystemExit):
        main(["--db", db, "audit", "--format", "csv"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("action,actor,key_id,role") and len(lines) == 2
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "audit", "--from", "soon"])
    assert exc.value.code == 1 and "'soon' is not a time" in capsys.readouterr().err


def test_a_command_run_through_a_server_is_recorded_once_and_kept_at_shutdown(tmp_path):
    import subprocess
    import sys

    import httpx

    from tests._serve import create_key, served

    db = tmp_path / "served.duckdb"
    (tmp_path / "c.csv").write_text("customer_id,created_at\nC-1,2026-01-01\n")
    with Workspace.open(db):
        pass
    key = create_key(db, "viewer")  # recorded locally: no server yet
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CXRAY_")}
    with served(db) as base:
        done = subprocess.run(
            [sys.executable, "-m", "cxray", "--db", str(db), "import", "customers", "c.csv"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (tmp_path / "d.csv").write_text("customer_id,created_at\nC-2,2026-01-02\n")
        with Workspace.open(db) as remote:  # the library, through the server
            assert remote.store.remote == base
            remote.import_files("customers", [tmp_path / "d.csv"])
        for _ in range(3):
            r = httpx.get(f"{base}/api/status", headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200
    # the server stopped (SIGTERM): what it had queued is in the store
    with Workspace.open(db) as ws:
        events = list(reversed(ws.audit.events()))
    assert [(e.action, e.interface) for e in events] == [
        ("keys", "cli"),
        ("import", "cli"),  # once: by the server that ran it, not by the client too
        ("import", "api"),  # the library's import, through the server
        ("read", "api"),
        ("read", "api"),
        ("read", "api"),
    ]
    assert events[1].actor == local_actor() and events[1].target == "customers"
    assert (events[2].actor, events[2].role, events[2].detail["via"]) == (
        local_actor(),
        "owner",
        "local",
    )
    assert events[2].target == "/api/_local/imports/customers"
    assert {(e.actor, e.role, e.address) for e in events[3:]} == {
        ("viewer key", "viewer", "127.0.0.1")
    }


def test_a_process_that_forgets_to_close_still_writes_its_queue(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    with Store(db):
        pass
    script = (
        "from cxray.access import AuditLog\n"
        "from cxray.store import Store\n"
        f"log = AuditLog(Store({str(db)!r}), flush_every=60)\n"
        "for i in range(25):\n"
        "    log.record('read', actor='script', target=f'/x/{i}')\n"
    )  # no close(): the interpreter's exit writes the 25 events
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Store(db) as s:
        assert sorted(r["target"] for r in _rows(s)) == sorted(f"/x/{i}" for i in range(25))
