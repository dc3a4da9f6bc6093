"""``cxray clv roi``, ``cxray clv at-risk``, ``cxray clv what-if``, ``cxray clv by-nps-group``:
the money of CX (``ws.value.money``) as a table a person reads or the JSON a script reads."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cxray.cli._clv import clv_app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_int,
    output_format,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace


def money_text(value: float | None) -> str:
    from cxray.value._money import money_text

    return money_text(value)


def _emit(format_: Any, json_: bool, res: Any, records: str | None) -> bool:
    """Print ``res`` as JSON or CSV (``records``: the list in its dict, else one row);
    False: draw the table."""
    fmt = output_format(format_, json_)
    if fmt == "table":
        return False
    data = res.to_dict()
    emit(fmt, data, records=data[records] if records else [data])
    return True


HorizonOpt = Annotated[
    float | None,
    typer.Option("--horizon-days", help="Churn horizon in days (default [features])."),
]
ShareOpt = Annotated[float, typer.Option("--share", help="Share moved: 0.10 is 10%.")]
SourceOpt = Annotated[str, typer.Option("--source", help="The NPS group they leave.")]
TargetOpt = Annotated[str, typer.Option("--target", help="The NPS group they join.")]


def _open(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=True, create=False)


def _ci(lo: float | None, hi: float | None) -> str:
    return f"[{money_text(lo)}, {money_text(hi)}]"


def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %"


@clv_app.command("by-nps-group")
def by_nps_group(
    ctx: typer.Context,
    horizon_days: HorizonOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Churn rate, mean CLV and churn cost by NPS group, with 95% intervals."""
    with _open(ctx) as ws:
        res = ws.value.money.by_nps_group(horizon_days=horizon_days)
    if _emit(format_, json_, res, "groups"):
        return
    t = Table(title=f"the money of CX by NPS group (churn in {res.horizon_days:g} days after "
              f"{res.as_of[:10]}, 95% intervals)", title_justify="left")  # fmt: skip
    for col in ("group", "customers", "churn rate", "mean CLV", "churn cost"):
        t.add_column(col, justify="left" if col == "group" else "right")
    for g in res.groups:
        r, v, c = g.churn_rate, g.clv, g.churn_cost
        rate = f"{_pct(r.estimate)} [{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]"
        clv = f"{money_text(v.estimate)} {_ci(v.ci_low, v.ci_high)}"
        cost = f"{money_text(c.estimate)} {_ci(c.ci_low, c.ci_high)}"
        t.add_row(g.group, fmt_int(g.n), rate, clv, cost)
    console.print(t)
    console.print(f"churn cost in all: {money_text(res.estimate)} {_ci(res.ci_low, res.ci_high)}")
    console.print(f"[dim]value: {res.clv_source}[/dim]")


@clv_app.command("at-risk")
def at_risk(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="nps_group (default) or a customer attribute.")
    ] = "nps_group",
    horizon_days: HorizonOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Revenue at risk (CLV x churn probability) by NPS group or a customer attribute."""
    with _open(ctx) as ws:
        res = ws.value.money.at_risk(by, horizon_days=horizon_days)
    if _emit(format_, json_, res, "groups"):
        return
    t = Table(title=f"revenue at risk in the next {res.horizon_days:g} days by {res.by} "
              "(95% intervals)", title_justify="left")  # fmt: skip
    for col in (res.by, "customers", "CLV", "P(churn)", "at risk"):
        t.add_column(col, justify="left" if col == res.by else "right")
    for r in res.groups.to_dict("records"):
        risk = f"{money_text(r['revenue_at_risk'])} {_ci(r['ci_low'], r['ci_high'])}"
        t.add_row(str(r["group"]), fmt_int(r["n"]), money_text(r["clv_total"]),
                  _pct(r["probability"]), risk)  # fmt: skip
    console.print(t)
    console.print(f"in all: {money_text(res.estimate)} {_ci(res.ci_low, res.ci_high)}")
    for note in res.notes:
        console.print(f"[yellow]{note}[/yellow]")
    console.print(f"[dim]{res.method}[/dim]")


@clv_app.command("what-if")
def what_if(
    ctx: typer.Context,
    share: ShareOpt = 0.10,
    source: SourceOpt = "detractor",
    target: TargetOpt = "passive",
    horizon_days: HorizonOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """What moving a share of one NPS group to another is worth, with its 95% interval."""
    with _open(ctx) as ws:
        res = ws.value.money.what_if(share, source, target, horizon_days=horizon_days)
    if _emit(format_, json_, res, None):
        return
    console.print(res.sentence)
    for a in res.assumptions:
        console.print(f"[dim]- {a}[/dim]")


@clv_app.command("roi")
def roi(
    ctx: typer.Context,
    share: ShareOpt = 0.10,
    source: SourceOpt = "detractor",
    target: TargetOpt = "passive",
    horizon_days: HorizonOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The CX ROI summary: revenue at risk, churn cost by NPS group and the what-if."""
    with _open(ctx) as ws:
        res = ws.value.money.roi(share, source, target, horizon_days=horizon_days)
    if _emit(format_, json_, res, None):
        return
    console.print("[bold]The money of CX[/bold]")
    for s in res.sentences:
        console.print(f"• {s}")
    console.print("[bold]Assumptions[/bold]")
    for a in res.assumptions:
        console.print(f"[dim]- {a}[/dim]")
