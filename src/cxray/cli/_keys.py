"""``cxray keys``: create, list and revoke API keys for ``cxray serve``."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import (
    FormatOpt,
    JsonOpt,
    OutputFormat,
    console,
    emit,
    fmt_time,
    output_format,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

keys_app = typer.Typer(
    help="API keys for `cxray serve`: create (shown once), list, revoke.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


class _Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    viewer = "viewer"


def _workspace(ctx: typer.Context) -> Workspace:
    from cxray.workspace import Workspace

    obj = (ctx.find_root().obj or {}) if ctx else {}
    return Workspace.open(obj.get("db"), obj.get("config"))


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[
        _Role,
        typer.Option(
            help="viewer reads; analyst also imports; admin also manages keys.",
            case_sensitive=False,
        ),
    ],
    name: Annotated[str | None, typer.Option(help="A label: who or what uses the key.")] = None,
    pii: Annotated[
        bool,
        typer.Option(
            "--pii",
            help="The key sees personal data unmasked (customer e-mails and names, free text "
            "as written); admin keys always do. docs/privacy.md.",
        ),
    ] = False,
) -> None:
    """Create a key; it is printed alone on the last line, and never shown again."""
    from cxray.access import ApiKeys

    with _workspace(ctx) as ws:
        info, key = ApiKeys(ws.store).create(
            role.value, name=name, permissions=("pii",) if pii else ()
        )
    sees = "personal data unmasked" if info.pii else "personal data masked"
    console.print(f"created API key #{info.key_id} ({info.role}, {info.name!r}; {sees})")
    console.print("store it now: cxray keeps only its hash and cannot show it again")
    print(key, flush=True)  # plain print: no wrapping, no markup, nothing after it


@keys_app.command("list")
def list_(
    ctx: typer.Context,
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """Every key: id, name, role, pii (sees personal data), the first characters, times."""
    from cxray.access import ApiKeys

    with _workspace(ctx) as ws:
        keys = ApiKeys(ws.store).list()
    emit(output_format(format_, json_), [k.to_dict() for k in keys], lambda: _print_keys(keys))


def _print_keys(keys: list) -> None:  # type: ignore[type-arg]
    if not keys:
        console.print("no API keys yet: `cxray keys create --role admin`")
        return
    t = Table(title="API keys", title_justify="left")
    for col in ("id", "name", "role", "pii", "key starts", "created (UTC)", "revoked (UTC)"):
        t.add_column(col, justify="right" if col == "id" else "left")
    for k in keys:
        revoked = fmt_time(k.revoked_at) if k.revoked_at else ""
        pii = "yes" if k.pii else "no"
        t.add_row(
            str(k.key_id), k.name, k.role, pii, k.prefix + "…", fmt_time(k.created_at), revoked
        )
    console.print(t)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The id from `cxray keys list`.")],
) -> None:
    """Revoke a key; it and every session logged in with it stop working at once."""
    from cxray.access import ApiKeys

    with _workspace(ctx) as ws:
        info = ApiKeys(ws.store).revoke(key_id)
    console.print(f"revoked API key #{info.key_id} ({info.role}, {info.name!r})")
