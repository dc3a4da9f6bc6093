"""``cxray text``: sentiment for files and for the store. Each command parses, calls, prints."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich import box
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
    "default (out of the box: general-v2), lexicon (the VADER reference), domain (learned by "
    "`cxray text train`), embeddings (embed-v1: sentence embeddings, needs cxray[text]; slower) "
    "or the PATH of a model file; when not given: the store's domain model if there is one, "
    "else default."
)


def _open(ctx: typer.Context, *, read_only: bool = False, create: bool = True) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=create)


def _read(ctx: typer.Context) -> Workspace:
    """The store as it is, for a command that only reads: opened read-only, and an error
    (not a new empty store) where there is none."""
    return _open(ctx, read_only=True, create=False)


def _no_store_here(ctx: typer.Context) -> bool:
    """Whether the store is plainly absent: a DuckDB file path with no file there.

    Checked without importing the workspace (seconds of start-up that scoring a file with
    the shipped model does not need). A URL, or a process that already has the workspace
    loaded (``cxray serve`` running a command for another folder), opens the store as usual.
    """
    if "cxray.workspace" in sys.modules:
        return False
    from cxray.config import Settings

    db = str((ctx.obj or {}).get("db") or Settings().db)
    return "://" not in db and db != ":memory:" and not Path(db).exists()


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
    if model in (None, "auto", "domain") and not (model != "domain" and _no_store_here(ctx)):
        try:
            ws = _read(ctx)
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
    for gap in text.unscored_languages(scored, scorer):
        err_console.print(f"[yellow]not scored[/yellow] ({model_id} is not for it): {gap.message}")
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
        float,
        typer.Option(
            min=0.05, max=0.5, help="Share of labelled texts held out to compare the models."
        ),
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split and of the model.")] = 42,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Activate the new model even if it does not beat the active one."
        ),
    ] = False,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Learn a domain sentiment model from the store (comments with NPS/CSAT, rated mentions).

    The new model is compared with the active scorer on held-out texts and becomes the
    active one only if it is better with its 95% interval (or with --force)."""
    from cxray import text

    with _open(ctx) as ws:
        report = text.train_store_model(
            ws.store, ws.config, test_size=test_size, random_state=seed, force=force
        )
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, report.to_dict(), records=lambda: [report.to_dict()])
        return
    ev = report.evaluation
    sources = ", ".join(f"{fmt_int(n)} {name}" for name, n in report.sources.items() if n)
    console.print(f"learned from {fmt_int(ev.n_train + ev.n_test)} labelled texts ({sources})")
    t = Table(title_justify="left")
    t.add_column(f"held-out macro-F1 ({fmt_int(ev.n_test)} texts, seed {ev.random_state})")
    t.add_column("value [95% interval]", justify="right")

    def ci(e: Any, sign: str = "") -> str:
        return f"{e.estimate:{sign}.3f} [dim][{e.ci_low:{sign}.3f}, {e.ci_high:{sign}.3f}][/dim]"

    t.add_row(f"active: {ev.baseline}", ci(ev.baseline_f1))
    t.add_row("new domain model", ci(ev.domain_f1))
    colour = "green" if ev.beats_baseline else "red"
    t.add_row("difference", f"[{colour}]{ci(ev.difference, '+')}[/{colour}]")
    console.print(t)
    if ev.note:
        console.print(f"[dim]{ev.note}[/dim]")
    if report.activated:
        console.print(
            f"{report.reason}\n[bold]{report.model_id}[/bold] is now the active model "
            f"(learned from every labelled text; languages: {', '.join(report.languages)}); "
            "`cxray text score`, `cxray text enrich` and imports use it"
        )
    else:
        console.print(
            f"[yellow]{report.reason}[/yellow]\n{report.previous} stays active; "
            "`cxray text train --force` activates the new one anyway"
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
        gaps = text.store_language_gaps(ws.store, ws.config)
        themes = text.assign_store_themes(ws.store, ws.config, progress=progress)
        # what the Text page shows first, computed now and kept in the store
        text.REPORTS.precompute(ws.store, ws.config)
        text.REPORTS.save(ws.store)
    if fmt != "table":
        data = {
            **report.to_dict(),
            "themes": themes,
            "store_language_gaps": [g.to_dict() for g in gaps],
        }
        emit(fmt, data, records=data["fields"])
        return
    _print_enrich(report)
    matched = sum(t["matched"] for t in themes.values())
    if matched:
        console.print(f"taxonomy themes matched for {fmt_int(matched)} texts")
    for gap in gaps:
        err_console.print(f"[yellow]not scored[/yellow]: {gap.message}")


def _print_enrich(report: Any) -> None:
    t = Table(title=f"sentiment by {report.model}", title_justify="left")
    for name in ("field", "texts", "scored now", "removed"):
        t.add_column(name, justify="left" if name == "field" else "right")
    for f in report.fields:
        t.add_row(f"{f.table}.{f.field}", fmt_int(f.texts), fmt_int(f.scored), fmt_int(f.removed))
    console.print(t)
    if report.scored == 0:
        console.print("everything was up to date")


#: a theme's or a category's name in an 80-column table (the whole one in --format json)
LABEL_WIDTH = 20


def _est(e: Any, fmt: str = "{:.1f}", scale: float = 1.0) -> str:
    """An estimate and its 95% interval, compactly: ``24.8 ±0.9`` (± the interval's wider
    side, so the whole interval lies within it)."""
    if e is None:
        return "-"
    if e.suppressed or e.estimate is None:
        return "[dim]n/a[/dim]"
    est = e.estimate * scale
    half = max(est - e.ci_low * scale, e.ci_high * scale - est, 0.0)
    return f"{fmt.format(est)} [dim]±{fmt.format(half).lstrip('+')}[/dim]"


def _fit(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: max(width - 1, 0)].rstrip() + "…"


def _lines(label: str, texts: list[tuple[str, str]], width: int) -> None:
    """``label``, then one line per (name, text), each cut to the console's width."""
    if not texts:
        return
    console.print(f"[bold]{label}[/bold]")
    for name, body in texts:
        console.print("  " + _fit(f"{name}: {body}", width - 2), markup=False, no_wrap=True)


def _warn(messages: Iterable[str]) -> None:
    """On stderr: each message as a warning, wrapped to the terminal, printed as written."""
    for m in messages:
        err_console.print(
            textwrap.fill(f"warning: {m}", width=max(err_console.width, 40)), markup=False
        )


def _warn_languages(gaps: list[dict[str, Any]]) -> None:
    """On stderr: each language of these texts that sentiment cannot score, with what to do."""
    _warn(g["message"] for g in gaps)


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
        Literal["auto", "nmf", "embeddings"],
        typer.Option(
            help="How to discover: nmf (TF-IDF topics), embeddings (sentence embeddings, "
            "needs pip install 'cxray[text]'), or auto: embeddings when installed and the "
            "texts are mostly English, else nmf."
        ),
    ] = "auto",
    json_: JsonOpt = False,
) -> None:
    """Themes of the texts: volume, share, sentiment, trend and NPS/CSAT impact, with quotes."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _read(ctx) as ws, progress_bar(fmt == "table") as pb:
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
        gaps = text.REPORTS.languages(ws.store, table)["gaps"]
        fdr = ws.config.measurement.fdr
    if fmt != "table":
        data = report.to_dict()
        emit(fmt, data, records=data["themes"])
        _warn_languages(gaps)
        return
    width = console.width
    t = Table(
        title=f"{report.table}: themes ({report.source}"
        f"{', ' + report.method if report.method else ''}), {fmt_int(report.n_texts)} texts, "
        f"{fmt_int(report.unthemed)} without a theme",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    t.add_column("theme", no_wrap=True)  # cut by _fit
    for name in ("texts", "share %", "sentiment", "last mo.", "NPS impact"):
        t.add_column(name, justify="right", no_wrap=True)
    wide = width >= 120  # room for a quote beside each theme
    if wide:
        t.add_column("quote", no_wrap=True, overflow="ellipsis", max_width=width - 90)
    quotes = []
    for th in report.themes:
        change = "-"
        if th.change is not None and not th.change.suppressed:
            star = "*" if th.change_q is not None and th.change_q <= fdr else ""
            change = f"{th.change.estimate * 100:+.1f}{star}"
        cells = [
            _fit(th.label, LABEL_WIDTH),
            fmt_int(th.volume),
            _est(th.share, scale=100.0),
            _est(th.sentiment, "{:+.2f}"),
            change,
            _est(th.impact_nps, "{:+.1f}"),
        ]
        if wide:
            cells.append(_fit(th.quotes[0], width) if th.quotes else "")
        elif th.quotes:
            quotes.append((_fit(th.label, LABEL_WIDTH), th.quotes[0]))
        t.add_row(*cells)
    console.print(t)
    _lines("quotes", quotes, width)
    console.print(
        "[dim]± 95% intervals; last mo.: change of share in points over the last month "
        "(* significant after Benjamini-Hochberg); NPS impact: points gained without the "
        "theme's negative detractor comments; --format json for ids and every quote[/dim]"
    )
    for tid, missed in report.unmatched_examples.items():
        err_console.print(
            f"theme {tid}: its keywords miss example(s): {'; '.join(missed)}", soft_wrap=False
        )
    _warn_languages(gaps)


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
    with _read(ctx) as ws, progress_bar(fmt == "table") as pb:
        report = text.case_trends(
            ws.store, ws.config, period=period, baseline=baseline, progress=pb
        )
        gaps = text.REPORTS.languages(ws.store, "cases")["gaps"]
    if fmt != "table":
        data = report.to_dict()
        emit(fmt, data, records=data["categories"])
        _warn_languages(gaps)
        return
    width = console.width
    t = Table(
        title=f"cases by category ({report.source}), {fmt_int(report.n_cases)} cases",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    last = report.periods[-4:]
    # a week's start without its year (the year is in the title's periods): 80 columns
    short = [p[5:] if period == "week" and len(p) == 10 else p for p in last]
    if last:
        t.caption = f"the last {len(last)} {period}s: {last[0]} to {last[-1]}"
        t.caption_justify = "left"
    t.add_column("category", no_wrap=True)  # cut by _fit
    for name in ("cases", "share %", *short):
        t.add_column(name, justify="right", no_wrap=True)
    for c in report.categories:
        share = c["share"]
        pct = "-" if share["estimate"] is None else f"{share['estimate'] * 100:.1f}"
        t.add_row(
            _fit(c["category"], LABEL_WIDTH),
            fmt_int(c["cases"]),
            pct,
            *map(str, c["per_period"][-4:]),
        )
    console.print(t)
    if not report.emerging:
        console.print(f"no emerging issues ({fmt_int(report.tests)} {period}-category tests)")
        return
    e = Table(
        title=f"emerging issues ({fmt_int(report.tests)} tests, Benjamini-Hochberg)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    e.add_column(period, no_wrap=True)
    e.add_column("category", no_wrap=True)  # cut by _fit
    for name in ("cases", "share %", "base %", "q"):
        e.add_column(name, justify="right", no_wrap=True)
    examples = []
    for x in report.emerging:
        e.add_row(
            x.period,
            _fit(x.category, LABEL_WIDTH),
            fmt_int(x.cases),
            f"{x.share * 100:.1f}",
            f"{x.baseline_share * 100:.1f}",
            f"{x.q_value:.2g}",
        )
        if x.examples:
            ex = x.examples[0]
            examples.append((f"{x.period} {x.category}", f"{ex['case_id']}: {ex['text']}"))
    console.print(e)
    _lines("examples", examples, width)


@text_app.command("languages")
def languages(
    ctx: typer.Context,
    table: Annotated[
        Literal["responses", "cases", "mentions"] | None,
        typer.Option(help="Whose texts (default: every table's)."),
    ] = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The languages of the scored texts: how many, how many have a sentiment score, and
    whether sentiment supports each (a language without a model needs `cxray text train`)."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _read(ctx) as ws:
        data = text.REPORTS.languages(ws.store, table)
    if fmt != "table":
        emit(fmt, data, records=data["languages"])
        return
    t = Table(
        title=f"languages of {table or 'all'} texts ({fmt_int(data['n_texts'])})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    t.add_column("language", no_wrap=True)  # cut by _fit
    t.add_column("code")
    for name in ("texts", "share %", "scored"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("sentiment")
    for lang in data["languages"]:
        t.add_row(
            lang["name"],
            lang["code"],
            fmt_int(lang["n"]),
            f"{lang['share'] * 100:.1f}",
            fmt_int(lang["scored"]),
            "supported" if lang["supported"] else "[yellow]needs a model[/yellow]",
        )
    console.print(t)
    if not data["languages"]:
        console.print("no texts with a detected language: `cxray text enrich` detects them")
    _warn_languages(data["gaps"])
