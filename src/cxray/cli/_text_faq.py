"""``cxray text faq`` and ``cxray text kb``: recurring questions, and the articles that answer them.

Each command parses, calls :mod:`cxray.text` and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._output import (
    FormatOpt,
    FromOpt,
    JsonOpt,
    OutputFormat,
    ToOpt,
    console,
    emit,
    fmt_int,
    output_format,
    progress_bar,
    window_bounds,
)
from cxray.cli._text import _open, text_app

kb_app = typer.Typer(
    name="kb",
    help="The knowledge base: help-centre articles (title, URL, text) checked against FAQs.",
    no_args_is_help=True,
)
text_app.add_typer(kb_app)

_ARROWS = {"up": "↑", "down": "↓", "flat": "→", "-": " "}


def _records(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat line per candidate, for --format csv."""
    out = []
    for c in data["candidates"]:
        cov = c["coverage"] or {}
        art = cov.get("article") or {}
        change = c["trend"]["change"] or {}
        out.append(
            {
                "id": c["id"],
                "label": c["label"],
                "volume": c["volume"],
                "share": c["share"]["estimate"],
                "share_ci_low": c["share"]["ci_low"],
                "share_ci_high": c["share"]["ci_high"],
                "n": c["share"]["n"],
                "change": change.get("estimate"),
                "q_value": c["trend"]["q_value"],
                "trend": c["trend"]["direction"],
                "covered": cov.get("covered"),
                "similarity": cov.get("similarity"),
                "article_title": art.get("title"),
                "article_url": art.get("url"),
                "gap": c["gap"],
                "example": c["examples"][0]["text"] if c["examples"] else "",
            }
        )
    return out


@text_app.command("faq")
def faq(
    ctx: typer.Context,
    table: Annotated[
        Literal["cases", "mentions", "responses", "all"],
        typer.Option(help="Whose texts: cases, mentions, responses (comments) or all."),
    ] = "all",
    limit: Annotated[int, typer.Option(min=1, max=500, help="Candidates to show.")] = 20,
    period: Annotated[
        Literal["week", "month"], typer.Option(help="Trend per week or month.")
    ] = "month",
    from_: FromOpt = None,
    to: ToOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the grouping.")] = 0,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Questions customers keep asking (FAQ candidates): volume, trend, examples, and
    whether a knowledge-base article covers them; self-service gaps first."""
    from cxray import text

    fmt = output_format(format_, json_)
    start, end = window_bounds(from_, to)
    with _open(ctx, read_only=True, create=False) as ws, progress_bar(False):
        report = text.faq_candidates(
            ws.store,
            ws.config,
            tables=table,
            since=None if start is None else start.isoformat(),
            until=None if end is None else end.isoformat(),
            period=period,
            limit=limit,
            seed=seed,
        )
    data = report.to_dict()
    if fmt != "table":
        emit(fmt, data, records=lambda: _records(data))
        return
    kb = f"{fmt_int(report.kb_articles)} articles" if report.kb_articles else "no articles"
    console.print(
        f"{fmt_int(report.n_questions)} questions in {fmt_int(report.n)} texts "
        f"({', '.join(report.tables)}); {fmt_int(report.n_candidates)} FAQ candidates; "
        f"knowledge base: {kb}"
    )
    if not report.candidates:
        console.print("no recurring questions found")
        return
    t = Table(title_justify="left", expand=False, pad_edge=False)
    t.add_column("FAQ candidate", overflow="fold", ratio=3)
    t.add_column("texts", justify="right", no_wrap=True)
    t.add_column("share %", justify="right", no_wrap=True)
    t.add_column("trend", justify="center", no_wrap=True)
    t.add_column("article", overflow="fold", ratio=2)
    for c in data["candidates"]:
        s = c["share"]
        share = "-" if s["estimate"] is None else f"{s['estimate'] * 100:.1f}"
        cov = c["coverage"]
        if cov is None:
            article = "[dim]no KB[/dim]"
        elif cov["covered"]:
            article = f"{cov['article']['title']} ({cov['similarity']:.2f})"
        else:
            article = f"[red]none[/red] [dim]({cov['similarity']:.2f})[/dim]"
        example = c["examples"][0]["text"] if c["examples"] else ""
        if len(example) > 70:
            example = example[:69] + "…"
        t.add_row(
            f"[bold]{c['label']}[/bold]\n[dim]{example}[/dim]",
            fmt_int(c["volume"]),
            share,
            _ARROWS[c["trend"]["direction"]],
            article,
        )
    console.print(t)
    console.print(
        f"[dim]share: of all questions, 95% Wilson interval; trend: last {period} against the "
        "one before (↑ significant rise after Benjamini-Hochberg); article: the best "
        "match and its similarity[/dim]"
    )


@kb_app.command("import")
def kb_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV, JSON Lines (.jsonl) or JSON list file.")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="FIELD=COLUMN",
            help="Which column holds a field: title=Headline,url=Link,text=Body (repeatable).",
        ),
    ] = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Add or replace articles by URL: all or nothing; the same file again changes nothing."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _open(ctx) as ws:
        got = text.import_kb(ws.store, file, mapping=map_)
    if fmt != "table":
        emit(fmt, got.to_dict(), records=[got.to_dict()])
        return
    console.print(
        f"{got.source}: {fmt_int(got.added)} added, {fmt_int(got.replaced)} replaced, "
        f"{fmt_int(got.unchanged)} unchanged; {fmt_int(got.total)} articles in the knowledge base"
    )


@kb_app.command("list")
def kb_list(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The articles of the knowledge base (title and URL)."""
    from cxray import text

    fmt = output_format(format_, json_)
    with _open(ctx, read_only=True, create=False) as ws:
        articles = [a.to_dict() for a in text.kb_articles(ws.store)]
    if fmt != "table":
        emit(fmt, articles)
        return
    if not articles:
        console.print("no articles; add some with `cxray text kb import FILE`")
        return
    t = Table(title=f"{fmt_int(len(articles))} articles", title_justify="left")
    t.add_column("title", overflow="fold")
    t.add_column("url", overflow="fold")
    for a in articles:
        t.add_row(a["title"], a["url"])
    console.print(t)


@kb_app.command("drop")
def kb_drop(ctx: typer.Context) -> None:
    """Remove every article of the knowledge base."""
    from cxray import text

    with _open(ctx) as ws:
        n = text.drop_kb(ws.store)
    console.print(f"{fmt_int(n)} articles removed")
