"""The app factory: one workspace per app, the routers under ``/api``, one error boundary."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from cxray import __version__
from cxray.api import _errors
from cxray.api._audit import AuditTrail
from cxray.api._limits import BodyLimit
from cxray.api._routes import (
    audit,
    benchmarks,
    churn,
    churn_risk,
    clv,
    customers,
    doctor,
    drivers,
    imports,
    journeys,
    keys,
    kpis,
    local,
    local_data,
    loop,
    maturity,
    money,
    privacy,
    reports,
    scorecard,
    session,
    surveys,
    system,
    tables,
    text,
    text_faq,
    views,
)
from cxray.api._settings import ApiSettings
from cxray.api._state import ApiContext
from cxray.workspace import Workspace

__all__ = ["create_app"]

DESCRIPTION = """\
The cxray REST API: the store's status, the rows behind every figure, each customer's
timeline, imports and exports. Authenticate with `Authorization: Bearer <API key>`
(`cxray keys create --role admin|analyst|viewer`) or a session cookie from `POST /api/login`.
Every error is one JSON envelope: `{"error": {"code", "message", "details"}}`.
"""


def create_app(
    db: str | Path | None = None,
    config: str | Path | None = None,
    *,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """The API over the store at ``db`` (default ``CXRAY_DB``) with config ``config``.

    The workspace is opened here, once, and closed when the app shuts down.
    """
    settings = settings or ApiSettings()
    imports.sweep_stale_uploads()  # folders of uploads a killed server left behind
    cx = ApiContext.open(Workspace.open(db, config), settings)

    runner = None
    if any(r.enabled for r in cx.ws.config.loop.rules) and settings.run_loop:
        from cxray.loop import LoopRunner

        cx.ws.loop.check()  # a bad rule stops the server at start, with its location
        runner = LoopRunner(cx.ws.loop)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            cx.close()

    app = FastAPI(
        title="cxray",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.cx = cx
    app.state.loop_runner = runner
    _errors.install(app)
    for module in (
        system,
        session,
        keys,
        audit,
        tables,
        customers,
        privacy,
        imports,
        scorecard,
        kpis,
        benchmarks,
        doctor,
        surveys,
        text,
        text_faq,
        reports,
        drivers,
        journeys,
        loop,
        churn,
        churn_risk,
        clv,
        money,
        maturity,
        views,
        local,
        local_data,
    ):
        app.include_router(module.router, prefix="/api")
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AuditTrail, audit=lambda: cx.ws.audit)  # who did what (docs/audit.md)
    return app
