"""Security headers on every response of ``cxray serve`` (installed by :mod:`cxray.app`).

A plain ASGI middleware (no request body is read, nothing is buffered): it only adds
headers as a response starts, so survey collection keeps its latency.

- every response: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``
  (dashboard URLs carry filters and customer ids in their query strings: no other site is
  told them), ``Cross-Origin-Opener-Policy: same-origin``;
- everything but the public survey pages: ``X-Frame-Options: DENY`` and a
  ``Content-Security-Policy`` with ``frame-ancestors 'none'``; no inline script is allowed
  (``script-src 'self'``: the charts read their figures from JSON blocks, see
  :mod:`cxray.web._charts`); inline styles are (Plotly sets styles at run time);
- the survey pages (``/s/...``, meant to be embedded in customers' sites): the same policy
  with ``frame-ancestors`` from ``CXRAY_FRAME_ANCESTORS`` (default ``*``), no X-Frame-Options;
- the API's own documentation pages (``/api/docs``, ``/api/redoc``: FastAPI's pages load
  Swagger UI / ReDoc from a CDN with an inline script) get only ``frame-ancestors 'none'``;
- ``Strict-Transport-Security: max-age=31536000`` when ``hsts`` is on (``cxray serve
  --hsts`` or ``CXRAY_HSTS=1``): only behind HTTPS.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = [
    "FRAME_ANCESTORS_ENV",
    "HSTS_ENV",
    "SecurityHeaders",
    "content_security_policy",
    "hsts_from_env",
]

#: ``CXRAY_HSTS=1`` sends Strict-Transport-Security (``cxray serve --hsts`` sets it)
HSTS_ENV = "CXRAY_HSTS"
#: who may frame the survey pages: a space-separated CSP source list (default ``*``)
FRAME_ANCESTORS_ENV = "CXRAY_FRAME_ANCESTORS"

HSTS_VALUE = "max-age=31536000"
SURVEY_PREFIX = "/s/"
_API_DOCS = ("/api/docs", "/api/redoc")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The policy of the dashboard (and, with another ``frame_ancestors``, survey pages)."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors}"
    )


def hsts_from_env() -> bool:
    return os.environ.get(HSTS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _frame_ancestors_from_env() -> str:
    value = " ".join(os.environ.get(FRAME_ANCESTORS_ENV, "").split())
    if not value:
        return "*"
    if any(c in value for c in ";,\r\n\0"):
        from cxray.exceptions import ConfigError

        raise ConfigError(
            f"{FRAME_ANCESTORS_ENV}={value!r}: a space-separated list of origins "
            "(e.g. 'https://www.example.com https://shop.example.com'), without ';' or ','"
        )
    return value


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(
        self, app: ASGIApp, *, hsts: bool | None = None, frame_ancestors: str | None = None
    ) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts_from_env() if hsts is None else hsts:
            common.append((b"strict-transport-security", HSTS_VALUE.encode()))
        ancestors = _frame_ancestors_from_env() if frame_ancestors is None else frame_ancestors
        self._page = [
            *common,
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", content_security_policy().encode()),
        ]
        self._survey = [
            *common,
            (b"content-security-policy", content_security_policy(ancestors).encode()),
        ]
        self._docs = [
            *common,
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", b"frame-ancestors 'none'"),
        ]

    def _headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith(SURVEY_PREFIX):
            return self._survey
        if path.startswith(_API_DOCS):
            return self._docs
        return self._page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers_for(scope.get("path", ""))
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # ours replace a route's own (the survey pages say only "frame-ancestors *")
                headers = [h for h in message.get("headers", []) if h[0].lower() not in names]
                headers.extend(extra)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
