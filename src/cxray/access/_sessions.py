"""Login sessions: a signed, expiring token made from a verified API key.

A token is ``<payload>.<signature>``: the payload is base64url JSON holding the
key's id, its role and an expiry time; the signature is HMAC-SHA256 of the
payload under the server's secret. The token holds no key, so a leaked cookie
cannot be turned into a key; and because the key id is in it, revoking a key
ends every session made from it (the server checks the key on each request).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cxray.access._keys import ApiKey
from cxray.exceptions import AuthenticationError

__all__ = ["Session", "SessionSigner"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """A verified session: which key it came from, its role and when it ends (Unix time)."""

    key_id: int
    role: str
    expires_at: int


class SessionSigner:
    """Issues and checks session tokens.

    ``secret``: the signing secret (at least 32 bytes); a random one when
    omitted, so sessions end when the process ends. ``ttl``: seconds a session
    lasts (default 12 hours).
    """

    def __init__(
        self,
        secret: bytes | str | None = None,
        *,
        ttl: int = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ):
        if secret is None:
            secret = secrets.token_bytes(32)
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if len(secret) < 32:
            raise ValueError("a session secret must be at least 32 bytes")
        if ttl <= 0:
            raise ValueError("a session must last at least a second")
        self._secret = secret
        self.ttl = ttl
        self._clock = clock

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest()
        return _b64(mac)

    def issue(self, key: ApiKey) -> tuple[str, Session]:
        """A token for ``key`` (already verified), and the session it stands for."""
        session = Session(key.key_id, key.role, int(self._clock()) + self.ttl)
        body = {"k": session.key_id, "r": session.role, "e": session.expires_at}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}", session

    def verify(self, token: str) -> Session:
        """The session a token stands for; AuthenticationError if forged or expired."""
        payload, sep, signature = (token or "").partition(".")
        if not sep or len(token) > 1000:
            raise AuthenticationError("not a cxray session; log in again")
        expected = self._sign(payload).encode("ascii")
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
            raise AuthenticationError("invalid session; log in again")
        try:
            body = json.loads(_unb64(payload))
            session = Session(int(body["k"]), str(body["r"]), int(body["e"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError("invalid session; log in again") from exc
        if session.expires_at <= self._clock():
            raise AuthenticationError("session expired; log in again")
        return session
