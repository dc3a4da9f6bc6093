"""``cxray serve``: the REST API and the dashboard over the store.

The CLI never imports the API or the web (interfaces never import one another):
uvicorn is handed the import string of the app factory (``cxray.app``, which
composes both), and the store and config
paths travel through ``CXRAY_DB`` / ``CXRAY_CONFIG``.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from cxray.access import ApiKeys
from cxray.cli._app import app
from cxray.cli._output import console, err_console
from cxray.workspace import Workspace

APP_FACTORY = "cxray.app:create_app"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the dashboard at http://HOST:PORT/ and the REST API at /api (docs: /api/docs)."""
    import uvicorn

    obj = ctx.obj or {}
    # Open once here so that a locked or broken store is one red line, not a traceback.
    with Workspace.open(obj.get("db"), obj.get("config")) as ws:
        store = ws.store.url
        active = [k for k in ApiKeys(ws.store).list() if k.active]
    if obj.get("db") is not None:
        os.environ["CXRAY_DB"] = str(obj["db"])
    if obj.get("config") is not None:
        os.environ["CXRAY_CONFIG"] = str(obj["config"])
    console.print(
        f"serving {store}: dashboard at http://{host}:{port}/, API at /api (docs: /api/docs)"
    )
    if not active:
        err_console.print(
            "[yellow]no API keys yet:[/yellow] every call but /api/health will answer 401; "
            "create one with `cxray keys create --role admin`"
        )
    if not _is_loopback(host):
        err_console.print(
            f"[yellow]listening on {host}:[/yellow] other machines can reach this server; "
            "put it behind a TLS reverse proxy so keys and sessions travel encrypted"
        )
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level=log_level)
