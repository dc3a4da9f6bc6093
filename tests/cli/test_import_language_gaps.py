"""`cxray import` says, in its table output as in its JSON, which languages of the imported
texts sentiment left unscored and what to do about it."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from cxray.cli import app

#: Portuguese reviews written for this test; no out-of-the-box scorer supports Portuguese
PORTUGUESE = [
    "O produto chegou atrasado e veio quebrado, não recomendo esta loja para ninguém",
    "Não recebi o meu pedido até agora e o atendimento da loja é péssimo",
    "A entrega demorou muito mais do que o prometido e ninguém respondeu",
]
ENGLISH = [
    "The parcel arrived two weeks late and the box was damaged",
    "Great service, the agent on the phone was very helpful and kind",
]
MESSAGE = "Portuguese: {n} texts; sentiment needs a trained model: `cxray text train`"


def write(path, comments: list[str], start: int = 0) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["response_id", "submitted_at", "nps", "comment"])
        for i, c in enumerate(comments):
            w.writerow([f"R{start + i}", "2026-02-02", i % 11, c])


def test_import_prints_the_languages_it_left_unscored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    comments = [PORTUGUESE[i % 3] for i in range(7)] + [ENGLISH[i % 2] for i in range(4)]
    write(tmp_path / "mixed.csv", comments)
    res = runner.invoke(
        app, ["--db", "cx.duckdb", "import", "responses", "mixed.csv"], env={"COLUMNS": "80"}
    )
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    # the English texts were scored, the Portuguese ones left with what to do, in full
    assert any(line.strip().startswith("texts: 4 scored by ") for line in lines), res.output
    # in 80 columns, wrapped under its first line
    assert all(len(line) <= 80 for line in lines), res.output
    said = res.output[res.output.index("  not scored: ") :]
    assert " ".join(said.split()) == f"not scored: {MESSAGE.format(n=7)}"
    # the same message as the JSON's
    write(tmp_path / "more.csv", PORTUGUESE, start=100)
    res = runner.invoke(app, ["--db", "cx.duckdb", "import", "responses", "more.csv", "--json"])
    assert res.exit_code == 0, res.output
    sentiment = json.loads(res.output)["sentiment"]
    assert sentiment["scored"] == sentiment["unscored"] == 3  # processed, none scored
    assert [g["message"] for g in sentiment["language_gaps"]] == [MESSAGE.format(n=3)]
    # an import in a supported language has no such line
    write(tmp_path / "english.csv", ENGLISH, start=200)
    res = runner.invoke(app, ["--db", "cx.duckdb", "import", "responses", "english.csv"])
    assert res.exit_code == 0, res.output
    assert "not scored" not in res.output and "texts: 2 scored by " in res.output
