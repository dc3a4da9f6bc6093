"""``cxray drivers``: key drivers of an outcome, or (``--moments``) the moments of truth."""

from __future__ import annotations

import math
from typing import Annotated, Any

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
    emit,
    err_console,
    fmt_int,
    output_format,
)
from cxray.exceptions import AnalysisError

_PRIORITY_COLOURS = {"fix first": "red", "maintain": "green", "monitor": "yellow"}


@app.command()
def drivers(
    ctx: typer.Context,
    outcome: Annotated[
        list[str],
        typer.Option(
            "--outcome",
            help="What to explain: nps (default), csat, ces, promoter, detractor, top_box, "
            "churn or a numeric column. With --moments: csat, nps, ces, churn (repeatable; "
            "the first ranks).",
        ),
    ] = [],  # noqa: B006  (Typer reads the default)
    driver: Annotated[
        list[str],
        typer.Option("--driver", help="A driver (repeatable); default: chosen from the features."),
    ] = [],  # noqa: B006
    by: Annotated[
        str | None, typer.Option("--by", help="One analysis per value of this attribute.")
    ] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    window_days: Annotated[
        float | None,
        typer.Option(
            "--window-days",
            help="Days before each response (or the as-of date) the features look back.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Churn: customers active at this date (default: the "
            "latest date whose churn horizon the data covers).",
        ),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the intervals (0: none).")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    moments: Annotated[
        bool,
        typer.Option(
            "--moments", help="Moments of truth: which touchpoint experiences cost the most."
        ),
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the features a driver may be, and stop.")
    ] = False,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Why: the key drivers of NPS, CSAT, CES or churn, with 95% intervals and priorities
    (of the responses from --from to --to)."""
    from cxray.workspace import Workspace

    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    obj = ctx.obj or {}
    with Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False) as ws:
        if list_:
            unit = "customers" if outcome[:1] == ["churn"] else "responses"
            rows = [f.to_dict() for f in ws.drivers.features(unit)]
            _emit(rows, format_, lambda: _print_features(rows, unit))
            return
        if moments:
            if driver or by:
                raise AnalysisError(
                    "--moments compares touchpoints; --driver and --by do not apply"
                )
            report = ws.drivers.moments(
                outcome or ("csat", "nps", "ces", "churn"),
                start=from_,
                end=to,
                window_days=window_days,
                as_of=as_of,
            )
            _emit(report.records(), format_, lambda: _print_moments(report))
            return
        if len(outcome) > 1:
            raise AnalysisError("name one --outcome for key drivers (several with --moments)")
        result = ws.drivers(
            outcome[0] if outcome else "nps",
            driver,
            by=by,
            start=from_,
            end=to,
            window_days=window_days,
            as_of=as_of,
            bootstrap=bootstrap,
            seed=seed,
        )
    _emit(result.records(), format_, lambda: _print_drivers(result))
    if format_ != "table":
        for a in result.analyses:
            for note in a.warnings:
                err_console.print(f"[yellow]note:[/yellow] {note}", markup=True)
        for s in result.left_out:
            err_console.print(f"[yellow]left out:[/yellow] {s['reason']}", markup=True)


def _emit(records: list[dict[str, Any]], format_: str, table: Any) -> None:
    emit(format_, records, table)


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _g(value: float) -> str:
    """A number in about three significant figures, never in exponent form."""
    if value == 0 or not abs(value) < 1e15:
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def _ci(value: float, lo: float, hi: float, *, sign: bool = True) -> str:
    f = (lambda x: ("+" if x > 0 else "") + _g(x)) if sign else _g
    return f"{f(value)} [{f(lo)}, {f(hi)}]"


def _q(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _print_drivers(report: Any) -> None:
    for a in report.analyses:
        where = "".join(f"{k}={v} · " for k, v in a.slice.items())
        r2 = a.r2
        ci = "" if a.bootstrap == 0 else f" [{r2.ci_low:.3f}, {r2.ci_high:.3f}]"
        lmg = any(d.lmg_share is not None for d in a.drivers)
        t = Table(
            title=f"{where}key drivers of {a.outcome_title} · R² {r2.estimate:.3f}{ci} · "
            f"n={fmt_int(a.n)} {a.unit}",
            title_justify="left",
        )
        t.add_column("driver", overflow="fold", min_width=14)
        t.add_column("share of R² % [95% CI]", justify="right")
        if lmg:
            t.add_column("LMG %", justify="right", no_wrap=True)
        t.add_column("effect [95% CI]", justify="right")
        t.add_column("perf.", justify="right", no_wrap=True)
        t.add_column("priority", no_wrap=True)
        for d in a.drivers:
            colour = _PRIORITY_COLOURS.get(d.priority)
            share = _ci(d.share, d.ci_low, d.ci_high, sign=False) if a.bootstrap else _g(d.share)
            row = [d.title, share]
            if lmg:
                row.append(_num(d.lmg_share))
            effect = (
                _ci(d.effect, d.effect_ci_low, d.effect_ci_high, sign=a.model != "logistic")
                if a.bootstrap
                else _g(d.effect)
            )
            row += [
                effect,
                _num(d.performance, 0),
                f"[{colour}]{d.priority}[/{colour}]" if colour else d.priority,
            ]
            t.add_row(*row)
        console.print(t)
        what = "odds ratio" if a.model == "logistic" else f"{a.outcome_title} points"
        console.print(
            f"[dim]{a.basis}. effect: {what} per unit of the driver, the others held "
            f"fixed. perf.: 0-100, how well you do on it. {a.method}.[/dim]"
        )
        for s in a.skipped:
            console.print(f"[dim]skipped {s['driver']}: {s['reason']}[/dim]")
        for note in a.warnings:
            console.print(f"[yellow]note:[/yellow] {note}")
    for s in report.left_out:
        console.print(f"[yellow]left out:[/yellow] {s['reason']}")


_OUTCOME_UNITS = {
    "nps": "NPS",
    "csat": "CSAT top box %",
    "ces": "CES mean",
    "churn": "churn %",
}


def _print_moments(report: Any) -> None:
    t = Table(
        title=f"moments of truth, most costly first on {report.rank_by}",
        title_justify="left",
    )
    t.add_column("moment", overflow="fold", min_width=12)
    t.add_column("outcome")
    t.add_column("with vs without", justify="right")
    t.add_column("effect [95% CI]", justify="right")
    t.add_column("q", justify="right", no_wrap=True)
    t.add_column("n with/without", justify="right")
    t.add_column("costs overall", justify="right")
    last = None
    for m in report.moments:
        first = m.moment != last
        last = m.moment
        if m.suppressed:
            effect, q, cost = f"[dim]{m.reason}[/dim]", "", ""
        else:
            effect = _ci(m.effect, m.ci_low, m.ci_high)
            q = _q(m.q_value) + (" *" if m.significant else "")
            cost = ("+" if m.impact > 0 else "") + _g(m.impact)
        t.add_row(
            m.title if first else "",
            _OUTCOME_UNITS.get(m.outcome, m.outcome),
            f"{_num(m.exposed_value)} vs {_num(m.comparison_value)}",
            effect,
            q,
            f"{fmt_int(m.n_exposed)}/{fmt_int(m.n_comparison)}",
            cost,
        )
    console.print(t)
    units = {m.outcome: m.impact_unit for m in report.moments}
    console.print(
        "[dim]with vs without: the touchpoint with the experience against the same touchpoint "
        "without it. effect in NPS points, percentage points (CSAT top box, churn) or CES "
        "points; * significant after Benjamini-Hochberg. costs overall: "
        + "; ".join(f"{o}: {u}" for o, u in units.items())
        + f". {report.method}.[/dim]"
    )
    for note in report.warnings:
        console.print(f"[yellow]note:[/yellow] {note}")


def _print_features(rows: list[dict[str, Any]], unit: str) -> None:
    t = Table(title=f"features of the {unit} a driver may be", title_justify="left")
    for col in ("name", "title", "unit", "better", "description"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["title"], r["unit"], r["better"] or "", r["description"])
    console.print(t)
