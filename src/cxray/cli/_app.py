"""The ``cxray`` Typer app and its one error boundary.

User mistakes (every :class:`cxray.exceptions.CXError`) print one red line and
exit 1; usage errors exit 2; an unexpected failure prints one line saying so
(set ``CXRAY_DEBUG=1`` for the traceback) and exits 70.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import rich.markup
import typer

from cxray.cli._output import err_console
from cxray.exceptions import CXError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="cxray",
    help="Customer experience analytics: collect, unify, measure, explain, act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="CXRAY_DB", help="Store: a DuckDB file or an Ibis URL."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="CXRAY_CONFIG", help="Program config (cxray.toml)."),
    ] = None,
) -> None:
    ctx.obj = {"db": db, "config": config}


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; never shows a traceback for a user mistake.

    When the store is a DuckDB file a running ``cxray serve`` holds, the command
    runs in that server instead (``cxray.cli._remote``), with the same output.
    """
    from cxray.cli._remote import forward_if_served

    args = list(sys.argv[1:] if argv is None else argv)
    code = forward_if_served(args)
    sys.exit(run(args) if code is None else code)


def run(argv: list[str]) -> int:
    """Run one command in this process and return its exit code (what ``main`` exits with)."""
    _register_commands()

    try:
        rv = app(args=argv, prog_name="cxray", standalone_mode=False)
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


def _register_commands() -> None:
    """Import every command module of this package (``_*.py``); each registers on ``app``."""
    import importlib
    import pkgutil

    import cxray.cli as package

    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name.startswith("_") and mod.name not in ("_app", "_output"):
            importlib.import_module(f"cxray.cli.{mod.name}")


def _error(message: str) -> None:
    first, *rest = message.splitlines()
    # the message is text, not markup: "install cxray[text]" must show its brackets
    err_console.print(
        f"[bold red]error:[/bold red] {rich.markup.escape(first)}", highlight=False, markup=True
    )
    for line in rest:
        err_console.print(line, highlight=False, markup=False)
