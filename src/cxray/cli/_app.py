"""The ``cxray`` Typer app and its one error boundary.

User mistakes (every :class:`cxray.exceptions.CXError`) print one red line and
exit 1; usage errors exit 2; an unexpected failure prints one line saying so
(set ``CXRAY_DEBUG=1`` for the traceback) and exits 70.

Help is plain text (``rich_markup_mode=None``): what a help string says is what is
shown, square brackets included (``pip install 'cxray[text]'``).

Start-up: each command module (``cli/_*.py``) registers its commands on :data:`app`
when imported, and imports Ibis, pandas and the workspace only inside its commands.
A run of one command imports only the module(s) that define it (found by reading
the modules' source, :func:`command_index`), and ``cxray --help`` lists the commands
from their source without importing any of them (:class:`_Root`).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import sys
import threading
import types
import typing
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import rich.markup
import typer
import typer.core
import typer.main

from cxray.cli._output import err_console
from cxray.exceptions import CXError

__all__ = ["app", "command_index", "main", "run"]


class _Root(typer.core.TyperGroup):
    """The root command: commands are imported when they are run or asked about, and
    listed in ``cxray --help`` from the modules' source (:func:`command_help`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        # the source's order (commands, then groups), whichever modules are imported yet
        listed = list(command_help())
        return listed + [n for n in self.commands if n not in listed]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is None and cmd_name in command_index():
            _register_commands([cmd_name])
            cmd = typer.main.get_command(app).commands.get(cmd_name)  # type: ignore[attr-defined]
            if cmd is not None:
                self.commands[cmd_name] = readable(cmd)
        return cmd

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        listed = {**command_help(), **{n: c for n, c in self.commands.items()}}
        rows = []
        for name in self.list_commands(ctx):
            cmd = listed.get(name)
            if isinstance(cmd, str):  # not imported: a stand-in that carries its help
                cmd = typer.core.TyperCommand(name=name, help=cmd)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


app = typer.Typer(
    name="cxray",
    cls=_Root,
    help="Customer experience analytics: collect, unify, measure, explain, act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="CXRAY_DB",
            metavar="PATH|URL",
            help="Store: a DuckDB file or an Ibis URL (default: ./cxray.duckdb).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="CXRAY_CONFIG",
            metavar="PATH",
            help="Program config (default: ./cxray.toml).",
        ),
    ] = None,
) -> None:
    ctx.obj = _ROOT.obj = {"db": db, "config": config}


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; never shows a traceback for a user mistake.

    When the store is a DuckDB file a running ``cxray serve`` holds, the command
    runs in that server instead (``cxray.cli._remote``), with the same output.
    """
    from cxray.cli._remote import forward_if_served

    args = list(sys.argv[1:] if argv is None else argv)
    code = forward_if_served(args)
    sys.exit(run(args) if code is None else code)


#: this thread's root options (``--db``, ``--config``) of the command that runs
_ROOT = threading.local()


def run(argv: list[str]) -> int:
    """Run one command in this process and return its exit code (what ``main`` exits with).

    A command that changes the store or reads its data out wholesale is recorded in the
    store's audit log when it ends (``cxray.cli._audit``), whatever its outcome.
    """
    _ROOT.obj = None
    code = _run(argv)
    if _ROOT.obj is not None:
        from cxray.cli._audit import audited_action, record_command

        if audited_action(argv) is not None:
            record_command(argv, code, _ROOT.obj)
    return code


def _run(argv: list[str]) -> int:
    _register_commands(argv)

    try:
        command = readable(typer.main.get_command(app))
        rv = command.main(args=argv, prog_name="cxray", standalone_mode=False)
    except typer.Abort:
        err_console.print("[red]aborted[/red]")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        exc.show()  # type: ignore[attr-defined]
        return getattr(exc, "exit_code", 2)
    except CXError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        return 130
    except Exception as exc:
        if os.environ.get("CXRAY_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (set CXRAY_DEBUG=1 for details)")
        return 70
    return rv if isinstance(rv, int) else 0


class _Argument(typer.core.TyperArgument):
    """An argument whose help shows its metavar (``FILE``), not a type (``<list[Path]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


#: what a value of each type is called in help (``--seed INTEGER``, not ``<int>``)
_METAVARS = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


def readable(command: Any) -> Any:
    """``command`` and its sub-commands with help for people: every option that takes a
    value shows a metavar (its choices, or ``TEXT``, ``INTEGER``, ``NUMBER``, ``PATH``)
    instead of Typer's type names, and arguments show their name alone."""
    for param in command.params:
        if isinstance(param, typer.core.TyperArgument) and type(param) is not _Argument:
            param.__class__ = _Argument
        elif (
            isinstance(param, typer.core.TyperOption)
            and param.metavar is None
            and not (param.is_flag or param.count)
        ):
            param.metavar = _metavar(param)
    for sub in getattr(command, "commands", {}).values():
        readable(sub)
    return command


def _metavar(param: Any) -> str:
    desc = param.type_descriptor
    if desc.is_choice and desc.choices:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    annotation = desc.annotation
    while typing.get_origin(annotation) in (list, tuple, types.UnionType, typing.Union):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if args else str
    if isinstance(annotation, type) and issubclass(annotation, os.PathLike):
        return "PATH"
    return _METAVARS.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


#: modules of this package that register no command
_HELPERS = frozenset({"_app", "_output", "_remote", "_status"})
#: options of the root command that take a value
_ROOT_VALUES = ("--db", "--config")


def _register_commands(argv: list[str] | None = None) -> None:
    """Import the command modules (``_*.py``) of this package; each registers on ``app``.

    Without ``argv``, all of them; with it, only those that define the command it runs
    (none for ``cxray --help``: the root lists commands from their source, and imports
    one when it is asked for)."""
    if argv is None:
        modules: Iterable[str] = _command_modules()
    else:
        name = _command_name(argv)
        modules = command_index().get(name, ()) if name else ()
    for module in modules:
        importlib.import_module(f"cxray.cli.{module}")


def _command_name(argv: list[str]) -> str | None:
    """The command ``argv`` runs (its first word after the root options), or None."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return None
        if arg in _ROOT_VALUES:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _command_modules() -> list[str]:
    import pkgutil

    import cxray.cli as package

    return sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if m.name.startswith("_") and m.name not in _HELPERS
    )


_EXPLICIT = re.compile(r"@app\.command\(\s*(?:name\s*=\s*)?[\"']([\w-]+)[\"']")
_IMPLICIT = re.compile(r"@app\.command\(\s*\)\s*\n\s*def\s+(\w+)")
_GROUP = re.compile(r"app\.add_typer\(\s*\w+\s*,\s*name\s*=\s*[\"']([\w-]+)[\"']")


@cache
def command_index() -> dict[str, tuple[str, ...]]:
    """Each top-level command (or group) name → the modules to import to register it: the
    module that defines it, and those that import from it (a group's other commands).

    Read from the modules' source without importing them; a name it does not know makes
    :func:`_register_commands` import every module."""
    here = Path(__file__).parent
    sources = {m: (here / f"{m}.py").read_text(encoding="utf-8") for m in _command_modules()}
    users: dict[str, set[str]] = {m: set() for m in sources}
    for m, text in sources.items():
        for other in sources:
            if other != m and re.search(rf"\bcxray\.cli\.{other}\b", text):
                users[other].add(m)
    index: dict[str, tuple[str, ...]] = {}
    for m, text in sources.items():
        names = _EXPLICIT.findall(text) + _GROUP.findall(text)
        names += [f.lower().replace("_", "-") for f in _IMPLICIT.findall(text)]
        needed, todo = {m}, [m]
        while todo:
            for user in users[todo.pop()] - needed:
                needed.add(user)
                todo.append(user)
        for name in names:
            index[name] = (*index.get(name, ()), *sorted(needed))
    return index


@cache
def command_help() -> dict[str, str]:
    """Each top-level command (or group) name → its help, read from the modules' source as
    Typer would find it, in the order ``cxray --help`` lists them (commands, then groups)."""
    here = Path(__file__).parent
    commands: dict[str, str] = {}
    groups: dict[str, str] = {}
    for m in _command_modules():
        tree = ast.parse((here / f"{m}.py").read_text(encoding="utf-8"))
        typers: dict[str, str] = {}  # variable -> help= of its typer.Typer(...)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) in ("typer.Typer", "Typer")
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        typers[target.id] = _keyword(node.value, "help") or ""
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and _dotted(deco.func) == "app.command":
                        name = (
                            deco.args[0].value
                            if deco.args and isinstance(deco.args[0], ast.Constant)
                            else _keyword(deco, "name") or node.name.lower().replace("_", "-")
                        )
                        commands[name] = _keyword(deco, "help") or ast.get_docstring(node) or ""
            elif (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func) == "app.add_typer"
            ):
                call = node.value
                name = _keyword(call, "name")
                var = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else ""
                if name:
                    groups[name] = _keyword(call, "help") or typers.get(var, "")
    return {**commands, **groups}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _keyword(call: ast.Call, name: str) -> str | None:
    for kw in call.keywords:
        if (
            kw.arg == name
            and isinstance(kw.value, ast.Constant)
            and isinstance(kw.value.value, str)
        ):
            return kw.value.value
    return None


def _error(message: str) -> None:
    first, *rest = message.splitlines()
    # the message is text, not markup: "install cxray[text]" must show its brackets
    err_console.print(
        f"[bold red]error:[/bold red] {rich.markup.escape(first)}", highlight=False, markup=True
    )
    for line in rest:
        err_console.print(line, highlight=False, markup=False)
