"""The masking policy (cxray.privacy.Masking) and the pii permission of API keys."""

from __future__ import annotations

import io
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxray.access import ApiKeys
from cxray.config._privacy import PrivacyConfig
from cxray.exceptions import PermissionDeniedError, QueryError
from cxray.explore import FREE_TEXT, RowSelection, customer_timeline, page_rows
from cxray.privacy import MASK, UNMASKED, Masking, column_kind
from cxray.store import MIGRATIONS, Store
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

EMAIL, PHONE, CARD = "jo.tester@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"


def test_what_is_personal_follows_the_contract_and_the_config():
    cfg = PrivacyConfig(personal=("customers.loyalty_card", "responses.region"))
    assert column_kind("customers", "email") == "mask"
    assert column_kind("customers", "name") == "mask"
    assert column_kind("mentions", "author") == "mask"
    assert column_kind("mentions", "url") == "mask"
    assert column_kind("responses", "comment") == "redact"
    assert column_kind("cases", "description") == "redact"
    assert column_kind("responses", "extra_note") == "redact"  # a survey question's answers
    assert column_kind("customers", "loyalty_card") == "redact"  # attribute: free text
    assert column_kind("customers", "loyalty_card", cfg) == "mask"
    assert column_kind("responses", "region", cfg) == "mask"
    for plain in ("customer_id", "segment", "created_at", "_import_id"):
        assert column_kind("customers", plain, cfg) is None
    assert FREE_TEXT["responses"] == ("comment",)
    assert FREE_TEXT["cases"] == ("subject", "description")


def test_rows_are_masked_for_a_caller_without_pii_and_shown_to_one_with_it():
    def rows():
        return [
            {
                "customer_id": "C1",
                "email": EMAIL,
                "name": "Jo Tester",
                "segment": "retail",
                "note": f"call {PHONE}, card {CARD}, mail {EMAIL}",
                "visits": 12345678901,
            },
            {"customer_id": "C2", "email": None, "name": None, "segment": None, "note": None},
        ]

    masked = Masking().rows("customers", rows())
    assert masked[0] == {
        "customer_id": "C1",
        "email": MASK,
        "name": MASK,
        "segment": "retail",
        "note": "call [phone], card [card], mail [email]",
        "visits": 12345678901,  # numbers hold no free text
    }
    assert masked[1]["email"] is None and masked[1]["name"] is None  # missing stays missing
    assert UNMASKED.rows("customers", rows()) == rows()
    off = Masking(privacy=PrivacyConfig(redact=False)).rows("customers", rows())
    assert off[0]["email"] == MASK and PHONE in off[0]["note"]  # redact=false: free text only


def test_batches_and_schema_keep_parquet_consistent():
    cfg = PrivacyConfig(personal=("customers.points",))
    m = Masking(privacy=cfg)
    batch = pa.record_batch(
        {
            "customer_id": ["C1", "C2"],
            "email": [EMAIL, None],
            "points": pa.array([120, None], pa.int64()),
            "note": [f"ring {PHONE}", "fine"],
        }
    )
    schema = m.schema("customers", batch.schema)
    assert schema.field("points").type == pa.string()
    out = list(m.batches("customers", [batch]))
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, schema) as w:
        for b in out:
            w.write_batch(b)
    back = pq.read_table(io.BytesIO(buf.getvalue())).to_pylist()
    assert back == [
        {"customer_id": "C1", "email": MASK, "points": MASK, "note": "ring [phone]"},
        {"customer_id": "C2", "email": None, "points": None, "note": "fine"},
    ]
    assert list(UNMASKED.batches("customers", [batch])) == [batch]


def test_alerts_and_followups_are_masked_as_their_rows():
    alert = {
        "source": "mentions",
        "title": f"Mention by {EMAIL}",
        "details": {"author": "@jo", "text": f"DM {EMAIL}", "rating": 1.0},
    }
    got = Masking().alert(alert)
    assert got["details"] == {"author": MASK, "text": "DM [email]", "rating": 1.0}
    assert got["title"] == "Mention by [email]"
    assert alert["details"]["author"] == "@jo"  # a copy: the original untouched
    fu = {
        "note": f"called {PHONE}",
        "outcome": None,
        "alert": alert,
        "history": [{"detail": {"text": f"mail {EMAIL}"}}, {"detail": None}],
    }
    shown = Masking().followup(fu)
    assert shown["note"] == "called [phone]" and shown["alert"]["details"]["author"] == MASK
    assert shown["history"][0]["detail"] == {"text": "mail [email]"}
    assert UNMASKED.followup(fu) == fu


def test_filtering_or_sorting_by_a_masked_column_needs_pii():
    m = Masking()
    with pytest.raises(PermissionDeniedError, match=r"customers\.email is personal data"):
        RowSelection("customers", filters=[f"email:{EMAIL}"]).check_masking(m)
    with pytest.raises(PermissionDeniedError, match="customers.name"):
        RowSelection("responses", sort=["-name"]).check_masking(m)  # a customer's column
    RowSelection("responses", filters=["channel:web"], sort=["-nps"]).check_masking(m)
    RowSelection("customers", filters=[f"email:{EMAIL}"]).check_masking(UNMASKED)


def test_keys_carry_the_pii_permission(ws):
    keys = ApiKeys(ws.store)
    viewer, _ = keys.create("viewer")
    analyst, key = keys.create("analyst", name="with pii", permissions=["pii"])
    admin, _ = keys.create("admin")
    assert (viewer.pii, analyst.pii, admin.pii) == (False, True, True)
    assert keys.verify(key).pii and keys.get(analyst.key_id).permissions == {"pii"}
    assert [k.to_dict()["permissions"] for k in keys.list()] == [[], ["pii"], ["pii"]]
    with pytest.raises(QueryError, match="unknown permission 'export'"):
        keys.create("viewer", permissions=["export"])


def test_keys_made_before_permissions_keep_working(tmp_path):
    """A store at the version before the pii migration: its keys verify afterwards, with
    their role's permissions only."""
    db = tmp_path / "old.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        _info, key = ApiKeys(ws.store).create("analyst", name="old")
        _admin_info, admin_key = ApiKeys(ws.store).create("admin", name="old admin")
    con = duckdb.connect(str(db))
    con.execute('ALTER TABLE "_cx_api_keys" DROP COLUMN "permissions"')
    before = next(m.version for m in MIGRATIONS if "pii" in m.description) - 1
    con.execute("UPDATE _cx_meta SET value = ? WHERE key = 'schema_version'", [str(before)])
    con.close()
    store = Store(db)
    try:
        keys = ApiKeys(store)
        assert keys.verify(key).role == "analyst" and not keys.verify(key).pii
        assert keys.verify(admin_key).pii
    finally:
        store.close()


def _customer_store(ws, write):
    ws.import_files(
        "customers",
        [write("c.csv", f"customer_id,created_at,email,name\nC1,2026-01-01,{EMAIL},Jo Tester\n")],
    )
    ws.import_files(
        "responses",
        [
            write(
                "r.csv",
                "response_id,submitted_at,customer_id,nps,comment,extra_note\n"
                f'R1,2026-02-01,C1,3,"mail {EMAIL}","call {PHONE}"\n',
            )
        ],
    )


def _check_outputs(backend):
    masked = Masking()
    page = page_rows(backend, RowSelection("responses"), "UTC", limit=10, offset=0, masking=masked)
    assert page["rows"][0]["comment"] == "mail [email]"
    assert page["rows"][0]["extra_note"] == "call [phone]"
    story = customer_timeline(backend, "C1", masking=masked)
    assert story["profile"]["email"] == MASK and story["profile"]["name"] == MASK
    assert EMAIL not in repr(story) and PHONE not in repr(story)
    full = customer_timeline(backend, "C1", masking=UNMASKED)
    assert full["profile"]["email"] == EMAIL and PHONE in repr(full)


def test_rows_and_timelines_are_masked_on_duckdb(ws, write):
    _customer_store(ws, write)
    _check_outputs(ws.store.backend)


@needs_postgres
def test_keys_and_masking_on_postgres(tmp_path, write, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as ws:
        keys = ApiKeys(ws.store)
        _info, key = keys.create("viewer", permissions=["pii"])
        _plain, plain_key = keys.create("analyst")
        assert keys.verify(key).pii and not keys.verify(plain_key).pii
        _customer_store(ws, write)
        _check_outputs(ws.store.backend)


def test_years_and_bracketed_dates_are_no_phones_but_phones_still_are():
    from cxray.privacy import redact

    # found on real reviews (womens_clothing_reviews): year ranges and a date in brackets
    for kept in ("worn 2006-2010", "a 1930-1940's look", "bought (12/27/2015).", "2020 / 2021"):
        assert redact(kept) == kept
    assert redact("ring 0207 946 0958 or +1 212-555-0199") == "ring [phone] or [phone]"


def test_cli_and_api_create_keys_with_pii(tmp_path, capsys):
    from fastapi.testclient import TestClient

    from cxray.api import ApiSettings, create_app
    from cxray.cli import main

    db = str(tmp_path / "k.duckdb")

    def cli(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(["--db", db, *args])
        assert done.value.code == 0
        return capsys.readouterr().out

    assert "personal data unmasked" in cli("keys", "create", "--role", "analyst", "--pii")
    assert "personal data masked" in cli("keys", "create", "--role", "viewer")
    admin_key = cli("keys", "create", "--role", "admin").strip().splitlines()[-1]
    listed = json.loads(cli("keys", "list", "--json"))
    assert [k["permissions"] for k in listed] == [["pii"], [], ["pii"]]
    with TestClient(create_app(db, tmp_path / "cxray.toml", settings=ApiSettings())) as client:
        auth = {"Authorization": f"Bearer {admin_key}"}
        made = client.post("/api/keys", headers=auth, json={"role": "viewer", "pii": True})
        assert made.status_code == 201 and made.json()["permissions"] == ["pii"]
        plain = client.post("/api/keys", headers=auth, json={"role": "viewer"}).json()
        assert plain["permissions"] == []
        viewer = {"Authorization": f"Bearer {plain['key']}"}
        assert client.get("/api/tables/customers/rows", headers=viewer).status_code == 200
        refused = client.get("/api/tables/customers/rows?sort=email", headers=viewer)
        assert refused.status_code == 403 and "pii" in refused.json()["error"]["message"]
