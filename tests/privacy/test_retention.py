"""Retention: raw text older than ``[privacy] retain_days`` is purged; scores stay.

A world with old and new rows of every text table, the clock injected: after a run the old
rows' comments, survey text answers, case texts, mention texts and authors are gone (and the
sentiment derived from them), the new rows' are kept, every score is unchanged, and a record
says what was purged before which time. A second run finds nothing more; a dry run changes
nothing; ``cxray serve`` runs it on start.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from cxray.cli._app import run
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, needs_postgres

NOW = dt.datetime(2026, 6, 1, 12, 0)
OLD = pd.Timestamp(NOW - dt.timedelta(days=45))
NEW = pd.Timestamp(NOW - dt.timedelta(days=5))

SURVEY = """
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
[[surveys.pulse.questions]]
id = "plan"
type = "single"
text = "Which plan?"
choices = ["basic", "pro"]
"""


def plant(ws: Workspace) -> None:
    ws.import_frame("responses", pd.DataFrame({
        "response_id": ["old1", "old2", "new1"],
        "submitted_at": [OLD, OLD, NEW],
        "customer_id": ["C1", "C2", "C1"],
        "nps": [3, 9, 10],
        "comment": ["old words about the courier", "old praise", "new words"],
        "extra_note": ["old extra", None, "new extra"],
        "plan": ["basic", "pro", "pro"],
    }))  # fmt: skip
    ws.import_frame("cases", pd.DataFrame({
        "case_id": ["K-old", "K-new"],
        "opened_at": [OLD, NEW],
        "subject": ["old subject", "new subject"],
        "description": ["old description", "new description"],
        "category": ["billing", "billing"],
    }))  # fmt: skip
    ws.import_frame("mentions", pd.DataFrame({
        "mention_id": ["M-old", "M-new"],
        "posted_at": [OLD, NEW],
        "text": ["old post", "new post"],
        "author": ["@old_author", "@new_author"],
        "url": ["https://x.example/old", "https://x.example/new"],
        "rating": [2.0, 5.0],
    }))  # fmt: skip
    # a collected survey answer, its ledger row dated like an old response
    sub = ws.surveys.prepare("pulse", {"nps": 4, "why": "ledger words", "plan": "pro"},
                             customer_id="C3", trusted=True, submission_id="s-old")  # fmt: skip
    ws.surveys.collector.collect(sub)
    ws.surveys.collector.close()
    con_sql = "UPDATE responses SET submitted_at = ? WHERE response_id = ?"
    with ws.write_lock:
        if ws.store.is_duckdb:
            ws.store.backend.con.execute(con_sql, [OLD.to_pydatetime(), sub.response_id])
        else:
            with ws.store.backend.con.cursor() as cur:
                cur.execute(con_sql.replace("?", "%s"), [OLD.to_pydatetime(), sub.response_id])


def rows(ws: Workspace, table: str) -> dict[str, dict]:
    key = {"responses": "response_id", "cases": "case_id", "mentions": "mention_id"}[table]
    return {r[key]: r for r in ws.table(table).to_pyarrow().to_pylist()}


def sentiment_keys(ws: Workspace) -> set[tuple[str, str]]:
    t = ws.store.backend.table("text_sentiment")
    return {(r["table_name"], r["row_key"]) for r in t.to_pyarrow().to_pylist()}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    db, config = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    config.write_text("[privacy]\nretain_days = 30\n" + SURVEY, encoding="utf-8")
    with Workspace.open(db, config) as ws:
        plant(ws)
    return db, config


def check_purged(ws: Workspace, report) -> None:
    r = rows(ws, "responses")
    collected = next(k for k in r if k.startswith("sub_"))
    assert r["old1"]["comment"] is None and r["old1"]["extra_note"] is None
    assert r["old2"]["comment"] is None
    assert r[collected]["comment"] is None  # the survey's first text question
    assert r["new1"]["comment"] == "new words" and r["new1"]["extra_note"] == "new extra"
    # scores and categories stay: every KPI over any period is unchanged
    assert {k: v["nps"] for k, v in r.items()} == {"old1": 3, "old2": 9, "new1": 10, collected: 4}
    assert r["old1"]["plan"] == "basic" and r[collected]["plan"] == "pro"
    c = rows(ws, "cases")
    assert c["K-old"]["subject"] is None and c["K-old"]["description"] is None
    assert c["K-old"]["category"] == "billing"
    assert c["K-new"]["subject"] == "new subject"
    m = rows(ws, "mentions")
    assert m["M-old"]["text"] == "" and m["M-old"]["author"] is None and m["M-old"]["url"] is None
    assert m["M-old"]["rating"] == 2.0
    assert m["M-new"]["text"] == "new post" and m["M-new"]["author"] == "@new_author"
    ledger = ws.store.backend.table("_cx_submissions").to_pyarrow().to_pylist()
    assert [json.loads(x["answers"]) for x in ledger] == [{"nps": 4}]
    # what was derived from the purged texts went with them; the new rows' stays
    keys = sentiment_keys(ws)
    assert ("responses", "old1") not in keys and ("mentions", "M-old") not in keys
    assert {("responses", "new1"), ("cases", "K-new"), ("mentions", "M-new")} <= keys
    assert report.counts["responses"] == 3 and report.counts["cases"] == 1
    assert report.counts["mentions"] == 1 and report.counts["_cx_submissions"] == 1
    assert report.cutoffs == {t: NOW - dt.timedelta(days=30)
                              for t in ("responses", "cases", "mentions")}  # fmt: skip


def test_old_raw_text_goes_scores_stay(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        assert ("responses", "old1") in sentiment_keys(ws)  # the check below can fail
        report = ws.privacy.retention(now=NOW)
        check_purged(ws, report)
        (record,) = ws.privacy.purges()
        assert record["run_id"] == report.run_id and record["actor"] == "local"
        assert record["counts"] == report.counts
        assert record["cutoffs"]["responses"] == "2026-05-02T12:00:00"
        again = ws.privacy.retention(now=NOW)  # nothing left to purge; the run is recorded
        assert again.counts == {} and len(ws.privacy.purges()) == 2


def test_a_dry_run_counts_and_changes_nothing(world):
    db, config = world
    with Workspace.open(db, config) as ws:
        before = {t: rows(ws, t) for t in ("responses", "cases", "mentions")}
        dry = ws.privacy.retention(now=NOW, dry_run=True)
        assert dry.dry_run and dry.run_id is None and dry.counts["responses"] == 3
        assert {t: rows(ws, t) for t in before} == before
        assert ws.privacy.purges() == []
        assert ws.privacy.retention(now=NOW).counts == dry.counts


def test_retention_per_table_and_none(tmp_path):
    db, config = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    config.write_text("[privacy.retain_days]\nmentions = 10\n" + SURVEY, encoding="utf-8")
    with Workspace.open(db, config) as ws:
        plant(ws)
        report = ws.privacy.retention(now=NOW)
        assert set(report.cutoffs) == {"mentions"} and report.counts["mentions"] == 1
        assert rows(ws, "responses")["old1"]["comment"] == "old words about the courier"
        assert rows(ws, "mentions")["M-old"]["text"] == ""
    config.write_text(SURVEY, encoding="utf-8")
    assert run(["--db", str(db), "--config", str(config), "privacy", "retention"]) == 1


def test_the_cli_purges_and_lists(world, capsys):
    db, config = world
    base = ["--db", str(db), "--config", str(config)]
    assert run([*base, "privacy", "retention", "--dry-run", "--format", "json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True and dry["counts"]["responses"] >= 1  # today's clock
    assert run([*base, "privacy", "retention", "--list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cxray_serve_purges_on_start(world):
    from fastapi.testclient import TestClient

    from cxray.app import create_app

    db, config = world
    app = create_app(db, config)
    with TestClient(app):
        timer = app.state.retention
        deadline = time.monotonic() + 20
        while timer.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert timer.runs >= 1 and timer.failures == 0
        ws = app.state.cx.ws
        with ws.write_lock:
            (record,) = ws.privacy.purges()
            # by the real clock (after June 2026) every response here is over 30 days old
            assert record["actor"] == "schedule" and record["counts"]["responses"] == 4
            assert {r["comment"] for r in rows(ws, "responses").values()} == {None}


@needs_postgres
def test_retention_on_postgres(tmp_path, monkeypatch):
    from tests.privacy.test_erase import private_postgres

    assert POSTGRES_URL
    monkeypatch.setenv("CXRAY_SECRETS_FILE", str(tmp_path / "pg.secrets"))
    config = tmp_path / "cxray.toml"
    config.write_text("[privacy]\nretain_days = 30\n" + SURVEY, encoding="utf-8")
    with Workspace.open(private_postgres(), config) as ws:
        plant(ws)
        report = ws.privacy.retention(now=NOW)
        check_purged(ws, report)
        assert ws.privacy.retention(now=NOW).counts == {}
