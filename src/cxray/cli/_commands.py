"""The commands: init, import, status, demo. Each parses, calls the Workspace, prints."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_int,
    fmt_time,
    output_format,
    progress_bar,
)
from cxray.schema import CONTRACT

if TYPE_CHECKING:  # the workspace (Ibis, pandas) is imported by the commands that run
    from cxray.workspace import ImportReport, Workspace


def _workspace(ctx: typer.Context, *, read_only: bool = False, create: bool = True) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only, create=create)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the store and a commented cxray.toml in the current folder."""
    from cxray.config import DEFAULT_CONFIG_TEXT

    obj = ctx.obj or {}
    cfg = Path(obj.get("config") or "cxray.toml")
    wrote_cfg = not cfg.exists()
    if wrote_cfg:
        # the config may name secrets and addresses: its user's only (0600)
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(DEFAULT_CONFIG_TEXT)
    with _workspace(ctx) as ws:
        console.print(
            f"store  [bold]{ws.store.url}[/bold] (schema version {ws.store.schema_version})"
        )
    console.print(f"config [bold]{cfg}[/bold] " + ("(created)" if wrote_cfg else "(kept)"))


@app.command("import")
def import_(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(metavar="TABLE", help=f"One of: {', '.join(CONTRACT)}.")],
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="CSV, Parquet, JSON Lines or vendor files."),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="A named source of cxray.toml ([sources.NAME]: table, map, vendor), looked up "
            "first; else a vendor reader: canonical, qualtrics, surveymonkey, typeform, zendesk, "
            "segment, freshdesk, intercom, hubspot, salesforce, ga4, google_play, app_store, "
            "trustpilot, mailchimp (default: detected)."
        ),
    ] = None,
    map_: Annotated[
        list[str],
        typer.Option(
            "--map",
            metavar="TARGET=EXPR",
            help="Repeatable. EXPR: a column (Q1, or #3 by position), sql:EXPRESSION over the "
            "file's columns (sql:round(score::DOUBLE)), a constant ('web' or const:web), a value "
            "map (Churn:Yes->true,No->false; *->x for the rest) or a derived date "
            "(tenure:months-before:2024-01-31). TARGET: a column of TABLE, or - to leave a "
            "column out. Replaces that target of --source. See docs/importing.md.",
        ),
    ] = [],  # noqa: B006  (Typer reads the default)
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change.")] = False,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Import files into a table: validated, all or nothing, idempotent."""
    from cxray.ingest import parse_mapping

    fmt = output_format(format_, json_)
    mapping = parse_mapping(map_)
    started = time.perf_counter()
    with _workspace(ctx) as ws, progress_bar(fmt == "table") as progress:
        report = ws.import_files(
            table, files, source=source, mapping=mapping, dry_run=dry_run, progress=progress
        )
    seconds = time.perf_counter() - started
    data = report.to_dict()
    emit(
        fmt,
        data,
        lambda: _print_import(report, seconds),
        records=[{**data, "files": ", ".join(f.name for f in report.files)}],
    )


def _print_import(report: ImportReport, seconds: float) -> None:
    r = report.result
    verb = "would" if r.dry_run else ""
    names = ", ".join(f.name for f in report.files)
    head = "[yellow]dry run[/yellow], nothing written" if r.dry_run else (f"import #{r.import_id}")
    console.print(f"{report.table} ← {names}: {head} ({seconds:.1f} s)")
    parts = [
        f"{fmt_int(r.rows_in)} rows read",
        f"{verb} add {fmt_int(r.added)}".strip(),
        f"{verb} update {fmt_int(r.updated)}".strip(),
        f"{fmt_int(r.unchanged)} unchanged",
    ]
    if not r.dry_run:
        parts[1:3] = [f"{fmt_int(r.added)} added", f"{fmt_int(r.updated)} updated"]
    console.print("  " + ", ".join(parts))
    for f in report.files:
        if f.skipped:
            console.print(
                f"  {f.name}: {fmt_int(f.skipped)} record(s) left out: {f.skipped_reason}"
            )
    repeated = sum(f.repeated for f in report.files)
    if repeated:
        console.print(f"  {fmt_int(repeated)} exact repeat row(s) collapsed")
    if r.new_attributes:
        console.print(f"  new attribute columns: {', '.join(r.new_attributes)}")
    _print_import_sentiment(report.sentiment)


def _print_import_sentiment(sentiment: dict[str, Any] | None) -> None:
    """What the import's enrichment did (``ImportReport.sentiment``): texts scored and by
    which model, or why not; each language it left unscored, with what to do (as the
    JSON's ``language_gaps``)."""
    if not sentiment:
        return
    for why in ("skipped", "error"):
        if sentiment.get(why):
            console.print(f"  texts: {sentiment[why]}", markup=False)
            return
    import textwrap

    # rows processed, less those left unscored (a language the scorer does not support)
    scored = int(sentiment.get("scored") or 0) - int(sentiment.get("unscored") or 0)
    line = f"  texts: {fmt_int(scored)} scored by {sentiment.get('model')}"
    themes = sentiment.get("themes")
    if isinstance(themes, dict) and themes.get("matched"):
        line += f", taxonomy themes matched for {fmt_int(themes['matched'])}"
    console.print(line, markup=False)
    width = max(console.width, 40)
    for gap in sentiment.get("language_gaps") or ():
        said = textwrap.fill(
            f"not scored: {gap['message']}",
            width=width,
            initial_indent="  ",
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
        console.print(said, markup=False, soft_wrap=True)


@app.command()
def status(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Row counts, date ranges and recent imports.

    With --format csv: one line per table."""
    from cxray.cli._status import read_status

    st = read_status(ctx.obj or {})
    emit(
        output_format(format_, json_),
        {
            "store": st.store,
            "schema_version": st.schema_version,
            "tables": [t.__dict__ for t in st.tables],
            "imports": [i.__dict__ for i in st.imports],
        },
        lambda: _print_status(st),
        records=lambda: [{**t.__dict__, "attributes": ", ".join(t.attributes)} for t in st.tables],
    )


def _print_status(st: Any) -> None:
    t = Table(title=f"{st.store} (schema v{st.schema_version})", title_justify="left")
    for col, justify in (
        ("table", "left"),
        ("rows", "right"),
        ("from", "left"),
        ("to", "left"),
        ("attributes", "left"),
    ):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ts in st.tables:
        attrs = ", ".join(ts.attributes[:6]) + (" …" if len(ts.attributes) > 6 else "")
        t.add_row(ts.table, fmt_int(ts.rows), fmt_time(ts.first), fmt_time(ts.last), attrs)
    console.print(t)
    if st.imports:
        it = Table(title="recent imports", title_justify="left")
        for col in ("#", "when (UTC)", "table", "files", "added", "updated", "unchanged"):
            it.add_column(
                col, justify="right" if col in ("#", "added", "updated", "unchanged") else "left"
            )
        for i in st.imports:
            files = ", ".join(f["name"] for f in i.files)
            it.add_row(
                str(i.import_id),
                fmt_time(i.finished_at),
                i.table_name,
                files,
                fmt_int(i.added),
                fmt_int(i.updated),
                fmt_int(i.unchanged),
            )
        console.print(it)
    else:
        console.print("no imports yet: try `cxray import TABLE FILE` or `cxray demo`")


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed, the same world.")] = 42,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the world at --size 1.")] = (
        20_000
    ),
    months: Annotated[int, typer.Option(min=1, max=600, help="Months of history.")] = 24,
    size: Annotated[
        float,
        typer.Option(min=0.001, help="Scale factor on customers (e.g. 500 for benchmark worlds)."),
    ] = 1.0,
    loop: Annotated[
        bool,
        typer.Option(
            "--loop",
            help="Also run the demo's closed loop over its history: alerts, follow-ups "
            "worked by demo agents, and a planted recovery effect (docs/loop.md).",
        ),
    ] = False,
) -> None:
    """Build the demo company (synthetic, with planted effects), print a first summary and
    what to try next."""
    from cxray.access import ApiKeys
    from cxray.cli._scorecard import _print_table as _print_scorecard

    n = max(1, round(customers * size))
    started = time.perf_counter()
    with _workspace(ctx) as ws:
        with progress_bar() as progress:
            report = ws.load_demo(
                seed=seed, customers=n, months=months, progress=progress, loop=loop
            )
        card = ws.scorecard()
        status_ = ws.status(imports=0)
        has_key = any(k.active for k in ApiKeys(ws.store).list())
    seconds = time.perf_counter() - started
    rules_note = _demo_rules(ctx) if loop else None
    console.print(
        f"[bold]Hearthwell[/bold], the demo company: {n:,} customers over {months} months "
        f"(seed {seed}), written to {status_.store} in {seconds:.1f} s"
    )
    t = Table(title_justify="left")
    for col, justify in (("table", "left"), ("rows", "right"), ("from", "left"), ("to", "left")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ts in status_.tables:
        t.add_row(ts.table, fmt_int(ts.rows), fmt_time(ts.first), fmt_time(ts.last))
    console.print(t)
    _print_scorecard(card)
    console.print("[bold]planted effects to find[/bold] (docs/demo-world.md):")
    for e in report.effects:
        console.print(f"  • [bold]{e.name}[/bold]: {e.description}")
    if report.loop is not None:
        lp = report.loop
        fates = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(lp.fates.items()))
        console.print(
            f"[bold]the closed loop[/bold]: {lp.alerts:,} alerts, {lp.followups:,} follow-ups "
            f"({fates}), {lp.messages:,} notifications, {lp.answers_changed:,} later answers "
            "changed by the recovery effect; `cxray loop measure` measures it"
        )
        if rules_note:
            console.print(rules_note)
    _print_next_steps(ctx, has_key=has_key)


def _print_next_steps(ctx: typer.Context, *, has_key: bool) -> None:
    """The demo's last lines: what to run next, on this very store."""
    db = (ctx.obj or {}).get("db")
    cx = "cxray" if db is None else f"cxray --db {_shell_word(str(db))}"
    steps = []
    if not has_key:
        steps.append(("create an API key to log in to the dashboard (shown once)",
                      f"{cx} keys create --role admin"))  # fmt: skip
    steps += [
        ("open the dashboard at http://127.0.0.1:8000/ (the API at /api)", f"{cx} serve"),
        ("every KPI by region and month", f"{cx} scorecard --by region --period month"),
        ("what moves NPS, and where to act first", f"{cx} drivers"),
        ("which KPIs and analyses the data supports", f"{cx} doctor"),
    ]
    console.print("[bold]what to do next[/bold]:")
    for what, cmd in steps:
        console.print(f"  {what}:", markup=False)
        console.print(f"    {cmd}", markup=False, soft_wrap=True)


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _demo_rules(ctx: typer.Context) -> str:
    """Keep the demo's loop rules for `cxray serve` and `cxray loop`: write them to the
    folder's config when it has none (or no [loop] section), else say where they are."""
    import tomllib

    from cxray.config import DEFAULT_CONFIG_TEXT, Settings
    from cxray.loop import DEMO_LOOP_TOML

    cfg = Path((ctx.obj or {}).get("config") or Settings().config)
    if not cfg.exists():
        cfg.write_text(DEFAULT_CONFIG_TEXT + "\n" + DEMO_LOOP_TOML, encoding="utf-8")
        return f"the demo's rules: written to {cfg} (created)"
    text = cfg.read_text(encoding="utf-8")
    if "loop" not in tomllib.loads(text):
        cfg.write_text(text.rstrip("\n") + "\n\n" + DEMO_LOOP_TOML, encoding="utf-8")
        return f"the demo's rules: added to {cfg}"
    return (
        f"{cfg} has a [loop] section of its own, kept as it is; the demo's rules are in "
        "docs/loop.md (cxray.loop.DEMO_LOOP_TOML)"
    )
