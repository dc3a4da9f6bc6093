"""Files and secrets: the store, its WAL and cxray.toml are 0600; signing keys live outside
the store (a key file or the environment), carry key ids and rotate without breaking what
the older keys signed (docs/security.md)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import stat

import pytest
from typer.testing import CliRunner

from cxray.cli import app
from cxray.exceptions import InvalidTokenError, StoreError
from cxray.store import Store
from cxray.surveys import Invitation, InvitationSigner
from tests._backends import fresh_postgres, needs_postgres

FUTURE = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _inv(i: str = "inv-1") -> Invitation:
    return Invitation(i, "pulse", "C1", FUTURE)


def _signer(store: Store) -> InvitationSigner:
    return InvitationSigner(lambda: store.keyring("invitations"))


def _old_token(secret: bytes, inv: Invitation) -> str:
    """A token as cxray signed it before key ids (no "k" in the payload)."""

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    payload = {"i": inv.invitation_id, "s": inv.survey, "c": inv.customer_id}
    payload["e"] = int(inv.expires_at.timestamp())
    msg = "v1." + b64(json.dumps(payload, separators=(",", ":")).encode())
    return msg + "." + b64(hmac.new(secret, msg.encode(), hashlib.sha256).digest())


def _key_id(token: str) -> str:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["k"]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("CXRAY_SECRET_INVITATIONS", raising=False)
    monkeypatch.delenv("CXRAY_SECRETS_FILE", raising=False)
    monkeypatch.delenv("CXRAY_UMASK", raising=False)


def test_init_makes_store_wal_config_and_key_file_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)  # a usual umask: files would be -rw-r--r--
    try:
        res = CliRunner().invoke(app, ["init"])
        assert res.exit_code == 0, res.output
        assert _mode(tmp_path / "cxray.duckdb") == 0o600
        assert _mode(tmp_path / "cxray.toml") == 0o600
        with Store(tmp_path / "cxray.duckdb") as store:
            store.backend.con.execute("CREATE TABLE t AS SELECT 1 AS x")  # a write: the WAL
            wal = tmp_path / "cxray.duckdb.wal"
            assert wal.exists()
            assert _mode(wal) == 0o600
            store.keyring("invitations")
            assert _mode(tmp_path / "cxray.duckdb.secrets") == 0o600
    finally:
        os.umask(old)


def test_an_existing_files_mode_is_left_alone(tmp_path):
    path = tmp_path / "shared.duckdb"
    Store(path).close()
    os.chmod(path, 0o640)
    Store(path).close()
    assert _mode(path) == 0o640


def test_the_secret_is_not_in_the_store_file(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        ring = store.keyring("invitations")
        token = _signer(store).sign(_inv())
        store.backend.con.execute("CHECKPOINT")
        assert store.meta("secret:invitations") is None
    key = ring.current.key
    data = path.read_bytes()
    assert key not in data and key.hex().encode() not in data
    doc = json.loads((tmp_path / "s.duckdb.secrets").read_text())
    assert doc["invitations"][0]["key"] == key.hex() and doc["invitations"][0]["id"] == "k1"
    # a new process over the same files verifies what this one signed
    with Store(path) as again:
        assert _signer(again).verify(token).invitation_id == "inv-1"


def test_an_old_stores_secret_is_moved_out_and_old_invitations_verify(tmp_path):
    path = tmp_path / "old.duckdb"
    secret = os.urandom(32)
    with Store(path) as store:  # as an older cxray left it: the secret in _cx_meta
        store._set_meta("secret:invitations", secret.hex())
    old = _old_token(secret, _inv("before"))
    from cxray.workspace import Workspace

    with Workspace.open(str(path), tmp_path / "cxray.toml") as ws:
        signer = ws.surveys.signer
        assert ws.store.meta("secret:invitations") is None  # gone from the store ...
        doc = json.loads((tmp_path / "old.duckdb.secrets").read_text())
        assert doc["invitations"][0] == {  # ... and kept in the key file, as k0
            "id": "k0",
            "key": secret.hex(),
            "created": None,
        }
        assert signer.verify(old).invitation_id == "before"
        assert _key_id(signer.sign(_inv())) == "k0"  # it keeps signing until a rotation
        ws.store.backend.con.execute("CHECKPOINT")
    with Store(path) as store:
        assert _signer(store).verify(old).invitation_id == "before"


def test_rotation_keeps_old_invitations_until_old_keys_are_dropped(tmp_path):
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        signer = _signer(store)  # one signer, as a running server holds it
        before = signer.sign(_inv("before"))
        assert _key_id(before) == "k1"
        ring = store.rotate_secret("invitations")
        assert ring.ids == ["k1", "k2"]
        after = signer.sign(_inv("after"))
        assert _key_id(after) == "k2"
        assert signer.verify(before).invitation_id == "before"
        assert signer.verify(after).invitation_id == "after"
        assert store.drop_old_secrets("invitations").ids == ["k2"]
        with pytest.raises(InvalidTokenError, match="signed with key 'k1'.*no longer kept"):
            signer.verify(before)
        assert signer.verify(after).invitation_id == "after"
        assert store.rotate_secret("invitations", drop_old=True).ids == ["k3"]
        with pytest.raises(InvalidTokenError, match="'k2'"):
            signer.verify(after)


def test_rotation_from_the_command_line(tmp_path):
    db = str(tmp_path / "c.duckdb")
    with Store(db) as store:
        before = _signer(store).sign(_inv("before"))
    res = CliRunner().invoke(app, ["--db", db, "secrets", "rotate", "invitations"])
    assert res.exit_code == 0, res.output
    assert "k2" in res.output
    with Store(db) as store:
        assert _signer(store).verify(before).invitation_id == "before"
        assert _key_id(_signer(store).sign(_inv())) == "k2"
    res = CliRunner().invoke(app, ["--db", db, "secrets", "drop-old", "invitations"])
    assert res.exit_code == 0, res.output
    with Store(db) as store, pytest.raises(InvalidTokenError):
        _signer(store).verify(before)
    res = CliRunner().invoke(app, ["--db", db, "secrets", "rotate", "passwords"])
    assert res.exit_code != 0 and "not a secret" in res.output


def test_the_form_token_key_rotates_from_the_command_line(tmp_path):
    db = str(tmp_path / "f.duckdb")
    with Store(db) as store:
        first = store.keyring("forms").current.id
    res = CliRunner().invoke(app, ["--db", db, "secrets", "rotate", "forms", "--drop-old"])
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        assert store.keyring("forms").ids == [store.keyring("forms").current.id]
        assert store.keyring("forms").current.id != first


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    path = tmp_path / "e.duckdb"
    with Store(path) as store:
        file_token = _signer(store).sign(_inv("file"))
    env_key = os.urandom(32)
    monkeypatch.setenv("CXRAY_SECRET_INVITATIONS", env_key.hex())
    with Store(path) as store:
        ring = store.keyring("invitations")
        assert ring.source == "env" and ring.current.key == env_key
        token = _signer(store).sign(_inv("env"))
        assert _key_id(token) == "env"
        assert _signer(store).verify(file_token).invitation_id == "file"  # file keys verify
    # only the key in the environment verifies what it signed
    other = InvitationSigner(os.urandom(32))
    with pytest.raises(InvalidTokenError):
        other.verify(token)
    monkeypatch.setenv("CXRAY_SECRET_INVITATIONS", "a=" + "1" * 64 + ",b=" + "2" * 64)
    with Store(path) as store:
        assert store.keyring("invitations").current.id == "b"
    monkeypatch.setenv("CXRAY_SECRET_INVITATIONS", "short")
    with Store(path) as store, pytest.raises(StoreError, match="at least 16 bytes"):
        store.keyring("invitations")


def test_a_broken_key_file_is_a_clear_error_and_is_not_overwritten(tmp_path):
    path = tmp_path / "b.duckdb"
    Store(path).close()
    keyfile = tmp_path / "b.duckdb.secrets"
    keyfile.write_text("{not json")
    with Store(path) as store, pytest.raises(StoreError, match="b.duckdb.secrets is not valid"):
        store.keyring("invitations")
    assert keyfile.read_text() == "{not json"


def test_an_in_memory_store_keeps_its_keys_in_memory():
    with Store(":memory:") as store:
        signer = _signer(store)
        token = signer.sign(_inv())
        assert signer.verify(token).invitation_id == "inv-1"
        assert store.keyring("invitations").source == "memory"
        assert store.meta("secret:invitations") is None


@needs_postgres
def test_postgres_keeps_no_secret_in_the_store(tmp_path, monkeypatch):
    url = fresh_postgres()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with Store(url) as store:
        # without a file named, the key file is in the user's config folder (0700)
        ring = store.keyring("invitations")
        assert ring.source.startswith(str(tmp_path / "config" / "cxray" / "secrets"))
        assert _mode(ring.source) == 0o600
        assert _mode(tmp_path / "config" / "cxray" / "secrets") == 0o700
        monkeypatch.setenv("CXRAY_SECRETS_FILE", str(tmp_path / "pg.secrets"))
        token = _signer(store).sign(_inv())
        assert _mode(tmp_path / "pg.secrets") == 0o600
        store.rotate_secret("invitations")
        assert _signer(store).verify(token).invitation_id == "inv-1"
        rows = store.backend.table("_cx_meta").to_pyarrow().to_pylist()
        assert not [r for r in rows if r["key"].startswith("secret:")]
        # an older cxray's secret in _cx_meta is moved to the file and deleted
        old = os.urandom(32)
        store._set_meta("secret:webhooks", old.hex())
        store._migrated.discard("webhooks")
        assert store.keyring("webhooks").keys[0].key == old
        rows = store.backend.table("_cx_meta").to_pyarrow().to_pylist()
        assert not [r for r in rows if r["key"].startswith("secret:")]
