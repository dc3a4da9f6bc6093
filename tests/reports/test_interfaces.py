"""``cxray report``, the API (``/api/reports``) and the Reports page end to end, with roles:
viewers read the archive, analysts generate, a digest with personal data shown needs pii."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.cli import app as cli
from cxray.exceptions import QueryError
from cxray.workspace import Workspace


@dataclass
class Site:
    client: TestClient
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("reports-api")
    db, cfg = folder / "cx.duckdb", folder / "cxray.toml"
    cfg.write_text('[reports.weekly]\nevery = "monday 08:00"\nto = ["lead@example.com"]\n'
                   "enabled = false\n")  # fmt: skip
    with Workspace.open(db, cfg) as ws:
        k = ApiKeys(ws.store)
        keys = {r: k.create(r, name=f"test {r}")[1] for r in ("viewer", "analyst", "admin")}
        keys["viewer-pii"] = k.create("viewer", name="pii viewer", permissions=("pii",))[1]
    app = create_app(db, cfg, settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Site(client, keys)


def _error(r, status: int) -> str:
    assert r.status_code == status, r.text
    return r.json()["error"]["message"]


def test_api_generate_list_open_with_roles(site):
    c = site.client
    assert "analyst" in _error(c.post("/api/reports", json={}, headers=site.auth("viewer")), 403)
    r = c.post("/api/reports", json={"period": "2026-10", "format": "html"},
               headers=site.auth("analyst"))  # fmt: skip
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["period"], made["format"], made["pii"]) == ("2026-10", "html", False)
    assert (made["period_start"], made["period_end"]) == ("2026-10-01", "2026-10-31")
    assert made["actor"] == "test analyst" and made["summary"]["kpis"].startswith("no KPI")

    listed = c.get("/api/reports", headers=site.auth("viewer")).json()["reports"]
    assert made["report_id"] in [x["report_id"] for x in listed]
    f = c.get(f"/api/reports/{made['report_id']}", headers=site.auth("viewer"))
    assert f.status_code == 200 and f.headers["content-type"].startswith("text/html")
    assert "<h2>KPIs against the previous period</h2>" in f.text
    assert len(f.content) == made["size"]
    d = c.get(f"/api/reports/{made['report_id']}?download=true", headers=site.auth("viewer"))
    assert d.headers["content-disposition"] == 'attachment; filename="cxray-digest-2026-10.html"'

    assert "period" in _error(c.post("/api/reports", json={"period": "soon"},
                                     headers=site.auth("analyst")), 422)  # fmt: skip
    assert "RP-none" in _error(c.get("/api/reports/RP-none", headers=site.auth("viewer")), 404)


def test_a_digest_with_personal_data_needs_pii(site):
    c = site.client
    body = {"period": "2026-09-01..2026-09-30", "format": "md", "pii": True}
    assert "pii" in _error(c.post("/api/reports", json=body, headers=site.auth("analyst")), 403)
    r = c.post("/api/reports", json=body, headers=site.auth("admin"))
    assert r.status_code == 201, r.text
    rid = r.json()["report_id"]
    assert "pii" in _error(c.get(f"/api/reports/{rid}", headers=site.auth("viewer")), 403)
    ok = c.get(f"/api/reports/{rid}", headers=site.auth("viewer-pii"))
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/markdown")
    assert ok.text.startswith("# CX executive digest: 2026-09-01..2026-09-30")
    assert "personal data masked" not in ok.text


def test_the_reports_page_lists_and_generates(site):
    c = TestClient(site.client.app, raise_server_exceptions=False)
    r = c.post("/login", data={"key": site.keys["analyst"], "next": "/reports"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get("/reports")
    assert page.status_code == 200
    assert 'action="/reports"' in page.text and 'data-schedule="weekly"' in page.text
    made = c.post("/reports", data={"period": "2026-Q3", "format": "pdf"},
                  follow_redirects=False)  # fmt: skip
    assert made.status_code == 303 and made.headers["location"].startswith("/reports?done=RP-")
    rid = made.headers["location"].split("done=")[1]
    page = c.get(made.headers["location"])
    assert f'data-report="{rid}"' in page.text and "2026-Q3" in page.text
    pdf = c.get(f"/reports/{rid}")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    # a viewer sees the archive but no form, and may not post one
    v = TestClient(site.client.app, raise_server_exceptions=False)
    v.post("/login", data={"key": site.keys["viewer"], "next": "/"})
    assert 'action="/reports"' not in v.get("/reports").text
    assert v.post("/reports", data={"period": "last-week"}).status_code == 403
    bad = c.post("/reports", data={"period": "2026-13"})
    assert bad.status_code == 400 and "no month 13" in bad.text


def test_cli_report_writes_each_format(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    r = runner.invoke(cli, ["report", "--period", "last-week", "--as-of", "2026-06-10",
                            "--format", "md", "--out", "digest.md"])  # fmt: skip
    assert r.exit_code == 0, r.output
    md = (tmp_path / "digest.md").read_text()
    assert md.startswith("# CX executive digest: 2026-W23")
    assert "## Alerts and follow-ups" in md and "## Revenue at risk" in md
    r = runner.invoke(cli, ["report", "--period", "2026-Q3", "--no-keep"])  # pdf by default
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cxray-digest-2026-Q3.pdf").read_bytes()[:5] == b"%PDF-"
    r = runner.invoke(cli, ["report", "--period", "2026-Q3", "--format", "html"])
    assert r.exit_code == 0 and "<h1>CX executive digest: 2026-Q3</h1>" in r.stdout
    with Workspace.open("cxray.duckdb") as ws:
        assert [(x.period, x.format) for x in ws.reports.list()] == [
            ("2026-Q3", "html"), ("2026-W23", "md")]  # fmt: skip
    bad = runner.invoke(cli, ["report", "--period", "next-week"])
    assert isinstance(bad.exception, QueryError) and "not understood" in str(bad.exception)


def test_delete_a_digest_admins_only_api_page_and_cli(site, tmp_path: Path, monkeypatch):
    c = site.client
    made = [
        c.post("/api/reports", json={"period": p, "format": "md"}, headers=site.auth("analyst"))
        for p in ("2026-07", "2026-08")
    ]
    first, second = (m.json()["report_id"] for m in made)
    # the API: an analyst may generate but not delete; an admin deletes; then it is gone
    assert "admin" in _error(c.delete(f"/api/reports/{first}", headers=site.auth("analyst")), 403)
    r = c.delete(f"/api/reports/{first}", headers=site.auth("admin"))
    assert r.status_code == 200 and r.json()["deleted"] and r.json()["period"] == "2026-07"
    assert "no report" in _error(c.get(f"/api/reports/{first}", headers=site.auth("viewer")), 404)
    assert "no report" in _error(c.delete(f"/api/reports/{first}", headers=site.auth("admin")), 404)
    listed = c.get("/api/reports", headers=site.auth("viewer")).json()["reports"]
    assert first not in {x["report_id"] for x in listed} and second in {
        x["report_id"] for x in listed
    }
    # the audit log records the deletion as a change of configuration
    events = c.get("/api/audit", params={"action": "config"}, headers=site.auth("admin")).json()
    rows = events.get("events") or events.get("records") or []
    assert any(first in (e.get("target") or "") and e["status"] == "ok" for e in rows), rows
    # the page: a Delete button for an admin only, a same-site form
    analyst = TestClient(c.app, raise_server_exceptions=False)
    analyst.post("/login", data={"key": site.keys["analyst"], "next": "/"})
    assert f'action="/reports/{second}/delete"' not in analyst.get("/reports").text
    assert analyst.post(f"/reports/{second}/delete", follow_redirects=False).status_code == 403
    admin = TestClient(c.app, raise_server_exceptions=False)
    admin.post("/login", data={"key": site.keys["admin"], "next": "/"})
    assert f'action="/reports/{second}/delete"' in admin.get("/reports").text
    foreign = admin.post(f"/reports/{second}/delete", headers={"Origin": "https://evil.example"},
                         follow_redirects=False)  # fmt: skip
    assert foreign.status_code == 403
    gone = admin.post(f"/reports/{second}/delete", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == f"/reports?deleted={second}"
    page = admin.get(gone.headers["location"]).text
    assert f"Digest {second} deleted" in page and f'data-report="{second}"' not in page
    # the command line: asks unless --yes; an unknown id is an error that deletes nothing
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    with Workspace.open("cxray.duckdb") as ws:
        keep = ws.reports.generate("2026-06-01..2026-06-07", "md").report_id
        drop = ws.reports.generate("2026-06-08..2026-06-14", "md").report_id
    no = runner.invoke(cli, ["report", "delete", drop], input="n\n")
    assert no.exit_code != 0
    ok = runner.invoke(cli, ["report", "delete", drop, "--yes"])
    assert ok.exit_code == 0 and f"deleted {drop}" in ok.output
    bad = runner.invoke(cli, ["report", "delete", "RP-none", "--yes"])
    assert bad.exit_code != 0 and "no report" in str(bad.exception)
    with Workspace.open("cxray.duckdb") as ws:
        assert [x.report_id for x in ws.reports.list()] == [keep]
