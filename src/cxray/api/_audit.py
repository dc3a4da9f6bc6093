"""The audit trail of ``cxray serve``: one ASGI middleware records each request that matters.

It wraps the whole app (API and dashboard). Around each request it opens an
audit record (:func:`cxray.access.audit_call`); the places that identify the
caller fill it in: the API's role check (:func:`note_principal`), the
dashboard's session check, the login sequence (``login``/``login_failed``).
When the response has started, the request's method and route give the action
(:func:`classify`) and the event is queued on the workspace's audit log, never
waited for.

Not recorded: anonymous requests (but failed logins), public survey pages and
submissions (they are the collection itself), static files, the health check
and the API's own docs, and the local CLI's forwarded commands (the command
line records those itself, once). Only the route, never the query string, is
kept; a customer id in a path is kept as its keyed digest.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from cxray.access import audit_call, local_actor, note_call

__all__ = ["AuditTrail", "classify", "note_principal"]

#: paths never recorded (prefixes)
_SKIP = (
    "/static/",
    "/s/",
    "/api/health",
    "/api/openapi.json",
    "/api/docs",
    "/api/_local/cli",
    "/api/_local/sql",
    "/api/_local/schema",
    "/favicon",
)
_SUBMISSION = re.compile(r"^/api/surveys/[^/]+/responses/?$")
_CUSTOMER = re.compile(r"^(/api)?/customers/([^/]+)(/.*)?$")
#: (method or "*", path pattern, action), first match wins; everything else a caller
#: reads is "read", and any other write is classified by its area below
_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/(api/)?login/?$"), "login"),
    ("POST", re.compile(r"^/(api/)?logout/?$"), "logout"),
    ("DELETE", re.compile(r"^/api/customers/[^/]+/?$"), "erase"),
    ("*", re.compile(r"^/api/(_local/)?imports(/|$)"), "import"),
    ("*", re.compile(r"/export(/|$)"), "export"),
    ("*", re.compile(r"^/api/_local/models"), "model"),
    ("POST", re.compile(r"^/api/text/score/?$"), "read"),
    ("GET", re.compile(r"^/api/keys"), "read"),
    ("*", re.compile(r"^/api/keys"), "keys"),
    ("*", re.compile(r"^/api/secrets"), "secrets"),
    ("*", re.compile(r"^/api/(config|privacy)"), "config"),
    ("GET", re.compile(r".*"), "read"),
    ("*", re.compile(r"^/api/surveys"), "survey_change"),
    ("*", re.compile(r"^/(api/followups|api/alerts|api/loop|inbox)"), "loop_change"),
    ("*", re.compile(r"^/api/(text|churn|clv)/"), "model"),
]


def classify(method: str, path: str) -> str | None:
    """The audit action of ``method path`` (``None``: not recorded)."""
    if method in ("HEAD", "OPTIONS") or path.startswith(_SKIP):
        return None
    if method == "POST" and _SUBMISSION.match(path):
        return None
    for m, pattern, action in _RULES:
        if (m == "*" or m == method) and pattern.search(path):
            return action
    return "config"  # a write of something else: the server's configuration


def target_of(path: str, matched: bool, ref: Callable[[str], str]) -> str:
    """What an event names: the route's path (a customer as its keyed digest, ``ref``:
    the audit log's :meth:`~cxray.access.AuditLog.customer_ref`); ``""`` when no route
    matched (an unknown path is not stored: it could hold anything)."""
    if not matched:
        return ""
    found = _CUSTOMER.match(path)
    if found:
        from urllib.parse import unquote

        return f"{found.group(1) or ''}/customers/{ref(unquote(found.group(2)))}" + (
            found.group(3) or ""
        )
    return path


def note_principal(who: Any) -> None:
    """Tell this request's audit record who the caller is (an API ``Principal``)."""
    if who.via == "local":
        note_call(actor=local_actor(), key_id=None, role="owner", via="local")
    else:
        note_call(actor=who.name, key_id=who.key_id, role=who.role, via=who.via)


def _dry_run(query: bytes) -> bool:
    """Whether a query string asks for a dry run (the one parameter an event keeps)."""
    values = parse_qs(query.decode("latin-1")).get("dry_run", [])
    return any(v.lower() in ("1", "true", "yes", "on") for v in values)


def _status(code: int) -> str:
    if code < 400:
        return "ok"
    if code in (401, 403, 429):
        return "denied"
    return "error" if code >= 500 else "failed"


class AuditTrail:
    """ASGI middleware: record each authenticated request (and each login) in the audit log.

    ``audit``: a callable giving the audit log (``lambda: ws.audit``).
    """

    def __init__(self, app: Any, *, audit: Any):
        self.app = app
        self.audit = audit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        action = classify(method, path)
        if action is None:
            await self.app(scope, receive, send)
            return
        code = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
            await send(message)

        with audit_call() as call:
            try:
                await self.app(scope, receive, sending)
            finally:
                self._record(scope, method, path, action, code, dict(call))

    def _record(
        self, scope: dict[str, Any], method: str, path: str, action: str, code: int, call: dict
    ) -> None:
        if "actor" not in call and "action" not in call:
            return  # anonymous: a page view or a refused request without credentials
        action = call.get("action", action)
        if action == "login" and code >= 400:
            action = "login_failed"
        client = scope.get("client")
        status = _status(code)
        if action == "login_failed" and code != 429:
            status = "failed"
        detail: dict[str, Any] = {"method": method, "http": code}
        if action == "erase" and _dry_run(scope.get("query_string", b"")):
            detail["dry_run"] = True  # counted what would change; changed nothing
        if call.get("via"):
            detail["via"] = call["via"]
        with contextlib.suppress(Exception):  # recording never fails the request it records
            log = self.audit()
            log.record(
                action,
                actor=call.get("actor") or "anonymous",
                key_id=call.get("key_id") or None,
                role=call.get("role") or "",
                address=client[0] if client else "",
                interface="api" if path.startswith("/api/") else "web",
                target=target_of(path, "route" in scope or "endpoint" in scope, log.customer_ref),
                status=status,
                detail=detail,
            )
