"""``cxray maturity``: the CX maturity assessment, with evidence from the store.

Answers come from a TOML file (``--answers``), from prompts when stdin is a terminal, or
not at all (``--evidence-only``). The result is kept in the store (``_cx_maturity``) unless
``--no-save``; ``--history`` lists the kept ones; ``--template`` writes an answers file.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    OutputFormat,
    console,
    emit,
    err_console,
)
from cxray.exceptions import QueryError

_PHASE = {
    "quick_win": "quick win",
    "foundation": "foundation",
    "scale": "scale",
    "optimise": "optimise",
}


@app.command()
def maturity(
    ctx: typer.Context,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            metavar="FILE",
            help="Answers from a TOML file (write one with --template).",
        ),
    ] = None,
    evidence_only: Annotated[
        bool, typer.Option("--evidence-only", help="No questions: the store's evidence only.")
    ] = False,
    template: Annotated[
        bool, typer.Option("--template", help="Write a commented answers file (see --output).")
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where --template writes ('-': print it).")
    ] = Path("maturity-answers.toml"),
    history: Annotated[
        bool, typer.Option("--history", help="List the kept assessments, oldest first.")
    ] = False,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Keep the result in the store's history.")
    ] = True,
    format_: FormatOpt = OutputFormat.table,
) -> None:
    """Assess the CX program's maturity: answers, evidence from the store, a level per
    dimension, disagreements and a roadmap (docs/maturity.md)."""
    if template:
        _write_template(output)
        return
    obj = ctx.obj or {}
    from cxray.workspace import Workspace  # imported when run: `cxray --help` stays fast

    if history:
        with Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False) as ws:
            rows = ws.maturity.history()
        _print_history(rows, format_)
        return
    if answers is not None and evidence_only:
        raise QueryError("--answers and --evidence-only exclude each other")
    given: dict[str, Any] = {}
    source = "evidence"
    if answers is not None:
        from cxray.maturity import read_answers

        given, source = read_answers(answers), "file"  # checked before the store is opened
    elif not evidence_only:
        if not _is_terminal():
            raise QueryError(
                "cxray maturity asks its questions in a terminal; here give --answers FILE "
                "(cxray maturity --template writes one) or --evidence-only"
            )
        given, source = _ask(), "cli"
    with Workspace.open(obj.get("db"), obj.get("config"), read_only=not save, create=False) as ws:
        result = ws.maturity.assess(given, source=source)
        body = result.to_dict()
        if save:
            ws.maturity.save(body, actor=f"local:{getpass.getuser() or 'cli'}")
    emit(
        format_,
        body,
        lambda: _print(body, saved=save),
        records=lambda: [_dimension_row(d) for d in body["dimensions"]],
    )


def _dimension_row(d: dict[str, Any]) -> dict[str, Any]:
    """One CSV row per dimension: its answers' score, its evidence's and the result."""
    keys = ("id", "title", "stated_score", "stated_level", "evidence_score", "evidence_level")
    return {k: d.get(k) for k in (*keys, "score", "level")}


def _is_terminal() -> bool:
    return sys.stdin.isatty()


def _write_template(output: Path) -> None:
    from cxray.maturity import template

    text = template()
    if str(output) == "-":
        console.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    if output.exists():
        raise QueryError(f"{output} exists; choose another --output or remove it")
    output.write_text(text, encoding="utf-8")
    console.print(
        f"wrote {escape(str(output))}: fill in the answers (0-3), then run "
        f"cxray maturity --answers {escape(str(output))}"
    )


def _ask() -> dict[str, int]:
    """Each question in turn (on stderr, so --format json stays clean); Enter skips one."""
    from rich.prompt import Prompt

    from cxray.maturity import DIMENSIONS

    err_console.print("Answer with the number of the option that fits best (Enter skips).")
    out: dict[str, int] = {}
    for d in DIMENSIONS:
        err_console.rule(f"[bold]{escape(d.title)}[/bold]")
        for q in d.questions:
            err_console.print(f"[bold]{escape(q.text)}[/bold]")
            for i, o in enumerate(q.options):
                err_console.print(f"  {i}  {escape(o)}")
            got = Prompt.ask(
                "answer",
                choices=["0", "1", "2", "3", ""],
                default="",
                show_choices=False,
                show_default=False,
                console=err_console,
            )
            if got != "":
                out[q.id] = int(got)
    return out


def _level(name: str | None) -> str:
    colours = {
        "Reactive": "red",
        "Responsive": "yellow",
        "Proactive": "cyan",
        "Predictive": "green",
    }
    return "—" if name is None else f"[{colours[name]}]{name}[/{colours[name]}]"


def _print(body: dict[str, Any], *, saved: bool) -> None:
    o = body["overall"]
    if o["level"] is None:
        console.print("no dimension could be scored: answer questions or import data")
    else:
        console.print(
            f"overall: {_level(o['level'])} (score {o['score']:.2f} of 3; "
            f"{o['experience']} experiences; Temkin stage "
            f"{' / '.join(o['temkin_stages'])})"
        )
    t = Table(title="dimensions (scores 0-3)", title_justify="left")
    for c in ("dimension", "answers", "stated", "evidence", "level"):
        t.add_column(c)
    for d in body["dimensions"]:
        st = "—" if d["stated_score"] is None else f"{d['stated_score']:.2f} {d['stated_level']}"
        ev = (
            "—"
            if d["evidence_score"] is None
            else (f"{d['evidence_score']:.2f} {d['evidence_level']}")
        )
        t.add_row(d["title"], f"{d['answered']}/{d['questions']}", st, ev, _level(d["level"]))
    console.print(t)
    e = Table(title="evidence from the store", title_justify="left")
    for c in ("dimension", "evidence", "figure", "implies"):
        e.add_column(c)
    for d in body["dimensions"]:
        for item in d["evidence"]:
            e.add_row(d["id"], escape(item["title"]), escape(item["text"]), _level(item["implies"]))
    console.print(e)
    if body["disagreements"]:
        console.print("[bold]where answers and evidence disagree[/bold]")
        for x in body["disagreements"]:
            console.print(f"  • {escape(x['message'])}")
    if body["roadmap"]:
        console.print("[bold]roadmap (quick wins first)[/bold]")
        for i, s in enumerate(body["roadmap"], start=1):
            how = f" — [dim]{escape(s['how'])}[/dim]" if s["how"] else ""
            console.print(
                f"  {i:>2}. {escape('[' + _PHASE[s['phase']] + ']')} {escape(s['text'])} "
                f"({s['dimension']}){how}"
            )
    if saved:
        console.print(f"kept as {body['assessment_id']} (cxray maturity --history)")


def _print_history(rows: list[dict[str, Any]], format_: str) -> None:
    if format_ != "table":
        keys = ("assessed_at", "assessment_id", "source", "actor", "overall_score")
        flat = [{k: r.get(k) for k in (*keys, "overall_level")} for r in rows]
        emit(format_, rows, records=flat)
        return
    if not rows:
        console.print("no assessment kept yet: run cxray maturity")
        return
    t = Table(title="maturity assessments, oldest first", title_justify="left")
    for c in ("when", "id", "source", "by", "score", "level"):
        t.add_column(c)
    for r in rows:
        score = "—" if r["overall_score"] is None else f"{r['overall_score']:.2f}"
        t.add_row(
            r["assessed_at"][:19],
            r["assessment_id"],
            r["source"],
            escape(r["actor"]),
            score,
            _level(r["overall_level"]),
        )
    console.print(t)
