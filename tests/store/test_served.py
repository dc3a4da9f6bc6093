"""The serve file beside a DuckDB store, and the served workspace inside the serving process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from cxray.exceptions import StoreError
from cxray.store import (
    LOCAL_TOKEN_HEADER,
    ServedStore,
    announce,
    find_server,
    serve_file,
    withdraw,
)
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, needs_postgres


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_announce_find_withdraw_round_trip(tmp_path, monkeypatch):
    db = tmp_path / "cx.duckdb"
    served = announce(db, "http://127.0.0.1:8123/")
    path = serve_file(db)
    assert path == tmp_path / "cx.duckdb.serve.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    body = json.loads(path.read_text())
    assert body["url"] == "http://127.0.0.1:8123" and body["pid"] == os.getpid()
    assert body["store"] == str(db) and len(body["token"]) >= 40 and "T" in body["started"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    # any spelling of the store finds it: relative, duckdb:// URL
    monkeypatch.chdir(tmp_path)
    assert find_server("cx.duckdb") == served
    assert find_server(f"duckdb://{db}") == served
    assert served == ServedStore("http://127.0.0.1:8123", body["token"], os.getpid(), str(db))
    withdraw(db, served)
    assert not path.exists() and find_server(db) is None


def test_withdraw_leaves_another_servers_file(tmp_path):
    db = tmp_path / "cx.duckdb"
    first = announce(db, "http://127.0.0.1:1")
    second = announce(db, "http://127.0.0.1:2")  # a new server took over
    withdraw(db, first)
    assert find_server(db) == second
    withdraw(db, second)
    assert find_server(db) is None
    withdraw(db, second)  # twice: nothing to remove, no error


def test_a_stale_or_broken_file_is_ignored(tmp_path):
    db = tmp_path / "cx.duckdb"
    path = serve_file(db)
    good = {"url": "http://127.0.0.1:9", "token": "t" * 43, "store": str(db)}
    path.write_text(json.dumps({**good, "pid": _dead_pid()}))
    assert find_server(db) is None  # a killed server's file: never trusted
    path.write_text(json.dumps({**good, "pid": os.getpid()}))
    assert find_server(db) is not None
    for broken in ("{", "[]", json.dumps({**good, "pid": "x"}), json.dumps({"pid": os.getpid()})):
        path.write_text(broken)
        assert find_server(db) is None, broken
    path.write_text(json.dumps({**good, "pid": os.getpid(), "url": "file:///etc/passwd"}))
    assert find_server(db) is None


def test_only_duckdb_files_have_a_serve_file(tmp_path):
    for db in (":memory:", "postgres://u:p@127.0.0.1/x", "duckdb://:memory:"):
        assert find_server(db) is None
    with pytest.raises(ValueError, match="not a DuckDB file"):
        serve_file("postgres://u:p@127.0.0.1/x")
    assert find_server(None) is None
    assert LOCAL_TOKEN_HEADER == "X-Cxray-Local-Token"


def test_find_server_imports_nothing_heavy():
    # the CLI asks at every start-up, before anything else is loaded
    code = (
        "import sys\n"
        "from cxray.cli._remote import _served_module\n"
        "print(_served_module().find_server('x.duckdb'))\n"
        "print(sorted(m for m in ('ibis', 'duckdb', 'httpx', 'pandas', 'cxray.store')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["None", "[]"]


HEAD = "response_id,submitted_at,nps\n"


def test_workspace_open_inside_the_serving_process_is_a_view(tmp_path, monkeypatch):
    db = tmp_path / "cx.duckdb"
    (tmp_path / "a.csv").write_text(HEAD + "A,2025-01-01,9\nB,2025-01-02,3\n")
    (tmp_path / "b.csv").write_text(HEAD + "C,2025-01-03,10\n")
    monkeypatch.chdir(tmp_path)
    with Workspace.open(db) as owner:
        owner.import_files("responses", [tmp_path / "a.csv"])
        with owner.serving():
            view = Workspace.open("cx.duckdb")  # another spelling of the same file
            assert view is not owner and view.write_lock is owner.write_lock
            assert view.store.url == "cx.duckdb"
            assert view.store.backend is not owner.store.backend  # its own cursor
            report = view.import_files("responses", ["b.csv"])
            assert (report.result.added, report.result.import_id) == (1, 2)
            view.close()  # closes its cursor only
            assert owner.status().tables[2].rows == 3  # the server sees the write
            ro = Workspace.open(db, read_only=True)
            assert [t.rows for t in ro.status().tables if t.table == "responses"] == [3]
            with pytest.raises(StoreError, match="read-only"):
                ro.import_files("responses", [tmp_path / "b.csv"])
            ro.close()
        # the block is over: a second connection in this process is the store again
        with Workspace.open(db) as again:
            assert type(again) is Workspace and again.store.backend is not owner.store.backend


def test_views_in_threads_read_at_once(tmp_path):
    db = tmp_path / "cx.duckdb"
    (tmp_path / "a.csv").write_text(
        HEAD + "".join(f"R{i},2025-01-01,{i % 11}\n" for i in range(200))
    )
    results: list[int] = []
    errors: list[BaseException] = []
    with Workspace.open(db) as owner:
        owner.import_files("responses", [tmp_path / "a.csv"])
        with owner.serving():

            def read() -> None:
                try:
                    with Workspace.open(db, read_only=True) as ws:
                        for _ in range(5):
                            n = ws.table("responses").count().to_pyarrow().as_py()
                            results.append(n)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=read) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    assert errors == [] and results == [200] * 20


@needs_postgres
def test_a_postgres_workspace_is_not_shared(tmp_path):
    assert POSTGRES_URL
    url = POSTGRES_URL  # rows are counted before and after: no need for an empty database
    key = f"served-{os.getpid()}-{threading.get_ident()}"
    with Workspace.open(url) as owner, owner.serving():
        before = owner.table("responses").count().to_pyarrow().as_py()
        # several processes connect to PostgreSQL on their own: nothing to find or share
        assert find_server(url) is None
        other = Workspace.open(url)
        try:
            assert type(other) is Workspace and other.store.backend is not owner.store.backend
            (tmp_path / "a.csv").write_text(HEAD + f"{key},2025-01-01,9\n")
            other.import_files("responses", [tmp_path / "a.csv"])
            count = owner.table("responses").count().to_pyarrow().as_py()
            assert count == before + 1
        finally:
            other.close()


def test_the_local_token_is_an_admin_from_loopback_only(tmp_path):
    from fastapi.testclient import TestClient

    from cxray.api import create_app

    app = create_app(tmp_path / "cx.duckdb")
    app.state.local_token = "t" * 43
    ok, wrong = {LOCAL_TOKEN_HEADER: "t" * 43}, {LOCAL_TOKEN_HEADER: "u" * 43}
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/api/keys", headers=ok).status_code == 200  # an admin's endpoint
        assert local.get("/api/keys", headers=wrong).status_code == 401
        # no runner outside `cxray serve`: the CLI endpoint is not there
        body = {"argv": ["status"], "cwd": str(tmp_path)}
        assert local.post("/api/_local/cli", json=body, headers=ok).status_code == 404
        assert local.post("/api/_local/cli", json=body).status_code == 401
    with TestClient(app, client=("192.0.2.7", 50000)) as remote:
        refused = remote.get("/api/keys", headers=ok)
        assert refused.status_code == 403 and "only from this machine" in refused.text
