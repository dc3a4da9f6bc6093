"""``cxray maturity`` end to end: template, answers file, prompts, evidence only, history,
and bad answers that error with their location and write nothing."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from cxray.cli import app, main
from cxray.maturity import DIMENSIONS, MATURITY, read_answers

runner = CliRunner()


def _args(world, *rest: str) -> list[str]:
    db, config = world
    return ["--db", str(db), "--config", str(config), "maturity", *rest]


def _kept(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        return con.execute(f"SELECT count(*) FROM {MATURITY}").fetchone()[0] if (
            MATURITY in tables) else 0  # fmt: skip
    finally:
        con.close()


def _filled(text: str, score: int) -> str:
    return re.sub(r"^# (\w+) = $", lambda m: f"{m.group(1)} = {score}", text, flags=re.M)


def test_template_answers_history(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, _args(world, "--template"))
    assert res.exit_code == 0, res.output
    text = (tmp_path / "maturity-answers.toml").read_text()
    assert read_answers(tmp_path / "maturity-answers.toml") == {}  # all commented out
    n_questions = sum(len(d.questions) for d in DIMENSIONS)
    assert text.count("#   3: ") == n_questions
    # a second --template does not overwrite
    again = runner.invoke(app, _args(world, "--template"))
    assert again.exit_code != 0 and "exists" in str(again.exception)

    (tmp_path / "a.toml").write_text(_filled(text, 3))
    res = runner.invoke(app, _args(world, "--answers", "a.toml", "--format", "json"))
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert len(body["answers"]) == n_questions and set(body["answers"].values()) == {3}
    loop = next(d for d in body["dimensions"] if d["id"] == "closed_loop")
    assert loop["stated_level"] == "Predictive"
    # everything claimed Predictive: evidence below it is reported as a disagreement
    assert body["disagreements"]
    assert all(d["direction"] == "answers_higher" for d in body["disagreements"])
    assert body["source"] == "file" and body["assessment_id"]

    res = runner.invoke(app, _args(world, "--evidence-only"))
    assert res.exit_code == 0, res.output
    assert "overall:" in res.output and "roadmap (quick wins first)" in res.output

    res = runner.invoke(app, _args(world, "--history", "--format", "json"))
    rows = json.loads(res.output)
    assert [r["source"] for r in rows] == ["file", "evidence"]
    assert rows[0]["assessment_id"] == body["assessment_id"]
    assert rows[0]["overall_score"] == pytest.approx(body["overall"]["score"])
    assert _kept(world[0]) == 2
    # --no-save keeps nothing
    res = runner.invoke(app, _args(world, "--evidence-only", "--no-save"))
    assert res.exit_code == 0 and _kept(world[0]) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[leadership]\nvision = 2\n", "bad.toml: line 1: [leadership]: unknown dimension"),
        ("[closed_loop]\nfollowup = 1\nspeed = 2\n",
         "bad.toml: line 3: [closed_loop] speed: unknown question 'closed_loop.speed'"),
        ("# hello\n[closed_loop]\n\nfollowup = 4\n",
         "bad.toml: line 4: [closed_loop] followup = 4: an answer is the score"),
        ("[closed_loop]\nfollowup = true\n", "[closed_loop] followup = True: an answer"),
        ("[closed_loop]\nfollowup = \n", "bad.toml: not valid TOML"),
    ],
)  # fmt: skip
def test_bad_answers_error_with_location_and_write_nothing(world, tmp_path, monkeypatch, capsys,
                                                           text, message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(_args(world, "--answers", "bad.toml"))
    assert exc.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert message in err, err
    assert _kept(world[0]) == 0


def test_prompts_in_a_terminal(world, monkeypatch):
    import cxray.cli._maturity as cli

    monkeypatch.setattr(cli, "_is_terminal", lambda: True)
    n = sum(len(d.questions) for d in DIMENSIONS)
    # the first question answered 2, the rest skipped (Enter)
    res = runner.invoke(app, _args(world, "--format", "json"), input="2\n" + "\n" * (n - 1))
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)  # the questions went to stderr
    assert "Who owns customer experience?" in res.stderr
    assert body["answers"] == {"leadership_strategy.vision": 2}
    assert body["source"] == "cli"


def test_no_terminal_no_answers_is_an_error(world):
    res = runner.invoke(app, _args(world))
    assert res.exit_code != 0
    assert "--answers FILE" in str(res.exception) and _kept(world[0]) == 0
