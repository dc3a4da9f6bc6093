"""``cxray churn model`` (train, evaluate, keep or not) and ``cxray churn risk`` (scores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from cxray.cli._churn import churn_app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_int,
    output_format,
    print_csv,
    print_json,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace


def _open(ctx: typer.Context, *, read_only: bool) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=False)


def _pct(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}%"


def _f(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


@churn_app.command("model")
def model(
    ctx: typer.Context,
    split: Annotated[
        Literal["auto", "time", "stratified"],
        typer.Option(
            help="time: train on an earlier cut-off, evaluate on a later one; stratified: "
            "80/20 by outcome (snapshots without history); auto: time when possible."
        ),
    ] = "auto",
    horizon_days: Annotated[
        float | None,
        typer.Option("--horizon-days", help="Churn window after the cut-off (default: config)."),
    ] = None,
    lookback_days: Annotated[
        float | None,
        typer.Option("--lookback-days", help="How far back the features look (default: config)."),
    ] = None,
    test_size: Annotated[
        float, typer.Option("--test-size", help="Evaluation share of a stratified split.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split and the choice of penalty.")] = 0,
    evaluate_only: Annotated[
        bool, typer.Option("--evaluate-only", help="Evaluate, never store the model.")
    ] = False,
    show: Annotated[
        bool, typer.Option("--show", help="Show the stored model's evaluation; train nothing.")
    ] = False,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Train the churn-risk model, evaluate it against a baseline, keep it if it is better."""
    fmt = output_format(format_, json_)
    with _open(ctx, read_only=show) as ws:
        if show:
            stored = ws.churn.risk.stored()
            body = {**stored["evaluation"], "model_id": stored["model_id"],
                    "created_at": stored["created_at"]}  # fmt: skip
        else:
            body = ws.churn.risk.train(
                split=split,
                horizon_days=horizon_days,
                lookback_days=lookback_days,
                test_size=test_size,
                seed=seed,
                keep=not evaluate_only,
            ).to_dict()
    emit(fmt, body, lambda: _print_report(body), records=[body])


def _print_report(r: dict[str, Any]) -> None:
    b = r["baseline"]
    g = r["auc_gain"]
    console.print(f"[bold]churn-risk model[/bold] — {r['split']} split: {r['split_reason']}")
    console.print(
        f"evaluated on {fmt_int(r['n'])} customers ({_pct(r['churn_rate'])} churned within "
        f"{r['horizon_days']:g} days); trained on {fmt_int(r['n_train'])}"
    )
    t = Table("figure", "model", "baseline (churn rate by tenure band)")
    t.add_row(
        "AUC [95% CI]",
        f"{_f(r['auc'])} [{_f(r['ci_low'])}, {_f(r['ci_high'])}]",
        f"{_f(b['auc'])} [{_f(b['auc_ci_low'])}, {_f(b['auc_ci_high'])}]",
    )
    t.add_row("PR-AUC", _f(r["pr_auc"]), _f(b["pr_auc"]))
    t.add_row("Brier score", _f(r["brier"], 4), _f(b["brier"], 4))
    t.add_row("lift, top decile", _f(r["lift_top_decile"], 2), _f(b["lift_top_decile"], 2))
    t.add_row(
        "churners caught in top decile",
        _pct(r["capture_top_decile"]),
        _pct(b["capture_top_decile"]),
    )
    console.print(t)
    rel = Table("bin", "n", "predicted", "observed [95% CI]", title="reliability")
    for row in r["reliability"]:
        rel.add_row(
            str(row["bin"]),
            fmt_int(row["n"]),
            _pct(row["predicted"]),
            f"{_pct(row['observed'])} [{_pct(row['observed_ci_low'])}, "
            f"{_pct(row['observed_ci_high'])}]",
        )
    console.print(rel)
    console.print(
        f"AUC gain over the baseline: {g['auc_gain']:+.3f} [{g['ci_low']:+.3f}, "
        f"{g['ci_high']:+.3f}]"
    )
    mark = "[green]kept[/green]" if r["kept"] else "[yellow]not kept[/yellow]"
    console.print(f"{mark}: {r['kept_reason']}")
    if r.get("model_id"):
        console.print(f"model {r['model_id']}; method: {r['method']}")
    for note in r.get("warnings") or []:
        console.print(f"[yellow]note:[/yellow] {note}")


@churn_app.command("risk")
def risk(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=1, help="Show the N riskiest customers.")] = 20,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Score this customer only.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Customers active at this date (default: the data's end)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every active customer, not --top.")] = False,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Score every active customer with the stored churn-risk model, riskiest first."""
    format_ = output_format(format_, json_)  # type: ignore[assignment]
    with _open(ctx, read_only=True) as ws:
        scores = ws.churn.risk.score(as_of=as_of, customer_id=customer)
    limit = None if all_ else top
    if format_ == "json":
        print_json(scores.to_dict(limit=limit))
        return
    rows = scores.records(limit)
    if format_ == "csv":
        print_csv(rows)  # each customer's reasons as JSON in one cell
        return
    if not rows:
        console.print(f"no active customers at {scores.as_of[:10]}: nothing to score")
        return
    t = Table(
        "customer", "churn risk [95% CI]", "top reasons (log-odds added)",
        title=f"churn within {scores.horizon_days:g} days, as of {scores.as_of[:10]} "
        f"({fmt_int(scores.n)} active customers, mean {_pct(scores.estimate)})",
    )  # fmt: skip
    for r in rows:
        why = ", ".join(
            f"{x['feature']}={_value(x['value'])} (+{x['contribution']:.2f})" for x in r["reasons"]
        )
        t.add_row(
            r["customer_id"],
            f"{_pct(r['probability'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]",
            why,
        )
    console.print(t)


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return "" if v is None else str(v)
