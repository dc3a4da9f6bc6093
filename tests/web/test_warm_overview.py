"""The overview computed ahead: `warm_overview` covers what `/` needs, and `cxray serve`'s
app computes it in the background when it starts and again after an import."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray import web
from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import SERVE_URL_ENV, WARM_ENV, create_app
from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("warm")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "none.toml") as ws:
        ws.load_demo(seed=11, customers=400, months=3)
        key = ApiKeys(ws.store).create("analyst", name="warm")[1]
    return db, key


def _scorecards_computed(app) -> list[tuple]:
    """The scorecard options the server has computed for the data it holds now."""
    state = app.state.cx
    now = state.version()
    return [k[1] for k in list(state._cache) if k[0] == now and k[1][0] == "scorecard"]


def test_after_warming_the_overview_computes_no_scorecard(store, monkeypatch):
    db, key = store
    monkeypatch.delenv(SERVE_URL_ENV, raising=False)
    app = create_app(db, db.parent / "none.toml", settings=ApiSettings())
    with TestClient(app) as client:
        assert client.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        web.warm_overview(app.state.cx)
        ws = app.state.cx.ws

        def refuse(*a, **k):
            raise AssertionError("the overview computed a scorecard after warm_overview")

        monkeypatch.setattr(type(ws), "scorecard", refuse)
        page = client.get("/")
        assert page.status_code == 200 and 'class="tiles"' in page.text


def _wait_for(predicate, seconds: float = 60.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_served_app_warms_at_start_and_after_an_import(store, monkeypatch, tmp_path):
    db, key = store
    monkeypatch.setenv(SERVE_URL_ENV, "http://127.0.0.1:9")  # as `cxray serve` sets it
    monkeypatch.delenv(WARM_ENV, raising=False)
    app = create_app(db, db.parent / "none.toml", settings=ApiSettings())
    with TestClient(app) as client:
        assert _wait_for(lambda: len(_scorecards_computed(app)) == 2)
        assert sorted(k[2] or "" for k in _scorecards_computed(app)) == ["", "month"]
        before = app.state.cx.version()
        extra = tmp_path / "extra.csv"
        extra.write_text(
            "response_id,customer_id,submitted_at,nps\nW1,C0000001,2026-01-15T10:00:00,3\n"
        )
        with extra.open("rb") as f:
            r = client.post(
                "/api/imports/responses",
                files={"files": ("extra.csv", f, "text/csv")},
                headers={"Authorization": f"Bearer {key}"},
            )
        assert r.status_code == 201, r.text
        assert app.state.cx.version() != before
        # the new data's overview is computed without anybody asking for it
        assert _wait_for(lambda: len(_scorecards_computed(app)) == 2)


def test_warming_can_be_turned_off(store, monkeypatch):
    db, _ = store
    monkeypatch.setenv(SERVE_URL_ENV, "http://127.0.0.1:9")
    monkeypatch.setenv(WARM_ENV, "0")
    app = create_app(db, db.parent / "none.toml", settings=ApiSettings())
    with TestClient(app):
        time.sleep(3)
        assert _scorecards_computed(app) == []
