"""Erasure of a customer: nothing of them is left in any table or any file of the store.

One customer gets planted, unique strings (id, e-mail, name, phone, a comment, a survey text
answer, a case text, a mention and its author, a follow-up note) in every place cxray keeps
data: the six tables, the survey ledger and invitations, alerts, follow-ups and their
history, the outbox, per-row sentiment and themes, a stored model's JSON. Before the erasure
every string is found (so the scan can fail); after it none is, in any table (every row,
every column, as text) nor in the bytes of any file of the store's folder. Their scores
still count: the NPS is the same before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cxray.cli._app import run
from cxray.exceptions import NotFoundError, QueryError
from cxray.surveys._invitations import Invitee, issue
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, needs_postgres
from tests.api.conftest import Api, _keys, assert_envelope

CID = "cust-PLANTED-7f3a"
EMAIL = "zelda.plantedmail@example.org"
NAME = "Zelda Plantedname"
PHONE = "+44 7700 900417"
COMMENT = "PLANTED-COMMENT quokka marmalade 5521"
ANSWER = "PLANTED-SURVEY-ANSWER the courier 8812"
NOTE = "PLANTED-EXTRA-NOTE ring me 3390"
CASE = "PLANTED-CASE printer exploded 7741"
MENTION = "PLANTED-MENTION loud post 4411"
AUTHOR = "@zelda_planted_author"
URL = "https://social.example/zelda_planted_url/1"
AGENT_NOTE = "PLANTED-AGENT-NOTE called her at home"
NEEDLES = (CID, EMAIL, NAME, "7700 900417", COMMENT, ANSWER, NOTE, CASE, MENTION, AUTHOR,
           "zelda_planted_url", AGENT_NOTE)  # fmt: skip

CONFIG = """
[surveys.pulse]
title = "Pulse"
public = true
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.pulse.questions]]
id = "why"
type = "text"
text = "Why?"
[[surveys.pulse.questions]]
id = "extra_note"
type = "text"
text = "Anything else?"

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
action = "both"
team = "cx"
notify = ["webhook:http://127.0.0.1:9/hook"]

[[loop.rules]]
name = "loud-mentions"
on = "mentions"
where = "rating <= 2"
action = "followup"
team = "social"
"""


def _frames() -> dict[str, pd.DataFrame]:
    others = [f"C{i}" for i in range(1, 7)]
    ids = [CID, *others]
    day = pd.Timestamp("2026-03-01")
    return {
        "customers": pd.DataFrame({
            "customer_id": ids,
            "created_at": [day - pd.Timedelta(days=400 + i) for i in range(len(ids))],
            "email": [EMAIL, *[f"{c.lower()}@example.com" for c in others]],
            "name": [NAME, *[f"Person {c}" for c in others]],
            "phone": [PHONE, *["+1 555 0100"] * len(others)],
            "segment": ["smb", "smb", "ent", "ent", "smb", "ent", "smb"],
        }),
        "responses": pd.DataFrame({
            "response_id": [f"R{i}" for i in range(len(ids))],
            "submitted_at": [day + pd.Timedelta(days=i) for i in range(len(ids))],
            "customer_id": ids,
            "nps": [2, 9, 10, 7, 0, 9, 8],
            "comment": [COMMENT, "great", "fine", "slow", "bad", "ok", "nice"],
        }),
        "cases": pd.DataFrame({
            "case_id": ["K1", "K2"],
            "customer_id": [CID, "C1"],
            "opened_at": [day, day],
            "subject": [CASE, "login"],
            "description": [f"{CASE} and mail {EMAIL}", "cannot log in"],
        }),
        "mentions": pd.DataFrame({
            "mention_id": ["M1", "M2"],
            "posted_at": [day, day],
            "text": [MENTION, "meh"],
            "author": [AUTHOR, "@someone"],
            "url": [URL, "https://social.example/x/2"],
            "customer_id": [CID, "C2"],
            "rating": [1.0, 4.0],
        }),
        "orders": pd.DataFrame({
            "order_id": ["O1", "O2", "O3"],
            "customer_id": [CID, CID, "C1"],
            "ordered_at": [day, day + pd.Timedelta(days=3), day],
            "amount": [120.0, 80.0, 50.0],
        }),
        "events": pd.DataFrame({
            "customer_id": [CID, "C1"],
            "timestamp": [day, day],
            "touchpoint": ["checkout_started", "checkout_started"],
        }),
    }  # fmt: skip


def plant(ws: Workspace) -> None:
    """Every kind of record cxray keeps, with the planted customer in it."""
    ws.loop.run(deliver=False)  # the rules are seen: the imports below fire them
    for table, frame in _frames().items():
        ws.import_frame(table, frame)
    sub = ws.surveys.prepare(
        "pulse", {"nps": 1, "why": ANSWER, "extra_note": NOTE}, customer_id=CID, trusted=True
    )
    ws.surveys.collector.collect(sub)
    ws.surveys.collector.close()
    ws.loop.run(deliver=False, backfill=True)
    survey = ws.surveys.get("pulse")
    with ws.write_lock:
        issue(ws.store, ws.surveys.signer, ws.config, "pulse", survey,
              [Invitee(CID, EMAIL, NAME, "case:K1")])  # fmt: skip
        fu = ws.loop.followups.list(customer_id=CID, limit=10)["rows"]
    assert len(fu) >= 2  # the detractor responses and the loud mention
    ws.loop.followups.note(fu[0]["followup_id"], actor="agent ana", text=AGENT_NOTE)
    with ws.write_lock:  # a model that kept a score per customer
        ws.store.save_model("risk_scores", "test", {"scores": {CID: 0.91, "C1": 0.12}}, {})


def scan_tables(ws: Workspace) -> dict[str, set[str]]:
    """Which needles each table holds: every row, every column, as text."""
    b = ws.store.backend
    found: dict[str, set[str]] = {}
    for name in b.list_tables():
        rows = b.table(name).to_pyarrow().to_pylist()
        text = json.dumps(rows, default=str, ensure_ascii=False)
        hits = {n for n in NEEDLES if n in text}
        if hits:
            found[name] = hits
    return found


def scan_files(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = {n for n in NEEDLES if n.encode() in data}
            if hits:
                found[path.name] = hits
    return found


def nps_scores(ws: Workspace) -> list[int]:
    t = ws.table("responses")
    return sorted(t.filter(t.nps.notnull()).nps.to_pyarrow().to_pylist())


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """The planted world, built once: each test erases in a copy of its folder."""
    folder = tmp_path_factory.mktemp("planted")
    (folder / "store").mkdir()
    (folder / "cxray.toml").write_text(CONFIG, encoding="utf-8")
    with Workspace.open(folder / "store" / "cx.duckdb", folder / "cxray.toml") as ws:
        plant(ws)
    return folder


@pytest.fixture
def world(planted: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    shutil.copytree(planted, tmp_path / "w")  # the store and its key file, modes kept
    return tmp_path / "w" / "store" / "cx.duckdb", tmp_path / "w" / "cxray.toml"


def test_nothing_of_the_customer_is_left_in_any_table_or_file(world, capsys):
    db, config = world
    with Workspace.open(db, config) as ws:
        before = scan_tables(ws)
        scores, nps = nps_scores(ws), ws.scorecard(metrics=["nps"]).records()[0]["estimate"]
        outbox = ws.store.backend.table("_cx_outbox").count().to_pyarrow().as_py()
    # the scan can fail: every needle is somewhere, in every kind of table
    assert set().union(*before.values()) == set(NEEDLES)
    assert {"customers", "responses", "cases", "mentions", "orders", "events", "_cx_submissions",
            "_cx_invitations", "_cx_alerts", "followups", "_cx_followup_events", "_cx_models",
            "_cx_outbox"} <= set(before)  # fmt: skip
    assert outbox >= 1
    assert scan_files(db.parent)  # and in the file

    code = run(["--db", str(db), "--config", str(config), "erase", "--customer", CID, "--yes",
                "--reason", "art. 17 request 118"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "rewritten" in out and CID in out  # the command echoes what the user typed

    with Workspace.open(db, config) as ws:
        assert scan_tables(ws) == {}
        # the customer's scores still count: the same NPS, the same rows
        assert nps_scores(ws) == scores
        assert ws.scorecard(metrics=["nps"]).records()[0]["estimate"] == pytest.approx(nps)
        t = ws.table("orders")
        assert t.amount.sum().to_pyarrow().as_py() == 250  # orders kept, under a pseudonym
        pseudonyms = set(t.customer_id.to_pyarrow().to_pylist()) - {"C1"}
        assert len(pseudonyms) == 1 and next(iter(pseudonyms)).startswith("erased-")
        records = ws.privacy.erasures()
    assert scan_files(db.parent) == {}  # store, key file: no byte of them left
    assert len(records) == 1
    (r,) = records
    assert r["reason"] == "art. 17 request 118" and r["actor"] == "local"
    assert r["counts"]["responses"] == 2 and r["counts"]["customers"] == 1
    assert r["counts"]["orders"] == 2 and r["counts"]["_cx_submissions"] == 1


def test_erasing_twice_changes_nothing_and_an_unknown_id_is_an_error(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        first = ws.privacy.erase(CID, reason="request 1")
        assert first.rows > 0 and not first.already_erased
        snapshot = {
            n: ws.store.backend.table(n).to_pyarrow() for n in ws.store.backend.list_tables()
        }
        again = ws.privacy.erase(CID)
        assert again.already_erased and again.counts == {} and again.erasure_id is None
        after = {n: ws.store.backend.table(n).to_pyarrow() for n in ws.store.backend.list_tables()}
        assert after.keys() == snapshot.keys()
        assert all(after[n].equals(snapshot[n]) for n in after)
        assert len(ws.privacy.erasures()) == 1
        with pytest.raises(NotFoundError, match="no customer 'nobody'"):
            ws.privacy.erase("nobody")
        with pytest.raises(QueryError):
            ws.privacy.erase("  ")


def test_a_reimport_brings_the_customer_back_and_a_new_erasure_finds_them(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        ws.privacy.erase(CID)
        ws.import_frame("customers", _frames()["customers"])  # last year's export again
        assert EMAIL in str(scan_tables(ws).get("customers"))
        again = ws.privacy.erase(CID)
        assert not again.already_erased and again.counts == {"customers": 1}
        assert scan_tables(ws) == {} and len(ws.privacy.erasures()) == 2


def test_a_dry_run_counts_and_changes_nothing(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        before = scan_tables(ws)
        dry = ws.privacy.erase(CID, dry_run=True)
        assert dry.dry_run and dry.erasure_id is None
        assert dry.counts["responses"] == 2 and dry.counts["mentions"] == 1
        assert scan_tables(ws) == before
        assert ws.privacy.erasures() == []
        real = ws.privacy.erase(CID)
        assert real.counts == dry.counts


def test_the_cli_refuses_without_yes_and_lists_records(world, capsys):
    db, config = world
    base = ["--db", str(db), "--config", str(config)]
    assert run([*base, "erase", "--customer", CID]) == 2  # not a terminal: --yes is needed
    assert "--yes" in capsys.readouterr().err
    assert run([*base, "erase", "--customer", "nobody", "--yes"]) == 1
    assert "no customer 'nobody'" in capsys.readouterr().err
    assert run([*base, "erase", "--customer", CID, "--yes", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["counts"]["customers"] == 1 and body["storage"] == "rewritten"
    assert run([*base, "erase", "--list", "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["erasure_id"] == body["erasure_id"] and "subject" not in record


def test_through_a_running_server_then_compacted(world):
    """`cxray erase` sent to the `cxray serve` that holds the file: erased there (the file
    cannot be swapped under the server); `cxray privacy compact` once it stopped leaves no
    byte of the customer in any file of the folder (the server's log included)."""
    import subprocess
    import sys

    from tests._serve import served

    db, config = world
    cli = [sys.executable, "-m", "cxray", "--db", str(db), "--config", str(config)]
    with served(db, config):
        assert (db.parent / f"{db.name}.serve.json").exists()  # the server holds the file
        done = subprocess.run([*cli, "erase", "--customer", CID, "--yes", "--format", "json"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        body = json.loads(done.stdout)
        assert body["storage"] == "checkpointed" and body["compacted"] is None
        assert body["counts"]["responses"] == 2
        refused = subprocess.run([*cli, "privacy", "compact"], capture_output=True, text=True,
                                 timeout=120)  # fmt: skip
        assert refused.returncode == 1 and "stop `cxray serve`" in refused.stderr
    assert run(["--db", str(db), "--config", str(config), "privacy", "compact"]) == 0
    assert scan_files(db.parent) == {}
    with Workspace.open(db, config) as ws:
        assert scan_tables(ws) == {} and len(ws.privacy.erasures()) == 1


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def http(world) -> Api:
    from fastapi.testclient import TestClient

    from cxray.api import ApiSettings, create_app

    db, config = world
    keys = _keys(db)
    app = create_app(db, config, settings=ApiSettings(run_loop=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys, db)


def test_the_api_erases_for_admins_only(http):
    url = f"/api/customers/{CID}"
    assert_envelope(http.client.delete(url, headers=http.auth("analyst")), 403, "forbidden")
    assert_envelope(http.client.delete(url, headers=http.auth("viewer")), 403, "forbidden")
    assert_envelope(http.client.get("/api/privacy/erasures", headers=http.auth("analyst")),
                    403, "forbidden")  # fmt: skip
    assert_envelope(
        http.client.delete("/api/customers/nobody", headers=http.auth("admin")), 404, "not_found"
    )
    assert_envelope(http.client.delete("/api/customers/a%00b", headers=http.auth("admin")),
                    422, "invalid_request")  # fmt: skip
    assert_envelope(
        http.client.delete("/api/customers/%ED%A0%80", headers=http.auth("admin")), 404, "not_found"
    )  # invalid UTF-8 in the path: no such customer, no 500
    assert_envelope(http.client.delete(url, params={"reason": "a\x00b"},
                                       headers=http.auth("admin")), 422, "invalid_request")  # fmt: skip
    seen = http.get(url, role="admin")
    assert seen.status_code == 200 and seen.json()["profile"]["email"] == EMAIL
    resp = http.client.delete(url, params={"reason": "ticket 9"}, headers=http.auth("admin"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["counts"]["customers"] == 1 and body["storage"] == "checkpointed"
    assert_envelope(http.get(url, role="admin"), 404, "not_found")  # no profile any more
    again = http.client.delete(url, headers=http.auth("admin")).json()
    assert again["already_erased"] is True and again["counts"] == {}
    (record,) = http.get("/api/privacy/erasures", role="admin").json()
    assert record["reason"] == "ticket 9" and record["actor"] == "test admin"
    assert record["role"] == "admin"
    with http.client.app.state.cx.lock:  # type: ignore[attr-defined]
        assert scan_tables(http.ws) == {}


# ---------------------------------------------------------------- PostgreSQL


def private_postgres() -> str:
    """The test database, with this test's tables in the session's own temporary schema
    (``search_path=pg_temp``): nothing to clean up, nothing shared with other tests or with
    tables other roles keep in ``public``, and no right to create schemas needed."""
    assert POSTGRES_URL
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3Dpg_temp"


@needs_postgres
def test_erasure_on_postgres_leaves_nothing_in_any_table(tmp_path, monkeypatch):
    url = private_postgres()
    monkeypatch.setenv("CXRAY_SECRETS_FILE", str(tmp_path / "pg.secrets"))
    config = tmp_path / "cxray.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with Workspace.open(url, config) as ws:
        plant(ws)
        before = scan_tables(ws)
        scores = nps_scores(ws)
        assert set().union(*before.values()) == set(NEEDLES)
        report = ws.privacy.erase(CID, reason="pg")
        assert report.storage == "database"
        assert report.counts["responses"] == 2 and report.counts["_cx_invitations"] == 1
        assert scan_tables(ws) == {}
        assert nps_scores(ws) == scores
        assert ws.privacy.erase(CID).already_erased
        with pytest.raises(NotFoundError):
            ws.privacy.erase("nobody")
        assert [r["reason"] for r in ws.privacy.erasures()] == ["pg"]


def test_the_text_pages_kept_reports_go_with_an_erasure(world):
    """`cxray text enrich` keeps the Text page's reports (quotes, examples) in the store; an
    erasure deletes them all (they are computed again from what remains)."""
    db, config = world
    base = ["--db", str(db), "--config", str(config)]
    assert run([*base, "text", "enrich"]) == 0
    with Workspace.open(db, config) as ws:
        kept = ws.store.backend.table("_cx_text_reports").count().to_pyarrow().as_py()
    assert kept >= 1
    with Workspace.open(db, config) as ws:
        report = ws.privacy.erase(CID)
        assert report.counts["_cx_text_reports"] == kept
        assert ws.store.backend.table("_cx_text_reports").count().to_pyarrow().as_py() == 0
        assert scan_tables(ws) == {}


def test_reports_computed_before_an_erasure_are_never_written(world):
    """A server's background computation that read the texts before an erasure must not
    write its reports (they may quote the customer) after it."""
    from cxray.text import TextReports

    db, config = world
    assert run(["--db", str(db), "--config", str(config), "text", "enrich"]) == 0
    with Workspace.open(db, config) as ws:
        ws.store.backend.raw_sql("DELETE FROM _cx_text_reports")
        reports = TextReports()
        assert reports.precompute(ws.store, ws.config)  # computed, waiting to be written
        assert reports._unsaved
        ws.privacy.erase(CID)
        assert reports.save(ws.store) == 0 and not reports._unsaved
        assert ws.store.backend.table("_cx_text_reports").count().to_pyarrow().as_py() == 0
        assert scan_tables(ws) == {}
