"""``cxray scorecard``: every KPI with its interval, status and change, as a table or data."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._gap import (
    benchmark_caption,
    benchmark_cell,
    benchmark_column,
)
from cxray.cli._output import console, fmt_int

_COLOURS = {"on_target": "green", "watch": "yellow", "action": "red"}


@app.command()
def scorecard(
    ctx: typer.Context,
    by: Annotated[
        list[str],
        typer.Option("--by", help="Slice by an attribute (repeatable), e.g. --by region."),
    ] = [],  # noqa: B006  (Typer reads the default)
    period: Annotated[
        str | None, typer.Option(help="Cut by period: day, week, month or quarter.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First date (YYYY-MM-DD), inclusive.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date (YYYY-MM-DD), inclusive.")] = (
        None
    ),
    format_: Annotated[
        Literal["table", "json", "csv", "html"],
        typer.Option("--format", help="table, json, csv or html."),
    ] = "table",
    metric: Annotated[
        list[str], typer.Option("--metric", help="Only this KPI (repeatable), e.g. nps.")
    ] = [],  # noqa: B006
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=0,
            help="Table: at most this many significant changes listed, and (with --period) "
            "the latest this many periods shown. json and csv always hold every row.",
        ),
    ] = 12,
) -> None:
    """Every KPI with its 95% interval, n, status against target, and change by period."""
    obj = ctx.obj or {}
    from cxray.workspace import Workspace  # imported when run: `cxray --help` stays fast

    with Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False) as ws:
        card = ws.scorecard(by=by, period=period, start=from_, end=to, metrics=metric or None)
    if format_ == "json":
        print(json.dumps(card.records(), indent=2, default=str, ensure_ascii=False))
    elif format_ == "csv":
        frame = card.to_frame()
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
        sys.stdout.write(buffer.getvalue())
    elif format_ == "html":
        print(card._repr_html_())
    elif card.period:
        _print_matrix(card, limit)
    else:
        _print_table(card)


def _unit(unit: str | None) -> str:
    return {"%": " %", "hours": " h", "points": ""}.get(unit or "", "")


def _not_measured(card) -> list[Any]:  # type: ignore[no-untyped-def]
    """Scores of KPIs whose inputs are missing (one each, no slice, no period)."""
    return [s for s in card.scores if s.result.method == "not measured"]


def _print_reasons(card) -> None:  # type: ignore[no-untyped-def]
    missing = _not_measured(card)
    if missing:
        console.print("[bold]not measured[/bold] (inputs missing; `cxray doctor` lists them all)")
        for s in missing:
            console.print(f"  {escape(s.title)}: [dim]{escape(s.result.reason or '')}[/dim]")
    for note in card.notes:
        console.print(escape(note))


def _print_matrix(card, limit: int) -> None:  # type: ignore[no-untyped-def]
    """KPIs (by slice) × the latest ``limit`` periods, then the significant changes."""
    scores = [s for s in card.scores if s.result.method != "not measured"]
    periods = sorted({s.slices["period"] for s in scores if s.slices.get("period")})
    # as many of the latest periods as fit the terminal (and --limit)
    bench = benchmark_column(card)
    fit = max(1, (console.width - 24 - 13 * len(card.by) - 9 - (10 if bench else 0)) // 9)
    shown = periods[-min(fit, limit or fit) :]
    by = list(card.by)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    titles: dict[tuple[Any, ...], str] = {}
    for s in scores:
        key = (s.metric, *(s.slices.get(k) for k in by))
        titles[key] = s.title
        rows.setdefault(key, {})[s.slices.get("period")] = s
    more = len(periods) - len(shown)
    title = f"scorecard by {card.period}: estimate, * significant change (BH)"
    if more:
        title += f"; {more} earlier periods: --format csv"
    t = Table(title=title, title_justify="left", box=None, pad_edge=False)
    t.add_column("metric", no_wrap=True, max_width=22, overflow="ellipsis")
    for k in by:
        t.add_column(k, no_wrap=True, max_width=12, overflow="ellipsis")
    for p in shown:
        t.add_column(str(p), justify="right")
    t.add_column("n (last)", justify="right")
    if bench:  # the benchmark itself: the gap differs by period (--format csv has it)
        t.add_column(escape(bench.removeprefix("vs ")), justify="right", no_wrap=True)
    for key, cells in rows.items():
        values = []
        for p in shown:
            s = cells.get(p)
            if s is None:
                values.append("")
            elif s.result.suppressed:
                values.append("[dim]—[/dim]")
            else:
                star = "*" if s.significant else ""
                colour = _COLOURS.get(s.status or "")
                text = f"{s.result.estimate:,.1f}{star}"
                values.append(f"[{colour}]{text}[/{colour}]" if colour else text)
        last = cells.get(shown[-1]) if shown else None
        n = fmt_int(last.result.n) if last is not None else ""
        slices = ["(missing)" if v is None else escape(str(v)) for v in key[1:]]
        bench_cell = []
        if bench:
            b = next((s.benchmark for s in cells.values() if s.benchmark is not None), None)
            bench_cell = [f"{b.value:,.1f}".removesuffix(".0") if b is not None else ""]
        t.add_row(escape(titles[key]), *slices, *values, n, *bench_cell)
    console.print(t)
    changes = [s for s in scores if s.significant]
    # the latest periods first, the surest changes first within a period
    changes.sort(key=lambda s: (s.slices.get("period") or "", -(s.q_value or 0.0)), reverse=True)
    if changes:
        head = changes[: limit or len(changes)]
        console.print(
            f"[bold]significant changes[/bold], latest first ({len(head)} of {len(changes)}; "
            "--limit N for more, --format csv for every row)"
        )
        for s in head:
            d = s.to_dict()
            where = ", ".join(str(d[k]) for k in by if d.get(k) is not None)
            u = _unit(d["unit"])
            du = " pp" if d["unit"] == "%" else u
            q = "q<0.001" if d["q_value"] < 0.001 else f"q={d['q_value']:.3f}"
            console.print(
                f"  {d['period']} {escape(s.title)}{escape(', ' + where) if where else ''}: "
                f"{d['estimate']:,.1f}{u} ({d['change']:+,.1f}{du} "
                f"[{d['change_ci_low']:+,.1f}, {d['change_ci_high']:+,.1f}], {q})"
            )
    elif scores:
        console.print("no significant change from one period to the next (Benjamini-Hochberg)")
    _print_reasons(card)


def _print_table(card) -> None:  # type: ignore[no-untyped-def]
    title = "scorecard (95% intervals" + (", * significant change)" if card.period else ")")
    t = Table(title=title, title_justify="left")
    for key in card.slice_keys:
        t.add_column(key)
    for col, justify in (
        ("metric", "left"),
        ("estimate", "right"),
        ("interval", "right"),
        ("n", "right"),
        ("status", "left"),
    ):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    if card.period:
        t.add_column("change", justify="right")
    bench = benchmark_column(card)
    if bench:
        t.add_column(escape(bench), justify="right", no_wrap=True)
        t.caption, t.caption_justify = benchmark_caption(bench), "left"
    for s in card.scores:
        if s.result.method == "not measured":
            continue
        d = s.to_dict()
        unit = _unit(d["unit"])
        if d["suppressed"]:
            est, ci = "—", f"[dim]{escape(d['reason'] or '')}[/dim]"
        else:
            est = f"{d['estimate']:,.1f}{unit}"
            ci = f"[{d['ci_low']:,.1f}, {d['ci_high']:,.1f}]"
        status = d["status"] or ""
        colour = _COLOURS.get(status)
        status_text = f"[{colour}]{status}[/{colour}]" if colour else status
        row = [*("" if d.get(k) is None else str(d[k]) for k in card.slice_keys)]
        row += [s.title, est, ci, f"{d['n']:,}", status_text]
        if card.period:
            change = ""
            if d["change"] is not None:
                change = f"{d['change']:+,.1f}" + (" *" if d["significant"] else "")
            row.append(change)
        if bench:
            row.append(benchmark_cell(s))
        t.add_row(*row)
    if len(_not_measured(card)) < len(card.scores):
        console.print(t)
    _print_reasons(card)
