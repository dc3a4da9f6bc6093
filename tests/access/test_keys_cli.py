"""`cxray keys`: the key alone on the last line, shown once; list and revoke."""

from __future__ import annotations

import json

import pytest

from cxray.access import ApiKeys
from cxray.cli import main
from cxray.exceptions import AuthenticationError
from cxray.workspace import Workspace


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_create_list_revoke(capsys, tmp_path):
    db = str(tmp_path / "k.duckdb")
    code, out, _ = run(capsys, "--db", db, "keys", "create", "--role", "analyst", "--name", "ci")
    assert code == 0
    key = out.rstrip("\n").splitlines()[-1]
    assert key.startswith("cx_") and " " not in key
    with Workspace.open(db) as ws:
        assert ApiKeys(ws.store).verify(key).role == "analyst"
    code, out, _ = run(capsys, "--db", db, "keys", "list", "--json")
    (listed,) = json.loads(out)
    assert (listed["id"], listed["name"], listed["active"]) == (1, "ci", True)
    assert key not in out
    code, out, _ = run(capsys, "--db", db, "keys", "revoke", "1")
    assert code == 0 and "revoked API key #1" in out
    with Workspace.open(db) as ws, pytest.raises(AuthenticationError):
        ApiKeys(ws.store).verify(key)
    code, _, err = run(capsys, "--db", db, "keys", "revoke", "5")
    assert code == 1 and err.startswith("error: no API key with id 5")
    code, _, _ = run(capsys, "--db", db, "keys", "create", "--role", "owner")
    assert code == 2
