"""Access control: keys stored hashed, revoked keys refused, sessions signed, logins limited."""

from __future__ import annotations

import pytest

from cxray.access import (
    KEY_PREFIX,
    ApiKeys,
    LoginLimiter,
    SessionSigner,
    hash_key,
    role_allows,
)
from cxray.exceptions import (
    AuthenticationError,
    NotFoundError,
    QueryError,
    RateLimitedError,
)
from cxray.store import MIGRATIONS


def test_migration_2_creates_the_key_table(ws):
    assert [m.version for m in MIGRATIONS][:2] == [1, 2]
    assert "_cx_api_keys" in ws.store.backend.list_tables()


def test_keys_are_random_stored_hashed_and_verified(ws):
    keys = ApiKeys(ws.store)
    info, key = keys.create("analyst", name="ci")
    other_info, other = keys.create("viewer")
    assert key.startswith(KEY_PREFIX) and len(key) >= 40 and key != other
    assert (info.key_id, info.role, info.name) == (1, "analyst", "ci")
    assert (other_info.key_id, other_info.name) == (2, "viewer key")
    stored = ws.store.duckdb_connection.execute("SELECT * FROM _cx_api_keys").fetchall()
    assert key not in repr(stored) and hash_key(key) in repr(stored)
    assert keys.verify(key) == info
    assert info.prefix == key[: len(info.prefix)] and len(info.prefix) < 12


def test_unknown_forged_and_revoked_keys_are_refused(ws):
    keys = ApiKeys(ws.store)
    info, key = keys.create("admin")
    for bad in ("", "nope", key[:-1] + ("A" if key[-1] != "A" else "B"), "cx_" + "x" * 500):
        with pytest.raises(AuthenticationError):
            keys.verify(bad)
    revoked = keys.revoke(info.key_id)
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(AuthenticationError, match="revoked"):
        keys.verify(key)
    assert keys.revoke(info.key_id) == revoked  # twice is harmless
    assert [k.key_id for k in keys.list(include_revoked=False)] == []
    with pytest.raises(NotFoundError):
        keys.revoke(99)
    with pytest.raises(QueryError, match="unknown role"):
        keys.create("owner")


def test_roles_are_ordered():
    assert role_allows("admin", "analyst") and role_allows("analyst", "viewer")
    assert not role_allows("viewer", "analyst") and not role_allows("analyst", "admin")


def test_sessions_are_signed_and_expire(ws):
    now = [1_000_000.0]
    signer = SessionSigner(b"s" * 32, ttl=60, clock=lambda: now[0])
    info, _ = ApiKeys(ws.store).create("viewer")
    token, session = signer.issue(info)
    assert signer.verify(token) == session and session.role == "viewer"
    payload, sig = token.split(".")
    with pytest.raises(AuthenticationError):
        signer.verify(payload + "." + sig[:-2] + "AA")
    with pytest.raises(AuthenticationError):  # signed by another secret
        SessionSigner(b"t" * 32, clock=lambda: now[0]).verify(token)
    with pytest.raises(AuthenticationError):
        signer.verify("garbage")
    now[0] += 61
    with pytest.raises(AuthenticationError, match="expired"):
        signer.verify(token)
    with pytest.raises(ValueError):
        SessionSigner(b"short")


def test_login_limiter_uses_a_sliding_window():
    now = [0.0]
    lim = LoginLimiter(max_failures=3, window=60, clock=lambda: now[0])
    for t in (0, 10, 20):
        now[0] = t
        lim.check("a")
        lim.failure("a")
    lim.check("b")  # other clients are not affected
    with pytest.raises(RateLimitedError) as exc:
        lim.check("a")
    assert exc.value.retry_after == 40
    now[0] = 60.5  # the failure at 0 has left the window
    lim.check("a")
    lim.failure("a")
    with pytest.raises(RateLimitedError):
        lim.check("a")
    lim.success("a")
    lim.check("a")
    assert lim.failures("a") == 0


def test_login_limiter_memory_is_bounded():
    lim = LoginLimiter(max_failures=1, window=60, max_clients=3, clock=lambda: 0.0)
    for c in "abcd":
        lim.failure(c)
    assert lim.failures("a") == 0 and lim.failures("d") == 1
