"""API fixtures: an app over a store, its TestClient and one key per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings, create_app
from cxray.workspace import Workspace


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]  # role -> key
    db: Path

    @property
    def ws(self) -> Workspace:
        return self.client.app.state.cx.ws  # type: ignore[attr-defined]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, url: str, role: str = "viewer", **kw):
        return self.client.get(url, headers=self.auth(role), **kw)

    def post(self, url: str, role: str = "analyst", **kw):
        return self.client.post(url, headers=self.auth(role), **kw)


def _keys(db: Path) -> dict[str, str]:
    with Workspace.open(db) as ws:
        keys = ApiKeys(ws.store)
        return {
            role: keys.create(role, name=f"test {role}")[1]
            for role in ("admin", "analyst", "viewer")
        }


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Build an app over a fresh store (after ``setup(ws)`` runs on it, if given)."""
    opened: list[TestClient] = []

    def make(setup: Callable[[Workspace], None] | None = None, **settings) -> Api:
        db = tmp_path / f"api{len(opened)}.duckdb"
        if setup is not None:
            with Workspace.open(db, tmp_path / "cxray.toml") as ws:
                setup(ws)
        keys = _keys(db)
        app = create_app(db, tmp_path / "cxray.toml", settings=ApiSettings(**settings))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return Api(client, keys, db)

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_api) -> Api:
    """An app over an empty store."""
    return make_api()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Api]:
    """An app over a small demo world (500 customers, 3 months), shared by a module."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=500, months=3)
    keys = _keys(db)
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, keys, db)


def assert_envelope(resp, status: int, code: str) -> dict:
    """The response is the error envelope with this status and code; returns its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return body["error"]
