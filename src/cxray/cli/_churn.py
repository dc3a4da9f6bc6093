"""``cxray churn``: churn reasons, survival curves, the churn-risk model and scores.

This module makes the ``churn`` command group; ``reasons``, ``survival`` and ``cox`` live
here, ``model`` and ``risk`` in :mod:`cxray.cli._churn_risk` (registered after this one).
"""

from __future__ import annotations

import math
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
    fmt_int,
    output_format,
    print_csv,
    print_json,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

churn_app = typer.Typer(
    name="churn",
    help="Why and when customers leave: reasons, survival curves, churn risk per customer.",
    no_args_is_help=True,
)
app.add_typer(churn_app, name="churn")

Format = FormatOpt
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="End of observation (YYYY-MM-DD); later churn is not known. "
        "Default: the end of the data."
    ),
]  # fmt: skip
Landmark = Annotated[
    str | None,
    typer.Option(
        "--landmark",
        help="Follow the customers active at this date from it on (default for a feature of "
        "the feature layer: the latest date whose churn horizon the data covers).",
    ),
]


def _csv(records: list[dict[str, Any]]) -> None:
    print_csv(records)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * value:.1f}"


def _pct_ci(v: Any, lo: Any, hi: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{_pct(v)} [{_pct(lo)}, {_pct(hi)}]"


def _days(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not reached"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:,.0f}"


def _p(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _ws(ctx: typer.Context, *, read_only: bool = True) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=False)


@churn_app.command("survival")
def survival(
    ctx: typer.Context,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="nps_group (default: the latest NPS answer), a customer attribute (plan, "
            "region, ...) or a feature of the customers (numbers in quantile bands).",
        ),
    ] = "nps_group",
    as_of: AsOf = None,
    landmark: Landmark = None,
    bands: Annotated[int, typer.Option(help="Quantile bands for a numeric attribute.")] = 3,
    format_: Format = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """When customers leave: Kaplan–Meier curves by group with 95% bands, median survival
    and log-rank tests (Benjamini–Hochberg across the pairs)."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    with _ws(ctx) as ws:
        result = ws.churn.survival(by, as_of, landmark=landmark, bands=bands)
    if format_ == "json":
        print_json(result.to_dict())
        return
    if format_ == "csv":
        _csv(result.records())
        return
    since = "joining" if result.origin == "joined" else f"{result.landmark:%Y-%m-%d}"
    t = Table(
        title=f"survival by {result.by} · days since {since} · observed to {result.end:%Y-%m-%d}"
        f" · n={fmt_int(result.n)}, {fmt_int(result.events)} left",
        title_justify="left",
    )
    t.add_column("group", overflow="fold")
    t.add_column("n", justify="right")
    t.add_column("left", justify="right")
    t.add_column("median days [95% CI]", justify="right")
    for m in (90, 180, 365):
        t.add_column(f"still here at {m}d % [95% CI]", justify="right")
    for g in result.groups.to_dict("records"):
        med = f"{_days(g['median_days'])} [{_days(g['ci_low'])}, {_days(g['ci_high'])}]"
        t.add_row(
            str(g["group"]),
            fmt_int(g["n"]),
            fmt_int(g["events"]),
            med,
            *(
                _pct_ci(g[f"survival_{m}d"], g[f"survival_{m}d_low"], g[f"survival_{m}d_high"])
                for m in (90, 180, 365)
            ),
        )
    console.print(t)
    console.print(f"[dim]groups: {result.definition}.[/dim]")
    if not result.tests.empty:
        lt = Table(title="log-rank tests", title_justify="left")
        for col in ("comparison", "chi²", "df", "p", "q (BH)"):
            lt.add_column(col, justify="left" if col == "comparison" else "right")
        for r in result.tests.to_dict("records"):
            lt.add_row(r["comparison"], f"{r['chi2']:.2f}", str(r["df"]), _p(r["p_value"]),
                       _p(r["q_value"]))  # fmt: skip
        console.print(lt)
    console.print(f"[dim]{result.method}.[/dim]")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


@churn_app.command("cox")
def cox(
    ctx: typer.Context,
    covariate: Annotated[
        list[str],
        typer.Option(
            "--covariate",
            help="A numeric customer column or feature of the customers (repeatable).",
        ),
    ] = [],  # noqa: B006 (Typer reads the default)
    by: Annotated[
        str,
        typer.Option("--by", help="Groups as dummies (default nps_group; 'none': no groups)."),
    ] = "nps_group",
    reference: Annotated[
        str | None, typer.Option(help="The group the others are compared with.")
    ] = None,
    as_of: AsOf = None,
    landmark: Landmark = None,
    format_: Format = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """How much faster some customers leave: a Cox model's hazard ratios with 95%
    intervals, concordance and a proportional-hazards check (stored as JSON)."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    group = None if by.lower() == "none" else by
    with _ws(ctx, read_only=False) as ws:
        result = ws.churn.cox(covariate, by=group, reference=reference, as_of=as_of,
                              landmark=landmark)  # fmt: skip
    if format_ == "json":
        print_json(result.to_dict())
        return
    if format_ == "csv":
        _csv(result.records())
        return
    ref = f" · against {result.by}={result.reference}" if result.by else ""
    t = Table(
        title=f"Cox model of churn{ref} · n={fmt_int(result.n)}, {fmt_int(result.events)} left"
        f" · concordance {result.concordance:.3f}",
        title_justify="left",
    )
    for col in ("covariate", "hazard ratio [95% CI]", "p", "PH check p"):
        t.add_column(col, justify="left" if col == "covariate" else "right")
    for r in result.records():
        hr = f"{r['hazard_ratio']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
        t.add_row(r["covariate"], hr, _p(r["p_value"]), _p(r["ph_p_value"]))
    console.print(t)
    console.print(
        "[dim]hazard ratio: how many times as fast they leave, the other covariates held "
        f"fixed. PH check: Schoenfeld residual test (small p: the ratio changes over time). "
        f"{result.method}.[/dim]"
    )
    if result.model_id:
        console.print(f"[dim]stored as model {result.model_id} (churn_cox).[/dim]")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


@churn_app.command("reasons")
def reasons(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option("--by", help="A customer attribute.")] = None,
    period: Annotated[
        Literal["month", "quarter"] | None,
        typer.Option("--period", help="month or quarter of leaving, with a trend per reason."),
    ] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    format_: Format = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Why customers leave: stated reasons with 95% intervals, by segment and period, their
    trends and themes (of the customers who left from --from to --to)."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    from_, to = date_window(from_, to, since, until)
    with _ws(ctx) as ws:
        result = ws.churn.reasons(by, period, start=from_, end=to)
    if format_ == "json":
        print_json(result.to_dict())
        return
    if format_ == "csv":
        _csv(result.records())
        return
    keys = [k for k in (result.by, "period" if result.period else None) if k]
    t = Table(
        title=f"churn reasons · {fmt_int(result.stated)} of {fmt_int(result.churned)} churned "
        "customers gave one",
        title_justify="left",
    )
    for col in ("reason", *keys, "n", "share % [95% CI]"):
        t.add_column(col, justify="right" if col in ("n", "share % [95% CI]") else "left")
    for r in result.records():
        t.add_row(r["reason"], *(str(r[k]) for k in keys), fmt_int(r["n"]),
                  _pct_ci(r["share"], r["ci_low"], r["ci_high"]))  # fmt: skip
    console.print(t)
    if not result.trends.empty:
        tt = Table(title=f"trends by {result.period}", title_justify="left")
        cols = ["reason", *([result.by] if result.by else []), "first → last %", "change pts",
                "p", "q (BH)", "trend"]  # fmt: skip
        for col in cols:
            tt.add_column(col)
        for r in result.trends.to_dict("records"):
            change = f"{100 * r['change']:+.1f} [{100 * r['change_low']:+.1f}, " \
                f"{100 * r['change_high']:+.1f}]"  # fmt: skip
            tt.add_row(
                r["reason"],
                *([str(r[result.by])] if result.by else []),
                f"{_pct(r['first_share'])} → {_pct(r['last_share'])}",
                change,
                _p(r["p_value"]),
                _p(r["q_value"]),
                r["trend"],
            )
        console.print(tt)
    if not result.themes.empty:
        th = Table(title="themes of the reasons", title_justify="left")
        for col in ("theme", "n", "share % [95% CI]", "reasons"):
            th.add_column(col, overflow="fold")
        for r in result.themes.to_dict("records"):
            th.add_row(r["label"], fmt_int(r["n"]), _pct_ci(r["share"], r["ci_low"], r["ci_high"]),
                       ", ".join(r["reasons"]))  # fmt: skip
        console.print(th)
    console.print(f"[dim]{result.method}.[/dim]")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
