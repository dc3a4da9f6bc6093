"""``cxray erase`` (a customer, GDPR art. 17) and ``cxray privacy`` (retention, compact)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import FormatOpt, OutputFormat, console, emit, fmt_int, output_format

if TYPE_CHECKING:
    from cxray.workspace import Workspace

privacy_app = typer.Typer(
    help="Retention of raw text ([privacy] retain_days) and rewriting the store file after "
    "an erasure. docs/privacy.md.",
    no_args_is_help=True,
)
app.add_typer(privacy_app, name="privacy")


def _workspace(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = (ctx.find_root().obj or {}) if ctx else {}
    return Workspace.open(obj.get("db"), obj.get("config"))


def _counts(title: str, counts: dict[str, int]) -> None:
    t = Table(title=title)
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in sorted(counts.items()):
        t.add_row(name, fmt_int(n))
    console.print(t)


@app.command("erase")
def erase(
    ctx: typer.Context,
    customer: Annotated[
        str | None,
        typer.Option("--customer", metavar="ID", help="The customer id to erase."),
    ] = None,
    reason: Annotated[
        str,
        typer.Option(
            help="Why (kept in the erasure record; write no personal data here), e.g. "
            "'art. 17 request 2026-118'."
        ),
    ] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; change nothing.")
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the erasure records instead (newest first).")
    ] = False,
    format_: FormatOpt = OutputFormat.table,
) -> None:
    """Erase a customer: anonymise them in every table (their scores keep counting) and
    write an erasure record without their data. docs/privacy.md."""
    fmt = output_format(format_)
    if list_:
        if customer is not None:
            raise typer.BadParameter("--list takes no --customer")
        with _workspace(ctx) as ws:
            records = ws.privacy.erasures()

        def table() -> None:
            t = Table(title="erasures")
            for col in ("id", "when (UTC)", "who", "reason", "rows"):
                t.add_column(col)
            for r in records:
                t.add_row(
                    r["erasure_id"],
                    (r["erased_at"] or "")[:16].replace("T", " "),
                    f"{r['actor']} ({r['role']})",
                    r["reason"] or "",
                    fmt_int(sum(r["counts"].values())),
                )
            console.print(t if records else "no erasures recorded")

        emit(fmt, records, table, records=lambda: [
            {**r, "counts": ", ".join(f"{k}={v}" for k, v in r["counts"].items())}
            for r in records
        ])  # fmt: skip
        return
    if customer is None or not customer.strip():
        raise typer.BadParameter("give the customer to erase: --customer ID (or --list)")
    if not (yes or dry_run):
        if not sys.stdin.isatty():
            raise typer.BadParameter(
                "erasure cannot be undone: add --yes to confirm (or --dry-run to count first)"
            )
        typer.confirm(
            f"Erase customer {customer!r} from every table? This cannot be undone",
            abort=True,
        )
    with _workspace(ctx) as ws:
        report = ws.privacy.erase(customer, actor="local", role="owner", reason=reason,
                                  dry_run=dry_run)  # fmt: skip
        compacted: dict[str, Any] | None = None
        if report.rows and not dry_run and ws.privacy.can_compact:
            compacted = ws.privacy.compact()
    data = {**report.to_dict(), "compacted": compacted}
    if compacted:
        data["storage"] = "rewritten"

    def table() -> None:
        if report.already_erased:
            console.print(f"customer {customer!r} was erased before: nothing left to change")
            return
        verb = "would change" if dry_run else "changed"
        if report.erasure_id:
            console.print(f"erasure {report.erasure_id}")
        _counts(f"rows {verb}", report.counts)
        if dry_run:
            console.print("dry run: nothing was changed")
            return
        console.print(f"customer {customer!r} erased: {fmt_int(report.rows)} rows anonymised")
        if report.digests:
            console.print(
                f"archived digests naming them: {report.digests_rewritten} made again, "
                f"{report.digests_removed} deleted"
            )
        if compacted:
            console.print(
                f"store file rewritten ({fmt_int(compacted['bytes_before'])} -> "
                f"{fmt_int(compacted['bytes_after'])} bytes): no erased byte is left in it"
            )
        elif data["storage"] != "database":
            console.print(
                "the store is held by cxray serve: erased values may remain in the file's "
                "unused space until `cxray privacy compact` runs with the server stopped"
            )
        else:
            console.print("PostgreSQL: VACUUM reclaims the old row versions (docs/privacy.md)")

    emit(fmt, data, table, records=[{k: v for k, v in data.items() if k != "counts"}])


@privacy_app.command("retention")
def retention(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; purge nothing.")
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the retention runs instead (newest first).")
    ] = False,
    format_: FormatOpt = OutputFormat.table,
) -> None:
    """Purge raw text older than [privacy] retain_days (comments, survey text answers, case
    texts, mention texts and authors); scores stay. cxray serve runs it every 6 hours."""
    fmt = output_format(format_)
    with _workspace(ctx) as ws:
        if list_:
            runs = ws.privacy.purges()
        else:
            if ws.config.privacy.retain_days is None:
                from cxray.exceptions import ConfigError

                raise ConfigError(
                    "no retention is set: add [privacy] retain_days = DAYS to cxray.toml "
                    "(one number, or [privacy.retain_days] per table)"
                )
            report = ws.privacy.retention(dry_run=dry_run)
    if list_:

        def runs_table() -> None:
            t = Table(title="retention runs")
            for col in ("id", "when (UTC)", "who", "cutoffs", "rows"):
                t.add_column(col)
            for r in runs:
                days = {v[:10] for v in r["cutoffs"].values()}
                cuts = ", ".join(f"{k} < {v[:10]}" for k, v in r["cutoffs"].items())
                if len(days) == 1 and len(r["cutoffs"]) > 1:
                    cuts = f"all < {days.pop()}"
                t.add_row(r["run_id"], (r["ran_at"] or "")[:16].replace("T", " "), r["actor"], cuts,
                          fmt_int(sum(r["counts"].values())))  # fmt: skip
            console.print(t if runs else "no retention runs recorded")

        emit(fmt, runs, runs_table, records=lambda: [
            {**r, "cutoffs": str(r["cutoffs"]), "counts": str(r["counts"])} for r in runs
        ])  # fmt: skip
        return
    data = report.to_dict()

    def table() -> None:
        for name, cut in sorted(report.cutoffs.items()):
            console.print(f"{name}: text before {cut:%Y-%m-%d %H:%M} UTC")
        verb = "would be purged" if dry_run else "purged"
        if report.counts:
            _counts(f"rows {verb}", report.counts)
        else:
            console.print("no old raw text left: nothing " + verb)
        if dry_run:
            console.print("dry run: nothing was changed")

    emit(fmt, data, table, records=[{k: v for k, v in data.items() if k != "counts"}])


@privacy_app.command("compact")
def compact(ctx: typer.Context) -> None:
    """Rewrite the DuckDB store file so that no erased or purged byte is left in its unused
    space (run it with cxray serve stopped)."""
    with _workspace(ctx) as ws:
        done = ws.privacy.compact()
    console.print(
        f"{done['path']} rewritten: {fmt_int(done['bytes_before'])} -> "
        f"{fmt_int(done['bytes_after'])} bytes"
    )
