"""Logging in with an API key: the one sequence every interface uses."""

from __future__ import annotations

from cxray.access._keys import ApiKey, ApiKeys
from cxray.access._limiter import LoginLimiter
from cxray.access._sessions import Session, SessionSigner
from cxray.exceptions import AuthenticationError

__all__ = ["log_in"]


def log_in(
    key: str,
    *,
    client: str,
    keys: ApiKeys,
    sessions: SessionSigner,
    limiter: LoginLimiter,
) -> tuple[ApiKey, str, Session]:
    """Verify ``key`` for ``client`` under the failed-login limit; issue a session.

    Returns the key, the signed session token and the session. Raises
    ``RateLimitedError`` while the client is locked out, and ``AuthenticationError``
    (counted as a failure) for an unknown or revoked key.
    """
    limiter.check(client)
    try:
        api_key = keys.verify(key)
    except AuthenticationError:
        limiter.failure(client)
        raise AuthenticationError("login failed: unknown or revoked API key") from None
    limiter.success(client)
    token, session = sessions.issue(api_key)
    return api_key, token, session
