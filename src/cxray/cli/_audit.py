"""``cxray audit``: the audit log; and the hook that records the CLI's own changes in it.

Every command that writes or reads out the store's data wholesale (import, demo,
keys, secrets, erase, survey and loop changes, model fits, init) is recorded
once, when it ends, as ``local:<os user>`` with interface ``cli``
(:func:`record_command`, called by :func:`cxray.cli._app.run`). A command run
through a ``cxray serve`` that holds the store is recorded there, once, by the
same hook.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import FormatOpt, JsonOpt, OutputFormat, console, emit, output_format

if TYPE_CHECKING:
    from cxray.workspace import Workspace

__all__ = ["audited_action", "record_command"]

#: command (and sub-command) -> the action it is recorded as; others are not recorded
_COMMANDS: dict[str, str] = {
    "import": "import",
    "demo": "import",
    "init": "config",
    "erase": "erase",
    "keys create": "keys",
    "keys revoke": "keys",
    "secrets rotate": "secrets",
    "secrets drop-old": "secrets",
    "loop secret": "secrets",
    "surveys invite": "survey_change",
    "surveys create": "survey_change",
    "surveys delete": "survey_change",
    "loop run": "loop_change",
    "loop deliver": "loop_change",
    "loop assign": "loop_change",
    "loop contact": "loop_change",
    "loop note": "loop_change",
    "loop close": "loop_change",
    "text enrich": "model",
    "text train": "model",
    "churn model": "model",
    "clv fit": "model",
    "privacy retention": "erase",
    "privacy compact": "config",
    "maturity": "config",
    "report": "export",
    "report delete": "config",
    "views save": "config",
    "views delete": "config",
    "views default": "config",
}
#: options that make a command a read (``erase --list``, ``maturity --history``, a
#: maturity answers template, an assessment not kept): not recorded
_READS = ("--list", "--history", "--template", "--no-save")
_ROOT_VALUES = ("--db", "--config")


def _words(argv: list[str]) -> list[str]:
    """The words of ``argv`` that are not options (nor the root options' values)."""
    out, args = [], iter(argv)
    for arg in args:
        if arg == "--":
            break
        if arg in _ROOT_VALUES:
            next(args, None)
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def audited_action(argv: list[str]) -> tuple[str, str] | None:
    """``(command, action)`` if ``argv`` runs a command the audit log records."""
    words = _words(argv)
    if any(arg in _READS for arg in argv):
        return None
    for n in (2, 1):
        name = " ".join(words[:n])
        if len(words) >= n and name in _COMMANDS:
            return name, _COMMANDS[name]
    return None


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def record_command(argv: list[str], code: int, root: dict[str, Any] | None) -> None:
    """Record a finished command in its store's audit log (written at once); silent when
    the command is not audited or its store cannot be opened (it never existed)."""
    found = audited_action(argv)
    if found is None or root is None:
        return
    command, action = found
    import contextlib

    from cxray.access import local_actor
    from cxray.workspace import Workspace

    words = _words(argv)
    target = ""
    if command == "demo":
        target = "demo"
    elif command == "import" and len(words) > 1:
        target = words[1]  # the table
    elif command == "erase":
        target = _option(argv, "--customer") or ""  # named by its digest once the store is open
    elif command == "report delete" and len(words) > 2:
        target = f"report:{words[2]}"
    elif command.startswith("surveys ") and len(words) > 2:
        target = f"survey:{words[2]}"
    status = "ok" if code == 0 else "error" if code == 70 else "failed"
    detail: dict[str, Any] = {"command": command, "exit": code}
    if "--dry-run" in argv:
        detail["dry_run"] = True  # counted what would change; changed nothing
    # no store to record in (the command failed before making one): nothing to record
    with (
        contextlib.suppress(Exception),
        Workspace.open(root.get("db"), root.get("config"), create=False) as ws,
    ):
        if command == "erase" and target:
            target = ws.audit.customer_ref(target)
        ws.audit.record(
            action,
            sync=True,
            actor=local_actor(),
            role="owner",
            interface="cli",
            target=target,
            status=status,
            detail=detail,
        )


def _workspace(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = (ctx.find_root().obj or {}) if ctx else {}
    return Workspace.open(obj.get("db"), obj.get("config"), create=False)


@app.command()
def audit(
    ctx: typer.Context,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="From this UTC day or time (ISO 8601: 2026-12-01 or ...T09:30Z)."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to", help="To this UTC day, inclusive (2026-12-03), or before a time (...T18:00Z)."
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(help="A key's id (3), a key's name or local:USER, as recorded."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(help="One kind: read, export, import, keys, secrets, erase, login, ..."),
    ] = None,
    customer: Annotated[
        str | None, typer.Option(help="A customer id: the events that named this customer.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 50,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The audit log, newest first: who read, exported, imported, changed or erased what."""
    with _workspace(ctx) as ws:
        events = ws.audit.events(
            since=start, until=_end(end), actor=actor, action=action, customer=customer, limit=limit
        )
    records = [e.to_dict() for e in events]
    emit(output_format(format_, json_), records, lambda: _print(records))


def _end(end: str | None) -> str | None:
    """``--to``: a day means through its end (the day after, exclusive); a time, before it."""
    if end is None or "T" in end or " " in end.strip():
        return end
    try:
        day = dt.date.fromisoformat(end.strip())
    except ValueError:
        return end  # the audit log says what it cannot read
    return (day + dt.timedelta(days=1)).isoformat()


def _print(records: list[dict[str, Any]]) -> None:
    if not records:
        console.print("no audit events match")
        return
    t = Table(title="audit log (newest first)", title_justify="left")
    t.add_column("time (UTC)", no_wrap=True)
    for col in ("actor", "role", "address", "via", "action"):
        t.add_column(col)
    t.add_column("target", overflow="fold")
    t.add_column("status")
    for r in records:
        actor = r["actor"] + (f" #{r['key_id']}" if r["key_id"] is not None else "")
        t.add_row(
            r["at"][:19].replace("T", " "),
            actor,
            r["role"],
            r["address"],
            r["interface"],
            r["action"],
            r["target"],
            r["status"],
        )
    console.print(t)
