"""Interfaces: the dashboard, server-rendered pages over :class:`cxray.Workspace`.

Overview, trends, segments, drill-down to rows and a customer's timeline, as
HTML from Jinja2 templates with Plotly charts (its JavaScript served from the
installed ``plotly`` package, so the dashboard works offline). The web never
imports the REST API: an app that serves both (``cxray.app``) hands the web the
server's state with :func:`mount`.

>>> from cxray.web import mount
>>> mount(app, state)                     # doctest: +SKIP

``docs/dashboard.md`` describes the pages.
"""

from cxray.web._context import SESSION_COOKIE, ServerState, warm_overview
from cxray.web._pages import LoginRequired, create_web_router, mount
from cxray.web._surveys import create_survey_router, survey_environment
from cxray.web._text import stop_warm_text, text_version, warm_text

__all__ = [
    "SESSION_COOKIE",
    "LoginRequired",
    "ServerState",
    "create_survey_router",
    "create_web_router",
    "mount",
    "stop_warm_text",
    "survey_environment",
    "text_version",
    "warm_overview",
    "warm_text",
]
