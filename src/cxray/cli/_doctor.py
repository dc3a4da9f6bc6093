"""``cxray doctor``: which KPIs and analyses the data supports, and why not where it does not."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_int,
    output_format,
)


def _records(data: dict) -> list[dict]:
    """One line per KPI and analysis, for --format csv (its needs joined with "; ")."""
    return [
        {**item, "needs": "; ".join(item["needs"])} for item in (*data["kpis"], *data["analyses"])
    ]


@app.command()
def doctor(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """What the data supports: every KPI and analysis, and for the others what to import.

    With --format csv: one line per KPI and analysis (kind, name, supported, why not)."""
    fmt = output_format(format_, json_)
    obj = ctx.obj or {}
    from cxray.workspace import Workspace  # imported when run: `cxray --help` stays fast

    with Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False) as ws:
        cov = ws.doctor()
    if fmt != "table":
        data = cov.to_dict()
        emit(fmt, data, records=_records(data))
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
