"""``cxray text``: sentiment for files and for the store. Each command parses, calls, prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import console, err_console, fmt_int, print_json, progress_bar
from cxray.exceptions import StoreError, StoreLockedError
from cxray.workspace import Workspace

text_app = typer.Typer(
    name="text",
    help="Text analytics: sentiment of comments, cases and mentions.",
    no_args_is_help=True,
)
app.add_typer(text_app, name="text")

_MODEL_HELP = (
    "default (out of the box), domain (learned by `cxray text train`) or the PATH of a model "
    "file; when not given: the store's domain model if there is one, else default."
)


def _open(ctx: typer.Context, *, read_only: bool = False, create: bool = True) -> Workspace:
    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=create)


@text_app.command("score")
def score(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV or JSON Lines file (.jsonl) of texts.")],
    column: Annotated[str, typer.Option("--column", "-c", help="The column holding the text.")],
    format_: Annotated[
        Literal["csv", "json"] | None,
        typer.Option("--format", help="Output as csv or json (JSON Lines); default: as input."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Score a file without importing it: its rows, plus sentiment_label and sentiment_score."""
    from cxray import text

    rows, names, fmt = text.read_text_file(file, column)
    ws = None
    if model in (None, "auto", "domain"):
        try:
            ws = _open(ctx, read_only=True, create=False)
        except StoreLockedError:
            raise
        except StoreError:
            if model == "domain":
                raise
    try:
        scorer, model_id = text.resolve_model(model, ws.store if ws else None)
    finally:
        if ws is not None:
            ws.close()
    scored = text.score_rows(rows, column, scorer)
    if output is None:
        text.write_scored(scored, names, format_ or fmt, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        text.write_scored(scored, names, format_ or fmt, out)
    err_console.print(f"scored {fmt_int(len(scored))} rows with {model_id} -> {output}")


@text_app.command("train")
def train(
    ctx: typer.Context,
    test_size: Annotated[
        float, typer.Option(help="Share of labelled texts held out to measure the gain.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split and of the model.")] = 42,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Learn the domain sentiment model from the store (comments with NPS/CSAT, rated mentions)."""
    from cxray import text

    with _open(ctx) as ws:
        report = text.train_store_model(ws.store, ws.config, test_size=test_size, random_state=seed)
    if json_:
        print_json(report.to_dict())
        return
    ev = report.evaluation
    sources = ", ".join(f"{fmt_int(n)} {name}" for name, n in report.sources.items() if n)
    console.print(f"learned from {fmt_int(ev.n_train + ev.n_test)} labelled texts ({sources})")
    t = Table(title_justify="left")
    t.add_column(f"held-out macro-F1 ({fmt_int(ev.n_test)} texts, seed {ev.random_state})")
    t.add_column("value", justify="right")
    t.add_row("out of the box (lexicon)", f"{ev.f1_default:.3f}")
    t.add_row("domain model", f"{ev.f1_domain:.3f}")
    colour = "green" if ev.gain > 0 else "red"
    t.add_row("gain", f"[{colour}]{ev.gain:+.3f}[/{colour}]")
    console.print(t)
    console.print(
        f"kept as [bold]{report.model_id}[/bold] (learned from every labelled text); "
        "`cxray text score` and `cxray text enrich` now use it"
    )


@text_app.command("enrich")
def enrich(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score every text field of the store into the text_sentiment table (only what changed)."""
    from cxray import text

    with _open(ctx) as ws, progress_bar(not json_) as progress:
        scorer, model_id = text.resolve_model(model, ws.store)
        report = text.enrich_sentiment(ws.store, scorer, model_id, progress=progress)
    if json_:
        print_json(report.to_dict())
        return
    _print_enrich(report)


def _print_enrich(report: Any) -> None:
    t = Table(title=f"sentiment by {report.model}", title_justify="left")
    for name in ("field", "texts", "scored now", "removed"):
        t.add_column(name, justify="left" if name == "field" else "right")
    for f in report.fields:
        t.add_row(f"{f.table}.{f.field}", fmt_int(f.texts), fmt_int(f.scored), fmt_int(f.removed))
    console.print(t)
    if report.scored == 0:
        console.print("everything was up to date")
