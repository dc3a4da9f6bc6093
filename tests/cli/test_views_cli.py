"""``cxray views``: save, list, show, default and delete against a real store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cxray.cli import app, main
from cxray.workspace import Workspace

runner = CliRunner()


def test_save_list_show_default_delete(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    db = ["--db", str(tmp_path / "cx.duckdb"), "--config", str(tmp_path / "cxray.toml")]
    r = runner.invoke(app, [*db, "views", "save", "Weekly exec", "--page", "trends",
                            "--metric", "nps", "--preset", "30d", "--filter", "region:West",
                            "--param", "by=plan", "--shared"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "saved view 'weekly-exec' (shared): /v/weekly-exec" in r.output
    r = runner.invoke(app, [*db, "views", "show", "weekly-exec", "--format", "json"])
    data = json.loads(r.output)
    assert data["query"] == {"preset": "30d", "metric": "nps", "filter": ["region:West"],
                             "by": "plan"}  # fmt: skip
    assert data["owner"] == {"key_id": 0, "name": "local"} and data["page"] == "trends"
    r = runner.invoke(app, [*db, "views", "default", "viewer", "weekly-exec"])
    assert r.exit_code == 0 and "default for viewer: weekly-exec (store)" in r.output
    r = runner.invoke(app, [*db, "views", "list", "--format", "csv"])
    assert r.exit_code == 0
    header, row = r.output.strip().splitlines()
    assert header.startswith("slug,name,page,query,visibility")
    assert row.startswith("weekly-exec,Weekly exec,trends,")
    r = runner.invoke(app, [*db, "views", "list"])
    assert "default for viewer: weekly-exec (set over the API)" in r.output
    # bad input: one red line, exit 1, nothing written
    for args, message in [
        (["save", "x", "--page", "wallboard"], "page 'wallboard': unknown"),
        (["save", "y", "--preset", "yesterday"], "query.preset"),
        (["save", "z", "--param", "by"], "KEY=VALUE"),
        (["save", "Weekly exec!"], "exists already"),
        (["default", "boss", "weekly-exec"], "unknown role 'boss'"),
        (["show", "nope"], "no saved view 'nope'"),
    ]:
        with pytest.raises(SystemExit) as exc:  # main: the CLI's one error boundary
            main([*db, "views", *args])
        err = capsys.readouterr().err
        assert exc.value.code == 1, (args, err)
        assert err.startswith("error: ") and message in err, (args, err)
    with Workspace.open(tmp_path / "cx.duckdb", read_only=True) as ws:
        assert [v.slug for v in ws.views.list()] == ["weekly-exec"]
    r = runner.invoke(app, [*db, "views", "delete", "weekly-exec"])
    assert r.exit_code == 0 and "deleted saved view 'weekly-exec'" in r.output
    r = runner.invoke(app, [*db, "views", "list"])
    assert "no saved views" in r.output and "default for" not in r.output
