"""Abuse limits on anonymous survey submissions: rate limits ([surveys.limits]) and duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray.app import create_app
from cxray.config import ProgramConfig
from cxray.config._surveys import SubmissionLimits, parse_rate
from cxray.exceptions import ConfigError, RateLimitedError
from cxray.surveys._limits import SubmissionGuard, guard_for
from cxray.workspace import Workspace
from tests.surveys.conftest import PULSE


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _guard(**limits) -> tuple[SubmissionGuard, Clock]:
    clock = Clock()
    return SubmissionGuard(SubmissionLimits(**limits), clock=clock), clock


def test_rates_parse_and_bad_ones_say_what_to_write():
    assert parse_rate("20/hour") == (20, 3600.0)
    assert parse_rate(" 600 / minute ") == (600, 60.0)
    assert parse_rate("5/s") == (5, 1.0)
    assert parse_rate("off") is None
    for bad in ("20", "0/hour", "20/fortnight", "-1/day", "x/minute"):
        with pytest.raises(ValueError, match="COUNT/PERIOD"):
            parse_rate(bad)


def test_a_bad_limit_in_cxray_toml_names_the_key(tmp_path: Path):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text('[surveys.limits]\nper_address = "lots"\n')
    with pytest.raises(ConfigError) as err:
        Workspace.open(tmp_path / "w.duckdb", cfg)
    assert "per_address" in str(err.value) and "lots" in str(err.value)
    cfg.write_text("[surveys.limits]\nduplicate_window_s = -5\n")
    with pytest.raises(ConfigError, match="duplicate_window_s"):
        Workspace.open(tmp_path / "w.duckdb", cfg)


def test_limits_is_a_settings_table_not_a_survey():
    cfg = ProgramConfig.model_validate(
        {"surveys": {"fatigue_days": 7, "limits": {"per_survey": "100/minute"}, "pulse": PULSE}}
    )
    assert cfg.surveys.limits.per_survey == "100/minute"
    assert cfg.surveys.limits.per_address == "60/hour"  # the default
    assert list(cfg.surveys.define) == ["pulse"]


def test_the_n_plus_first_from_one_address_waits_until_a_token_refills():
    guard, clock = _guard(per_address="3/minute")
    for _ in range(3):
        guard.admit("pulse", "10.0.0.1")
    with pytest.raises(RateLimitedError) as err:
        guard.admit("pulse", "10.0.0.1")
    assert err.value.retry_after == 20  # one token every 60/3 s
    assert "10.0.0.1" in str(err.value) and "3/minute" in str(err.value)
    guard.admit("pulse", "10.0.0.2")  # another address is not affected
    guard.admit("other", "10.0.0.2")
    clock.t += 19.5
    with pytest.raises(RateLimitedError) as err:
        guard.admit("pulse", "10.0.0.1")
    assert err.value.retry_after == 1
    clock.t += 0.5  # the window passes: one more, not a burst
    guard.admit("pulse", "10.0.0.1")
    with pytest.raises(RateLimitedError):
        guard.admit("pulse", "10.0.0.1")
    clock.t += 3600  # a full bucket after a long pause, never more than the rate
    for _ in range(3):
        guard.admit("pulse", "10.0.0.1")
    with pytest.raises(RateLimitedError):
        guard.admit("pulse", "10.0.0.1")
    assert guard.refused == 4


def test_the_per_survey_cap_holds_across_addresses_and_spares_other_surveys():
    guard, clock = _guard(per_address="off", per_survey="5/minute")
    for i in range(5):
        guard.admit("pulse", f"10.0.0.{i}")
    with pytest.raises(RateLimitedError, match="survey 'pulse'") as err:
        guard.admit("pulse", "10.9.9.9")
    assert err.value.retry_after == 12
    guard.admit("other", "10.9.9.9")
    clock.t += 12
    guard.admit("pulse", "10.9.9.9")


def test_a_refusal_by_the_survey_cap_does_not_use_up_the_address():
    guard, _clock = _guard(per_address="2/hour", per_survey="1/hour")
    guard.admit("pulse", "a")
    for _ in range(5):
        with pytest.raises(RateLimitedError, match="survey"):
            guard.admit("pulse", "b")
    guard.admit("other", "b")  # b still has its second token
    guard.admit("other2", "b")
    with pytest.raises(RateLimitedError, match="from b"):
        guard.admit("other3", "b")


def test_exempt_addresses_are_never_limited_and_loopback_is_by_default():
    guard, _ = _guard(per_address="1/hour", per_survey="2/hour")
    for _ in range(50):
        guard.admit("pulse", "127.0.0.1")
        guard.admit("pulse", "::1")
    guard.admit("pulse", "10.0.0.1")
    with pytest.raises(RateLimitedError):
        guard.admit("pulse", "10.0.0.1")
    guard, _ = _guard(per_address="1/hour", exempt=[])
    guard.admit("pulse", "127.0.0.1")
    with pytest.raises(RateLimitedError):
        guard.admit("pulse", "127.0.0.1")


def test_memory_is_bounded_by_max_addresses():
    guard, _clock = _guard(per_address="1/hour", per_survey="off", max_addresses=100)
    for i in range(10_000):
        guard.admit("pulse", f"a{i}")
    assert len(guard._by_address._state) == 100
    with pytest.raises(RateLimitedError):
        guard.admit("pulse", "a9999")  # the most recent are kept
    guard.admit("pulse", "a0")  # the oldest were forgotten


def test_duplicates_within_the_window_are_recognised_then_forgotten():
    guard, clock = _guard(duplicate_window_s=600)
    answers = {"nps": 10, "anything": "great"}
    assert guard.duplicate_of("pulse", "a", answers) is None
    guard.remember("pulse", "a", answers, {"response_id": "r1"})
    assert guard.duplicate_of("pulse", "a", {"anything": "great", "nps": 10}) == {
        "response_id": "r1"
    }
    assert guard.duplicate_of("pulse", "b", answers) is None  # another address
    assert guard.duplicate_of("other", "a", answers) is None  # another survey
    assert guard.duplicate_of("pulse", "a", {"nps": 9, "anything": "great"}) is None
    clock.t += 600
    assert guard.duplicate_of("pulse", "a", answers) is None
    assert guard.duplicates == 1


# --- end to end: the JSON API and the public form ---------------------------------------


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "cxray.toml").write_text(
        '[surveys.limits]\nper_address = "4/minute"\nper_survey = "6/minute"\n'
    )
    app = create_app(tmp_path / "w.duckdb", tmp_path / "cxray.toml")
    with TestClient(app, raise_server_exceptions=False) as client:
        ws = app.state.cx.ws
        ws.surveys.registry.save("pulse", PULSE)
        clock = Clock()
        guard_for(ws).clock = clock
        yield app, client, ws, clock


def _stored(ws) -> int:
    return ws.store.table("responses").count().execute()


def test_api_429_with_retry_after_then_another_address_then_the_survey_cap(server):
    app, client, ws, clock = server
    url = "/api/surveys/pulse/responses"
    for i in range(4):
        assert client.post(url, json={"answers": {"nps": i}}).status_code == 201
    r = client.post(url, json={"answers": {"nps": 9}})
    assert r.status_code == 429 and r.headers["retry-after"] == "15"
    assert r.json()["error"]["code"] == "rate_limited"
    assert _stored(ws) == 4  # the refused one wrote nothing
    other = TestClient(app, client=("203.0.113.7", 5000), raise_server_exceptions=False)
    assert other.post(url, json={"answers": {"nps": 8}}).status_code == 201
    assert other.post(url, json={"answers": {"nps": 7}}).status_code == 201
    third = TestClient(app, client=("198.51.100.1", 5000), raise_server_exceptions=False)
    r = third.post(url, json={"answers": {"nps": 6}})  # 7th for the survey within a minute
    assert r.status_code == 429 and "survey 'pulse'" in r.json()["error"]["message"]
    clock.t += 15
    assert client.post(url, json={"answers": {"nps": 5}}).status_code == 201
    assert _stored(ws) == 7


def test_api_duplicates_are_answered_but_stored_once(server):
    _app, client, ws, _clock = server
    url = "/api/surveys/pulse/responses"
    first = client.post(url, json={"answers": {"nps": 10, "anything": "hi"}})
    again = client.post(url, json={"answers": {"anything": "hi", "nps": 10}})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["response_id"] == first.json()["response_id"]
    assert again.json()["status"] == "unchanged"
    assert again.json()["answers"] == first.json()["answers"] == {"nps": 10, "anything": "hi"}
    assert _stored(ws) == 1 and guard_for(ws).duplicates == 1
    # a client-chosen submission_id keeps its own (existing) idempotency
    a = client.post(url, json={"answers": {"nps": 10, "anything": "hi"}, "submission_id": "x"})
    assert a.status_code == 201 and _stored(ws) == 2


def test_api_keys_and_invitations_are_not_rate_limited(server, make_keys):
    _app, client, ws, _clock = server
    key = make_keys(ws)
    url = "/api/surveys/pulse/responses"
    for i in range(8):
        r = client.post(
            url, json={"answers": {"nps": i % 11}}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 201, r.text
    assert _stored(ws) == 8


@pytest.fixture
def make_keys():
    from cxray.access import ApiKeys

    return lambda ws: ApiKeys(ws.store).create("analyst", name="t")[1]  # viewer: read-only


def test_the_form_answers_429_with_retry_after_and_stores_nothing(server):
    _app, client, ws, _clock = server
    for i in range(4):
        r = client.post("/s/pulse", data={"q_nps": str(7 + i % 4), "sid": f"s{i}"},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and "/thanks" in r.headers["location"], r.text
    r = client.post("/s/pulse", data={"q_nps": "9", "sid": "s9"}, follow_redirects=False)
    assert r.status_code == 429 and r.headers["retry-after"] == "15"
    assert "try again in 1 minute" in r.text and "text/html" in r.headers["content-type"]
    assert _stored(ws) == 4


def test_the_same_form_answers_twice_from_one_address_are_stored_once(server):
    _app, client, ws, _clock = server
    for sid in ("a", "b"):
        r = client.post("/s/pulse", data={"q_nps": "10", "sid": sid}, follow_redirects=False)
        assert r.status_code == 303 and "/thanks" in r.headers["location"]
    assert _stored(ws) == 1 and guard_for(ws).duplicates == 1
