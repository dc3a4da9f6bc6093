"""Dashboard fixtures: the composite app (API + web) over a small demo world."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace


@dataclass
class Site:
    client: TestClient  # logged in as a viewer
    anonymous: TestClient
    key: str
    db: Path

    @property
    def ws(self) -> Workspace:
        return self.client.app.state.cx.ws  # type: ignore[attr-defined]

    def scorecard(self, **kw) -> list[dict]:
        with self.client.app.state.cx.lock:  # type: ignore[attr-defined]
            return self.ws.scorecard(**kw).records()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(seed=7, customers=600, months=4)
        key = ApiKeys(ws.store).create("viewer", name="morning")[1]
    app = create_app(db, folder / "cxray.toml", settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        anonymous = TestClient(app, raise_server_exceptions=False)
        r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        yield Site(client, anonymous, key, db)


def values(html: str, attr: str) -> dict[str, float | None]:
    """``{attr value: the number shown}`` for each element carrying ``data-<attr>``;
    None where the figure is suppressed."""
    out: dict[str, float | None] = {}
    pattern = rf'data-{attr}="([^"]*)"(.*?)(?=data-{attr}="|</tbody>|</ul>)'
    for name, body in re.findall(pattern, html, re.S):
        m = re.search(r'data-value="([^"]+)"', body)
        out[name] = float(m.group(1)) if m else None
    return out
