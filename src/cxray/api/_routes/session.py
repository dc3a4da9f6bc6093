"""Log in with a key (a session cookie for browsers), log out, and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from cxray.access import log_in
from cxray.api._auth import SESSION_COOKIE, Principal, _same_origin, viewer
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._state import ApiContext, context
from cxray.exceptions import PermissionDeniedError

router = APIRouter(tags=["session"])


class Login(BaseModel):
    key: str = Field(description="an API key from `cxray keys create`", max_length=200)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    summary="Exchange an API key for a session cookie (public; failures are rate-limited)",
    responses={
        401: {"model": ErrorEnvelope, "description": "unknown or revoked key"},
        429: {"model": ErrorEnvelope, "description": "too many failed logins; see Retry-After"},
    },
)
def login(
    body: Login,
    request: Request,
    response: Response,
    cx: Annotated[ApiContext, Depends(context)],
) -> dict[str, Any]:
    key, token, session = log_in(
        body.key, client=_client(request), keys=cx.keys, sessions=cx.sessions, limiter=cx.limiter
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=cx.sessions.ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"key_id": key.key_id, "role": key.role, "expires_at": session.expires_at}


@router.post(
    "/logout",
    summary="End the browser's session (the key stays valid); refused from another site",
    responses={403: {"model": ErrorEnvelope, "description": "a cross-site request (Origin)"}},
)
def logout(request: Request, response: Response) -> dict[str, Any]:
    # the same rule as every cookie-authorized write: another site's page may not log a
    # user out (a browser names the page's origin on a POST)
    if not _same_origin(request):
        raise PermissionDeniedError(
            "a logout must come from this site's own pages (the request's Origin "
            f"{request.headers.get('origin', '')[:100]!r} is another site)"
        )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"logged_out": True}


@router.get("/me", summary="The caller's key and role", responses=ERROR_RESPONSES)
def me(who: Annotated[Principal, Depends(viewer)]) -> dict[str, Any]:
    return {"key_id": who.key_id, "role": who.role, "via": who.via, "pii": who.pii}
