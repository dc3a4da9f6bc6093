"""Signed invitation tokens: who was invited to which survey, until when.

A token is ``v1.PAYLOAD.SIGNATURE``: the payload is URL-safe base64 of a small
JSON object (invitation id, survey, customer, expiry as Unix seconds, the
language invited in, the id of the signing key) and the
signature is HMAC-SHA256 of ``v1.PAYLOAD`` under that key of the store's invitation
key ring (:meth:`cxray.store.Store.keyring`; kept outside the store, docs/security.md).
A token can be checked without a database read; whether it was already used is the
store's business (one response per invitation). Signatures are compared in constant time.

Form tokens (:class:`FormTokenSigner`) are the optional proof that an anonymous answer
came from a survey page this server showed: ``f1.PAYLOAD.SIGNATURE``, the payload naming
the survey, the issue time and the key id, signed with the store's ``forms`` key ring. They
expire after :data:`FORM_TOKEN_TTL` (two hours); a token can be replayed within that time,
which the per-address limits (``[surveys.limits]``) bound. Where ``require_form_token`` is
on (a survey's own setting, else ``[surveys.limits]``'s), an anonymous submission without a
valid one is refused (403).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cxray.exceptions import CXError, ExpiredTokenError, InvalidTokenError

__all__ = [
    "FORM_TOKEN_FIELD",
    "FORM_TOKEN_HEADER",
    "FORM_TOKEN_TTL",
    "FormTokenSigner",
    "Invitation",
    "InvitationSigner",
    "check_form_token",
    "form_signer_for",
    "form_token_required",
]

_VERSION = "v1"
MAX_TOKEN_LENGTH = 1024
_FORM_VERSION = "f1"
#: how long a form token stays valid after the page showed it
FORM_TOKEN_TTL = dt.timedelta(hours=2)
#: a token issued this far in the future is refused (clocks of several servers may differ)
_FORM_SKEW = dt.timedelta(minutes=2)
#: the hidden field of the survey page's form, and the header of a JSON submission
FORM_TOKEN_FIELD = "ft"
FORM_TOKEN_HEADER = "X-Cxray-Form-Token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class _Key:
    id: str
    key: bytes


class _OneKey:
    """A ring of one key, ``k0`` (a signer made from bytes)."""

    def __init__(self, key: bytes):
        self.current = _Key("k0", key)

    def get(self, key_id: str) -> _Key | None:
        return self.current if key_id == "k0" else None


@dataclass(frozen=True)
class Invitation:
    """What a valid token says."""

    invitation_id: str
    survey: str
    customer_id: str | None
    expires_at: dt.datetime
    #: the language the customer was invited in (the page opens in it)
    language: str | None = None


class InvitationSigner:
    """Makes and checks invitation tokens with a ring of keys.

    ``keys`` is one secret (bytes, key id ``k0``), a key ring (``.current`` signs, ``.get(id)``
    finds the key a token names; :meth:`cxray.store.Store.keyring`) or a callable giving
    the ring now, so that a rotation is seen without a restart. A token names its key id
    in the signed payload (``"k"``); a token without one was signed before key ids and is
    checked with key ``k0``.
    """

    def __init__(self, keys: bytes | Any | Callable[[], Any]):
        if isinstance(keys, bytes | bytearray):
            if len(keys) < 16:
                raise ValueError("the signing secret must have at least 128 bits")
            ring = _OneKey(bytes(keys))
            self._ring: Callable[[], Any] = lambda: ring
        elif callable(keys):
            self._ring = keys
        else:
            self._ring = lambda: keys

    @staticmethod
    def _mac(key: bytes, message: str) -> str:
        return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest())

    def sign(self, invitation: Invitation) -> str:
        current = self._ring().current
        if len(current.key) < 16:
            raise ValueError("the signing secret must have at least 128 bits")
        payload = {
            "i": invitation.invitation_id,
            "s": invitation.survey,
            "c": invitation.customer_id,
            "e": int(invitation.expires_at.timestamp()),
        }
        if invitation.language:
            payload["l"] = invitation.language
        payload["k"] = current.id
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        message = f"{_VERSION}.{body}"
        return f"{message}.{self._mac(current.key, message)}"

    def verify(
        self, token: str, *, survey: str | None = None, now: dt.datetime | None = None
    ) -> Invitation:
        """The invitation a token names; raises on a forged, altered or expired one."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("the invitation token is missing or malformed")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise InvalidTokenError("the invitation token is malformed")
        message = f"{parts[0]}.{parts[1]}"
        try:
            message.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidTokenError("the invitation token is malformed") from None
        try:
            key_id = json.loads(_unb64(parts[1])).get("k", "k0")
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise InvalidTokenError(  # not a payload we signed
                "the invitation token's signature is not valid (forged or altered)"
            ) from None
        key = self._ring().get(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise InvalidTokenError(
                f"the invitation token was signed with key {str(key_id)[:32]!r}, which is no "
                "longer kept (dropped after a rotation): ask for a new invitation"
            )
        expected = self._mac(key.key, message)
        if not hmac.compare_digest(expected, parts[2]):
            raise InvalidTokenError(
                "the invitation token's signature is not valid (forged or altered)"
            )
        try:
            data = json.loads(_unb64(parts[1]))
            inv = Invitation(
                invitation_id=str(data["i"]),
                survey=str(data["s"]),
                customer_id=None if data["c"] is None else str(data["c"]),
                expires_at=dt.datetime.fromtimestamp(int(data["e"]), dt.UTC),
                language=str(data["l"]) if data.get("l") else None,
            )
        except (ValueError, KeyError, TypeError, binascii.Error):  # signed by us, so never
            raise InvalidTokenError("the invitation token is malformed") from None
        if survey is not None and inv.survey != survey:
            raise InvalidTokenError(
                f"the invitation token is for survey {inv.survey!r}, not {survey!r}"
            )
        now = now or dt.datetime.now(dt.UTC)
        if inv.expires_at <= now:
            raise ExpiredTokenError(
                f"the invitation expired on {inv.expires_at:%Y-%m-%d %H:%M} UTC"
            )
        return inv


class FormTokenSigner:
    """Makes and checks form tokens (survey, issue time, key id) with a ring of keys.

    ``keys`` is as for :class:`InvitationSigner` (a callable giving the ring now, so that
    ``cxray secrets rotate forms`` or ``CXRAY_SECRET_FORMS`` is seen without a restart).
    """

    def __init__(
        self, keys: bytes | Any | Callable[[], Any], *, ttl: dt.timedelta = FORM_TOKEN_TTL
    ):
        self._signer = InvitationSigner(keys)
        self.ttl = ttl

    def issue(self, survey: str, *, now: dt.datetime | None = None) -> str:
        """A token for a page of ``survey`` shown now."""
        current = self._signer._ring().current
        if len(current.key) < 16:
            raise ValueError("the signing secret must have at least 128 bits")
        now = now or dt.datetime.now(dt.UTC)
        payload = {"s": survey, "t": int(now.timestamp()), "k": current.id}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        message = f"{_FORM_VERSION}.{body}"
        return f"{message}.{InvitationSigner._mac(current.key, message)}"

    def verify(self, token: object, *, survey: str, now: dt.datetime | None = None) -> dt.datetime:
        """When the token was issued; InvalidTokenError (403) for a missing, malformed, forged,
        expired token or one of another survey, saying which."""
        reload = "reload the survey page and send the answers again"
        if not isinstance(token, str) or not token:
            raise InvalidTokenError(
                f"survey {survey!r} accepts anonymous answers only from its own page, "
                f"which sends a form token ({FORM_TOKEN_FIELD!r} field or {FORM_TOKEN_HEADER} "
                "header); none was sent"
            )
        parts = token.split(".")
        if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or parts[0] != _FORM_VERSION:
            raise InvalidTokenError(f"the form token is malformed; {reload}")
        message = f"{parts[0]}.{parts[1]}"
        try:
            message.encode("ascii")
            data = json.loads(_unb64(parts[1]))
            key_id, issued_s, named = data["k"], int(data["t"]), data["s"]
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, OverflowError):
            raise InvalidTokenError(
                "the form token's signature is not valid (forged or altered)"
            ) from None
        key = self._signer._ring().get(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise InvalidTokenError(
                f"the form token was signed with key {str(key_id)[:32]!r}, which is no longer "
                f"kept; {reload}"
            )
        if not hmac.compare_digest(InvitationSigner._mac(key.key, message), parts[2]):
            raise InvalidTokenError("the form token's signature is not valid (forged or altered)")
        if named != survey:
            raise InvalidTokenError(
                f"the form token is for survey {str(named)[:64]!r}, not {survey!r}"
            )
        now = now or dt.datetime.now(dt.UTC)
        try:
            issued = dt.datetime.fromtimestamp(issued_s, dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidTokenError(f"the form token is malformed; {reload}") from None
        if issued > now + _FORM_SKEW:
            raise InvalidTokenError(f"the form token is dated in the future; {reload}")
        if issued + self.ttl <= now:
            hours = self.ttl.total_seconds() / 3600
            raise InvalidTokenError(
                f"the form token expired: the page was shown at {issued:%Y-%m-%d %H:%M} UTC "
                f"and a form is valid for {hours:g} h; {reload}"
            )
        return issued


_FORM_SIGNERS: weakref.WeakKeyDictionary[Any, FormTokenSigner] = weakref.WeakKeyDictionary()
_FORM_LOCK = threading.Lock()


def form_signer_for(ws: Any) -> FormTokenSigner:
    """The form-token signer of workspace ``ws`` (its store's ``forms`` key ring, read at
    each use so that a rotation needs no restart); one per workspace in this process."""
    signer = _FORM_SIGNERS.get(ws)
    if signer is None:
        with _FORM_LOCK:
            signer = _FORM_SIGNERS.get(ws)
            if signer is None:
                store = ws.store
                signer = FormTokenSigner(lambda: store.keyring("forms"))
                _FORM_SIGNERS[ws] = signer
    return signer


def form_token_required(ws: Any, survey: str, definition: Any = None) -> bool:
    """Whether an anonymous answer to ``survey`` needs a form token: the survey's own
    ``require_form_token`` (its ``definition``, looked up when not given) when set, else
    ``[surveys.limits] require_form_token``. An unknown survey follows the global setting
    (the submission is refused as unknown after)."""
    limits = ws.config.surveys.limits
    if definition is None:
        try:
            definition = ws.surveys.get(survey)
        except CXError:
            return limits.require_form_token
    return definition.needs_form_token(limits)


def check_form_token(ws: Any, survey: str, token: object, definition: Any = None) -> None:
    """For an anonymous submission to ``survey``: nothing when no form token is required
    (:func:`form_token_required`), else InvalidTokenError unless ``token`` is valid."""
    if not form_token_required(ws, survey, definition):
        return
    form_signer_for(ws).verify(token, survey=survey)
