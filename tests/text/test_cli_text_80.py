"""``cxray text themes|trends|languages`` read in 80 columns; languages without a sentiment
model are flagged on stderr (and by ``cxray text languages``)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxray.cli import app
from cxray.text import enrich_sentiment
from cxray.workspace import Workspace

#: Portuguese reviews (written for this test) that no out-of-the-box scorer supports
PORTUGUESE = [
    "O produto chegou atrasado e veio quebrado, não recomendo esta loja para ninguém",
    "Não recebi o meu pedido até agora e o atendimento da loja é péssimo",
    "A entrega demorou muito mais do que o prometido e ninguém respondeu",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli80")
    path = folder / "demo.duckdb"
    with Workspace.open(path, folder / "none.toml") as ws:
        ws.load_demo(seed=5, customers=500, months=4)
        n = 12
        ws.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": [f"PT{i}" for i in range(n)],
                    "submitted_at": ["2026-01-05"] * n,
                    "nps": [2] * n,
                    "comment": [PORTUGUESE[i % 3] for i in range(n)],
                }
            ),
        )
        enrich_sentiment(ws.store)  # every text scored (or left unscored) with its language
    return str(path)


def run(db: str, *args: str):
    res = CliRunner().invoke(app, ["--db", db, "text", *args], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    return res


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def test_themes_fit_80_columns_and_flag_portuguese(db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    res = run(db, "themes")
    assert widest(res.stdout) <= 80 and widest(res.stderr) <= 80
    data = json.loads(run(db, "themes", "--format", "json").stdout)
    lines = res.stdout.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("theme"))
    assert "…" not in header and "NPS impact" in header and "sentiment" in header
    for t in data["themes"]:
        label = t["label"] if len(t["label"]) <= 20 else t["label"][:19].rstrip() + "…"
        row = next(line for line in lines if line.lstrip().startswith(label + " "))
        assert f"{t['volume']:,}" in row
        if not t["share"]["suppressed"]:  # estimate ±, the wider side of its interval
            s = t["share"]
            half = max(s["estimate"] - s["ci_low"], s["ci_high"] - s["estimate"]) * 100
            assert f"{s['estimate'] * 100:.1f} ±{half:.1f}" in row
        if not t["sentiment"]["suppressed"]:
            assert f"{t['sentiment']['estimate']:+.2f} ±" in row
    # quotes under the table, one line each, cut with an ellipsis
    quoted = [t for t in data["themes"] if t["quotes"]]
    assert quoted and any(line.endswith("…") for line in lines)
    # the Portuguese texts: a warning on stderr, not in the table
    assert "Portuguese: 12 texts; sentiment needs a trained model: `cxray text train`" in (
        " ".join(res.stderr.split())
    )
    assert "Portuguese" not in res.stdout
    # the warning comes with JSON output too, on stderr: stdout stays JSON
    js = run(db, "themes", "--format", "json")
    assert "Portuguese" in js.stderr and json.loads(js.stdout)["table"] == "responses"


def test_trends_fit_80_columns(db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    res = run(db, "trends")
    assert widest(res.stdout) <= 80
    data = json.loads(run(db, "trends", "--format", "json").stdout)
    lines = res.stdout.splitlines()
    for c in data["categories"]:
        row = next(line for line in lines if line.lstrip().startswith(c["category"][:19]))
        assert row.split()[1] == f"{c['cases']:,}"
        assert row.split()[-4:] == [str(v) for v in c["per_period"][-4:]]
    # week columns by month-day, the years under the table
    last = data["periods"][-4:]
    assert f"the last 4 weeks: {last[0]} to {last[-1]}" in res.stdout
    header = next(x for x in lines if x.lstrip().startswith("category"))
    assert header.split()[-4:] == [p[5:] for p in last]
    if data["emerging"]:
        first = data["emerging"][0]
        assert any(line.startswith(f"  {first['period']} {first['category']}: ") for line in lines)
    # cases have no Portuguese texts: no warning
    assert "Portuguese" not in res.stderr


def test_languages_table_json_and_csv(db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    data = json.loads(run(db, "languages", "--format", "json").stdout)
    by = {lang["code"]: lang for lang in data["languages"]}
    assert by["pt"]["n"] == 12 and by["pt"]["scored"] == 0 and not by["pt"]["supported"]
    assert by["en"]["supported"] and by["en"]["scored"] == by["en"]["n"] > 100
    assert sum(lang["n"] for lang in data["languages"]) == data["n_texts"]
    # most texts first; each gap is a language left unscored
    assert data["gaps"][0]["code"] == "pt" and data["gaps"][0]["n"] == 12
    assert {g["code"] for g in data["gaps"]} == {c for c, x in by.items() if not x["supported"]}
    assert all(by[g["code"]]["unscored"] == g["n"] for g in data["gaps"])
    res = run(db, "languages")
    assert widest(res.stdout) <= 80 and widest(res.stderr) <= 80
    pt_row = next(line for line in res.stdout.splitlines() if line.lstrip().startswith("Portug"))
    assert "needs a model" in pt_row and "12" in pt_row.split()
    assert "Portuguese: 12 texts" in res.stderr
    rows = list(csv.DictReader(io.StringIO(run(db, "languages", "--format", "csv").stdout)))
    assert {r["code"]: r["supported"] for r in rows}["pt"] in ("False", "false")
    only_cases = json.loads(run(db, "languages", "--table", "cases", "--format", "json").stdout)
    assert only_cases["table"] == "cases" and only_cases["gaps"] == []
