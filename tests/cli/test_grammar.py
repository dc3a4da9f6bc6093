"""One CLI grammar: --format table|json|csv everywhere, --from/--to whole inclusive days,
help text shown as written (square brackets too) with metavars, not type names."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
import typer.main

from cxray.cli import main
from cxray.cli._app import _register_commands, app, run
from cxray.cli._output import date_window, parse_date, print_csv, window_bounds
from cxray.exceptions import QueryError


def cx(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def store(tmp_path, monkeypatch, write, capsys):
    """A small store: two responses, four customers who left around the end of January."""
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "g.duckdb")
    responses = write("r.csv", "response_id,submitted_at,nps\nA,2024-01-15,9\nB,2024-01-31,3\n")
    customers = write(
        "c.csv",
        "customer_id,created_at,churned_at,churn_reason\n"
        "c1,2023-01-01,2024-01-01T00:00:00,price\n"
        "c2,2023-01-01,2024-01-31T23:59:00,price\n"  # the last minute of the end date
        "c3,2023-01-01,2024-02-01T00:00:00,service\n"  # the first minute after it
        "c4,2023-01-01,,\n",
    )
    for table, path in (("responses", responses), ("customers", customers)):
        with pytest.raises(SystemExit) as exc:
            main(["--db", db, "import", table, str(path), "--format", "json"])
        assert exc.value.code == 0
    capsys.readouterr()
    return db


# ---------------------------------------------------------------- --format


def test_status_in_every_format_says_the_same(capsys, store):
    code, out, _ = cx(capsys, "--db", store, "status", "--format", "json")
    assert code == 0
    data = json.loads(out)
    code, alias, _ = cx(capsys, "--db", store, "status", "--json")  # the deprecated spelling
    assert code == 0 and json.loads(alias) == data
    code, out, _ = cx(capsys, "--db", store, "status", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["table"] for r in rows] == [t["table"] for t in data["tables"]]
    assert {r["table"]: int(r["rows"]) for r in rows} == {
        t["table"]: t["rows"] for t in data["tables"]
    }
    assert {r["table"]: int(r["rows"]) for r in rows}["customers"] == 4
    code, out, _ = cx(capsys, "--db", store, "status")
    assert code == 0 and "responses" in out and "recent imports" in out
    code, _, err = cx(capsys, "--db", store, "status", "--format", "xml")
    assert code == 2 and "'xml' is not one of" in err.replace("\n", " ")


def test_import_report_json_and_csv(capsys, store, write):
    p = write("r2.csv", "response_id,submitted_at,nps\nA,2024-01-15,9\nC,2024-01-20,10\n")
    code, out, _ = cx(capsys, "--db", store, "import", "responses", str(p), "--format", "csv",
                      "--dry-run")  # fmt: skip
    assert code == 0
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["added"], row["unchanged"], row["dry_run"], row["files"]) == (
        "1", "1", "True", "r2.csv"
    )  # fmt: skip
    code, out, _ = cx(capsys, "--db", store, "import", "responses", str(p), "--json")
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["dry_run"]) == (1, 1, False)


def test_keys_list_csv_has_a_header_and_a_line_per_key(capsys, store):
    assert cx(capsys, "--db", store, "keys", "create", "--role", "viewer", "--name", "a,b")[0] == 0
    assert cx(capsys, "--db", store, "keys", "create", "--role", "admin")[0] == 0
    code, out, _ = cx(capsys, "--db", store, "keys", "list", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["role"], r["name"]) for r in rows][:1] == [("viewer", "a,b")]  # quoted comma
    assert len(rows) == 2
    code, out, _ = cx(capsys, "--db", store, "keys", "list", "--format", "json")
    assert [k["id"] for k in json.loads(out)] == [int(r["id"]) for r in rows]


def test_print_csv_flattens_nested_values(capsys):
    print_csv([{"a": 1, "share": {"estimate": 0.5, "ci_low": None}, "tags": ["x", "y"]},
               {"a": float("nan"), "extra": dt.date(2024, 1, 31)}])  # fmt: skip
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "a,share.estimate,share.ci_low,tags,extra",
        '1,0.5,,"[""x"", ""y""]",',
        ",,,,2024-01-31",
    ]


# ---------------------------------------------------------------- --from / --to


def test_to_includes_the_end_date(capsys, store):
    def churned(*args: str) -> int:
        code, out, err = cx(capsys, "--db", store, "churn", "reasons", *args, "--format", "json")
        assert code == 0, err
        return json.loads(out)["churned"]

    assert churned() == 3
    assert churned("--from", "2024-01-01", "--to", "2024-01-31") == 2  # c1 and c2, not c3
    assert churned("--since", "2024-01-01", "--until", "2024-01-31") == 2  # same meaning
    assert churned("--from", "2024-01-31", "--to", "2024-01-31") == 1  # one whole day: c2
    code, _, err = cx(capsys, "--db", store, "churn", "reasons", "--from", "2024-01-02",
                      "--to", "2024-01-30")  # fmt: skip
    assert code == 1 and "no churned customers from 2024-01-02 to 2024-01-30" in err
    assert churned("--to", "2024-02-01") == 3
    assert churned("--to", "2024-01-31T12:00") == 1  # a date-time is that instant


def test_window_bounds_are_whole_days():
    day = dt.datetime
    assert window_bounds("2024-01-01", "2024-01-31") == (day(2024, 1, 1), day(2024, 2, 1))
    assert window_bounds(None, None, "2024-01-01", "2024-01-31") == (
        day(2024, 1, 1), day(2024, 2, 1)
    )  # fmt: skip
    assert window_bounds("2024-01-01T08:30", "2024-01-31T12:00") == (
        day(2024, 1, 1, 8, 30), day(2024, 1, 31, 12)
    )  # fmt: skip
    assert window_bounds("2024-01-01T00:00+02:00", None) == (day(2023, 12, 31, 22), None)
    assert date_window("2024-01-01", "2024-01-31") == ("2024-01-01", "2024-01-31")
    assert parse_date(" 2024-02-29 ", "--to") == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2024-13-01", None), "--from '2024-13-01': not a date (use YYYY-MM-DD"),
        ((None, "31.01.2024"), "--to '31.01.2024': not a date"),
        ((None, None, "yesterday", None), "--since 'yesterday': not a date"),
        (("2024-02-01", "2024-01-31"), "the window is empty: --to 2024-01-31 is before --from"),
        (("2024-01-01", None, "2024-01-01", None), "give --from or --since"),
        ((None, "2024-01-01", None, "2024-01-01"), "give --to or --until"),
    ],
)
def test_bad_dates_name_the_option(args, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        date_window(*args)


def test_a_bad_date_is_one_red_line_and_exit_1(capsys, store):
    code, out, err = cx(capsys, "--db", store, "churn", "reasons", "--to", "2024-02-30")
    assert (code, out) == (1, "")
    assert err.strip() == (
        "error: --to '2024-02-30': not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
    )


# ---------------------------------------------------------------- help


def _every_command() -> list[tuple[list[str], object]]:
    _register_commands()
    found = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_help_of_every_command_shows_its_text_as_written(capsys):
    commands = _every_command()
    assert len(commands) > 40  # the walk found the groups' commands too
    problems = []
    for path, cmd in commands:
        assert run([*path, "--help"]) == 0
        shown = _flat(capsys.readouterr().out)
        texts = [cmd.help or ""] + [
            p.help or "" for p in cmd.params if not getattr(p, "hidden", False)
        ]  # fmt: skip
        for text in texts:
            for bracketed in re.findall(r"\[[^\]\n]*\]", text):
                if _flat(bracketed) not in shown:
                    problems.append(f"cxray {' '.join(path)}: {bracketed!r} lost")
        for name in re.findall(r"<[A-Za-z][^<>]*>", shown):
            if not name.startswith(("<script", "<URL")):
                problems.append(f"cxray {' '.join(path)}: type name {name} in help")
        for hidden in ("--json", "--since", "--until"):
            if re.search(rf"{hidden}\b", shown.replace("--json adds", "")):
                problems.append(f"cxray {' '.join(path)}: hidden alias {hidden} shown")
    assert problems == []


def test_help_keeps_brackets_of_known_texts(capsys):
    assert run(["text", "themes", "--help"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "taxonomy ([themes.*] of cxray.toml)" in shown
    assert "pip install 'cxray[text]'" in shown
    assert "--source taxonomy|discover" in shown and "--seed INTEGER" in shown
    assert run(["import", "--help"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "--source TEXT" in shown and "FILE CSV, Parquet" in shown


def test_every_data_command_takes_format_table_json_csv():
    """Commands that print data offer the three formats (text score writes files as they
    came in: csv or json; commands that change one thing print one line)."""
    prints_data = {
        ("import",), ("status",), ("drivers",), ("scorecard",), ("doctor",),
        ("churn", "survival"), ("churn", "cox"), ("churn", "reasons"), ("churn", "model"),
        ("churn", "risk"), ("clv",), ("clv", "show"), ("clv", "fit"), ("clv", "by-nps-group"),
        ("clv", "at-risk"), ("clv", "what-if"), ("clv", "roi"), ("journeys", "funnel"),
        ("journeys", "paths"), ("journeys", "graph"), ("journeys", "outcomes"),
        ("keys", "list"), ("loop", "run"), ("loop", "deliver"), ("loop", "list"),
        ("loop", "show"), ("loop", "alerts"), ("loop", "rules"), ("loop", "measure"),
        ("surveys", "list"), ("surveys", "show"), ("surveys", "link"), ("surveys", "invite"),
        ("text", "train"), ("text", "enrich"), ("text", "themes"), ("text", "trends"),
        ("maturity",), ("benchmarks",), ("views", "list"),
    }  # fmt: skip
    seen = set()
    for path, cmd in _every_command():
        fmt = next((p for p in cmd.params if "--format" in getattr(p, "opts", ())), None)
        if fmt is None:
            continue
        seen.add(tuple(path))
        # doctor: table|json for now; text score and report write documents (csv or json as
        # the file came in; a digest as pdf, html or md)
        if tuple(path) in (("text", "score"), ("doctor",), ("report",)):
            continue
        choices = fmt.type_descriptor.choices or ()
        values = {str(getattr(c, "value", c)) for c in choices}
        assert {"table", "json", "csv"} <= values, f"cxray {' '.join(path)}: {values}"
    assert prints_data - seen == set()
