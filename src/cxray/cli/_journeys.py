"""``cxray journeys``: funnels, paths, the directly-follows graph and outcomes by path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    FromOpt,
    JsonOpt,
    OutputFormat,
    SinceOpt,
    ToOpt,
    UntilOpt,
    console,
    date_window,
    output_format,
    print_csv,
    print_json,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

journeys_app = typer.Typer(
    name="journeys",
    help="Journey analytics over events: funnels, paths, the directly-follows graph, outcomes.",
    no_args_is_help=True,
)
app.add_typer(journeys_app, name="journeys")

_CASE_HELP = (
    "What one trace is: customer (all of a customer's touchpoints), session (events' "
    "session_id) or any other column of events, e.g. order_id."
)

CaseOpt = Annotated[str, typer.Option("--case", help=_CASE_HELP)]
JourneyOpt = Annotated[
    str | None,
    typer.Option("--journey", help="Only events whose journey column is this, e.g. checkout."),
]
IncludeOpt = Annotated[
    str,
    typer.Option(
        "--include",
        help="Also these tables as touchpoints (comma-separated): cases, orders, responses.",
    ),
]


def _workspace(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False)


def _csv(frame: Any) -> None:
    print_csv(frame)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:,.1f} %"


def _ci(lo: float | None, hi: float | None, scale: float = 100.0, fmt: str = "{:,.1f}") -> str:
    if lo is None or hi is None:
        return ""
    return f"[{fmt.format(scale * lo)}, {fmt.format(scale * hi)}]"


def _hours(h: float | None) -> str:
    if h is None:
        return "—"
    if h < 1:
        return f"{60 * h:,.1f} min"
    return f"{h:,.1f} h" if h < 48 else f"{h / 24:,.1f} d"


def _column(t: Table, name: str, *, text: bool, min_width: int = 12) -> None:
    """A name column folds long names onto more lines (never cuts them)."""
    if text:
        t.add_column(name, justify="left", overflow="fold", min_width=min_width)
    else:
        t.add_column(name, justify="right")


def _notes(notes: list[str]) -> None:
    for note in notes:
        console.print(f"[dim]note: {note}[/dim]")


@journeys_app.command("funnel")
def funnel(
    ctx: typer.Context,
    steps: Annotated[
        str,
        typer.Option(
            "--steps", help="The steps in order, comma-separated: touchpoint names, e.g. A,B,C."
        ),
    ],
    within: Annotated[
        float | None,
        typer.Option("--within", help="Every step within this many hours of the first."),
    ] = None,
    by: Annotated[
        list[str],
        typer.Option("--by", help="Slice by an attribute of events or customers (repeatable)."),
    ] = [],  # noqa: B006  (Typer reads the default)
    case: CaseOpt = "customer",
    from_: FromOpt = None,
    to: ToOpt = None,
    journey: JourneyOpt = None,
    include: IncludeOpt = "",
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Cases through ordered steps: counts, conversion with 95% intervals, time between steps."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    with _workspace(ctx) as ws:
        result = ws.journeys.funnel(
            steps, within_hours=within, by=by, start=from_, end=to, case=case,
            journey=journey, include=include,
        )  # fmt: skip
    if format_ == "json":
        print_json(result.records())
        return
    if format_ == "csv":
        _csv(result.to_frame())
        return
    what = f"funnel by {result.case}" + (f", within {result.within_hours:g} h" if within else "")
    t = Table(
        title=f"{what} (95% intervals; * differs from the other slices, BH)", title_justify="left"
    )
    for key in result.by:
        t.add_column(key)
    for col in ("step", "cases", "conversion", "of first", "median (p90) time"):
        _column(t, col, text=col == "step", min_width=12 if result.by else 17)
    for r in result.rows:
        d = r.to_dict()
        if r.index == 1:
            conv = "entry"
        elif d["conversion"] is None:
            conv = f"[dim]{d['reason'] or '—'}[/dim]"
        else:
            star = " *" if d["significant"] else ""
            conv = f"{_pct(d['conversion'])}{star} {_ci(d['ci_low'], d['ci_high'])}"
        times = ""
        if d["median_hours"] is not None:
            times = f"{_hours(d['median_hours'])} ({_hours(d['p90_hours'])})"
        row = ["" if d.get(k) is None else str(d[k]) for k in result.by]
        row += [r.step, f"{r.cases:,}", conv, _pct(d["conversion_from_first"]),
                times]  # fmt: skip
        t.add_row(*row)
    console.print(t)
    _notes(result.notes)


@journeys_app.command("paths")
def paths(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", help="How many variants to show.")] = 20,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Touchpoints kept per path; longer ones end in …")
    ] = 20,
    collapse: Annotated[
        bool, typer.Option("--collapse", help="Read repeats in a row (a, a, b) as one (a, b).")
    ] = False,
    touchpoints: Annotated[
        bool,
        typer.Option("--touchpoints", help="Show each touchpoint's exits and loops instead."),
    ] = False,
    case: CaseOpt = "customer",
    from_: FromOpt = None,
    to: ToOpt = None,
    journey: JourneyOpt = None,
    include: IncludeOpt = "",
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """The most common paths (variants), and where cases leave and loop."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    with _workspace(ctx) as ws:
        result = ws.journeys.paths(
            start=from_, end=to, case=case, journey=journey, include=include,
            max_steps=max_steps, top=top, collapse=collapse,
        )  # fmt: skip
    if format_ == "json":
        print_json(result.to_dict())
        return
    if format_ == "csv":
        records = result.touchpoint_records() if touchpoints else result.records()
        _csv(records)
        return
    if touchpoints:
        t = Table(title=f"touchpoints of {result.cases:,} cases by {result.case}: where they "
                  "leave and loop (95% intervals)", title_justify="left")  # fmt: skip
        for col in ("touchpoint", "cases", "starts", "leave here", "come back", "self-loops"):
            _column(t, col, text=col == "touchpoint")
        for f in result.touchpoints:
            d = f.to_dict()
            exits = f"{_pct(d['exit_share'])} {_ci(d['exit_ci_low'], d['exit_ci_high'])}"
            repeats = f"{_pct(d['repeat_share'])} {_ci(d['repeat_ci_low'], d['repeat_ci_high'])}"
            t.add_row(f.touchpoint, f"{f.cases:,}", f"{f.starts:,}", exits, repeats,
                      f"{f.self_loops:,}")  # fmt: skip
    else:
        t = Table(title=f"top {len(result.variants)} of {result.distinct_variants:,} paths of "
                  f"{result.cases:,} cases by {result.case}", title_justify="left")  # fmt: skip
        for col in ("cases", "share", "median span", "path"):
            _column(t, col, text=col == "path")
        for v in result.variants:
            d = v.to_dict()
            share = f"{_pct(d['share'])} {_ci(d['share_ci_low'], d['share_ci_high'])}"
            t.add_row(f"{v.cases:,}", share, _hours(v.median_hours), v.path)
    console.print(t)
    _notes(result.notes)


@journeys_app.command("graph")
def graph(
    ctx: typer.Context,
    top: Annotated[
        int | None, typer.Option("--top", help="Only the most frequent edges (default: all).")
    ] = None,
    case: CaseOpt = "customer",
    from_: FromOpt = None,
    to: ToOpt = None,
    journey: JourneyOpt = None,
    include: IncludeOpt = "",
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """The directly-follows graph: which touchpoint follows which, how often and how soon."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    with _workspace(ctx) as ws:
        result = ws.journeys.graph(start=from_, end=to, case=case, journey=journey, include=include)
    edges = result.edges if top is None else result.edges[: max(0, top)]
    if format_ == "json":
        out: dict[str, Any] = result.to_dict()
        out["edges"] = [e.to_dict() for e in edges]
        print_json(out)
        return
    if format_ == "csv":
        print_csv([e.to_dict() for e in edges],
                  columns=["source", "target", "count", "median_hours"])  # fmt: skip
        return
    console.print(
        f"{result.cases:,} cases by {result.case}, {result.events:,} touchpoints, "
        f"{len(result.edges):,} edges, {result.arcs:,} arcs"
    )
    t = Table(title="directly-follows edges (median time: over every arc; no interval)",
              title_justify="left")  # fmt: skip
    for col in ("from", "to", "arcs", "median time"):
        _column(t, col, text=col in ("from", "to"))
    for e in edges:
        t.add_row(e.source, e.target, f"{e.count:,}", _hours(e.median_hours))
    console.print(t)
    ends = Table(title="start and end activities", title_justify="left")
    for col in ("touchpoint", "touchpoints", "starts", "ends"):
        _column(ends, col, text=col == "touchpoint")
    for a in result.activities:
        ends.add_row(a.name, f"{a.events:,}", f"{a.starts:,}", f"{a.ends:,}")
    console.print(ends)
    _notes(result.notes)


@journeys_app.command("outcomes")
def outcomes(
    ctx: typer.Context,
    group: Annotated[
        Literal["variant", "touchpoint"],
        typer.Option("--group", help="variant: by path; touchpoint: by each touchpoint passed."),
    ] = "variant",
    top: Annotated[int, typer.Option("--top", help="How many groups to show.")] = 10,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Touchpoints kept per path; longer ones end in …")
    ] = 20,
    collapse: Annotated[
        bool, typer.Option("--collapse", help="Read repeats in a row (a, a, b) as one (a, b).")
    ] = False,
    case: CaseOpt = "customer",
    from_: FromOpt = None,
    to: ToOpt = None,
    journey: JourneyOpt = None,
    include: IncludeOpt = "",
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """NPS, CSAT and churn by path, each against all other cases (95% intervals, BH)."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    with _workspace(ctx) as ws:
        result = ws.journeys.outcomes(
            group=group, start=from_, end=to, case=case, journey=journey, include=include,
            max_steps=max_steps, top=top, collapse=collapse,
        )  # fmt: skip
    if format_ == "json":
        print_json(result.records())
        return
    if format_ == "csv":
        _csv(result.to_frame())
        return
    t = Table(title=f"outcomes by {group} ({result.case}s; 95% intervals; * differs from the "
              "other cases, BH)", title_justify="left")  # fmt: skip
    for col in ("cases", "NPS", "CSAT top box", "churn", group):
        _column(t, col, text=col == group)

    def cell(d: dict[str, Any], name: str, unit: str) -> str:
        if d[name] is None:
            return f"[dim]{d[f'{name}_reason'] or '—'}[/dim]"
        star = " *" if d[f"{name}_significant"] else ""
        ci = f" [{d[f'{name}_ci_low']:,.1f}, {d[f'{name}_ci_high']:,.1f}]"
        return f"{d[name]:,.1f}{unit}{star}{ci}"

    for r in result.rows:
        d = r.to_dict()
        t.add_row(f"{r.cases:,}", cell(d, "nps", ""), cell(d, "csat", " %"),
                  cell(d, "churn", " %"), r.label)  # fmt: skip
    console.print(t)
    o = result.overall.to_dict()
    console.print(
        f"all {result.overall.cases:,} cases: NPS {cell(o, 'nps', '')}, CSAT "
        f"{cell(o, 'csat', ' %')}, churn {cell(o, 'churn', ' %')}"
    )
    _notes(result.notes)
