"""``cxray loop``: run the closed loop's rules, work follow-ups, see alerts and the outbox."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated, Any

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
    fmt_int,
    fmt_time,
    output_format,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

loop_app = typer.Typer(
    name="loop",
    help="The closed loop: rules, alerts, follow-ups and notifications (docs/loop.md).",
    no_args_is_help=True,
)
app.add_typer(loop_app, name="loop")

_STATUS_COLOURS = {"open": "yellow", "contacted": "cyan", "resolved": "green"}
Actor = Annotated[
    str | None, typer.Option("--as", help="Who makes the change (default: your user name).")
]


def _open(ctx: typer.Context, *, read_only: bool = False) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=False)


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser() or "cli"
    except Exception:  # no user name in this environment
        return "cli"


@loop_app.command("run")
def run(
    ctx: typer.Context,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill",
            help="Also rows imported before a rule was first seen, and every "
            "period of KPI and emerging-issue rules.",
        ),
    ] = False,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="Send what waits in the outbox.")
    ] = True,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Evaluate every rule, record what fired, deliver notifications (for cron)."""
    with _open(ctx) as ws:
        report = ws.loop.run(backfill=backfill, deliver=deliver)
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, report.to_dict(), records=[report.to_dict()])
        return
    console.print(f"{report.rules} rules; {fmt_int(report.new_alerts)} new alerts")
    for rule, n in sorted(report.fired.items()):
        console.print(f"  {rule}: {fmt_int(n)} fired")
    for rule, err in sorted(report.errors.items()):
        console.print(f"  [red]{rule}: {err}[/red]")
    for rule, note in sorted(report.notes.items()):
        console.print(f"  [dim]{rule}: {note}[/dim]")
    if deliver:
        console.print(
            f"notifications: {report.delivered} delivered, {report.retrying} to retry, "
            f"{report.failed} failed"
        )


@loop_app.command("deliver")
def deliver_cmd(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Send the notifications that are due (without evaluating rules)."""
    from cxray.loop import deliver

    with _open(ctx) as ws:
        report = deliver(ws.store, ws.config, lock=ws.write_lock)
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, report.__dict__, records=[report.__dict__])
        return
    console.print(
        f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"
    )
    for e in report.errors[:20]:
        console.print(f"  [yellow]{e}[/yellow]")


@loop_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str,
        typer.Option(
            help="active (open or contacted), open, contacted, resolved, closed_no_contact, or all"
        ),
    ] = "active",
    owner: Annotated[str | None, typer.Option(help="Only this owner's.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's.")] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past due.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Follow-ups, due first."""
    with _open(ctx, read_only=True) as ws:
        page = ws.loop.followups.list(
            status=None if status == "all" else status,
            owner=owner,
            team=team,
            customer_id=customer,
            overdue=overdue,
            limit=limit,
        )
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, page, records=page["rows"])
        return
    t = Table(title=f"follow-ups ({fmt_int(page['total'])})", title_justify="left")
    for col in ("id", "status", "owner / team", "due", "customer", "title"):
        t.add_column(col, overflow="fold")
    for r in page["rows"]:
        colour = "red" if r["overdue"] else _STATUS_COLOURS.get(r["status"])
        status_text = r["status"] + (" (overdue)" if r["overdue"] else "")
        t.add_row(
            r["followup_id"],
            f"[{colour}]{status_text}[/{colour}]" if colour else status_text,
            " / ".join(x for x in (r["owner"], r["team"]) if x) or "unassigned",
            fmt_time(r["due_at"]),
            r["customer_id"] or "",
            r["title"] or "",
        )
    console.print(t)
    if page["has_more"]:
        console.print(f"[dim]{fmt_int(page['total'] - len(page['rows']))} more: --limit[/dim]")


def _print_followup(fu: dict[str, Any]) -> None:
    console.print(f"[bold]{fu['followup_id']}[/bold] {fu['title']}")
    for key in ("status", "owner", "team", "customer_id", "subject", "rule", "opened_at",
                "due_at", "contacted_at", "closed_at", "outcome", "note"):  # fmt: skip
        value = fu.get(key)
        if value is not None:
            shown = fmt_time(value) if key.endswith("_at") else value
            console.print(f"  {key}: {shown}" + (" (overdue)" if key == "due_at" and
                                                 fu.get("overdue") else ""))  # fmt: skip
    alert = fu.get("alert")
    if alert and alert.get("details"):
        console.print("  what fired it:")
        for k, v in alert["details"].items():
            console.print(f"    {k}: {v}")
    console.print("  history:")
    for ev in fu["history"]:
        detail = ev["detail"]
        extra = ""
        if isinstance(detail, dict):
            extra = ", ".join(f"{k}={v}" for k, v in detail.items() if v is not None)
        console.print(f"    {fmt_time(ev['at'])} {ev['actor']}: {ev['action']} {extra}")


@loop_app.command("show")
def show(
    ctx: typer.Context,
    followup_id: str,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """One follow-up: what fired it, its status and every change."""
    with _open(ctx, read_only=True) as ws:
        fu = ws.loop.followups.get(followup_id)
    emit(output_format(format_, json_), fu, lambda: _print_followup(fu), records=[fu])


@loop_app.command("assign")
def assign(
    ctx: typer.Context,
    followup_id: str,
    owner: Annotated[str | None, typer.Option(help="The person ('' clears it).")] = None,
    team: Annotated[str | None, typer.Option(help="The team ('' clears it).")] = None,
    as_: Actor = None,
) -> None:
    """Give a follow-up to a person and/or a team."""
    with _open(ctx) as ws:
        fu = ws.loop.followups.assign(followup_id, actor=_actor(as_), owner=owner, team=team)
    console.print(f"{fu['followup_id']}: owner {fu['owner'] or '-'}, team {fu['team'] or '-'}")


@loop_app.command("contact")
def contact(
    ctx: typer.Context,
    followup_id: str,
    note: Annotated[str | None, typer.Option(help="What was said.")] = None,
    as_: Actor = None,
) -> None:
    """Record that the customer was reached."""
    with _open(ctx) as ws:
        fu = ws.loop.followups.contact(followup_id, actor=_actor(as_), note=note)
    console.print(f"{fu['followup_id']}: {fu['status']}")


@loop_app.command("note")
def note(ctx: typer.Context, followup_id: str, text: str, as_: Actor = None) -> None:
    """Add a note to a follow-up."""
    with _open(ctx) as ws:
        fu = ws.loop.followups.note(followup_id, actor=_actor(as_), text=text)
    console.print(f"{fu['followup_id']}: note added")


@loop_app.command("close")
def close(
    ctx: typer.Context,
    followup_id: str,
    outcome: Annotated[str | None, typer.Option(help="How it ended, in a few words.")] = None,
    no_contact: Annotated[
        bool, typer.Option("--no-contact", help="The customer was not reached.")
    ] = False,
    note: Annotated[str | None, typer.Option(help="A closing note.")] = None,
    as_: Actor = None,
) -> None:
    """End a follow-up: resolved, or closed without contact (--no-contact)."""
    with _open(ctx) as ws:
        fu = ws.loop.followups.close(
            followup_id, actor=_actor(as_), outcome=outcome, contacted=not no_contact, note=note
        )
    console.print(f"{fu['followup_id']}: {fu['status']}")


@loop_app.command("alerts")
def alerts(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Alerts, newest first: what fired, when, and where it was sent."""
    with _open(ctx, read_only=True) as ws:
        rows = ws.loop.alerts(rule=rule, limit=limit)
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, rows, records=rows)
        return
    t = Table(title="alerts", title_justify="left")
    for col in ("fired", "rule", "title", "follow-up", "sent to"):
        t.add_column(col, overflow="fold")
    for a in rows:
        n = a["notified"] or {}
        sent = ", ".join(n.get("targets") or []) + (f" ({n['note']})" if n.get("note") else "")
        t.add_row(fmt_time(a["fired_at"]), a["rule"], a["title"], a["followup_id"] or "", sent)
    console.print(t)


@loop_app.command("rules")
def rules(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The rules of cxray.toml, checked against the store."""
    with _open(ctx, read_only=True) as ws:
        ws.loop.check()
        rows = [r.model_dump(mode="json") for r in ws.config.loop.rules]
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, rows, records=rows)
        return
    if not rows:
        console.print("no rules: add [[loop.rules]] to cxray.toml (docs/loop.md)")
        return
    t = Table(title="rules", title_justify="left")
    for col in ("name", "on", "fires when", "does", "to"):
        t.add_column(col, overflow="fold")
    for r in rows:
        if r["on"] == "churn_risk":
            when = f"churn risk >= {100 * r['min_risk']:.3g}%"
            if r.get("min_value"):
                when += f" and value >= {r['min_value']:,g}"
            if r.get("top"):
                when += f" (the {r['top']} riskiest)"
        else:
            when = r["where"] or (
                f"{r['metric']} {r['when'].replace('_', ' ')}" if r["on"] == "kpi" else "every new"
            )
        to = ", ".join(r["notify"]) or (r["owner"] or r["team"] or "")
        t.add_row(r["name"], r["on"], when, r["action"] if r["enabled"] else "disabled", to)
    console.print(t)


def _figure(e: dict[str, Any], unit: str = "") -> str:
    if e.get("suppressed") or e.get("estimate") is None:
        return f"[dim]{e.get('reason') or 'n/a'}[/dim]"
    return f"{e['estimate']:.1f}{unit} [{e['ci_low']:.1f}, {e['ci_high']:.1f}] n={e['n']:,}"


@loop_app.command("measure")
def measure(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's follow-ups.")] = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Did following up pay off? Follow-up rate, time to contact, SLA met, recovery, of the
    follow-ups opened from --from to --to."""
    start, end = date_window(from_, to, since, until)
    with _open(ctx, read_only=True) as ws:
        m = ws.loop.measure(start, end, rule).to_dict()
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, m, records=_measure_records(m))
        return
    f = m["followups"]
    console.print(
        f"{fmt_int(f['opened'])} follow-ups opened, {fmt_int(f['due'])} past their SLA, "
        f"{fmt_int(f['pending'])} still within it"
    )
    t = Table(title="the loop (95% intervals)", title_justify="left")
    t.add_column("measure")
    t.add_column("value", overflow="fold")
    t.add_row("follow-up rate", _figure(m["followup_rate"], " %"))
    t.add_row("time to first contact, median", _figure(m["time_to_contact"]["median"], " h"))
    t.add_row("time to first contact, mean", _figure(m["time_to_contact"]["mean"], " h"))
    t.add_row("SLA met", _figure(m["sla_met"], " %"))
    t.add_row("recovery rate (contacted detractors)", _figure(m["recovery_rate"], " %"))
    console.print(t)
    if m["recovery"]:
        r = Table(title="recovery by how the customer was reached (%)", title_justify="left")
        d = Table(title="contacted in time minus the others (points)", title_justify="left")
        for col in ("rule", "outcome", "in time", "late", "not contacted"):
            r.add_column(col, overflow="fold")
        for col in ("rule", "outcome", "vs", "difference [95% CI]", "q"):
            d.add_column(col, overflow="fold")
        for rec in m["recovery"]:
            outcome = rec["outcome"] + (" (lower is better)" if rec["better"] == "lower" else "")
            cells = []
            for k in ("in_time", "late", "not_contacted"):
                e = rec["groups"][k]
                cells.append(
                    f"[dim]n={e['n']}[/dim]"
                    if e["suppressed"] or e["estimate"] is None
                    else f"{e['estimate']:.1f} (n={e['n']:,})"
                )
            r.add_row(rec["rule"], outcome, *cells)
            for c in rec["comparisons"]:
                vs = c["b"].replace("_", " ")
                if c["suppressed"]:
                    d.add_row(rec["rule"], rec["outcome"], vs, f"[dim]{c['reason']}[/dim]", "")
                    continue
                d.add_row(
                    rec["rule"],
                    rec["outcome"],
                    vs,
                    f"{c['estimate']:+.1f} [{c['ci_low']:+.1f}, {c['ci_high']:+.1f}]",
                    f"{c['q_value']:.2g}" + (" *" if c["significant"] else ""),
                )
        console.print(r)
        console.print(d)
        console.print(
            f"[dim]* significant after Benjamini–Hochberg at {m['fdr']:g}. {m['comparable']}[/dim]"
        )
    for note in m["notes"]:
        console.print(f"[dim]{note}[/dim]")


def _measure_records(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The loop's headline measures, one record each (``--format csv``)."""
    figures = {
        "followup_rate": m["followup_rate"],
        "time_to_contact_median": m["time_to_contact"]["median"],
        "time_to_contact_mean": m["time_to_contact"]["mean"],
        "sla_met": m["sla_met"],
        "recovery_rate": m["recovery_rate"],
    }
    keys = ("estimate", "ci_low", "ci_high", "n", "suppressed", "reason")
    return [{"measure": k, **{x: e.get(x) for x in keys}} for k, e in figures.items()]


@loop_app.command("secret")
def secret(ctx: typer.Context) -> None:
    """The secret webhooks are signed with (unless CXRAY_WEBHOOK_SECRET sets one)."""
    from cxray.loop import webhook_secret

    with _open(ctx) as ws:
        print(webhook_secret(ws.store, ws.config).decode("ascii"))
