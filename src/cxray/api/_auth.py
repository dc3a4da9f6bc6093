"""Who is calling: a Bearer API key or a session cookie, and what their role allows.

``Authorization: Bearer cx_...`` is checked against the stored hashes on every
request. A browser logs in once (``POST /api/login``) and then sends the
session cookie; the key behind a session is checked too, so revoking a key ends
its sessions at once. A cookie cannot authorize a cross-site write: a request
that changes something and carries the cookie must come from the server's own
origin (its ``Origin`` header, when sent, names this host).

The store's local owner needs no key: ``cxray serve`` writes a token into the
serve file beside the store (mode 0600, see :mod:`cxray.store`), and a request
from a loopback address carrying it in ``X-Cxray-Local-Token`` is an admin
(the CLI and the library on the same machine, working through the server).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from cxray.access import role_allows
from cxray.api._audit import note_principal
from cxray.api._state import ApiContext, context
from cxray.exceptions import AuthenticationError, PermissionDeniedError
from cxray.privacy import Masking
from cxray.store import LOCAL_TOKEN_HEADER

__all__ = ["SESSION_COOKIE", "Principal", "admin", "analyst", "local_owner", "viewer"]

SESSION_COOKIE = "cxray_session"
_SAFE = {"GET", "HEAD", "OPTIONS"}

_bearer = HTTPBearer(auto_error=False, description="an API key from `cxray keys create`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="the session from POST /api/login"
)


@dataclass(frozen=True)
class Principal:
    """The caller: which key (directly or through a session) and its role."""

    key_id: int
    role: str
    via: str  # "key" or "session"
    #: the key's name: who a change is recorded as (a follow-up's history)
    name: str = ""
    #: sees personal data unmasked (the ``pii`` permission: admins, keys created with it,
    #: the store's local owner); everyone else gets rows masked by ``cxray.privacy``
    pii: bool = False

    def masking(self, config: object) -> Masking:
        """What this caller may see of personal data under the program ``config``."""
        return Masking.for_caller(config, pii=self.pii)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (browsers send Origin on writes)
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_owner(request: Request) -> Principal | None:
    """The store's owner on this machine (the serve file's token), None without the header."""
    sent = request.headers.get(LOCAL_TOKEN_HEADER)
    if sent is None:
        return None
    if not _loopback(request):
        raise PermissionDeniedError(f"{LOCAL_TOKEN_HEADER} is accepted only from this machine")
    token = getattr(request.app.state, "local_token", None)
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise AuthenticationError(f"{LOCAL_TOKEN_HEADER} does not match this server's serve file")
    owner = Principal(0, "admin", "local", "local", pii=True)
    note_principal(owner)  # the audit log: the library's imports through the server
    return owner


def authenticate(
    request: Request,
    cx: Annotated[ApiContext, Depends(context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    if (owner := local_owner(request)) is not None:
        return owner
    if bearer is not None:
        key = cx.keys.verify(bearer.credentials)
        return Principal(key.key_id, key.role, "key", key.name, pii=key.pii)
    if request.headers.get("authorization"):
        raise AuthenticationError("the Authorization header must be 'Bearer <API key>'")
    if cookie:
        session = cx.sessions.verify(cookie)
        key = cx.keys.get_active(session.key_id)
        if request.method not in _SAFE and not _same_origin(request):
            raise PermissionDeniedError("a session cookie cannot authorize a cross-site request")
        return Principal(key.key_id, key.role, "session", key.name, pii=key.pii)
    raise AuthenticationError(
        "authentication required: send 'Authorization: Bearer <API key>' or log in "
        "(POST /api/login)"
    )


def _require(needed: str, action: str):
    def check(
        request: Request,
        cx: Annotated[ApiContext, Depends(context)],
        who: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        note_principal(who)  # the request's audit record: who, before whether they may
        if not role_allows(who.role, needed):
            raise PermissionDeniedError(
                f"a {who.role} key may not {action}; it needs the {needed} role or higher"
            )
        if not who.pii:  # no slicing or sorting by what the caller sees masked
            who.masking(cx.ws.config).check_query(request.query_params.multi_items())
        return who

    check.__name__ = f"require_{needed}"
    return check


#: dependencies: the caller, checked to hold at least this role
viewer = _require("viewer", "read")
analyst = _require("analyst", "import data")
admin = _require("admin", "manage API keys")
