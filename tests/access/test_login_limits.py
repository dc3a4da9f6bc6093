"""Login throttling: wrong keys are limited per address and per key prefix; a valid key
always logs in, however many guesses came before it."""

from __future__ import annotations

import pytest

from cxray.access import ApiKeys, LoginLimiter, SessionSigner, log_in
from cxray.exceptions import AuthenticationError, RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def login(ws):
    keys = ApiKeys(ws.store)
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock=clock)
    signer = SessionSigner("s" * 32)

    def attempt(key: str, client: str = "10.0.0.1"):
        return log_in(key, client=client, keys=keys, sessions=signer, limiter=limiter)

    return keys, limiter, clock, attempt


def test_a_valid_key_logs_in_after_many_guesses_from_the_same_address(login):
    keys, limiter, _clock, attempt = login
    _, key = keys.create("viewer", name="v")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            attempt("cx_wrong-guess")
    for _ in range(20):  # guesses are still refused, as 429 now
        with pytest.raises(RateLimitedError) as err:
            attempt("cx_wrong-guess")
        assert 0 < err.value.retry_after <= 60
    api_key, token, session = attempt(key)
    assert api_key.role == "viewer" and token and session.key_id == api_key.key_id
    # and the success reset nothing for the guesser at that address
    with pytest.raises(RateLimitedError):
        attempt("cx_another-guess")
    assert limiter.failures("10.0.0.1") == 3


def test_guesses_at_one_key_prefix_are_limited_from_every_address(login):
    keys, _limiter, _clock, attempt = login
    info, key = keys.create("admin", name="a")
    near = key[:9] + "x" * (len(key) - 9)  # the prefix a person can see, the rest guessed
    for i in range(3):
        with pytest.raises(AuthenticationError):
            attempt(near, client=f"10.1.0.{i}")
    with pytest.raises(RateLimitedError, match="key:"):
        attempt(near, client="10.1.0.99")  # a fresh address, the same prefix
    assert attempt(key, client="10.1.0.99")[0].key_id == info.key_id  # the owner still gets in
    with pytest.raises(AuthenticationError):  # another prefix from a fresh address: 401
        attempt("cx_zzzzzzzz", client="10.1.0.98")


def test_the_window_passes_and_guesses_are_answered_401_again(login):
    _keys, _limiter, clock, attempt = login
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            attempt("cx_nope")
    with pytest.raises(RateLimitedError) as err:
        attempt("cx_nope")
    assert err.value.retry_after == 60
    clock.t += 59
    with pytest.raises(RateLimitedError):
        attempt("cx_nope")
    clock.t += 1
    with pytest.raises(AuthenticationError) as err401:
        attempt("cx_nope")
    assert not isinstance(err401.value, RateLimitedError)


def test_api_and_dashboard_let_a_valid_key_in_while_guesses_get_429(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from cxray.app import create_app
    from cxray.workspace import Workspace

    db = tmp_path / "w.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        _, viewer = ApiKeys(ws.store).create("viewer", name="v")
        _, analyst = ApiKeys(ws.store).create("analyst", name="a")
    app = create_app(db, tmp_path / "cxray.toml")
    with TestClient(app, raise_server_exceptions=False) as c:
        for _ in range(5):  # the default: 5 failures in 300 s
            assert c.post("/api/login", json={"key": "cx_wrong"}).status_code == 401
        r = c.post("/api/login", json={"key": "cx_wrong"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert r.json()["error"]["code"] == "rate_limited"
        ok = c.post("/api/login", json={"key": analyst})
        assert ok.status_code == 200 and ok.json()["role"] == "analyst"
        assert c.post("/api/login", json={"key": "cx_wrong"}).status_code == 429
        # the dashboard's login form shares the limiter and the rule
        origin = {"Origin": "http://testserver"}
        page = c.post("/login", data={"key": "cx_wrong"}, headers=origin, follow_redirects=False)
        assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
        page = c.post("/login", data={"key": viewer}, headers=origin, follow_redirects=False)
        assert page.status_code == 303
