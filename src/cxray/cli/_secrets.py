"""``cxray secrets``: the signing keys kept outside the store (list, rotate, drop old)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cxray.cli._app import app
from cxray.cli._output import FormatOpt, OutputFormat, console, emit, output_format

secrets_app = typer.Typer(
    help="Signing keys (invitations, webhooks, forms, erasures, audit) kept outside the store: "
    "list, rotate, drop old. docs/security.md.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")

#: the secrets a user may name (cxray.store._secrets.SECRETS, without importing the store)
_NAMES = ("invitations", "webhooks", "forms", "erasures", "audit")

NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The secret: invitations, webhooks, forms, erasures or audit."
    ),
]


def _check(name: str) -> str:
    if name not in _NAMES:
        raise typer.BadParameter(f"{name!r} is not a secret: use {', '.join(_NAMES)}")
    return name


def _open(ctx: typer.Context):
    from cxray.workspace import Workspace

    obj = ctx.find_root().obj or {}
    return Workspace.open(obj.get("db"), obj.get("config"))


def _records(rings: list[Any]) -> list[dict[str, Any]]:
    """One record per key: the secret, its id, when it was made, its use, where it is kept
    (never the key itself)."""
    return [
        {
            "secret": ring.name,
            "id": k.id,
            "created": k.created,
            "use": "signs and verifies" if i == len(ring.keys) - 1 else "verifies",
            "source": ring.source,
        }
        for ring in rings
        for i, k in enumerate(ring.keys)
    ]


def _show(ring) -> None:
    t = Table(title=f"{ring.name} keys ({ring.source})")
    for col in ("id", "created", "use"):
        t.add_column(col)
    for r in _records([ring]):
        t.add_row(r["id"], r["created"] or "-", r["use"])
    console.print(t)


def _show_all(records: list[dict[str, Any]]) -> None:
    if not records:
        console.print("no signing secrets yet: each is made when it is first used")
        return
    t = Table(title="signing secrets (ids and dates, never the keys)")
    for col in ("secret", "id", "created", "use", "source"):
        t.add_column(col)
    for r in records:
        created = (r["created"] or "-")[:19].replace("T", " ")
        t.add_row(r["secret"], r["id"], created, r["use"], r["source"])
    console.print(t)


@secrets_app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="Only this secret (invitations, webhooks, forms, erasures, audit; made if it "
            "does not exist yet). Without it: every secret the store holds.",
        ),
    ] = None,
    format_: FormatOpt = OutputFormat.table,
) -> None:
    """The signing secrets: every key's id, date and use, never the keys themselves."""
    fmt = output_format(format_)
    if name is not None:
        _check(name)
    with _open(ctx) as ws:
        rings = [ws.store.keyring(name)] if name is not None else ws.store.keyrings()
    records = _records(rings)
    if name is not None and fmt == "table":
        _show(rings[0])
        return
    emit(fmt, records, lambda: _show_all(records))


@secrets_app.command("rotate")
def rotate(
    ctx: typer.Context,
    name: NameArg = "invitations",
    drop_old: Annotated[
        bool,
        typer.Option(
            "--drop-old",
            help="Also remove the older keys: what they signed (unexpired invitations) is "
            "refused from now on; erasure records and audit events digested with them are no "
            "longer found by customer id.",
        ),
    ] = False,
) -> None:
    """Add a new key that signs from now on; older keys keep verifying unless --drop-old."""
    with _open(ctx) as ws:
        ring = ws.store.rotate_secret(_check(name), drop_old=drop_old)
        _show(ring)
        console.print(f"{name}: key [bold]{ring.current.id}[/bold] signs from now on")


@secrets_app.command("drop-old")
def drop_old(ctx: typer.Context, name: NameArg = "invitations") -> None:
    """Keep only the newest key: tokens signed with the older ones are refused (and erasure
    records or audit events digested with them are no longer found by customer id)."""
    with _open(ctx) as ws:
        _show(ws.store.drop_old_secrets(_check(name)))
