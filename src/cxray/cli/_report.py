"""``cxray report``: the executive digest of a period as PDF, HTML or Markdown; ``cxray
report delete ID``: one archived digest deleted (``ws.reports``, ``docs/reports.md``)."""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cxray.cli._app import app
from cxray.cli._output import console, err_console
from cxray.exceptions import QueryError

report_app = typer.Typer(
    help="The executive digest of a period (PDF, HTML or Markdown), kept in the archive; "
    "`cxray report delete ID` deletes an archived one.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(report_app, name="report")


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"
    md = "md"


@report_app.callback()
def report(
    ctx: typer.Context,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="last-week, last-month, last-quarter, YYYY-Qn (e.g. 2026-Q3), YYYY-MM or "
            "YYYY-MM-DD..YYYY-MM-DD.",
        ),
    ] = "last-week",
    format_: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="pdf, html or md.")
    ] = ReportFormat.pdf,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (default: html and md to the terminal, pdf to "
            "cxray-digest-PERIOD.pdf). Markdown written to a file keeps its charts as PNG "
            "files in a folder beside it.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The day last-week/last-month/last-quarter are seen from (YYYY-MM-DD; "
            "default today).",
        ),
    ] = None,
    pii: Annotated[
        bool, typer.Option("--pii", help="Show personal data as stored (masked by default).")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="E-mail it to this address now (repeatable; CXRAY_SMTP_* as for surveys).",
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep/--no-keep", help="Keep it in the archive (the /reports page)."),
    ] = True,
) -> None:
    """The executive digest of a period: KPI changes with significance, status against
    target, drivers, themes, emerging issues, alerts and follow-ups, churn and revenue at
    risk, with charts."""
    if ctx.invoked_subcommand is not None:
        return
    from cxray.workspace import Workspace

    today = None
    if as_of:
        try:
            today = dt.date.fromisoformat(as_of)
        except ValueError:
            raise QueryError(f"--as-of {as_of!r}: expected a date YYYY-MM-DD") from None
    obj = ctx.find_root().obj or {}
    fmt = format_.value
    with Workspace.open(obj.get("db"), obj.get("config"), create=False) as ws:
        reports = ws.reports
        p = reports.period(period, today)
        digest = reports.digest(p, pii=pii)
        r = reports.generate(
            p, fmt, pii=pii, keep=keep, actor="local", digest=digest, sent_to=list(to or [])
        )
        if to:
            reports.send(r, list(to))
            if keep:
                reports.mark_sent(r.report_id)
        if fmt == "md" and out is not None:
            from cxray.reports import render

            content = render(digest, "md", files=out.with_name(out.stem + "_files"))
        else:
            content = r.content
    if out is None and fmt == "pdf":
        from cxray.workspace import _in_folder  # the caller's folder, also when a server runs it

        out = Path(_in_folder(r.filename))
    if out is None:
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
    else:
        out.write_bytes(content)
        console.print(f"wrote [bold]{out}[/bold] ({len(content):,} bytes, {r.title})")
    for key, state in r.summary.items():
        if state != "ok":
            err_console.print(f"[dim]{key}: {state}[/dim]")
    if to:
        err_console.print(f"sent to {', '.join(to)}")
    if keep:
        err_console.print(f"[dim]archived as {r.report_id}[/dim]")


@report_app.command("delete")
def delete(
    ctx: typer.Context,
    report_id: Annotated[str, typer.Argument(help="The digest's id (RP-...), as listed.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete one archived digest (its file and record) from the store."""
    from cxray.workspace import Workspace

    obj = ctx.find_root().obj or {}
    with Workspace.open(obj.get("db"), obj.get("config"), create=False) as ws:
        held = ws.reports.get(report_id)  # an unknown id fails before asking
        if not yes:
            if not sys.stdin.isatty():
                raise typer.BadParameter("deleting a digest cannot be undone: add --yes to confirm")
            typer.confirm(f"Delete {held.report_id} ({held.title})?", abort=True)
        gone = ws.reports.delete(report_id)
    console.print(f"deleted {gone.report_id} ({gone.title}, {gone.format}, {gone.size:,} bytes)")
