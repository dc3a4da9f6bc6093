"""Start-up: `cxray --help` and `cxray status` import no analysis library, commands are
found without importing them, and the fast status says what the workspace says.

No timing here (benchmarks/cli_startup.py measures it): what is imported is what costs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from cxray.cli._app import _command_modules, _register_commands, app, command_help, command_index
from cxray.cli._status import latest_schema_version, read_status
from tests._backends import POSTGRES_URL, fresh_postgres, needs_postgres

HEAVY = ("ibis", "pandas", "pyarrow", "scipy", "sklearn", "fastapi", "numpy", "cxray.workspace")


def _imported_after(code: str) -> list[str]:
    """The heavy modules imported by running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} "
    probe += "if m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_package_imports_no_analysis_library():
    assert _imported_after("import cxray, cxray.cli") == []
    assert _imported_after("from cxray import Workspace") != []  # and it still works


@pytest.mark.parametrize("module", _command_modules())
def test_a_command_module_imports_no_analysis_library(module):
    assert _imported_after(f"import cxray.cli.{module}") == []


def test_help_and_status_import_no_analysis_library(tmp_path, write):
    db = tmp_path / "s.duckdb"
    p = write("r.csv", "response_id,submitted_at,nps,region\nA,2025-01-01,9,North\n")
    assert subprocess.run(
        [sys.executable, "-m", "cxray", "--db", str(db), "import", "responses", str(p)],
        capture_output=True, check=False, timeout=120,
    ).returncode == 0  # fmt: skip
    run = "from cxray.cli._app import run\nimport contextlib, io\n"
    run += "with contextlib.redirect_stdout(io.StringIO()):\n"
    assert _imported_after(run + "    assert run(['--help']) == 0") == []
    assert _imported_after(run + f"    assert run(['--db', {str(db)!r}, 'status']) == 0") == []
    assert _imported_after(run + "    assert run(['churn', '--help']) == 0") == []


def test_the_index_finds_every_command_where_it_is_defined():
    _register_commands()
    root = typer.main.get_command(app)
    index = command_index()
    assert set(index) == set(root.commands)
    for name, cmd in root.commands.items():
        callbacks = [cmd.callback] + [c.callback for c in getattr(cmd, "commands", {}).values()]
        for cb in filter(None, callbacks):
            module = cb.__module__.rsplit(".", 1)[-1]
            assert module in index[name], f"{name}: {module} not in {index[name]}"


def test_the_listing_read_from_source_is_what_typer_would_show():
    _register_commands()
    root = typer.main.get_command(app)
    listed = command_help()
    assert set(listed) == set(root.commands)
    assert root.list_commands(None) == list(listed)  # the source's order, whatever is loaded
    for name, cmd in root.commands.items():
        stand_in = typer.core.TyperCommand(name=name, help=listed[name])
        assert stand_in.get_short_help_str(60) == cmd.get_short_help_str(60), name


def test_latest_schema_version_is_read_from_the_migrations():
    from cxray.store import MIGRATIONS

    assert latest_schema_version() == MIGRATIONS[-1].version


def test_fast_status_says_what_the_workspace_says(tmp_path, write):
    from cxray import Workspace

    db = str(tmp_path / "w.duckdb")
    with Workspace.open(db) as ws:
        ws.import_files(
            "responses",
            [
                write(
                    "r.csv",
                    "response_id,submitted_at,nps,region\n"
                    "A,2025-01-01,9,North\nB,2025-02-03T10:30,3,South\n",
                )
            ],
        )
        ws.import_files("cases", [write("c.csv", "case_id,opened_at,channel\n"
                                  "K1,2025-01-05,email\n")])  # fmt: skip
    fast = read_status({"db": db})
    assert type(fast).__module__ == "cxray.cli._status"  # the fast path was taken
    with Workspace.open(db, read_only=True) as ws:
        slow = ws.status()
    assert fast.store == slow.store and fast.schema_version == slow.schema_version
    assert [t.__dict__ for t in fast.tables] == [t.__dict__ for t in slow.tables]
    assert [i.__dict__ for i in fast.imports] == [i.__dict__ for i in slow.imports]
    assert {t.table: t.rows for t in fast.tables}["responses"] == 2
    assert {t.table: t.attributes for t in fast.tables}["responses"] == ["region"]


def test_status_of_what_is_not_a_store_is_the_workspaces_error(tmp_path):
    from cxray.exceptions import StoreError

    with pytest.raises(StoreError, match="no cxray store at"):
        read_status({"db": str(tmp_path / "missing.duckdb")})
    plain = tmp_path / "plain.duckdb"
    import duckdb

    duckdb.connect(str(plain)).close()  # a DuckDB file, not a cxray store
    with pytest.raises(StoreError, match="not a cxray store yet"):
        read_status({"db": str(plain)})


@needs_postgres
def test_status_on_postgresql(capsys, write):
    from cxray.cli import main

    url = fresh_postgres()
    assert POSTGRES_URL
    p = write("r.csv", "response_id,submitted_at,nps\nA,2025-01-01,9\nB,2025-01-31,3\n")
    with pytest.raises(SystemExit) as exc:
        main(["--db", url, "import", "responses", str(p), "--format", "json"])
    assert exc.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--db", url, "status", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert exc.value.code == 0
    rows = {t["table"]: t for t in out["tables"]}
    assert rows["responses"]["rows"] == 2 and rows["responses"]["last"].startswith("2025-01-31")
    assert [i["added"] for i in out["imports"]] == [2]
