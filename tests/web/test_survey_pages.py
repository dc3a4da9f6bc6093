"""Public survey pages in-process: steps, errors, languages, tokens, the embed snippet."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray.app import create_app
from cxray.surveys import Invitation
from tests.surveys.conftest import PULSE


@pytest.fixture
def site(tmp_path: Path):
    app = create_app(tmp_path / "w.duckdb", tmp_path / "cxray.toml")
    with TestClient(app, raise_server_exceptions=False) as client:
        ws = app.state.cx.ws
        ws.surveys.registry.save("pulse", PULSE)
        ws.surveys.registry.save("private", {**PULSE, "public": False})
        yield client, ws


def _sid(html: str) -> str:
    return re.search(r'name="sid" value="([^"]+)"', html).group(1)


def _responses(ws):
    return ws.store.backend.con.sql(
        "SELECT nps, comment, topics, completed, channel, language FROM responses"
    ).fetchall()


def test_detractor_walks_through_the_follow_up(site):
    client, ws = site
    page = client.get("/s/pulse")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "How likely are you to recommend us?" in html
    assert "What could we do better?" not in html  # a follow-up, shown on step 2
    assert "Step 1 of 2" in html and "frame-ancestors *" in page.headers["content-security-policy"]
    # every input is labelled and every question is a fieldset with a legend
    assert html.count("<fieldset") == html.count("<legend>") == 7
    ids = re.findall(r'<input type="(?:radio|checkbox)" id="([^"]+)"', html)
    assert ids and all(f'for="{i}"' in html for i in ids)
    sid = _sid(html)
    step1 = client.post(
        "/s/pulse",
        data={
            "sid": sid,
            "step": "0",
            "lang": "en",
            "q_nps": "2",
            "q_topics": ["price", "quality"],
        },
        follow_redirects=False,
    )
    assert step1.status_code == 303
    assert "step=1" in step1.headers["location"]
    # stored at once as a partial response
    assert _responses(ws) == [(2, None, "price; quality", False, "link", "en")]
    follow = client.get(step1.headers["location"])
    assert "What could we do better?" in follow.text and "Step 2 of 2" in follow.text
    done = client.post(
        "/s/pulse", data={"sid": sid, "step": "1", "lang": "en", "q_improve": "Answer faster"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith("/s/pulse/thanks")
    assert "Thank you!" in client.get(done.headers["location"]).text
    assert _responses(ws) == [(2, "Answer faster", "price; quality", True, "link", "en")]
    # the link again: already answered; nothing changes
    again = client.get(f"/s/pulse?sid={sid}")
    assert "already answered" in again.text


def test_promoter_finishes_in_one_step(site):
    client, ws = site
    sid = _sid(client.get("/s/pulse").text)
    r = client.post("/s/pulse", data={"sid": sid, "step": "0", "q_nps": "10"},
                    follow_redirects=False)  # fmt: skip
    assert r.headers["location"].startswith("/s/pulse/thanks")
    assert _responses(ws) == [(10, None, None, True, "link", "en")]


def test_errors_are_shown_and_nothing_is_stored(site):
    client, ws = site
    r = client.post("/s/pulse", data={"sid": "s", "step": "0", "q_nps": "12", "q_csat": "4"})
    assert r.status_code == 422
    assert 'role="alert"' in r.text and "Choose a value from 0 to 10." in r.text
    assert 'aria-describedby="err_nps"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="4" checked' in r.text  # what was answered stays answered
    missing = client.post("/s/pulse", data={"sid": "s", "step": "0", "q_csat": "4"})
    assert missing.status_code == 422 and "Please answer this question." in missing.text
    assert _responses(ws) == []


def test_languages(site):
    client, _ = site
    de = client.get("/s/pulse", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in de.text and "Wie war es?" in de.text
    assert "Überhaupt nicht wahrscheinlich" in de.text and "Weiter" in de.text
    assert '<html lang="en">' in client.get("/s/pulse?lang=en").text


def test_invitation_pages(site):
    client, ws = site
    sv = ws.surveys
    ws.store.backend.con.execute(
        "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, expires_at) "
        "VALUES ('i7', 'private', 'C7', now(), now() + INTERVAL 3 DAY)"
    )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    token = sv.signer.sign(Invitation("i7", "private", "C7", soon))
    assert client.get("/s/private").status_code == 403  # invitation only
    page = client.get(f"/s/private?t={token}")
    assert page.status_code == 200 and f'name="t" value="{token}"' in page.text
    r = client.post("/s/private", data={"t": token, "step": "0", "q_nps": "9"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert ws.store.backend.con.sql("SELECT customer_id, channel FROM responses").fetchall() == [
        ("C7", "email")
    ]
    assert "already answered" in client.get(f"/s/private?t={token}").text
    old = sv.signer.sign(Invitation("i7", "private", "C7", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    assert client.get(f"/s/private?t={old}").status_code == 410
    assert client.get("/s/private?t=v1.forged.sig").status_code == 403
    assert client.get("/s/nope").status_code == 404


def test_embed(site):
    client, ws = site
    js = client.get("/s/pulse/embed.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "http://testserver/s/pulse?embed=1" in js.text
    page = client.get("/s/pulse?embed=1")
    assert 'class="embed"' in page.text and 'name="embed" value="1"' in page.text
    sid = _sid(page.text)
    client.post("/s/pulse", data={"sid": sid, "step": "0", "q_nps": "9", "embed": "1"})
    assert ws.store.backend.con.sql("SELECT channel FROM responses").fetchall() == [("embed",)]
    assert client.get("/s/nope/embed.js").status_code == 404
