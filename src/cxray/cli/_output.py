"""Console output helpers shared by the commands."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["console", "err_console", "fmt_int", "fmt_time", "print_json", "progress_bar"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fmt_int(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def fmt_time(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    return t.strftime("%Y-%m-%d %H:%M") if (t.hour or t.minute) else t.strftime("%Y-%m-%d")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A Rich progress bar fed by ``progress(step, done, total)`` callbacks.

    Shown only on a terminal (stderr), so that piped output stays clean.
    """
    if not enabled or not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=1)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=max(total, 1))

        yield update
