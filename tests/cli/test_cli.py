"""The command line: real commands, exit codes, one clear line for mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cxray.cli import main
from cxray.store import MIGRATIONS


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "cli.duckdb")


def test_init_import_status_json(capsys, db, write):
    code, out, _ = run(capsys, "--db", db, "init")
    assert (
        code == 0
        and f"schema version {MIGRATIONS[-1].version}" in out
        and "cxray.toml (created)" in out
    )
    p = write("r.csv", "response_id,submitted_at,nps\nA,2025-01-01,9\nB,2025-01-02,2\n")
    code, out, _ = run(capsys, "--db", db, "import", "responses", str(p), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["added"], report["updated"], report["unchanged"]) == (2, 0, 0)
    code, out, _ = run(capsys, "--db", db, "import", "responses", str(p), "--dry-run")
    assert code == 0 and "dry run, nothing written" in out and "2 unchanged" in out
    code, out, _ = run(capsys, "--db", db, "status", "--json")
    st = json.loads(out)
    rows = {t["table"]: t["rows"] for t in st["tables"]}
    assert rows["responses"] == 2 and rows["cases"] == 0
    assert [i["import_id"] for i in st["imports"]] == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "surveys", "x.csv"), "error: unknown table 'surveys'"),
        (("import", "responses", "missing.csv"), "error: missing.csv: no such file"),
        (("import", "responses", "bad.csv"), "error: bad.csv, row 2, column 'nps': value '12'"),
        (("import", "responses", "bad.csv", "--map", "nps"), "error: --map 'nps': expected"),
        (
            ("import", "responses", "bad.csv", "--source", "excel"),
            "error: --source 'excel' is neither a named source",
        ),
    ],
)
def test_user_mistakes_give_one_line_and_exit_1(capsys, db, write, args, message):
    write("bad.csv", "response_id,submitted_at,nps\nA,2025-01-01,12\n")
    code, out, err = run(capsys, "--db", db, *args)
    assert code == 1
    assert err.startswith(message)
    assert "Traceback" not in err and out == ""


def test_status_of_a_missing_store(capsys, db):
    code, _, err = run(capsys, "--db", db, "status")
    assert code == 1 and "no cxray store at" in err


def test_usage_error_exits_2(capsys, db):
    code, _, err = run(capsys, "--db", db, "import")
    assert code == 2 and "Missing argument" in err


def test_console_script_runs(tmp_path, write):
    p = write("r.csv", "response_id,submitted_at,nps\nA,2025-01-01,9\n")
    env = {**os.environ, "CXRAY_DB": str(tmp_path / "env.duckdb")}
    out = subprocess.run(
        [sys.executable, "-m", "cxray", "import", "responses", str(p)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout
    assert (tmp_path / "env.duckdb").exists()


def test_demo_ends_with_what_to_do_next(capsys, db):
    code, out, _ = run(capsys, "--db", db, "demo", "--customers", "300", "--months", "3")
    assert code == 0
    tail = out[out.index("what to do next:") :].splitlines()
    commands = [line.strip() for line in tail if line.startswith("    ")]
    cx = f"cxray --db {db}"
    assert commands == [
        f"{cx} keys create --role admin",  # no API key yet: the dashboard needs one
        f"{cx} serve",
        f"{cx} scorecard --by region --period month",
        f"{cx} drivers",
        f"{cx} doctor",
    ]
    assert "http://127.0.0.1:8000/" in out
    for command in commands[2:4]:  # what it suggests runs on the store it wrote
        code, _, err = run(capsys, *command.split()[1:])
        assert code == 0, err


def test_next_steps_without_db_and_with_a_key(capsys):
    from types import SimpleNamespace

    from cxray.cli._commands import _print_next_steps

    _print_next_steps(SimpleNamespace(obj={"db": None}), has_key=True)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "keys create" not in out and "    cxray serve\n" in out
