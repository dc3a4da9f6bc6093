"""Layer 8: the one app ``cxray serve`` runs, the REST API and the dashboard together.

The interfaces never import one another, so they are composed here, one level
up: the API's app (``/api``) with the dashboard mounted at ``/`` (and the public
survey pages at ``/s/``) over the same
server state (one workspace, its write lock, keys, sessions, login limiter).
One login serves both: the session cookie is the same.

>>> from cxray.app import create_app
>>> app = create_app("cxray.duckdb")      # doctest: +SKIP
"""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI

from cxray import api, web

__all__ = ["create_app"]


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
    # Everything loaded so far (Ibis, DuckDB, pandas, the app) lives as long as the server:
    # moved out of the collector's reach, a full collection no longer scans it, which took
    # 100 ms pauses out of request latencies (benchmarks/survey_load.py: p99 halved).
    gc.collect()
    gc.freeze()
    return app
