"""``cxray doctor`` and ``GET /api/doctor``: what the data supports, and what to import.

The user's paths: a ticket file without contacts or reopened data, the IBM Telco file
as customers, an empty store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import create_app
from cxray.cli import main
from cxray.workspace import Workspace

TELCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "telco_churn"
CASES = (
    "case_id,customer_id,opened_at,resolved_at\n"
    "k1,c1,2024-01-02T10:00,2024-01-03T10:00\n"
    "k2,c2,2024-01-05T10:00,\n"
)


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().out


def _db(tmp_path: Path, table: str | None = None, text: str = "") -> str:
    db = tmp_path / "cx.duckdb"
    with Workspace.open(db, tmp_path / "cxray.toml") as ws:
        if table is not None:
            src = tmp_path / f"{table}.csv"
            src.write_text(text, encoding="utf-8")
            ws.import_files(table, [src])
    return str(db)


def test_doctor_on_a_ticket_file_without_contacts(tmp_path, capsys):
    db = _db(tmp_path, "cases", CASES)
    code, out = _cli(capsys, "--db", db, "doctor", "--format", "json")
    assert code == 0, out
    got = json.loads(out)
    assert got["tables"]["cases"] == 2 and got["tables"]["customers"] == 0
    kpis = {k["name"]: k for k in got["kpis"]}
    assert kpis["resolution_mean"]["supported"] and kpis["resolution_mean"]["reason"] is None
    assert not kpis["fcr"]["supported"]
    assert kpis["fcr"]["needs"] == ["cases.resolved_at", "cases.contacts or cases.reopened"]
    assert "import cases with contacts" in kpis["fcr"]["reason"]
    analyses = {a["name"]: a for a in got["analyses"]}
    assert set(analyses) == {
        "drivers", "journeys", "churn_survival", "churn_risk", "clv", "text_themes", "loop"
    }  # fmt: skip
    assert not any(a["supported"] for a in analyses.values())
    code, out = _cli(capsys, "--db", db, "doctor")
    assert code == 0 and "KPIs: 4 of" in out and "no contacts or reopened" in out
    assert "[[loop.rules]]" in out  # printed literally, not eaten as markup


def test_doctor_on_an_empty_store(tmp_path, capsys):
    db = _db(tmp_path)
    code, out = _cli(capsys, "--db", db, "doctor")
    assert code == 0 and "the store is empty" in out and "KPIs: 0 of" in out
    code, out = _cli(capsys, "--db", db, "scorecard")
    assert code == 0 and "nothing to measure: the store holds no data at all" in out


@pytest.mark.skipif(not TELCO.exists(), reason="the shared IBM Telco file is absent")
def test_doctor_on_the_telco_customers(tmp_path, capsys):
    d = pd.read_csv(TELCO / "Telco-Customer-Churn.csv")
    end = pd.Timestamp("2024-01-31")
    d["created_at"] = [(end - pd.DateOffset(months=int(t))).date().isoformat() for t in d.tenure]
    d["churned_at"] = [end.date().isoformat() if c == "Yes" else "" for c in d.Churn]
    d = d.rename(columns={"customerID": "customer_id"}).drop(columns=["Churn"])
    db = _db(tmp_path, "customers", d.to_csv(index=False))
    code, out = _cli(capsys, "--db", db, "doctor", "--format", "json")
    assert code == 0, out
    got = json.loads(out)
    kpis = {k["name"]: k for k in got["kpis"]}
    assert got["tables"]["customers"] == 7043
    assert kpis["churn_rate"]["supported"]
    assert kpis["clv"]["reason"].startswith("no orders")
    assert kpis["health"]["reason"].startswith("no activity")
    assert kpis["referral_rate"]["reason"].startswith("no acquisition channels")
    analyses = {a["name"]: a for a in got["analyses"]}
    assert analyses["churn_survival"]["supported"] and analyses["drivers"]["supported"]
    assert analyses["churn_risk"]["supported"]  # a snapshot with attributes will do
    assert analyses["clv"]["reason"].startswith("no orders")


def test_api_doctor_answers_what_the_cli_prints(tmp_path, capsys):
    db = _db(tmp_path, "cases", CASES)
    with Workspace.open(db) as ws:
        key = ApiKeys(ws.store).create("viewer", name="test")[1]
    _, out = _cli(capsys, "--db", db, "doctor", "--format", "json")
    with TestClient(create_app(Path(db), tmp_path / "cxray.toml")) as client:
        r = client.get("/api/doctor", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
        assert r.json() == json.loads(out)
        assert client.get("/api/doctor").status_code == 401


def test_doctor_as_csv_has_a_line_per_kpi_and_analysis(tmp_path, capsys):
    import csv
    import io

    db = _db(tmp_path, "cases", CASES)
    code, out = _cli(capsys, "--db", db, "doctor", "--format", "json")
    assert code == 0, out
    got = json.loads(out)
    code, out = _cli(capsys, "--db", db, "doctor", "--format", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["name", "title", "kind", "supported", "reason", "needs"]
    assert len(rows) == len(got["kpis"]) + len(got["analyses"])
    by_name = {r["name"]: r for r in rows}
    assert by_name["resolution_mean"]["supported"] == "True"
    assert by_name["resolution_mean"]["reason"] == ""
    fcr = by_name["fcr"]
    assert (fcr["kind"], fcr["supported"]) == ("kpi", "False")
    assert fcr["needs"] == "cases.resolved_at; cases.contacts or cases.reopened"
    assert "import cases with contacts" in fcr["reason"]
    assert by_name["drivers"]["kind"] == "analysis" and by_name["drivers"]["supported"] == "False"
    supported = sorted(r["name"] for r in rows if r["supported"] == "True")
    assert supported == sorted(k["name"] for k in got["kpis"] if k["supported"])
