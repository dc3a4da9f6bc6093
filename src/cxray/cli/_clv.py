"""``cxray clv``: customer lifetime value (BG/NBD or Pareto/NBD, Gamma-Gamma).

``cxray clv fit`` fits and keeps the models; ``cxray clv`` (or ``cxray clv show``) lists the
CLV per customer, highest first.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    fmt_int,
    output_format,
    print_csv,
    print_json,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

clv_app = typer.Typer(
    name="clv",
    help="Customer lifetime value: fit BG/NBD or Pareto/NBD and Gamma-Gamma, CLV per customer.",
    invoke_without_command=True,
)
app.add_typer(clv_app, name="clv")

HorizonOpt = Annotated[
    float, typer.Option("--horizon-days", help="How far ahead CLV looks, in days.")
]
RateOpt = Annotated[
    float,
    typer.Option("--discount-rate", help="Annual discount rate (0.10 is 10%; 0: none)."),
]
TopOpt = Annotated[
    int | None, typer.Option("--top", help="Only the N customers with the highest CLV.")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Customers' purchases up to this day (default: the last)."),
]


def _workspace(ctx: typer.Context, *, read_only: bool) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=False)


def _g(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _money(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.2f}"


@clv_app.callback()
def clv(
    ctx: typer.Context,
    horizon_days: HorizonOpt = 365,
    discount_rate: RateOpt = 0.10,
    top: TopOpt = None,
    as_of: AsOfOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """CLV per customer over a horizon (highest first); `cxray clv fit` fits the models."""
    if ctx.invoked_subcommand is not None:
        return
    _show(ctx, horizon_days, discount_rate, top, as_of, output_format(format_, json_))


@clv_app.command("show")
def show(
    ctx: typer.Context,
    horizon_days: HorizonOpt = 365,
    discount_rate: RateOpt = 0.10,
    top: TopOpt = None,
    as_of: AsOfOpt = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """CLV per customer: expected purchases, P(alive), expected spend, CLV (highest first)."""
    _show(ctx, horizon_days, discount_rate, top, as_of, output_format(format_, json_))


def _show(
    ctx: typer.Context,
    horizon_days: float,
    discount_rate: float,
    top: int | None,
    as_of: str | None,
    format_: str,
) -> None:
    if top is not None and top < 1:
        raise typer.BadParameter("--top must be at least 1")
    with _workspace(ctx, read_only=True) as ws:
        result = ws.value.clv(horizon_days=horizon_days, discount_rate=discount_rate, as_of=as_of)
    if format_ == "json":
        print_json(result.to_dict(top=top))
        return
    frame = result.customers if top is None else result.customers.head(top)
    if format_ == "csv":
        print_csv(frame)
        return
    s = result.summary
    t = Table(
        title=f"CLV over {result.horizon_days:g} days at {100 * result.discount_rate:g}% a year, "
        f"from {result.as_of} · mean {_money(s.estimate)} [{_money(s.ci_low)}, "
        f"{_money(s.ci_high)}] · n={fmt_int(s.n)} customers",
        title_justify="left",
    )
    t.add_column("customer", overflow="fold")
    for col in ("purchases", "recency", "T", "expected purchases", "P(alive)", "spend", "CLV"):
        t.add_column(col, justify="right")
    for r in frame.itertuples(index=False):
        t.add_row(
            str(r.customer_id),
            fmt_int(int(r.frequency) + 1),
            _g(r.recency, 3),
            _g(r.T, 3),
            _g(r.expected_purchases, 3),
            f"{r.p_alive:.2f}",
            _money(r.expected_spend),
            _money(r.clv),
        )
    console.print(t)
    console.print(
        f"[dim]purchases: purchase days to {result.as_of}; recency and T in {result.unit}s. "
        f"total CLV {_money(result.total.estimate)} [{_money(result.total.ci_low)}, "
        f"{_money(result.total.ci_high)}]. {result.method}. Model: {result.source}.[/dim]"
    )
    for note in result.warnings:
        console.print(f"[yellow]note:[/yellow] {note}")


@clv_app.command("fit")
def fit(
    ctx: typer.Context,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Fit on purchases up to this day (YYYY-MM-DD); the rest is the holdout "
            "that checks the predictions (default: the last purchase day, no holdout).",
        ),
    ] = None,
    unit: Annotated[
        Literal["week", "day"], typer.Option("--unit", help="Time unit: week or day.")
    ] = "week",
    model: Annotated[
        Literal["auto", "bgnbd", "pareto_nbd"],
        typer.Option(
            "--model",
            help="bgnbd, pareto_nbd or auto (the better on the holdout, else by likelihood).",
        ),
    ] = "auto",
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Fit the purchase model and the spend model on the orders, and keep the fit."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    with _workspace(ctx, read_only=False) as ws:
        result = ws.value.fit(calibration_end=calibration_end, unit=unit, model=model)
    if format_ == "json":
        print_json(result.to_dict())
        return
    if format_ == "csv":
        print_csv(result.to_frame())
        return
    _print_fit(result)


def _print_fit(fit: Any) -> None:
    t = Table(
        title=f"{fit.title} and Gamma-Gamma, {fit.unit}s, calibration {fit.data_start} to "
        f"{fit.calibration_end} · kept as {fit.model_id}",
        title_justify="left",
    )
    for col in ("model", "parameter", "estimate", "SE", "95% CI"):
        t.add_column(col, justify="left" if col in ("model", "parameter") else "right")
    for p in (*fit.params, *fit.spend_params):
        t.add_row(
            "Gamma-Gamma" if p.model == "gamma_gamma" else fit.title,
            p.name,
            _g(p.estimate),
            _g(p.se, 3),
            f"[{_g(p.ci_low)}, {_g(p.ci_high)}]",
        )
    console.print(t)
    console.print(
        f"log-likelihood {fit.log_likelihood:,.2f} (n={fmt_int(fit.n_customers)} customers); "
        f"Gamma-Gamma {fit.spend_log_likelihood:,.2f} (n={fmt_int(fit.n_repeat_buyers)} "
        "repeat buyers)"
    )
    console.print(f"model: {fit.selection}")
    corr = fit.spend_frequency_correlation
    if corr is not None:
        console.print(f"[dim]spend-frequency correlation among repeat buyers: {corr:.2f}[/dim]")
    h = fit.holdout
    if h:
        ht = Table(
            title=f"holdout: {h['length']:g} {h['unit']}s after {fit.calibration_end}, "
            "purchases per customer",
            title_justify="left",
        )
        for col in ("repeat purchases in calibration", "customers", "actual", "predicted"):
            ht.add_column(col, justify="right")
        for g in h["by_frequency"]:
            ht.add_row(
                g["frequency"], fmt_int(g["n"]), f"{g['actual']:.3f}", f"{g['predicted']:.3f}"
            )
        console.print(ht)
        corr_h = "—" if h["correlation"] is None else f"{h['correlation']:.2f}"
        console.print(
            f"holdout total: actual {h['actual_purchases']:,.0f}, predicted "
            f"{h['predicted_purchases']:,.0f}; per customer MAE {h['mean_absolute_error']:.3f}, "
            f"RMSE {h['rmse']:.3f}, correlation {corr_h}"
        )
    for note in fit.warnings:
        console.print(f"[yellow]note:[/yellow] {note}")
