"""``cxray benchmarks``: the industry benchmark sets, and one set's figures with sources."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import FormatOpt, OutputFormat, console, emit


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:,.1f}".removesuffix(".0")


@app.command()
def benchmarks(
    ctx: typer.Context,
    industry: Annotated[
        str | None,
        typer.Option(
            "--industry", help="Show this set's figures, targets and sources, e.g. retail."
        ),
    ] = None,
    format_: FormatOpt = OutputFormat.table,
) -> None:
    """The industry benchmark sets ([program] industry picks one; docs/benchmarks.md)."""
    from pathlib import Path

    from cxray.config import Settings, load_program_config
    from cxray.exceptions import ConfigError

    cfg = Path((ctx.obj or {}).get("config") or Settings().config)
    config = load_program_config(cfg)
    sets = config.benchmark_sets
    chosen = config.program.industry
    if industry is not None and industry not in sets:
        raise ConfigError(f"no benchmark set {industry!r}; known: {', '.join(sorted(sets))}")
    if format_ != "table":
        names = [industry] if industry is not None else list(sets)
        records = [
            {"set": name, "chosen": name == chosen, "kpi": kpi, "benchmark": fig.value,
             "target": fig.target, "action": fig.action, "scale": fig.scale,
             "note": fig.note, "source": fig.source}
            for name in names
            for kpi, fig in sets[name].kpis.items()
        ]  # fmt: skip
        data = [
            {"set": name, "title": sets[name].title, "chosen": name == chosen,
             "kpis": [{k: v for k, v in r.items() if k not in ("set", "chosen")}
                      for r in records if r["set"] == name]}
            for name in names
        ]  # fmt: skip
        emit(format_, data[0] if industry is not None else data, records=records)
        return
    if industry is None:
        t = Table(title=escape("benchmark sets (* = [program] industry)"), title_justify="left")
        t.add_column("set", no_wrap=True)
        t.add_column("title")
        t.add_column("KPIs")
        for name, bench in sets.items():
            mark = " *" if name == chosen else ""
            t.add_row(escape(name + mark), escape(bench.title or ""), ", ".join(bench.kpis))
        console.print(t)
        console.print("cxray benchmarks --industry NAME: its figures and sources")
        return
    bench = sets[industry]
    title = f"{bench.title or industry} ({industry})"
    if industry == chosen:
        title += ", the [program] industry"
    t = Table(title=escape(title), title_justify="left")
    t.add_column("KPI", no_wrap=True)
    for col in ("benchmark", "target", "action"):
        t.add_column(col, justify="right")
    t.add_column("src", justify="right")
    sources: list[str] = []
    for kpi, fig in bench.kpis.items():
        if fig.source not in sources:
            sources.append(fig.source)
        t.add_row(
            kpi,
            _num(fig.value),
            _num(fig.target),
            _num(fig.action),
            f"[{sources.index(fig.source) + 1}]",
        )
    if bench.description:
        console.print(escape(bench.description))
    console.print(t)
    for i, source in enumerate(sources, 1):
        console.print(escape(f"[{i}] {source}"), highlight=False)
    for kpi, fig in bench.kpis.items():
        if fig.scale or fig.note:
            detail = "; ".join(x for x in (fig.scale, fig.note) if x)
            console.print(f"[dim]{kpi}: {escape(detail)}[/dim]", highlight=False)
    console.print(
        escape(
            "A KPI without target or action here keeps cxray's default; [targets] in "
            "cxray.toml wins over both. Scales and definitions must match for a gap to mean "
            "anything."
        )
    )
