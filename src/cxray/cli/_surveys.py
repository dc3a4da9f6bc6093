"""``cxray surveys``: list, show, link and invite. Each command parses, calls, prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
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
    emit,
    fmt_int,
    output_format,
    window_bounds,
)
from cxray.exceptions import CXError, QueryError

if TYPE_CHECKING:
    from cxray.surveys import MailSettings
    from cxray.workspace import Workspace

__all__ = ["surveys_app", "to_toml"]

surveys_app = typer.Typer(
    name="surveys",
    help="Surveys: list them, show a definition, get the public link and embed snippet, "
    "invite customers (and e-mail them). Defining surveys: docs/surveys.md.",
    no_args_is_help=True,
)
app.add_typer(surveys_app, name="surveys")


def _open(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = ctx.find_root().obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"), create=False)


# ---------------------------------------------------------------- list


@surveys_app.command("list")
def list_(
    ctx: typer.Context, format_: FormatOpt = OutputFormat.table, json_: JsonOpt = False
) -> None:
    """Every survey: where it is defined, its touchpoint, languages and invitation counts
    (--format json adds each one's response rate with its interval)."""
    with _open(ctx) as ws:
        sv = ws.surveys
        rows = []
        for name in sv.names():
            survey = sv.get(name)
            rows.append(
                {
                    "name": name,
                    "source": sv.registry.source(name),
                    "touchpoint": survey.touchpoint,
                    "public": survey.public,
                    "languages": list(survey.languages),
                    "questions": len(survey.questions),
                    **sv.invitation_summary(name),
                }
            )
    fmt = output_format(format_, json_)
    if fmt != "table":
        emit(fmt, rows)
        return
    if not rows:
        console.print("no surveys yet: define one in cxray.toml ([surveys.NAME], docs/surveys.md)")
        return
    t = Table(
        title="Surveys (public: anyone with the link may answer)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("name", "source", "touchpoint", "public", "languages"):
        t.add_column(col, no_wrap=col in ("name", "touchpoint"))
    for col in ("invited", "sent", "responded"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            r["name"],
            r["source"],
            r["touchpoint"],
            "yes" if r["public"] else "no",
            ", ".join(r["languages"]),
            fmt_int(r["invited"]),
            fmt_int(r["sent"]),
            fmt_int(r["responded"]),
        )
    console.print(t)


# ---------------------------------------------------------------- show

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    """One TOML value (strings as basic strings, dicts as inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # a JSON string is a TOML basic string, once DEL (which TOML wants escaped) is
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def to_toml(name: str, definition: dict[str, Any]) -> str:
    """A survey definition as the ``[surveys.NAME]`` table that defines it in cxray.toml."""
    lines = [f"[surveys.{_toml_key(name)}]"]
    for key, value in definition.items():
        if key != "questions" and value is not None:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for q in definition.get("questions", ()):
        lines += ["", f"[[surveys.{_toml_key(name)}.questions]]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in q.items() if v is not None]
    return "\n".join(lines) + "\n"


@surveys_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The survey's name.")],
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """A survey's definition, as the TOML that defines it (or --format json|csv)."""
    with _open(ctx) as ws:
        sv = ws.surveys
        survey = sv.get(name)
        source = sv.registry.source(name)
        where = ws.config.path if source == "config" else "the store (defined through the API)"
    fmt = output_format(format_, json_)
    if fmt != "table":
        data = {"name": name, "source": source, "definition": survey.model_dump(mode="json")}
        emit(fmt, data, records=[data])
        return
    print(f"# {name}: defined in {where or 'cxray.toml'}")
    print(to_toml(name, survey.model_dump(mode="json", exclude_defaults=True)), end="")


# ---------------------------------------------------------------- link


@surveys_app.command("link")
def link(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The survey's name.")],
    language: Annotated[
        str | None, typer.Option("--language", help="Open it in this language.")
    ] = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """The survey's public link and the snippet that embeds it in a web page.

    Links start with ``[surveys] base_url`` of cxray.toml (the server's public address).
    """
    with _open(ctx) as ws:
        survey = ws.surveys.get(name)
        base = ws.config.surveys.base_url
    if language is not None and language not in survey.languages:
        raise QueryError(
            f"survey {name!r} is not offered in {language!r} "
            f"(languages: {', '.join(survey.languages)})"
        )
    url = f"{base}/s/{name}" + (f"?lang={language}" if language else "")
    lang_attr = f' data-lang="{language}"' if language else ""
    snippet = f'<script src="{base}/s/{name}/embed.js"{lang_attr} async></script>'
    fmt = output_format(format_, json_)
    if fmt != "table":
        data = {"name": name, "public": survey.public, "link": url, "embed": snippet}
        emit(fmt, data, records=[data])
        return
    if not survey.public:
        console.print(
            f"survey {name!r} is answered by invitation only: the link works with an "
            "invitation's token (`cxray surveys invite`)"
        )
    print(f"link:  {url}")
    print(f"embed: {snippet}")


# ---------------------------------------------------------------- invite


def _count(n: int, noun: str) -> str:
    return f"{fmt_int(n)} {noun}{'' if n == 1 else 's'}"


def _window(
    dates: tuple[str | None, str | None, str | None, str | None], yesterday: bool
) -> tuple[dt.datetime, dt.datetime]:
    """The touchpoint window ``[start, end)`` in UTC: ``--from``/``--to`` whole days (the
    last one included), or yesterday."""
    if yesterday:
        if any(d is not None for d in dates):
            raise QueryError("--yesterday and --from/--to exclude each other")
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - dt.timedelta(days=1), today
    start, end = window_bounds(*dates)
    if start is None or end is None:
        raise QueryError("give the touchpoint window: --from DATE --to DATE, or --yesterday")
    return start.replace(tzinfo=dt.UTC), end.replace(tzinfo=dt.UTC)


def _mail_settings(ws: Workspace, host: str | None, port: int | None) -> MailSettings:
    from cxray.surveys import MailSettings

    settings = MailSettings.from_env(ws.config)
    if host is not None:
        settings = dataclasses.replace(settings, host=host)
    if port is not None:
        settings = dataclasses.replace(settings, port=port)
    return settings


def _reachable(settings: MailSettings) -> None:
    """Refuse to invite anyone when the SMTP server does not answer (nothing is written)."""
    from cxray.surveys import check_reachable

    try:
        check_reachable(settings)
    except CXError as exc:
        raise CXError(
            f"{exc}; nobody was invited (set --smtp-host/--smtp-port or CXRAY_SMTP_HOST/PORT)"
        ) from None


@surveys_app.command("invite")
def invite(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The survey's name.")],
    from_: FromOpt = None,
    to: ToOpt = None,
    yesterday: Annotated[
        bool, typer.Option("--yesterday", help="The window is yesterday (UTC).")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Invite at most this many.")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="The invitations' language.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List whom it would invite; store nothing.")
    ] = False,
    send: Annotated[
        bool, typer.Option("--send", help="E-mail the invitations now (only those with e-mail).")
    ] = False,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", help="SMTP server (default CXRAY_SMTP_HOST).")
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option("--smtp-port", min=1, max=65535, help="SMTP port (default CXRAY_SMTP_PORT)."),
    ] = None,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Invite the customers who met the survey's touchpoint from --from to --to.

    Churned customers, and anyone invited to any survey in the last
    ``[surveys] fatigue_days``, are left out. Prints each invitation's signed
    link, or with --send the e-mails' outcome.
    """
    fmt = output_format(format_, json_)
    window = _window((from_, to, since, until), yesterday)
    if send and dry_run:
        raise QueryError("--send and --dry-run exclude each other")
    if not send and (smtp_host is not None or smtp_port is not None):
        raise QueryError("--smtp-host/--smtp-port go with --send")
    with _open(ctx) as ws:
        sv = ws.surveys
        survey = sv.get(name)
        if language is not None and language not in survey.languages:
            raise QueryError(
                f"survey {name!r} is not offered in {language!r} "
                f"(languages: {', '.join(survey.languages)})"
            )
        settings = _mail_settings(ws, smtp_host, smtp_port) if send else None
        if settings is not None:
            _reachable(settings)
        result = sv.invite(
            name, since=window[0], until=window[1], limit=limit, language=language,
            require_email=send, dry_run=dry_run,
        )  # fmt: skip
        report = None
        if settings is not None and result:
            report = sv.send(result, settings)  # type: ignore[arg-type]
    if dry_run:
        invitees = [dataclasses.asdict(i) for i in result]
        if fmt != "table":
            data = {"dry_run": True, "count": len(invitees), "invitees": invitees}
            emit(fmt, data, records=invitees)
            return
        console.print(f"dry run, nothing stored: would invite {_count(len(invitees), 'customer')}")
        for i in invitees:
            print("\t".join([i["customer_id"], i["email"] or "(no e-mail)", i["context"] or ""]))
        return
    issued = [i.to_dict() for i in result]  # type: ignore[union-attr]
    out: dict[str, Any] = {"count": len(issued), "invitations": issued}
    if send:
        skipped = report.skipped if report else []
        out["sent"] = len(report.sent) if report else 0
        out["not_sent"] = [{"invitation_id": i, "why": why} for i, why in skipped]
    if fmt != "table":
        emit(fmt, out, records=issued)
        return
    if not issued:
        console.print(f"nobody to invite to {name!r} in that window (after the fatigue rule)")
        return
    console.print(f"invited {_count(len(issued), 'customer')} to {name!r}")
    if send:
        console.print(f"e-mails sent: {fmt_int(out['sent'])}, not sent: {len(out['not_sent'])}")
        for row in out["not_sent"]:
            print(f"not sent\t{row['invitation_id']}\t{row['why']}")
        return
    for i in issued:
        print("\t".join([i["customer_id"], i["email"] or "(no e-mail)", i["link"]]))
