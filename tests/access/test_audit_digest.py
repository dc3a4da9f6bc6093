"""The audit log's customer digests are keyed (HMAC-SHA256 under the store's ``audit``
secret): a known id under a known key gives the hand-computed digest, events written before
(unkeyed SHA-256) and under a rotated key are still found, and the key is in no output.
``cxray secrets list`` lists every secret the store holds, never a key."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cxray.access import ApiKeys, AuditLog, digest_scheme
from cxray.api import ApiSettings, create_app
from cxray.cli import app
from cxray.cli._app import run
from cxray.store import AUDIT, Store
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

CUSTOMERS = "customer_id,email,created_at\nC-1042,ana@example.com,2026-01-05\nC-7,bo@example.com,2026-02-01\n"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in ("INVITATIONS", "WEBHOOKS", "FORMS", "ERASURES", "AUDIT"):
        monkeypatch.delenv(f"CXRAY_SECRET_{name}", raising=False)
    monkeypatch.delenv("CXRAY_SECRETS_FILE", raising=False)


def _hmac16(key: bytes, customer: str) -> str:
    return hmac.new(key, customer.encode(), hashlib.sha256).hexdigest()[:16]


def _file_keys(db) -> dict[str, list[dict]]:
    return json.loads(open(f"{db}.secrets", encoding="utf-8").read())


def _cli(capsys, *args: str) -> str:
    """Run a command as ``cxray`` does (recorded in the audit log when it ends); its output."""
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    return out.out + out.err


def test_the_digest_of_a_known_id_under_a_known_key_is_its_hmac(tmp_path, monkeypatch):
    key = bytes(range(32))
    monkeypatch.setenv("CXRAY_SECRET_AUDIT", f"a7={key.hex()}")
    with Store(tmp_path / "s.duckdb") as store:
        log = AuditLog(store)
        ref = log.customer_ref("C-1042")
        # HMAC-SHA256(key, "C-1042"), computed here without cxray
        expected = hmac.new(key, b"C-1042", hashlib.sha256).hexdigest()[:16]
        assert ref == f"customer:hmac-a7:{expected}"
        assert digest_scheme(ref) == "hmac-sha256:a7"
        # not the unkeyed digest a guess could be checked against
        assert hashlib.sha256(b"C-1042").hexdigest()[:16] not in ref
        assert log.customer_ref("C-1043") != ref
        log.close()


def test_a_store_gets_its_audit_key_once_and_the_cli_records_the_keyed_digest(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    csv = tmp_path / "customers.csv"
    csv.write_text(CUSTOMERS)
    _cli(capsys, "--db", str(db), "import", "customers", str(csv))
    out = _cli(capsys, "--db", str(db), "erase", "--customer", "C-7", "--yes")
    keys = _file_keys(db)["audit"]
    assert len(keys) == 1 and keys[0]["id"] == "k1"  # made on first use
    key = bytes.fromhex(keys[0]["key"])
    with Workspace.open(db) as ws:
        (erased,) = ws.audit.events(action="erase")
        assert erased.target == f"customer:hmac-k1:{_hmac16(key, 'C-7')}"
        assert [e.event_id for e in ws.audit.events(customer="C-7")] == [erased.event_id]
        assert ws.audit.events(customer="C-8") == []
        ws.audit.customer_ref("C-1042")
    assert _file_keys(db)["audit"] == keys  # made once: a later use keeps it
    assert key.hex() not in out


def test_old_unkeyed_and_rotated_key_events_are_still_found(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    t0 = dt.datetime(2026, 11, 2, 8, 0)
    old = "customer:" + hashlib.sha256(b"C-1042").hexdigest()[:16]  # as an older cxray wrote
    with Workspace.open(db) as ws:
        ws.audit.record("erase", sync=True, actor="local:ana", role="owner", interface="cli",
                        target=old, at=t0)  # fmt: skip
        ws.audit.record("read", sync=True, actor="wb", key_id=1, role="viewer",
                        target=f"/api/customers/{ws.audit.customer_ref('C-1042')}/timeline",
                        at=t0 + dt.timedelta(hours=1))  # fmt: skip
        ws.audit.record("read", sync=True, actor="wb", key_id=1, role="viewer",
                        target=f"/api/customers/{ws.audit.customer_ref('C-9')}",
                        at=t0 + dt.timedelta(hours=2))  # fmt: skip
    _cli(capsys, "--db", str(db), "secrets", "rotate", "audit")  # k2 signs; k1's events still found
    with Workspace.open(db) as ws:
        ws.audit.record("read", sync=True, actor="wb", key_id=1, role="viewer",
                        target=f"/api/customers/{ws.audit.customer_ref('C-1042')}",
                        at=t0 + dt.timedelta(hours=3))  # fmt: skip
        found = ws.audit.events(customer="C-1042")
    assert [digest_scheme(e.target) for e in found] == [
        "hmac-sha256:k2",
        "hmac-sha256:k1",
        "sha256",
    ]
    assert [e.at.hour for e in found] == [11, 9, 8]
    keys = {k["id"]: bytes.fromhex(k["key"]) for k in _file_keys(db)["audit"]}
    assert found[0].target.endswith(_hmac16(keys["k2"], "C-1042"))
    assert _hmac16(keys["k1"], "C-1042") in found[1].target
    # the command line finds the same three, and prints no key
    out = _cli(capsys, "--db", str(db), "audit", "--customer", "C-1042", "--format", "json")
    assert [e["event_id"] for e in json.loads(out)] == [e.event_id for e in found]
    assert not any(k.hex() in out for k in keys.values())
    # after drop-old only the newest key's events and the unkeyed ones are found
    _cli(capsys, "--db", str(db), "secrets", "drop-old", "audit")
    with Workspace.open(db) as ws:
        left = [digest_scheme(e.target) for e in ws.audit.events(customer="C-1042")]
    assert left == ["hmac-sha256:k2", "sha256"]


def test_the_api_records_keyed_digests_and_no_output_holds_the_key(tmp_path, capsys):
    db = tmp_path / "api.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        ws.import_frame(
            "customers",
            pd.DataFrame({"customer_id": ["C-1042"], "created_at": [pd.Timestamp("2026-01-05")]}),
        )
        admin = ApiKeys(ws.store).create("admin", name="boss")[1]
    application = create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())
    auth = {"Authorization": f"Bearer {admin}"}
    with TestClient(application, raise_server_exceptions=False) as c:
        c.get("/api/customers/C-1042", headers=auth)
        events = c.get("/api/audit", params={"customer": "C-1042"}, headers=auth)
        assert events.status_code == 200, events.text
        body = events.text
        secrets = _cli(capsys, "--db", str(db), "secrets", "list", "--format", "json")
    key = bytes.fromhex(_file_keys(db)["audit"][0]["key"])
    (event,) = events.json()["events"]
    assert event["target"] == f"/api/customers/customer:hmac-k1:{_hmac16(key, 'C-1042')}"
    with Workspace.open(db) as ws:
        stored = repr(ws.store.backend.table(AUDIT).to_pyarrow().to_pylist())
    for text in (body, secrets, stored):
        assert key.hex() not in text and "C-1042" not in text


def test_secrets_list_names_every_secret_and_never_a_key(tmp_path, capsys, monkeypatch):
    db = tmp_path / "s.duckdb"
    assert "no signing secrets yet" in _cli(capsys, "--db", str(db), "secrets", "list")
    with Store(db) as store:
        for name in ("invitations", "erasures", "audit"):
            store.keyring(name)
        store.rotate_secret("audit")
    env_key = "e" * 64
    monkeypatch.setenv("CXRAY_SECRET_WEBHOOKS", env_key)
    rows = json.loads(_cli(capsys, "--db", str(db), "secrets", "list", "--format", "json"))
    assert [(r["secret"], r["id"], r["use"]) for r in rows] == [
        ("invitations", "k1", "signs and verifies"),
        ("webhooks", "env", "signs and verifies"),
        ("erasures", "k1", "signs and verifies"),
        ("audit", "k1", "verifies"),
        ("audit", "k2", "signs and verifies"),
    ]
    made = {n: [k["created"] for k in ks] for n, ks in _file_keys(db).items()}
    assert [r["created"] for r in rows if r["secret"] == "audit"] == made["audit"]
    assert {r["source"] for r in rows} == {"env", str(db) + ".secrets"}
    table = _cli(capsys, "--db", str(db), "secrets", "list")
    csv = _cli(capsys, "--db", str(db), "secrets", "list", "--format", "csv")
    assert csv.splitlines()[0] == "secret,id,created,use,source" and len(csv.splitlines()) == 6
    assert "erasures" in table and "audit" in table and "webhooks" in table
    every_key = [k["key"] for ks in _file_keys(db).values() for k in ks] + [env_key]
    for text in (table, csv, json.dumps(rows)):
        assert not any(k in text for k in every_key)
    # listing made nothing new (forms was never used)
    assert "forms" not in _file_keys(db)
    assert "erasures" in _cli(capsys, "--db", str(db), "secrets", "list", "erasures")
    res = CliRunner().invoke(app, ["--db", str(db), "secrets", "list", "passwords"])
    assert res.exit_code == 2 and "not a secret" in res.output


def test_a_read_only_store_without_an_audit_key_names_no_one_and_makes_no_key(tmp_path):
    db = tmp_path / "ro.duckdb"
    Store(db).close()
    with Store(db, read_only=True) as store:
        log = AuditLog(store)
        assert log.customer_ref("C-1") == "customer:nokey"
        assert digest_scheme("/api/customers/customer:nokey") == "none"
        # a lookup still finds what an older cxray wrote (the unkeyed digest)
        assert log.customer_refs("C-1") == ["customer:" + hashlib.sha256(b"C-1").hexdigest()[:16]]
    assert not (tmp_path / "ro.duckdb.secrets").exists()


@needs_postgres
def test_keyed_and_unkeyed_digests_are_found_on_postgres(tmp_path, monkeypatch):
    key = bytes(range(100, 132))
    monkeypatch.setenv("CXRAY_SECRET_AUDIT", key.hex())
    with Store(fresh_postgres()) as store:
        log = AuditLog(store)
        old = "customer:" + hashlib.sha256(b"C-5").hexdigest()[:16]
        log.record("erase", sync=True, actor="local:ana", role="owner", interface="cli",
                   target=old)  # fmt: skip
        log.record("read", sync=True, actor="wb", key_id=2, role="viewer",
                   target=f"/api/customers/{log.customer_ref('C-5')}")  # fmt: skip
        found = log.events(customer="C-5")
        assert [digest_scheme(e.target) for e in found] == ["hmac-sha256:env", "sha256"]
        assert found[0].target.endswith(f"customer:hmac-env:{_hmac16(key, 'C-5')}")
        assert log.events(customer="C-6") == []
        log.close()


def test_the_audit_page_finds_a_customers_events(tmp_path):
    from cxray.app import create_app as create_server

    db = tmp_path / "web.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        admin = ApiKeys(ws.store).create("admin", name="boss")[1]
        old = "customer:" + hashlib.sha256(b"C-5").hexdigest()[:16]  # an older cxray's event
        ws.audit.record("erase", sync=True, actor="local:ana", role="owner", interface="cli",
                        target=old)  # fmt: skip
    application = create_server(db, tmp_path / "cxray.toml")
    with TestClient(application, raise_server_exceptions=False) as c:
        r = c.post("/login", data={"key": admin, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303
        c.get("/customers/C-5")
        c.get("/customers/C-6")
        page = c.get("/audit", params={"customer": "C-5"})
        other = c.get("/audit", params={"customer": "C-404"})
    assert page.status_code == 200 and 'name="customer" value="C-5"' in page.text
    key = bytes.fromhex(_file_keys(db)["audit"][0]["key"])
    targets = re.findall(r"<td><code>([^<]*)</code></td>", page.text)
    assert targets == [f"/customers/customer:hmac-k1:{_hmac16(key, 'C-5')}", old]
    assert "No events match" in other.text
