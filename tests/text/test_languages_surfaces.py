"""Languages without a sentiment model, flagged everywhere: ``GET /api/text/languages``, the
``languages`` of ``/api/text/themes`` and ``/trends``, and a note on the Text page."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.text import REPORTS
from cxray.workspace import Workspace

#: Portuguese reviews written for this test; no out-of-the-box scorer supports Portuguese
PORTUGUESE = [
    "O produto chegou atrasado e veio quebrado, não recomendo esta loja para ninguém",
    "Não recebi o meu pedido até agora e o atendimento da loja é péssimo",
    "A entrega demorou muito mais do que o prometido e ninguém respondeu",
]
ENGLISH = [
    "The parcel arrived two weeks late and the box was damaged",
    "Great service, the agent on the phone was very helpful and kind",
    "I am still waiting for my refund after three weeks of emails",
]
N_PT, N_EN = 9, 15


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("langs")
    db = folder / "site.duckdb"
    comments = [PORTUGUESE[i % 3] for i in range(N_PT)] + [ENGLISH[i % 3] for i in range(N_EN)]
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": [f"R{i}" for i in range(len(comments))],
                    "submitted_at": ["2026-02-02"] * len(comments),
                    "nps": [i % 11 for i in range(len(comments))],
                    "comment": comments,
                }
            ),
        )
        key = ApiKeys(ws.store).create("viewer", name="t")[1]
    REPORTS.clear()
    with TestClient(create_app(db, folder / "cxray.toml", settings=ApiSettings())) as c:
        assert c.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        yield c


def test_languages_endpoint_counts_every_language(client):
    r = client.get("/api/text/languages")
    assert r.status_code == 200, r.text
    body = r.json()
    by = {x["code"]: x for x in body["languages"]}
    assert body["n_texts"] == N_PT + N_EN == sum(x["n"] for x in body["languages"])
    assert by["pt"] == {
        "code": "pt",
        "name": "Portuguese",
        "n": N_PT,
        "share": pytest.approx(N_PT / (N_PT + N_EN)),
        "scored": 0,
        "unscored": N_PT,
        "supported": False,
    }
    assert by["en"]["supported"] and by["en"]["scored"] == by["en"]["n"] == N_EN
    assert body["gaps"] == [
        {
            "code": "pt",
            "name": "Portuguese",
            "n": N_PT,
            "message": f"Portuguese: {N_PT} texts; sentiment needs a trained model: "
            "`cxray text train`",
        }
    ]
    # per table: the cases have no texts, so no gaps
    cases = client.get("/api/text/languages", params={"table": "cases"}).json()
    assert cases["table"] == "cases" and cases["languages"] == [] and cases["gaps"] == []
    assert client.get("/api/text/languages", params={"table": "orders"}).status_code == 422


def test_themes_and_trends_carry_their_tables_gaps(client):
    themes = client.get("/api/text/themes").json()
    assert [g["code"] for g in themes["languages"]] == ["pt"]
    assert themes["languages"][0]["n"] == N_PT
    assert themes["n_texts"] == N_PT + N_EN  # the Portuguese texts are counted, not scored
    trends = client.get("/api/text/trends").json()
    assert trends["languages"] == []


def test_the_text_page_names_the_gap_at_the_top(client):
    page = client.get("/text").text
    note = re.search(r'<div class="note language-gaps"[^>]*>(.*?)</div>', page, re.S)
    assert note is not None
    assert page.index("language-gaps") < page.index('class="data themes"')  # above the table
    items = re.findall(r'<li data-language="(\w+)" data-value="(\d+)">([^<]*)</li>', note.group(1))
    assert items == [
        (
            "pt",
            str(N_PT),
            f"Portuguese: {N_PT} texts; sentiment needs a trained model: `cxray text train`",
        )
    ]
    # the cases' page has no such texts: no note
    assert "language-gaps" not in client.get("/text", params={"table": "cases"}).text
