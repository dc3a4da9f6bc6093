"""Signed form tokens: optional proof that an anonymous answer came from the survey page.

Every anonymous survey page carries a token (hidden field ``ft``) signed with the store's
``forms`` key, bound to the survey and its issue time, valid for two hours. Where
``[surveys.limits] require_form_token`` is on, an anonymous submission (page or JSON API)
without a valid one is refused with 403 and writes nothing; invitations and API keys do
not need one; a replayed token is still counted by the per-address limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import stat
from pathlib import Path

import ibis
import pytest
from fastapi.testclient import TestClient

from cxray.app import create_app
from cxray.exceptions import ConfigError, InvalidTokenError
from cxray.surveys import Invitation, InvitationSigner
from cxray.surveys._tokens import (
    FORM_TOKEN_HEADER,
    FORM_TOKEN_TTL,
    FormTokenSigner,
    form_signer_for,
)
from cxray.workspace import Workspace
from tests.surveys.conftest import PULSE

NOW = dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC)
KEY = bytes(range(32))
URL = "/api/surveys/pulse/responses"


def _ft(html: str) -> str:
    """The form token in a page's hidden field (exactly one)."""
    found = re.findall(r'<input type="hidden" name="ft" value="([^"]+)">', html)
    assert len(found) == 1, html
    return found[0]


# ------------------------------------------------------------ the token


def test_a_token_verifies_for_its_survey_until_it_expires():
    signer = FormTokenSigner(KEY)
    token = signer.issue("pulse", now=NOW)
    assert token.startswith("f1.") and len(token.split(".")) == 3
    assert signer.verify(token, survey="pulse", now=NOW) == NOW
    last = NOW + FORM_TOKEN_TTL - dt.timedelta(seconds=1)
    assert signer.verify(token, survey="pulse", now=last) == NOW
    with pytest.raises(
        InvalidTokenError,
        match=r"expired: the page was shown at 2026-12-03 17:00 UTC.*valid for 2 h",
    ):
        signer.verify(token, survey="pulse", now=NOW + FORM_TOKEN_TTL)
    with pytest.raises(InvalidTokenError, match="for survey 'pulse', not 'other'"):
        signer.verify(token, survey="other", now=NOW)
    # issued more than the allowed clock skew ahead
    with pytest.raises(InvalidTokenError, match="future"):
        signer.verify(token, survey="pulse", now=NOW - dt.timedelta(minutes=5))
    assert signer.verify(token, survey="pulse", now=NOW - dt.timedelta(minutes=1)) == NOW


def test_forged_altered_missing_and_foreign_tokens_are_refused_saying_why():
    signer = FormTokenSigner(KEY)
    token = signer.issue("pulse", now=NOW)
    head, body, sig = token.split(".")
    later = json.dumps({"s": "pulse", "t": int(NOW.timestamp()) + 3600, "k": "k0"})
    moved = base64.urlsafe_b64encode(later.encode()).rstrip(b"=").decode()
    for bad in (
        f"{head}.{moved}.{sig}",  # issue time moved on, old signature
        f"{head}.{body}.{sig[:-2]}AA",  # signature altered
        FormTokenSigner(bytes(32)).issue("pulse", now=NOW),  # another key
    ):
        with pytest.raises(InvalidTokenError, match="forged or altered"):
            signer.verify(bad, survey="pulse", now=NOW)
    for missing in (None, "", 7):
        with pytest.raises(InvalidTokenError, match="only from its own page.*none was sent"):
            signer.verify(missing, survey="pulse", now=NOW)
    for malformed in ("f1.x", "v1.a.b", "f1." + "a" * 2000 + ".b", "f1.é.b"):
        with pytest.raises(InvalidTokenError, match="malformed|forged"):
            signer.verify(malformed, survey="pulse", now=NOW)
    # an invitation token is not a form token, nor the other way round
    invitation = InvitationSigner(KEY).sign(
        Invitation("i1", "pulse", "C1", NOW + dt.timedelta(days=1))
    )
    with pytest.raises(InvalidTokenError, match="malformed"):
        signer.verify(invitation, survey="pulse", now=NOW)
    with pytest.raises(InvalidTokenError, match="malformed"):
        InvitationSigner(KEY).verify(token, survey="pulse", now=NOW)


def test_the_forms_key_lives_in_the_key_file_and_rotates(tmp_path: Path):
    with Workspace.open(tmp_path / "cx.duckdb", tmp_path / "cxray.toml") as ws:
        signer = form_signer_for(ws)
        assert form_signer_for(ws) is signer  # one per workspace
        token = signer.issue("pulse")
        keyfile = tmp_path / "cx.duckdb.secrets"
        assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
        kept = json.loads(keyfile.read_text())["forms"]
        assert [k["id"] for k in kept] == ["k1"] and len(bytes.fromhex(kept[0]["key"])) == 32
        ws.store.rotate_secret("forms")  # k2 signs now; k1's pages still submit
        signer.verify(token, survey="pulse")
        newer = signer.issue("pulse")
        payload = newer.split(".")[1]
        assert (
            json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["k"] == "k2"
        )
        ws.store.drop_old_secrets("forms")
        signer.verify(newer, survey="pulse")
        with pytest.raises(InvalidTokenError, match="key 'k1', which is no longer kept"):
            signer.verify(token, survey="pulse")


def test_the_flag_is_off_by_default_and_checked_in_cxray_toml(tmp_path: Path):
    cfg = tmp_path / "cxray.toml"
    with Workspace.open(tmp_path / "a.duckdb", cfg) as ws:
        assert ws.config.surveys.limits.require_form_token is False
    cfg.write_text("[surveys.limits]\nrequire_form_token = true\n")
    with Workspace.open(tmp_path / "b.duckdb", cfg) as ws:
        assert ws.config.surveys.limits.require_form_token is True
    cfg.write_text('[surveys.limits]\nrequire_form_token = "sometimes"\n')
    with pytest.raises(ConfigError, match="require_form_token"):
        Workspace.open(tmp_path / "c.duckdb", cfg)


# ------------------------------------------------------------ the server


def _server(tmp_path: Path, limits: str):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(f"[surveys.limits]\n{limits}\n")
    db = tmp_path / "cx.duckdb"
    with Workspace.open(db, cfg) as ws:
        ws.surveys.registry.save("pulse", PULSE)
        ws.surveys.registry.save("other", PULSE)
    app = create_app(db, cfg)
    return app, TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def required(tmp_path: Path):
    app, client = _server(tmp_path, "require_form_token = true")
    with client:
        yield app.state.cx.ws, client


def _stored(ws) -> int:
    return ws.store.table("responses").count().execute()


def _answer(client, ft: str | None, nps: int = 9, **more):
    data = {"sid": f"s{nps}{ft is None}", "step": "0", "lang": "en", "q_nps": str(nps), **more}
    if ft is not None:
        data["ft"] = ft
    return client.post("/s/pulse", data=data, follow_redirects=False)


def test_the_page_carries_a_token_and_a_submission_needs_it(required):
    ws, client = required
    page = client.get("/s/pulse")
    ft = _ft(page.text)
    assert form_signer_for(ws).verify(ft, survey="pulse") <= dt.datetime.now(dt.UTC)
    assert _ft(client.get("/s/pulse?embed=1").text)  # the framed page (embed.js) too
    refused = _answer(client, None, 8, q_anything="keep me")
    assert refused.status_code == 403 and _stored(ws) == 0
    assert "Your answers were not saved" in refused.text and "none was sent" in refused.text
    assert 'value="8" checked' in refused.text and "keep me" in refused.text  # not lost
    again = _ft(refused.text)  # a fresh token: sending again works
    ok = _answer(client, again, 8, q_anything="keep me")
    assert ok.status_code == 303 and ok.headers["location"].startswith("/s/pulse/thanks")
    assert _stored(ws) == 1
    # a token of another survey or one that expired: refused, nothing written
    other = _ft(client.get("/s/other").text)
    assert _answer(client, other, 7).status_code == 403
    stale = form_signer_for(ws).issue("pulse", now=dt.datetime.now(dt.UTC) - FORM_TOKEN_TTL)
    r = _answer(client, stale, 6)
    assert r.status_code == 403 and "expired" in r.text
    assert _stored(ws) == 1
    # the embedded page's token works with embed=1
    assert (
        _answer(client, _ft(client.get("/s/pulse?embed=1").text), 10, embed="1").status_code == 303
    )
    assert _stored(ws) == 2


def test_each_step_has_its_own_token_and_a_refused_step_keeps_the_first(required):
    ws, client = required
    page = client.get("/s/pulse").text
    sid = re.search(r'name="sid" value="([^"]+)"', page).group(1)  # the page's signed session
    first = client.post(
        "/s/pulse",
        data={"sid": sid, "step": "0", "lang": "en", "q_nps": "3", "ft": _ft(page)},
        follow_redirects=False,
    )  # fmt: skip
    assert first.status_code == 303 and "step=1" in first.headers["location"]
    step2 = client.get(first.headers["location"])
    ft2 = _ft(step2.text)
    data = {"sid": sid, "step": "1", "lang": "en", "q_improve": "faster"}
    refused = client.post("/s/pulse", data=data, follow_redirects=False)
    assert refused.status_code == 403 and 'name="q_improve"' in refused.text
    row = ws.surveys.submission(ws.surveys.response_id_for("pulse", None, sid))
    assert row["completed"] is False and row["answers"] == {"nps": 3}
    done = client.post("/s/pulse", data={**data, "ft": ft2}, follow_redirects=False)
    assert done.status_code == 303
    row = ws.surveys.submission(ws.surveys.response_id_for("pulse", None, sid))
    assert row["completed"] is True and row["answers"]["improve"] == "faster"


def test_the_json_api_needs_the_header_but_not_with_a_key_or_invitation(required):
    ws, client = required
    r = client.post(URL, json={"answers": {"nps": 9}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_token"
    assert FORM_TOKEN_HEADER in r.json()["error"]["message"] and _stored(ws) == 0
    got = client.get("/s/pulse/form-token")
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    body = got.json()
    assert body["expires_in_s"] == 7200 and body["header"] == FORM_TOKEN_HEADER
    ok = client.post(
        URL, json={"answers": {"nps": 9}}, headers={FORM_TOKEN_HEADER: body["form_token"]}
    )
    assert ok.status_code == 201 and _stored(ws) == 1
    forged = body["form_token"][:-3] + "xyz"
    r = client.post(URL, json={"answers": {"nps": 4}}, headers={FORM_TOKEN_HEADER: forged})
    assert r.status_code == 403 and "forged" in r.json()["error"]["message"]
    assert client.get("/s/nope/form-token").status_code == 404
    # an API key is trusted; an invitation names its customer: neither needs a form token
    from cxray.access import ApiKeys

    key = ApiKeys(ws.store).create("analyst", name="app")[1]  # a viewer key is read-only
    keyed = client.post(
        URL, json={"answers": {"nps": 8}}, headers={"Authorization": f"Bearer {key}"}
    )
    assert keyed.status_code == 201
    ws.store.backend.con.execute(
        "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, expires_at) "
        "VALUES ('i1', 'pulse', 'C9', now(), now() + INTERVAL 3 DAY)"
    )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    invited = ws.surveys.signer.sign(Invitation("i1", "pulse", "C9", soon))
    assert client.post(URL, json={"answers": {"nps": 10}, "token": invited}).status_code == 201
    assert _stored(ws) == 3


def test_without_the_flag_nothing_changes(tmp_path: Path):
    app, client = _server(tmp_path, 'per_address = "60/hour"')
    with client:
        ws = app.state.cx.ws
        assert _ft(client.get("/s/pulse").text)  # the page still carries one
        assert _answer(client, None, 9).status_code == 303
        assert client.post(URL, json={"answers": {"nps": 7}}).status_code == 201
        assert (
            client.post(
                URL, json={"answers": {"nps": 6}}, headers={FORM_TOKEN_HEADER: "junk"}
            ).status_code
            == 201
        )
        assert _stored(ws) == 3


def test_a_replayed_token_is_still_limited_per_address(tmp_path: Path):
    app, client = _server(tmp_path, 'require_form_token = true\nper_address = "3/hour"')
    with client:
        ws = app.state.cx.ws
        ft = _ft(client.get("/s/pulse").text)
        codes = [_answer(client, ft, n).status_code for n in (1, 2, 3, 4)]
        assert codes == [303, 303, 303, 429]
        r = client.post(URL, json={"answers": {"nps": 5}}, headers={FORM_TOKEN_HEADER: ft})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert _stored(ws) == 3
        # another address with the same token gets its own allowance
        elsewhere = TestClient(app, client=("203.0.113.9", 5000), raise_server_exceptions=False)
        assert _answer(elsewhere, ft, 7).status_code == 303
        assert _stored(ws) == 4


def test_the_forms_key_on_postgres_stays_out_of_the_users_config(tmp_path: Path):
    url = os.environ.get("CXRAY_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")
    home = Path(os.environ["XDG_CONFIG_HOME"])  # tests/conftest.py: a temporary folder
    assert home != Path.home() / ".config" and str(home).startswith(os.path.dirname(tmp_path))
    with Workspace.open(url, tmp_path / "cxray.toml") as ws:
        signer = form_signer_for(ws)
        token = signer.issue("pulse")
        assert signer.verify(token, survey="pulse") <= dt.datetime.now(dt.UTC)
        files = list((home / "cxray" / "secrets").glob("*.secrets"))
        assert files and any("forms" in json.loads(f.read_text()) for f in files)


# ------------------------------------------------------------ per survey


def _survey_toml(name: str, required: bool) -> str:
    flag = "true" if required else "false"
    return (
        f'[surveys.{name}]\ntitle = "{name}"\nrequire_form_token = {flag}\n'
        f'[[surveys.{name}.questions]]\nid = "nps"\ntype = "nps"\ntext = "Recommend us?"\n'
    )


def _per_survey(tmp_path: Path, limits: str, toml: str, saved: dict | None = None):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(f"[surveys.limits]\n{limits}\n{toml}")
    db = tmp_path / "cx.duckdb"
    with Workspace.open(db, cfg) as ws:
        for name, definition in (saved or {}).items():
            ws.surveys.registry.save(name, definition)
    app = create_app(db, cfg)
    return app, TestClient(app, raise_server_exceptions=False)


def _anonymous(client, name: str, nps: int, ft: str | None = None) -> tuple[int, int]:
    """(page status, JSON status) of two anonymous answers to ``name``, with ``ft`` if given.
    The same answers from the same address: the JSON one is stored too (it was a 500 when
    the page's repeat ledger entry, a session id, was read as the API's receipt)."""
    data = {"sid": f"{name}{nps}", "step": "0", "lang": "en", "q_nps": str(nps)}
    page = client.post(f"/s/{name}", data={**data, **({"ft": ft} if ft else {})},
                       follow_redirects=False)  # fmt: skip
    headers = {FORM_TOKEN_HEADER: ft} if ft else {}
    api = client.post(f"/api/surveys/{name}/responses", json={"answers": {"nps": nps}},
                      headers=headers)  # fmt: skip
    return page.status_code, api.status_code


def _counts(ws) -> dict[str, int]:
    rows = ws.store.table("responses").group_by("survey").aggregate(n=ibis._.count()).execute()
    return dict(zip(rows["survey"], rows["n"], strict=True))


def test_a_survey_may_require_the_form_token_when_the_global_flag_is_off(tmp_path: Path):
    app, client = _per_survey(
        tmp_path,
        'per_address = "60/hour"',  # require_form_token stays at its default, false
        _survey_toml("strict", True) + _survey_toml("open", False),
        saved={"stored": {**PULSE, "require_form_token": True}, "plain": PULSE},
    )
    with client:
        ws = app.state.cx.ws
        assert ws.config.surveys.limits.require_form_token is False
        # survey "strict" (config) and "stored" (defined through the API) require it ...
        for name in ("strict", "stored"):
            assert _anonymous(client, name, 9) == (403, 403)
            ft = _ft(client.get(f"/s/{name}").text)
            assert _anonymous(client, name, 8, ft) == (303, 201)
        # ... "open" (explicitly not) and "plain" (unset: the global flag, off) do not
        for name in ("open", "plain"):
            assert _anonymous(client, name, 7) == (303, 201)
        assert _counts(ws) == {"strict": 2, "stored": 2, "open": 2, "plain": 2}
        assert ws.surveys.get("plain").require_form_token is None


def test_a_survey_may_waive_the_form_token_when_the_global_flag_is_on(tmp_path: Path):
    app, client = _per_survey(
        tmp_path,
        "require_form_token = true",
        _survey_toml("kiosk", False),
        saved={"pulse": PULSE},
    )
    with client:
        ws = app.state.cx.ws
        assert _anonymous(client, "kiosk", 9) == (303, 201)  # its own setting wins
        assert _anonymous(client, "pulse", 9) == (403, 403)  # unset: the global one
        r = client.post(URL, json={"answers": {"nps": 9}})
        assert "accepts anonymous answers only from its own page" in r.json()["error"]["message"]
        assert _counts(ws) == {"kiosk": 2}


def test_a_surveys_flag_is_checked_with_its_location(tmp_path: Path):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(_survey_toml("strict", True).replace("= true", '= "yes please"'))
    with pytest.raises(ConfigError, match=r"surveys.*strict.*require_form_token"):
        Workspace.open(tmp_path / "a.duckdb", cfg)
    assert not (tmp_path / "a.duckdb").exists()
