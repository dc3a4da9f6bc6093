"""``cxray scorecard``: every KPI with its interval, status and change, as a table or data."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Annotated, Literal

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import console
from cxray.workspace import Workspace

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
) -> None:
    """Every KPI with its 95% interval, n, status against target, and change by period."""
    obj = ctx.obj or {}
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
    else:
        _print_table(card)


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
    for s in card.scores:
        d = s.to_dict()
        unit = {"%": " %", "hours": " h", "points": ""}.get(d["unit"] or "", "")
        if d["suppressed"]:
            est, ci = "—", f"[dim]{d['reason']}[/dim]"
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
        t.add_row(*row)
    console.print(t)
    if not card.scores:
        console.print("no data to measure: import data or run `cxray demo`")
