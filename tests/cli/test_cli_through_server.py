"""The CLI while ``cxray serve`` holds the store: every command runs in the server, same output.

One real server (a subprocess on a free loopback port) over a small store; the
same commands are run on a copy of that store without a server, and the two
answers compared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cxray.cli import main
from cxray.store import LOCAL_TOKEN_HEADER, find_server, serve_file
from cxray.workspace import Workspace
from tests._serve import start_server

HEAD = "response_id,submitted_at,nps,region\n"
FIRST = HEAD + "".join(
    f"R{i},2025-0{1 + i % 3}-{1 + i % 27:02d},{i % 11},{'north' if i % 2 else 'south'}\n"
    for i in range(60)
)
MORE = HEAD + "N1,2025-03-05,10,north\nN2,2025-03-06,0,south\nR1,2025-01-02,9,north\n"
BAD = HEAD + "B1,2025-03-05,12,north\n"


def cxray(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CXRAY_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "cxray", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=full_env,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A served store and a copy of it nobody serves (the same data: local answers)."""
    base = tmp_path_factory.mktemp("served")
    (base / "first.csv").write_text(FIRST)
    (base / "more.csv").write_text(MORE)
    (base / "bad.csv").write_text(BAD)
    served_db, copied_db = base / "served.duckdb", base / "copied.duckdb"
    with Workspace.open(served_db) as ws:
        ws.import_files("responses", [base / "first.csv"])
    shutil.copy(served_db, copied_db)
    proc, url = start_server(served_db)
    try:
        served = find_server(served_db)
        assert served is not None and served.url == url and served.pid == proc.pid
        yield base, served
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not serve_file(served_db).exists()  # withdrawn at shutdown (SIGTERM)


@pytest.fixture
def both(world, capsys, monkeypatch):
    """Run a command through the server (a new process), then on the unserved copy
    (here, as ``main`` runs it), in the same folder: both results."""
    base, _ = world
    monkeypatch.chdir(base)
    for name in [k for k in os.environ if k.startswith("CXRAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
        through = cxray(base, "--db", "served.duckdb", *args)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["--db", "copied.duckdb", *args])
        out, err = capsys.readouterr()
        local = subprocess.CompletedProcess(args, exc.value.code, out, err)
        return through, local

    return run


def _same(through: subprocess.CompletedProcess, local: subprocess.CompletedProcess) -> None:
    assert through.returncode == local.returncode
    assert through.stdout.replace("served.duckdb", "copied.duckdb") == local.stdout
    assert through.stderr.replace("served.duckdb", "copied.duckdb") == local.stderr


def test_reads_give_what_a_local_run_gives(world, both):
    for args in (
        ("status",),
        ("status", "--format", "json"),
        ("scorecard",),
        ("scorecard", "--format", "json", "--by", "region"),
    ):
        through, local = both(*args)
        assert through.returncode == 0, through.stderr
        _same(through, local)
        if args == ("status", "--format", "json"):
            st = json.loads(through.stdout)
    assert {t["table"]: t["rows"] for t in st["tables"]}["responses"] == 60


def test_an_import_is_written_by_the_server_and_seen_by_its_api(world, both):
    _, served = world
    # a relative path, resolved in the client's folder; the same report as a local import
    through, local = both("import", "responses", "more.csv", "--format", "json")
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout) == json.loads(local.stdout)
    report = json.loads(through.stdout)
    assert (report["added"], report["updated"], report["unchanged"]) == (2, 1, 0)
    headers = {LOCAL_TOKEN_HEADER: served.token}
    st = httpx.get(f"{served.url}/api/status", headers=headers, timeout=30).json()
    assert {t["table"]: t["rows"] for t in st["tables"]}["responses"] == 62
    assert st["imports"][0]["import_id"] == report["import_id"]
    # imported again: nothing changes, as locally
    through, local = both("import", "responses", "more.csv", "--format", "json")
    assert json.loads(through.stdout)["unchanged"] == json.loads(local.stdout)["unchanged"] == 3


def test_a_bad_file_fails_as_it_does_locally(world, both):
    for args in (("import", "responses", "bad.csv"), ("import", "responses", "missing.csv")):
        through, local = both(*args)
        assert through.returncode == 1
        _same(through, local)
        assert through.stderr.startswith("error: ") and len(through.stderr.splitlines()) == 1
    assert "bad.csv, row 2, column 'nps'" in through.stderr or "missing.csv" in through.stderr
    usage = both("scorecard", "--nonesuch")
    assert usage[0].returncode == usage[1].returncode == 2


def test_two_commands_at_once(world):
    base, _ = world
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXRAY_")}
    args = [sys.executable, "-m", "cxray", "--db", "served.duckdb"]
    procs = [
        subprocess.Popen(
            [*args, *cmd], cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for cmd in (
            ("scorecard", "--format", "json"),
            ("status", "--format", "json"),
            ("scorecard", "--format", "json"),
        )
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    first, status, second = (json.loads(o) for o, _ in outs)
    assert first == second and "tables" in status


def test_the_local_endpoint_wants_the_serve_files_token(world):
    base, served = world
    body = {"argv": ["--db", served.store, "status"], "cwd": str(base)}
    url = f"{served.url}/api/_local/cli"
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    wrong = httpx.post(url, json=body, headers={LOCAL_TOKEN_HEADER: "x" * 43}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    assert (
        httpx.get(f"{served.url}/api/status", headers={LOCAL_TOKEN_HEADER: "x"}).status_code == 401
    )
    ok = httpx.post(url, json=body, headers={LOCAL_TOKEN_HEADER: served.token}, timeout=60)
    assert ok.status_code == 200 and ok.json()["code"] == 0 and "responses" in ok.json()["stdout"]
    # cxray serve is never run by the server
    body = {"argv": ["--db", served.store, "serve"], "cwd": str(base)}
    again = httpx.post(url, json=body, headers={LOCAL_TOKEN_HEADER: served.token}, timeout=60)
    assert again.json()["code"] == 1 and "already served" in again.json()["stderr"]


def test_a_second_server_names_the_first(world):
    base, served = world
    second = cxray(base, "--db", "served.duckdb", "serve", "--port", "1")
    assert second.returncode == 1
    assert second.stderr == (
        f"error: served.duckdb is already served at {served.url} (pid {served.pid})\n"
    )


def test_a_stale_serve_file_is_ignored(world):
    base, _ = world
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"url": "http://127.0.0.1:9", "token": "t" * 43, "pid": dead.pid}
    serve_file(base / "copied.duckdb").write_text(json.dumps(stale))
    try:
        run = cxray(base, "--db", "copied.duckdb", "status", "--format", "json")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["store"] == "copied.duckdb"
    finally:
        serve_file(base / "copied.duckdb").unlink()


def test_two_imports_at_once_are_written_one_after_the_other(world):
    base, served = world
    headers = {LOCAL_TOKEN_HEADER: served.token}

    def responses() -> int:
        st = httpx.get(f"{served.url}/api/status", headers=headers, timeout=60).json()
        return {t["table"]: t["rows"] for t in st["tables"]}["responses"]

    before = responses()
    for name, prefix in (("x.csv", "X"), ("y.csv", "Y")):
        (base / name).write_text(
            HEAD + "".join(f"{prefix}{i},2025-03-0{i},{i},north\n" for i in range(1, 6))
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXRAY_")}
    args = [sys.executable, "-m", "cxray", "--db", "served.duckdb", "import", "responses"]
    procs = [
        subprocess.Popen(
            [*args, name, "--format", "json"],
            cwd=base,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for name in ("x.csv", "y.csv")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    reports = [json.loads(o) for o, _ in outs]
    assert [r["added"] for r in reports] == [5, 5]
    assert (
        sorted(r["import_id"] for r in reports)[1] - sorted(r["import_id"] for r in reports)[0] == 1
    )
    assert responses() == before + 10
