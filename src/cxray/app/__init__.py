"""Layer 8: the one app ``cxray serve`` runs, the REST API and the dashboard together.

The interfaces never import one another, so they are composed here, one level
up: the API's app (``/api``) with the dashboard mounted at ``/`` (and the public
survey pages at ``/s/``) over the same
server state (one workspace, its write lock, keys, sessions, login limiter).
One login serves both: the session cookie is the same.

Run by ``cxray serve`` (which passes the address it listens on in
``CXRAY_SERVE_URL``), the app also announces its DuckDB store in the serve file
beside it for as long as it runs (:func:`cxray.store.announce`), shares its
workspace with the process (:meth:`cxray.Workspace.serving`) and runs the CLI's
commands for the store's local owner (``POST /api/_local/cli``).

>>> from cxray.app import create_app
>>> app = create_app("cxray.duckdb")      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
import importlib.resources
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Response

from cxray import api, web
from cxray.api._headers import ASGIApp, SecurityHeaders
from cxray.store import announce, serve_file, withdraw

#: set by ``cxray serve`` to the URL it listens on: the app then announces its store
SERVE_URL_ENV = "CXRAY_SERVE_URL"

__all__ = ["create_app"]

#: ``CXRAY_WARM=0`` turns the background computation of the overview and the Text page off
WARM_ENV = "CXRAY_WARM"
#: how often the warmer looks for a new import (seconds)
WARM_EVERY = 2.0
#: after an import, the overview waits for this long without a survey commit ...
WARM_QUIET = 2.0
#: ... but no longer than this
WARM_PATIENCE = 120.0
#: the interpreter's switch interval while the warmer runs (seconds; Python's default is
#: 0.005): a request that gives up the interpreter lock for a query or a write waits up to
#: this long to get it back from a background computation, once per query
SWITCH_INTERVAL = 0.001

_log = logging.getLogger("cxray.app")


def create_app(
    db: str | Path | None = None,
    config: str | Path | None = None,
    *,
    settings: api.ApiSettings | None = None,
) -> FastAPI:
    """The API at ``/api`` and the dashboard at ``/`` over the store at ``db``."""
    app = api.create_app(db, config, settings=settings)
    web.mount(app, app.state.cx, cookie=web.SESSION_COOKIE)
    app.include_router(web.create_survey_router(app.state.cx))  # public survey pages at /s/
    _serve_chart_script(app)
    # security headers on every response (CSP, frame-ancestors but on /s/, nosniff, HSTS option)
    _headers_outermost(app)
    url = os.environ.get(SERVE_URL_ENV)
    if url:
        _announce_while_serving(app, url)
        if os.environ.get(WARM_ENV, "1") != "0":
            _warm_while_serving(app)
    if app.state.cx.ws.config.privacy.retain_days is not None:
        _retain_while_serving(app)  # raw text older than [privacy] retain_days is purged
    if any(r.enabled for r in app.state.cx.ws.config.reports.values()):
        _report_while_serving(app)  # [reports.NAME] digests made, archived and e-mailed
    # Everything loaded so far (Ibis, DuckDB, pandas, the app) lives as long as the server:
    # moved out of the collector's reach, a full collection no longer scans it, which took
    # 100 ms pauses out of request latencies (benchmarks/survey_load.py: p99 halved).
    gc.collect()
    gc.freeze()
    return app


def _headers_outermost(app: FastAPI) -> None:
    """Put :class:`SecurityHeaders` around the whole middleware stack, outside Starlette's
    ``ServerErrorMiddleware``: a middleware added with ``add_middleware`` runs inside it, so
    the 500 it answers for an unhandled exception (the API's JSON envelope) would leave
    without the headers. Built lazily, as Starlette builds its stack on the first request."""
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]


_CHART_JS = importlib.resources.files("cxray.web") / "static" / "cxray-charts.js"


def _serve_chart_script(app: FastAPI) -> None:
    """``/static/cxray-charts.js``: draws the dashboard's figures from their JSON blocks, so
    that no page needs an inline script (``script-src 'self'``)."""

    @app.get("/static/cxray-charts.js", include_in_schema=False)
    def chart_js() -> Response:
        return Response(
            _CHART_JS.read_text(encoding="utf-8"),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )


def _announce_while_serving(app: FastAPI, url: str) -> None:
    """Around the app's own start and stop: the serve file, the shared workspace, the CLI."""
    ws = app.state.cx.ws
    try:
        serve_file(ws.store.url)
    except ValueError:
        return  # PostgreSQL and other servers: every process connects on its own
    from cxray.cli._remote import run_forwarded

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            with ws.serving():
                served = announce(ws.store.url, url)
                app.state.local_token = served.token
                app.state.local_cli = run_forwarded
                try:
                    yield
                finally:
                    app.state.local_cli = None
                    withdraw(ws.store.url, served)

    app.router.lifespan_context = lifespan


def _retain_while_serving(app: FastAPI) -> None:
    """While the app runs: old raw text purged at start and every 6 hours
    (:class:`cxray.privacy.RetentionTimer`, ``docs/privacy.md``)."""
    from cxray.privacy._retention import RetentionTimer

    ws = app.state.cx.ws
    timer = app.state.retention = RetentionTimer(lambda: ws.privacy)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            timer.start()
            try:
                yield
            finally:
                timer.stop()

    app.router.lifespan_context = lifespan


def _report_while_serving(app: FastAPI) -> None:
    """While the app runs: the ``[reports.NAME]`` schedules looked at on start and every
    minute (:class:`cxray.reports.ReportScheduler`, ``docs/reports.md``)."""
    from cxray.reports import ReportScheduler

    ws = app.state.cx.ws
    scheduler = app.state.reports = ReportScheduler(lambda: ws.reports)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            scheduler.start()
            try:
                yield
            finally:
                scheduler.stop()

    app.router.lifespan_context = lifespan


def _warm_while_serving(app: FastAPI) -> None:
    """While ``cxray serve`` runs: compute the overview's numbers in the background when
    the server starts and again after every import (:func:`cxray.web.warm_overview`), so
    that the first look after a start or an import does not wait for them. After an
    import it first waits for a pause of ``WARM_QUIET`` seconds in survey collection (at
    most ``WARM_PATIENCE``): answering respondents comes before a page nobody has asked
    for. Survey answers alone do not trigger it: the page computes anew on its next view,
    as without a warmer."""
    state = app.state.cx
    inner = app.router.lifespan_context

    def quiet(stop: threading.Event) -> None:
        # Survey collection comes first: on a small machine the overview's computation
        # takes the CPU that answering submissions needs, so it waits for a pause in
        # the survey commits (at most WARM_PATIENCE seconds; a page computes on demand).
        waited = 0.0
        commits = state.ws.collected_commits()
        while waited < WARM_PATIENCE and not stop.wait(WARM_QUIET):
            waited += WARM_QUIET
            now = state.ws.collected_commits()
            if now == commits:
                return
            commits = now

    def warm(stop: threading.Event) -> None:
        seen: int | None = None
        texts: tuple | None = None  # the Text page's reports: warmed when the texts change
        while not stop.is_set():
            try:
                imported = state.version()[0]
                if imported != seen:
                    if seen is not None:
                        quiet(stop)
                    web.warm_overview(state)
                    seen = imported
            except Exception:  # never take the server down: the page computes on demand
                _log.warning("could not compute the overview in the background", exc_info=True)
                seen = None
                stop.wait(30.0)
            try:
                now = web.text_version(state)  # an import's enrichment, `cxray text enrich`
                if now != texts:
                    web.warm_text(state)
                    texts = now
            except Exception:
                _log.warning("could not compute the Text page in the background", exc_info=True)
                stop.wait(30.0)
            stop.wait(WARM_EVERY)

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            stop = threading.Event()
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
            thread = threading.Thread(target=warm, args=(stop,), name="cxray-warm", daemon=True)
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join(timeout=10.0)
                web.stop_warm_text()

    app.router.lifespan_context = lifespan
