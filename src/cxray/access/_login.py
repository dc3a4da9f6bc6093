"""Logging in with an API key: the one sequence every interface uses."""

from __future__ import annotations

from cxray.access._audit import note_call
from cxray.access._keys import _SHOWN, ApiKey, ApiKeys
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
    """Verify ``key`` for ``client``; issue a session. Failed guesses are throttled.

    The key is checked first (by its hash, so the time taken does not depend on
    how much of it is right): a valid, unrevoked key always logs in, however many
    guesses came from the same address or named the same key prefix, and its
    success clears no one's failures. Only a wrong key meets the limiter: it
    raises ``RateLimitedError`` (429, with ``retry_after``) once the address or the
    key prefix has used up its failures, else ``AuthenticationError`` (401),
    counted against both.

    The request's audit record (:func:`cxray.access.note_call`) learns the outcome:
    ``login`` with the key's id, name and role, or ``login_failed`` (never the key).
    """
    try:
        api_key = keys.verify(key)
    except AuthenticationError:
        note_call(action="login_failed", status="failed")
        prefix = "key:" + (key or "")[:_SHOWN]
        limiter.check(client)
        limiter.check(prefix)
        limiter.failure(client)
        limiter.failure(prefix)
        raise AuthenticationError("login failed: unknown or revoked API key") from None
    token, session = sessions.issue(api_key)
    note_call(
        action="login", actor=api_key.name, key_id=api_key.key_id, role=api_key.role, status="ok"
    )
    return api_key, token, session
