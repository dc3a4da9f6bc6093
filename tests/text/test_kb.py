"""The knowledge base: import by URL (all or nothing, idempotent), list, drop; on DuckDB and
PostgreSQL; and the commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import cxray.cli._text_faq  # noqa: F401  (registers `cxray text faq` and `cxray text kb`)
from cxray import text
from cxray.cli import app
from cxray.exceptions import SourceError
from cxray.text._kb import COVERED_AT, KB_TABLE, Article, match_articles
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests.text._faq_data import cases

CSV = (
    "title,url,text\n"
    "Reset your password,https://help.example.com/password,Use the reset link on the login page.\n"
    'Returns,https://help.example.com/returns,"Return any item within 30 days, free."\n'
)


@pytest.fixture
def ws(tmp_path):
    with Workspace.open(tmp_path / "w.duckdb", tmp_path / "cxray.toml") as w:
        yield w


def test_import_is_idempotent_and_replaces_changed_articles(ws, tmp_path):
    p = tmp_path / "kb.csv"
    p.write_text(CSV, encoding="utf-8")
    first = text.import_kb(ws.store, p)
    assert (first.added, first.replaced, first.unchanged, first.total) == (2, 0, 0, 2)
    stamp = ws.store.backend.table(KB_TABLE).to_pyarrow().to_pylist()
    again = text.import_kb(ws.store, p)
    assert (again.added, again.replaced, again.unchanged, again.total) == (0, 0, 2, 2)
    assert ws.store.backend.table(KB_TABLE).to_pyarrow().to_pylist() == stamp  # untouched
    changed = CSV.replace("free.", "free of charge.")
    p.write_text(changed, encoding="utf-8")
    third = text.import_kb(ws.store, p)
    assert (third.added, third.replaced, third.unchanged, third.total) == (0, 1, 1, 2)
    arts = {a.url: a for a in text.kb_articles(ws.store)}
    assert arts["https://help.example.com/returns"].text.endswith("free of charge.")
    assert text.drop_kb(ws.store) == 2 and text.kb_articles(ws.store) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("title,url,text\nA,https://x.example/a,t\n,https://x.example/b,t\n", "row 3: field title"),
        ("title,url,text\nA,https://x.example/a,t\nB,not a url,t\n", "row 3: field url"),
        ("title,url,text\nA,https://x.example/a,t\nB,https://x.example/a,u\n", "already row 2"),
        ("headline,link\nA,https://x.example/a\n", "row 2: field title"),
    ],
)
def test_a_bad_row_writes_nothing_and_says_where(ws, tmp_path, body, message):
    text.import_kb(ws.store, [Article("Kept", "https://x.example/kept", "kept")])
    p = tmp_path / "bad.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(SourceError, match=message) as exc:
        text.import_kb(ws.store, p)
    assert str(p) in str(exc.value)
    assert [a.url for a in text.kb_articles(ws.store)] == ["https://x.example/kept"]


def test_json_lines_json_and_a_column_map(ws, tmp_path):
    jl = tmp_path / "kb.jsonl"
    jl.write_text(
        "\n".join(
            json.dumps({"headline": f"Article {i}", "link": f"/help/{i}", "body": "x"})
            for i in range(3)
        ),
        encoding="utf-8",
    )
    got = text.import_kb(ws.store, jl, mapping="title=headline,url=link,text=body")
    assert got.added == 3
    js = tmp_path / "kb.json"
    js.write_text(json.dumps([{"title": "T", "url": "/help/0", "text": 5}]), encoding="utf-8")
    with pytest.raises(SourceError, match=r"kb\.json: row 1: field text .* is int"):
        text.import_kb(ws.store, js)
    with pytest.raises(SourceError, match="'page' is not a field"):
        text.import_kb(ws.store, jl, mapping="page=link")


def test_the_best_article_is_picked_on_planted_questions():
    arts = [
        Article("Reset your password", "/help/password", "Forgot your password? Reset it."),
        Article("Change your delivery address", "/help/address", "Edit the address of an order."),
        Article("Opening hours", "/help/hours", "Our shops open at nine."),
    ]
    groups = [
        ["How do I reset my password?", "I forgot my password"],
        ["Can I change the delivery address?", "How do I change my address?"],
        ["Do you sell gift cards?", "Can I buy a gift card?"],
    ]
    got = match_articles(groups, arts)
    assert [c.article.url if c.covered else None for c in got] == [
        "/help/password",
        "/help/address",
        None,
    ]
    assert got[0].similarity >= COVERED_AT > got[2].similarity


def test_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "c.duckdb")
    with Workspace.open(db) as w:
        w.import_frame("cases", cases())
    (tmp_path / "kb.csv").write_text(CSV, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db, "text", "kb", "import", "kb.csv"])
    assert res.exit_code == 0, res.output
    assert "2 added, 0 replaced, 0 unchanged; 2 articles" in res.output
    res = runner.invoke(app, ["--db", db, "text", "kb", "import", "kb.csv", "--format", "json"])
    assert json.loads(res.output)["unchanged"] == 2
    res = runner.invoke(app, ["--db", db, "text", "kb", "list", "--format", "json"])
    assert [a["url"] for a in json.loads(res.output)] == [
        "https://help.example.com/password",
        "https://help.example.com/returns",
    ]
    res = runner.invoke(app, ["--db", db, "text", "faq", "--table", "cases"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    assert "reset my password" in res.output and "Reset your password" in res.output
    res = runner.invoke(app, ["--db", db, "text", "faq", "--table", "cases", "--format", "csv"])
    head, *rows = res.output.splitlines()
    assert head.startswith("id,label,volume,share,share_ci_low,share_ci_high,n,")
    assert rows and "[email]" in res.output and "@example.com" not in res.output
    res = runner.invoke(app, ["--db", db, "text", "kb", "drop"])
    assert res.exit_code == 0 and "2 articles removed" in res.output


@needs_postgres
def test_kb_and_faq_on_postgresql(tmp_path):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.import_frame("cases", cases())
        p = tmp_path / "kb.csv"
        p.write_text(CSV, encoding="utf-8")
        assert text.import_kb(pg.store, p).added == 2
        assert text.import_kb(pg.store, p).unchanged == 2
        bad = tmp_path / "bad.csv"
        bad.write_text(CSV + "X,,t\n", encoding="utf-8")
        with pytest.raises(SourceError, match="row 4: field url"):
            text.import_kb(pg.store, bad)
        assert len(text.kb_articles(pg.store)) == 2
        r = text.faq_candidates(pg.store, pg.config, tables="cases")
        pw = [c for c in r.candidates if "password" in c.label]
        assert pw and pw[0].coverage.covered
        assert pw[0].coverage.article.url == "https://help.example.com/password"
        assert text.drop_kb(pg.store) == 2
