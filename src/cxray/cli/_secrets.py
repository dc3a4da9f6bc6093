"""``cxray secrets``: the signing keys kept outside the store (list, rotate, drop old)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import console

secrets_app = typer.Typer(
    help="Signing keys (invitations, webhooks, forms) kept outside the store: list, rotate, drop "
    "old. docs/security.md.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", help="The secret: invitations, webhooks or forms.")
]


def _check(name: str) -> str:
    if name not in ("invitations", "webhooks", "forms"):
        raise typer.BadParameter(f"{name!r} is not a secret: use invitations, webhooks or forms")
    return name


def _open(ctx: typer.Context):
    from cxray.workspace import Workspace

    obj = ctx.find_root().obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"))


def _show(ring) -> None:
    t = Table(title=f"{ring.name} keys ({ring.source})")
    for col in ("id", "created", "use"):
        t.add_column(col)
    for i, k in enumerate(ring.keys):
        use = "signs and verifies" if i == len(ring.keys) - 1 else "verifies"
        t.add_row(k.id, k.created or "-", use)
    console.print(t)


@secrets_app.command("list")
def list_(ctx: typer.Context, name: NameArg = "invitations") -> None:
    """The keys of a secret (ids and dates, never the keys themselves)."""
    with _open(ctx) as ws:
        _show(ws.store.keyring(_check(name)))


@secrets_app.command("rotate")
def rotate(
    ctx: typer.Context,
    name: NameArg = "invitations",
    drop_old: Annotated[
        bool,
        typer.Option(
            "--drop-old",
            help="Also remove the older keys: what they signed (unexpired invitations) is "
            "refused from now on.",
        ),
    ] = False,
) -> None:
    """Add a new key that signs from now on; older keys keep verifying unless --drop-old."""
    with _open(ctx) as ws:
        ring = ws.store.rotate_secret(_check(name), drop_old=drop_old)
        _show(ring)
        console.print(f"{name} are signed with key [bold]{ring.current.id}[/bold] now")


@secrets_app.command("drop-old")
def drop_old(ctx: typer.Context, name: NameArg = "invitations") -> None:
    """Keep only the newest key: tokens signed with the older ones are refused."""
    with _open(ctx) as ws:
        _show(ws.store.drop_old_secrets(_check(name)))
