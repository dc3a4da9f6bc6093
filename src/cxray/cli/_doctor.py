"""``cxray doctor``: which KPIs and analyses the data supports, and why not where it does not."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import console, fmt_int, print_json


@app.command()
def doctor(
    ctx: typer.Context,
    format_: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table or json.")
    ] = "table",
) -> None:
    """What the data supports: every KPI and analysis, and for the others what to import."""
    obj = ctx.obj or {}
    from cxray.workspace import Workspace  # imported when run: `cxray --help` stays fast

    with Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False) as ws:
        cov = ws.doctor()
    if format_ == "json":
        print_json(cov.to_dict())
        return
    present = {t: n for t, n in cov.tables.items() if n}
    if present:
        have = ", ".join(f"{t} {fmt_int(n)}" for t, n in present.items())
        console.print(f"rows: {have}")
    else:
        console.print("the store is empty: import data, or run `cxray demo`")
    for kind, title in (("kpi", "KPIs"), ("analysis", "analyses")):
        items = [s for s in cov if s.kind == kind]
        ok = sum(s.supported for s in items)
        t = Table(title=f"{title}: {ok} of {len(items)} supported", title_justify="left")
        t.add_column("name")
        t.add_column("supported", justify="center")
        t.add_column("why not, and what to import")
        for s in items:
            mark = "[green]yes[/green]" if s.supported else "[red]no[/red]"
            t.add_row(s.title, mark, "" if s.supported else f"[dim]{escape(s.reason or '')}[/dim]")
        console.print(t)
