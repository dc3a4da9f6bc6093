"""Console output helpers shared by the commands: one output grammar, one date convention.

Every command that prints data takes ``--format table|json|csv`` (:data:`FormatOpt`;
``--json`` stays as a hidden, deprecated alias, :data:`JsonOpt`) and prints through
:func:`emit`: ``table`` is Rich for people, ``json`` the same objects the REST API returns,
``csv`` one header line and one line per record on stdout.

Every command that takes a time window takes ``--from DATE --to DATE`` (:data:`FromOpt`,
:data:`ToOpt`): whole days, both inclusive (``--from 2024-01-01 --to 2024-01-31`` is
January); a date-time (``2024-01-31T12:00``) is taken as that instant. ``--since`` and
``--until`` are hidden aliases with the same meaning (:func:`date_window`).

This module stays light: Rich, Typer and the standard library only, so that importing the
command modules costs no Ibis, pandas or PyArrow.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cxray.exceptions import QueryError

__all__ = [
    "FormatOpt",
    "FromOpt",
    "JsonOpt",
    "OutputFormat",
    "SinceOpt",
    "ToOpt",
    "UntilOpt",
    "console",
    "date_window",
    "emit",
    "err_console",
    "fmt_int",
    "fmt_time",
    "output_format",
    "parse_date",
    "print_csv",
    "print_json",
    "progress_bar",
    "window_bounds",
]

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


# ---------------------------------------------------------------- --format


class OutputFormat(StrEnum):
    """What a command prints: a Rich table for people, JSON or CSV for programs."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        case_sensitive=False,
        metavar="table|json|csv",
        help="Output: table (for people), json (the API's objects) or csv (a header, then "
        "one line per record).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", hidden=True, help="Deprecated: use --format json.")
]


def output_format(format_: OutputFormat | str, json_: bool = False) -> str:
    """The format asked for, the deprecated ``--json`` counting as ``--format json``."""
    return "json" if json_ else str(getattr(format_, "value", format_))


def emit(
    format_: str,
    data: Any,
    table: Callable[[], None] | None = None,
    *,
    records: Iterable[dict[str, Any]] | Callable[[], Iterable[dict[str, Any]]] | None = None,
) -> None:
    """Print ``data`` as JSON, ``records`` (default: ``data``, a list of dicts) as CSV, or
    call ``table`` to draw it for people."""
    if format_ == "json":
        print_json(data)
    elif format_ == "csv":
        rows = records if records is not None else data
        print_csv(rows() if callable(rows) else rows)
    elif table is not None:
        table()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted columns: ``{"share": {"estimate": 1}}`` → ``share.estimate``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def print_csv(records: Any, columns: list[str] | None = None) -> None:
    """Records (dicts, or a data frame) as CSV on stdout: a header, then one line each.

    Nested dicts become dotted columns (``share.ci_low``), lists JSON, missing values
    empty cells."""
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # a data frame
        columns = columns or [str(c) for c in records.columns]
        records = records.to_dict("records")
    rows = [_flat(dict(r)) for r in records]
    if columns is None:
        columns = []
        for r in rows:
            columns.extend(k for k in r if k not in columns)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])


# ---------------------------------------------------------------- --from / --to

_DATE_HELP = "YYYY-MM-DD or YYYY-MM-DDTHH:MM"


def parse_date(value: str | None, option: str) -> dt.date | dt.datetime | None:
    """A date (``2024-01-31``) or date-time (``2024-01-31T12:00``; with an offset, taken to
    UTC) given to ``option``; a :class:`~cxray.exceptions.QueryError` naming the option
    otherwise (one red line, exit 1, like every other mistake)."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        if "T" in text or " " in text:
            when = dt.datetime.fromisoformat(text)
            return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{option} {value!r}: not a date (use {_DATE_HELP})") from None


def _date_option(option: str, help: str, *, hidden: bool = False) -> Any:
    def check(ctx: typer.Context, param: Any, value: str | None) -> str | None:
        parse_date(value, option)  # fail early, naming the option
        return value

    return typer.Option(
        option, help=help, metavar="DATE", callback=check, show_default=False, hidden=hidden
    )


FromOpt = Annotated[str | None, _date_option("--from", f"First day, inclusive ({_DATE_HELP}).")]
ToOpt = Annotated[str | None, _date_option("--to", f"Last day, inclusive ({_DATE_HELP}).")]
SinceOpt = Annotated[str | None, _date_option("--since", "Same as --from.", hidden=True)]
UntilOpt = Annotated[str | None, _date_option("--until", "Same as --to.", hidden=True)]


def date_window(
    from_: str | None, to: str | None, since: str | None = None, until: str | None = None
) -> tuple[str | None, str | None]:
    """``--from``/``--to`` (or their aliases ``--since``/``--until``) as the library takes
    them: ISO strings, a date meaning the whole day (the last day included), a date-time
    that instant. Giving both spellings of one end is a usage error."""
    if from_ is not None and since is not None:
        raise QueryError("give --from or --since (the same option), not both")
    if to is not None and until is not None:
        raise QueryError("give --to or --until (the same option), not both")
    start_opt, end_opt = (
        ("--since", since) if since is not None else ("--from", from_),
        (("--until", until) if until is not None else ("--to", to)),
    )
    start = parse_date(start_opt[1], start_opt[0])
    end = parse_date(end_opt[1], end_opt[0])
    if start is not None and end is not None and _begin(start) > _begin(end):
        raise QueryError(
            f"the window is empty: {end_opt[0]} {end_opt[1]} is before {start_opt[0]} "
            f"{start_opt[1]}"
        )
    return (
        None if start is None else start.isoformat(),
        None if end is None else end.isoformat(),
    )


def _begin(value: dt.date | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def window_bounds(
    from_: str | None, to: str | None, since: str | None = None, until: str | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The same window as half-open date-times ``[start, end)``: a last day's end is the
    next midnight."""
    start, end = date_window(from_, to, since, until)
    s = None if start is None else _begin(parse_date(start, "--from"))  # type: ignore[arg-type]
    e = None
    if end is not None:
        e = _begin(parse_date(end, "--to"))  # type: ignore[arg-type]
        if "T" not in end:
            e += dt.timedelta(days=1)
    return s, e
