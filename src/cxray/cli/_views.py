"""``cxray views``: list, show, save and delete saved views; set role defaults.

The CLI acts as the store's owner on this machine: it sees every view, private ones
included (the dashboard and API show each key its own and the shared ones). While
``cxray serve`` holds the store the command runs in the server (``cxray.cli._remote``).
"""

from __future__ import annotations

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
    fmt_time,
    output_format,
)

if TYPE_CHECKING:
    from cxray.workspace import Workspace

views_app = typer.Typer(
    help="Saved views: a dashboard page with its filters, shared by link (/v/SLUG).",
    no_args_is_help=True,
)
app.add_typer(views_app, name="views")


def _workspace(ctx: typer.Context, *, read_only: bool = False) -> Workspace:
    from cxray.workspace import Workspace

    obj = (ctx.find_root().obj or {}) if ctx else {}
    return Workspace.open(obj.get("db"), obj.get("config"), read_only=read_only)


def _summary(query: dict[str, Any]) -> str:
    parts = []
    for key, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            parts.append(f"{key}={v}")
    return " ".join(parts) or "-"


def _records(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "slug": v["slug"],
            "name": v["name"],
            "page": v["page"],
            "query": _summary(v["query"]),
            "visibility": v["visibility"],
            "owner": v["owner"]["name"],
            "owner_key_id": v["owner"]["key_id"],
            "link": v["link"],
            "updated_at": v["updated_at"],
        }
        for v in views
    ]


@views_app.command("list")
def list_(
    ctx: typer.Context, format_: FormatOpt = OutputFormat.table, json_: JsonOpt = False
) -> None:
    """Every saved view (private ones too) and each role's default."""
    fmt = output_format(format_, json_)
    with _workspace(ctx, read_only=True) as ws:
        views = [v.to_dict() for v in ws.views.list()]
        defaults = ws.views.defaults()
    if fmt != "table":
        emit(fmt, {"views": views, "defaults": defaults}, records=lambda: _records(views))
        return
    if not views:
        console.print("no saved views (save one: cxray views save NAME --page overview ...)")
    else:
        t = Table(title_justify="left", pad_edge=False)
        for col in ("slug", "name", "page", "query", "visibility", "owner", "updated"):
            t.add_column(col, overflow="fold")
        for v in views:
            t.add_row(
                v["slug"], v["name"], v["page"], _summary(v["query"]), v["visibility"],
                f"{v['owner']['name']} #{v['owner']['key_id']}", _when(v),
            )  # fmt: skip
        console.print(t)
    for role, d in defaults.items():
        where = "set over the API" if d["source"] == "store" else "cxray.toml"
        missing = "" if d["exists"] else " [red](no shared view has this slug)[/red]"
        console.print(f"default for {role}: {d['slug']} ({where}){missing}")


def _when(view: dict[str, Any]) -> str:
    import datetime as dt

    return fmt_time(dt.datetime.fromisoformat(view["updated_at"].rstrip("Z")))


@views_app.command("show")
def show(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The view's slug (cxray views list).")],
    format_: FormatOpt = OutputFormat.table,
    json_: JsonOpt = False,
) -> None:
    """One saved view: its page, query, owner and link."""
    fmt = output_format(format_, json_)
    with _workspace(ctx, read_only=True) as ws:
        view = ws.views.get(slug)
    data = view.to_dict()
    if fmt != "table":
        emit(fmt, data, records=lambda: _records([data]))
        return
    console.print(f"{view.name} ({view.visibility}, by {view.owner_name} #{view.owner_key_id})")
    console.print(f"page: {view.page}")
    console.print(f"query: {_summary(view.query)}")
    console.print(f"link: {view.link}")


@views_app.command("save")
def save(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The view's name; its slug makes the link.")],
    page: Annotated[
        str,
        typer.Option(
            help="overview, trends, segments, rows, text, drivers, journeys, churn_value, "
            "inbox or alerts."
        ),
    ] = "overview",
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="ATTRIBUTE:VALUE, e.g. region:West (repeatable)."),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Dates ending on the latest data: 7d, 30d, 90d, quarter.")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    period: Annotated[str | None, typer.Option(help="day, week, month or quarter.")] = None,
    metric: Annotated[str | None, typer.Option(help="The KPI (trends, segments).")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="Any other query entry KEY=VALUE, e.g. by=plan (repeatable)."),
    ] = None,
    shared: Annotated[
        bool, typer.Option("--shared", help="Every key may open it (default: private).")
    ] = False,
) -> None:
    """Save a view as the store's owner (`key #0`); prints its link."""
    from cxray.exceptions import QueryError

    query: dict[str, Any] = {}
    for key, value in (("preset", preset), ("from", from_), ("to", to), ("period", period),
                       ("metric", metric)):  # fmt: skip
        if value is not None:
            query[key] = value
    if filter_:
        query["filter"] = list(filter_)
    for raw in param or []:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise QueryError(f"--param {raw!r}: write KEY=VALUE, e.g. by=plan")
        if key in query and key in ("filter", "has", "sort"):
            query[key] = [*query[key], value]
        elif key in ("filter", "has", "sort"):
            query[key] = [value]
        else:
            query[key] = value
    with _workspace(ctx) as ws:
        view = ws.views.save(name, page, query, visibility="shared" if shared else "private")
    console.print(f"saved view {view.slug!r} ({view.visibility}): {view.link}")


@views_app.command("delete")
def delete(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The view's slug (cxray views list).")],
) -> None:
    """Delete a saved view (and the role defaults set to it over the API)."""
    with _workspace(ctx) as ws:
        view = ws.views.delete(slug)
    console.print(f"deleted saved view {view.slug!r} ({view.name})")


@views_app.command("default")
def default(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="viewer, analyst or admin.")],
    slug: Annotated[
        str | None, typer.Argument(help="A shared view's slug; leave out to clear.")
    ] = None,
) -> None:
    """Set (or clear) the view a role's overview opens with; wins over [views] in cxray.toml."""
    with _workspace(ctx) as ws:
        found = ws.views.set_defaults({role: slug})
    d = found.get(role)
    console.print(f"default for {role}: {d['slug'] + ' (' + d['source'] + ')' if d else 'none'}")
