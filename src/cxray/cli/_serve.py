"""``cxray serve``: the REST API and the dashboard over the store.

The CLI never imports the API or the web (interfaces never import one another):
uvicorn is handed the import string of the app factory (``cxray.app``, which
composes both), and the store and config
paths travel through ``CXRAY_DB`` / ``CXRAY_CONFIG``.

The socket is bound here, before the app starts, and its address handed to the
app in ``CXRAY_SERVE_URL``: once it listens, the app announces a DuckDB store in
the serve file beside it, so that the CLI and the library of the same user work
through this server instead of meeting a lock (``cxray.cli._remote``). A second
``cxray serve`` over the same store says where the first one is.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from typing import Annotated

import typer

from cxray.cli._app import app
from cxray.cli._output import console, err_console
from cxray.exceptions import CXError, StoreLockedError

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
    hsts: Annotated[
        bool,
        typer.Option(
            "--hsts",
            help="Send Strict-Transport-Security (max-age=31536000): only behind HTTPS "
            "(also CXRAY_HSTS=1).",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated addresses of the TLS reverse proxy whose X-Forwarded-For "
            "and X-Forwarded-Proto are trusted ('*' trusts all; default: uvicorn's, "
            "127.0.0.1 or FORWARDED_ALLOW_IPS).",
        ),
    ] = None,
) -> None:
    """Serve the dashboard at http://HOST:PORT/ and the REST API at /api (docs: /api/docs)."""
    import uvicorn

    # imported here, not at module level: `cxray --help` and other commands stay fast
    from cxray.access import ApiKeys
    from cxray.config import Settings
    from cxray.store._served import find_server, withdraw
    from cxray.workspace import Workspace

    proxy: dict[str, object] = {}
    if forwarded_allow_ips is not None:
        ips = ",".join(ip.strip() for ip in forwarded_allow_ips.split(",") if ip.strip())
        if not ips:
            raise CXError("--forwarded-allow-ips: give the proxy's addresses, e.g. 127.0.0.1")
        # the proxy's client address and scheme become the request's: login throttling and
        # the local-owner check then see the real client, not the proxy's loopback address
        proxy = {"proxy_headers": True, "forwarded_allow_ips": ips}
    obj = ctx.obj or {}
    db = obj.get("db") if obj.get("db") is not None else Settings().db
    running = find_server(db)
    if running is not None:
        raise StoreLockedError(f"{db} is already served at {running.url} (pid {running.pid})")
    # Open once here so that a locked or broken store is one red line, not a traceback.
    with Workspace.open(obj.get("db"), obj.get("config")) as ws:
        store = ws.store.url
        active = [k for k in ApiKeys(ws.store).list() if k.active]
    sock = _listen(host, port)
    port = sock.getsockname()[1]  # --port 0: the one the system chose
    if obj.get("db") is not None:
        os.environ["CXRAY_DB"] = str(obj["db"])
    if obj.get("config") is not None:
        os.environ["CXRAY_CONFIG"] = str(obj["config"])
    if hsts:
        os.environ["CXRAY_HSTS"] = "1"  # read by the app's security headers
    local = _local_url(host, port)
    if local is not None:
        os.environ["CXRAY_SERVE_URL"] = local  # the app announces the store at this address
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
    config = uvicorn.Config(APP_FACTORY, factory=True, log_level=log_level, **proxy)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        # the app withdraws its serve file as it stops; if it could not, do it here
        with contextlib.suppress(ValueError):
            found = find_server(db)
            if found is not None and found.pid == os.getpid():
                withdraw(db, found)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (bound before the app starts), or one red line."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise CXError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _local_url(host: str, port: int) -> str | None:
    """Where a process on this machine reaches the server from a loopback address: None when
    it listens only on another address (the local token is accepted from loopback only)."""
    if host in ("", "0.0.0.0", "localhost"):
        return f"http://127.0.0.1:{port}"
    if host in ("::", "::1"):
        return f"http://[::1]:{port}"
    return f"http://{host}:{port}" if _is_loopback(host) else None
