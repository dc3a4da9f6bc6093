"""``cxray text``: sentiment for files and for the store. Each command parses, calls, prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    err_console,
    fmt_int,
    output_format,
    progress_bar,
)
from cxray.exceptions import StoreError, StoreLockedError

if TYPE_CHECKING:
    from cxray.workspace import Workspace

text_app = typer.Typer(
    name="text",
    help="Text analytics: sentiment, themes and case trends of comments, cases and mentions.",
    no_args_is_help=True,
)
app.add_typer(text_app, name="text")

_MODEL_HELP = (
    "default (out of the box), domain (learned by `cxray text train`) or the PATH of a model "
    "file; when not given: the store's domain model if there is one, else default."
)


def _open(ctx: typer.Context, *, read_only: bool = False, create: bool = True) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=create)


@text_app.command("score")
def score(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV or JSON Lines file (.jsonl) of texts.")],
    column: Annotated[str, typer.Option("--column", "-c", help="The column holding the text.")],
    format_: Annotated[
        Literal["csv", "json"] | None,
        typer.Option(
            "--format",
            metavar="csv|json",
            help="Output as csv or json (JSON Lines); default: as the input file.",
        ),
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
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Learn the domain sentiment model from the store (comments with NPS/CSAT, rated mentions)."""
    from cxray import text

    with _open(ctx) as ws:
        report = text.train_store_model(ws.store, ws.config, test_size=test_size, random_state=seed)
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, report.to_dict(), records=lambda: [report.to_dict()])
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
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Score every text field into text_sentiment and match its themes (only what changed)."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _open(ctx) as ws, progress_bar(fmt == "table") as progress:
        scorer, model_id = text.resolve_model(model, ws.store)
        report = text.enrich_sentiment(ws.store, scorer, model_id, progress=progress)
        themes = text.assign_store_themes(ws.store, ws.config, progress=progress)
        # what the Text page shows first, computed now and kept in the store
        text.REPORTS.precompute(ws.store, ws.config)
        text.REPORTS.save(ws.store)
    if fmt != "table":
        data = {**report.to_dict(), "themes": themes}
        emit(fmt, data, records=data["fields"])
        return
    _print_enrich(report)
    matched = sum(t["matched"] for t in themes.values())
    if matched:
        console.print(f"taxonomy themes matched for {fmt_int(matched)} texts")


def _print_enrich(report: Any) -> None:
    t = Table(title=f"sentiment by {report.model}", title_justify="left")
    for name in ("field", "texts", "scored now", "removed"):
        t.add_column(name, justify="left" if name == "field" else "right")
    for f in report.fields:
        t.add_row(f"{f.table}.{f.field}", fmt_int(f.texts), fmt_int(f.scored), fmt_int(f.removed))
    console.print(t)
    if report.scored == 0:
        console.print("everything was up to date")


def _est(e: Any, fmt: str = "{:.1f}", scale: float = 1.0) -> str:
    if e is None:
        return "-"
    if e.suppressed or e.estimate is None:
        return "[dim]n/a[/dim]"
    lo, hi = e.ci_low * scale, e.ci_high * scale
    return f"{fmt.format(e.estimate * scale)} [dim]({fmt.format(lo)}, {fmt.format(hi)})[/dim]"


@text_app.command("themes")
def themes(
    ctx: typer.Context,
    source: Annotated[
        Literal["taxonomy", "discover"],
        typer.Option(
            metavar="taxonomy|discover",
            help="taxonomy ([themes.*] of cxray.toml) or discover (found in the texts).",
        ),
    ] = "taxonomy",
    table: Annotated[
        Literal["responses", "cases", "mentions"], typer.Option(help="Whose texts.")
    ] = "responses",
    format_: FormatOpt = OutputFormat.table,
    n_themes: Annotated[int, typer.Option("--themes", min=2, help="Themes to discover.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of discovery and of the bootstrap.")] = 0,
    method: Annotated[
        Literal["nmf", "embeddings"],
        typer.Option(
            help="How to discover: nmf (TF-IDF topics) or embeddings (sentence embeddings, "
            "needs pip install 'cxray[text]')."
        ),
    ] = "nmf",
    json_: JsonOpt = False,
) -> None:
    """Themes of the texts: volume, share, sentiment, trend and NPS/CSAT impact, with quotes."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _open(ctx, read_only=True, create=False) as ws, progress_bar(fmt == "table") as pb:
        report = text.theme_report(
            ws.store,
            ws.config,
            source=source,
            table=table,
            n_themes=n_themes,
            seed=seed,
            method=method,
            progress=pb,
        )
    if fmt != "table":
        data = report.to_dict()
        emit(fmt, data, records=data["themes"])
        return
    t = Table(
        title=f"{report.table}: themes ({report.source}), {fmt_int(report.n_texts)} texts, "
        f"{fmt_int(report.unthemed)} without a theme",
        title_justify="left",
    )
    for name in ("theme", "texts", "share %", "sentiment", "last month", "NPS impact"):
        t.add_column(name, justify="left" if name == "theme" else "right", no_wrap=name != "theme")
    t.add_column("quote", no_wrap=True, overflow="ellipsis", max_width=50)
    for th in report.themes:
        change = "-"
        if th.change is not None and not th.change.suppressed:
            star = (
                "*" if th.change_q is not None and th.change_q <= ws.config.measurement.fdr else ""
            )
            change = f"{th.change.estimate * 100:+.1f} pts{star}"
        t.add_row(
            f"{th.label} [dim]{th.id}[/dim]",
            fmt_int(th.volume),
            _est(th.share, scale=100.0),
            _est(th.sentiment, "{:+.2f}"),
            change,
            _est(th.impact_nps, "{:+.1f}"),
            (th.quotes[0][:70] if th.quotes else ""),
        )
    console.print(t)
    console.print(
        "[dim]share and sentiment: 95% intervals; last month: change of share (* significant "
        "after Benjamini-Hochberg); NPS impact: points gained without the theme's negative "
        "detractor comments[/dim]"
    )
    for tid, missed in report.unmatched_examples.items():
        err_console.print(f"theme {tid}: its keywords miss example(s): {'; '.join(missed)}")


@text_app.command("trends")
def trends(
    ctx: typer.Context,
    period: Annotated[Literal["week", "month"], typer.Option(help="week or month.")] = "week",
    baseline: Annotated[
        int, typer.Option(min=1, help="Trailing periods an emerging issue is compared with.")
    ] = 8,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Support cases by category over time, and emerging issues (spikes) with example cases.

    With --format csv: one line per category."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _open(ctx, read_only=True, create=False) as ws, progress_bar(fmt == "table") as pb:
        report = text.case_trends(
            ws.store, ws.config, period=period, baseline=baseline, progress=pb
        )
    if fmt != "table":
        data = report.to_dict()
        emit(fmt, data, records=data["categories"])
        return
    t = Table(
        title=f"cases by category ({report.source}), {fmt_int(report.n_cases)} cases",
        title_justify="left",
    )
    last = report.periods[-4:]
    for name in ("category", "cases", "share %", *last):
        t.add_column(name, justify="left" if name == "category" else "right")
    for c in report.categories:
        share = c["share"]
        pct = "-" if share["estimate"] is None else f"{share['estimate'] * 100:.1f}"
        t.add_row(c["category"], fmt_int(c["cases"]), pct, *map(str, c["per_period"][-4:]))
    console.print(t)
    if not report.emerging:
        console.print(f"no emerging issues ({fmt_int(report.tests)} {period}-category tests)")
        return
    e = Table(
        title=f"emerging issues ({fmt_int(report.tests)} tests, Benjamini-Hochberg)",
        title_justify="left",
    )
    for name in ("period", "category", "cases", "share %", "baseline %", "q"):
        e.add_column(name, justify="left" if name in ("period", "category") else "right")
    e.add_column("example", no_wrap=True, overflow="ellipsis", max_width=60)
    for x in report.emerging:
        e.add_row(
            x.period,
            x.category,
            fmt_int(x.cases),
            f"{x.share * 100:.1f}",
            f"{x.baseline_share * 100:.1f}",
            f"{x.q_value:.3g}",
            x.examples[0]["text"][:70] if x.examples else "",
        )
    console.print(e)
