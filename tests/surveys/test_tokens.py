"""Invitation tokens: signed, checked in constant time, bound to survey and expiry."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from cxray.exceptions import ExpiredTokenError, InvalidTokenError
from cxray.surveys import Invitation, InvitationSigner

NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
INV = Invitation("abc123", "pulse", "C-007", NOW + dt.timedelta(days=14))


def test_round_trip():
    signer = InvitationSigner(b"k" * 32)
    token = signer.sign(INV)
    assert signer.verify(token, survey="pulse", now=NOW) == INV
    assert token.startswith("v1.") and token.count(".") == 2


def test_another_secret_does_not_verify():
    token = InvitationSigner(b"k" * 32).sign(INV)
    with pytest.raises(InvalidTokenError, match="forged or altered"):
        InvitationSigner(b"j" * 32).verify(token, now=NOW)


def test_altered_payload_is_refused():
    signer = InvitationSigner(b"k" * 32)
    version, body, sig = signer.sign(INV).split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["c"] = "C-008"  # someone else's customer id
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError):
        signer.verify(f"{version}.{forged}.{sig}", now=NOW)


@pytest.mark.parametrize("token", ["", "v1", "v1.a", "v2.a.b", "v1.a.b.c", "x" * 2000, "v1.é.b"])
def test_malformed(token):
    with pytest.raises(InvalidTokenError):
        InvitationSigner(b"k" * 32).verify(token, now=NOW)


def test_expiry_and_survey():
    signer = InvitationSigner(b"k" * 32)
    token = signer.sign(INV)
    with pytest.raises(ExpiredTokenError, match="expired on 2026-12-06"):
        signer.verify(token, now=NOW + dt.timedelta(days=15))
    with pytest.raises(InvalidTokenError, match="for survey 'pulse', not 'other'"):
        signer.verify(token, survey="other", now=NOW)


def test_short_secret_refused():
    with pytest.raises(ValueError, match="128 bits"):
        InvitationSigner(b"short")
