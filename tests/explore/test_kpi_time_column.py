"""The drill-down behind a KPI defined over another time column (``time_column``) cuts its
dates on that column, as the KPI counts its rows: a case opened in September and resolved
in October is behind October's figure of a KPI by ``resolved_at``, and one opened in
October but resolved in November is not. On DuckDB and PostgreSQL, through the library,
the API and the dashboard's rows page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.explore import RowSelection, page_rows
from cxray.metrics import kpi_where
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

CONFIG = """
[program]
timezone = "UTC"

[kpis.hours_to_close]
title = "Hours to close (by closing day)"
kind = "mean"
table = "cases"
value = "hours_between(opened_at, resolved_at)"
time_column = "resolved_at"

[kpis.hours_by_opening]
kind = "mean"
table = "cases"
value = "hours_between(opened_at, resolved_at)"
"""

#: case, opened, resolved: October 2026 holds C2, C3 by closing and C3, C4 by opening
CASES = [
    ("C1", "2026-09-10 09:00", "2026-09-12 09:00"),  # neither
    ("C2", "2026-09-28 10:00", "2026-10-02 10:00"),  # in October only by resolved_at
    ("C3", "2026-10-05 08:00", "2026-10-06 12:00"),  # both
    ("C4", "2026-10-30 12:00", "2026-11-03 12:00"),  # in October only by opened_at
    ("C5", "2026-11-02 12:00", "2026-11-04 12:00"),  # neither
]
OCTOBER = ("2026-10-01", "2026-11-01")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [c for c, _, _ in CASES],
            "customer_id": ["K1", "K2", "K3", "K4", "K5"],
            "opened_at": pd.to_datetime([o for _, o, _ in CASES]),
            "resolved_at": pd.to_datetime([r for _, _, r in CASES]),
        }
    )


def _world(folder: Path, db: str | Path) -> Workspace:
    (folder / "cxray.toml").write_text(CONFIG, encoding="utf-8")
    ws = Workspace.open(db, folder / "cxray.toml")
    ws.import_frame("cases", _frame())
    return ws


def _keys(ws: Workspace, metric: str) -> list[str]:
    where = kpi_where(ws.config, metric)
    sel = RowSelection("cases", [], ["case_id"], *OCTOBER, where=where)
    page = page_rows(ws.store.backend, sel, "UTC", limit=100, offset=0)
    return [r["case_id"] for r in page["rows"]]


def _check(ws: Workspace) -> None:
    assert _keys(ws, "hours_to_close") == ["C2", "C3"]
    assert _keys(ws, "hours_by_opening") == ["C3", "C4"]
    # the same rows the KPI counts in October (n below the minimum: no estimate shown)
    for metric, n in (("hours_to_close", 2), ("hours_by_opening", 2)):
        rec = ws.scorecard(metrics=[metric], start="2026-10-01", end="2026-10-31")
        assert [r["n"] for r in rec.records()] == [n]


def test_duckdb_drill_down_cuts_on_the_kpis_time_column(tmp_path: Path):
    ws = _world(tmp_path, tmp_path / "cx.duckdb")
    try:
        _check(ws)
        keys = ApiKeys(ws.store)
        token = keys.create("viewer", name="reader", permissions=("pii",))[1]
    finally:
        ws.close()
    app = create_app(tmp_path / "cx.duckdb", tmp_path / "cxray.toml", settings=ApiSettings())
    with TestClient(app) as c:
        auth = {"Authorization": f"Bearer {token}"}
        q = {"metric": "hours_to_close", "from": OCTOBER[0], "to": OCTOBER[1], "sort": "case_id"}
        r = c.get("/api/tables/cases/rows", params=q, headers=auth)
        assert r.status_code == 200, r.text
        assert [x["case_id"] for x in r.json()["rows"]] == ["C2", "C3"]
        # without the KPI the table's own time column cuts the dates
        del q["metric"]
        r = c.get("/api/tables/cases/rows", params=q, headers=auth)
        assert [x["case_id"] for x in r.json()["rows"]] == ["C3", "C4"]
        # the dashboard: the rows page behind the KPI
        assert c.post("/login", data={"key": token}, follow_redirects=False).status_code == 303
        page = c.get("/rows/cases", params={"metric": "hours_to_close", "from": OCTOBER[0],
                                            "to": OCTOBER[1]}).text  # fmt: skip
        assert "C2" in page and "C3" in page
        assert ">C4<" not in page and ">C1<" not in page


@needs_postgres
def test_postgres_drill_down_cuts_on_the_kpis_time_column(tmp_path: Path):
    ws = _world(tmp_path, fresh_postgres())
    try:
        _check(ws)
    finally:
        ws.close()
