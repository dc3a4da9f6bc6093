"""The scorecard says why instead of showing 0.0 or a constant: historical CLV without
orders, health without activity, churn without churn dates or without anyone at risk.

The customers-only store reproduces the IBM Telco file imported as customers (tenure and
a Yes/No churn flag: no orders, events, responses or cases): the scorecard showed
"CLV 0.0 [0.0, 0.0]" and left churn out without a word.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cxray.cli import main
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

TELCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "telco_churn"


def _customers(n: int = 60, churned: bool = True) -> str:
    lines = ["customer_id,created_at,churned_at,contract"]
    for i in range(n):
        created = f"2024-{1 + i % 6:02d}-{1 + i % 27:02d}"
        left = "2024-12-31" if churned and i % 3 == 0 else ""
        lines.append(f"c{i:03d},{created},{left},{'monthly' if i % 2 else 'yearly'}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def customers_only(ws, write):
    ws.import_files("customers", [write("customers.csv", _customers())])
    return ws


def _rows(card, metric):
    return [s.to_dict() for s in card if s.metric == metric]


def test_customers_only_store_states_every_reason(customers_only):
    card = customers_only.scorecard()
    clv, health, churn = _rows(card, "clv"), _rows(card, "health"), _rows(card, "churn_rate")
    assert len(clv) == len(health) == len(churn) == 1
    for row in (clv[0], health[0], churn[0]):
        assert row["suppressed"] is True
        assert row["estimate"] is None and row["ci_low"] is None and row["ci_high"] is None
        assert row["status"] is None
    assert clv[0]["reason"].startswith("no orders") and clv[0]["n"] == 60
    assert health[0]["reason"].startswith("no activity")
    # 40 customers never left; with no input each would score 0.4*0.5 + 0.2*1 = 40.0
    assert health[0]["n"] == 40 and "constant 40.0" in health[0]["reason"]
    assert "nobody was a customer at the window's start" in churn[0]["reason"]
    assert "--period" in churn[0]["reason"]


def test_sliced_and_periodic_cards_keep_the_reasons(customers_only):
    card = customers_only.scorecard(by=["contract"])
    clv = _rows(card, "clv")
    assert {r["contract"] for r in clv} == {"monthly", "yearly"}
    assert all(r["suppressed"] and r["reason"].startswith("no orders") for r in clv)
    assert sum(r["n"] for r in clv) == 60
    churn = _rows(card, "churn_rate")
    assert len(churn) == 1 and churn[0]["suppressed"] and churn[0]["contract"] is None
    # by period churn is measurable: customers joined before each month are at risk in it
    monthly = customers_only.scorecard(period="month", metrics=["churn_rate", "clv"])
    rates = [r for r in _rows(monthly, "churn_rate") if not r["suppressed"]]
    assert rates and all(r["n"] > 0 for r in rates)
    assert all(r["change"] is None for r in _rows(monthly, "clv"))


def test_no_churn_dates_is_not_a_churn_rate_of_zero(ws, write):
    ws.import_files("customers", [write("c.csv", _customers(churned=False))])
    ws.import_files(
        "orders",
        [write("o.csv", "order_id,customer_id,ordered_at,amount\no1,c001,2024-07-01,10\n")],
    )
    row = _rows(ws.scorecard(), "churn_rate")[0]
    assert row["suppressed"] and row["reason"].startswith("no churn dates")
    assert "60 customers" in row["reason"]


def test_clv_shown_where_orders_exist_suppressed_where_none(ws, write):
    ws.import_files("customers", [write("c.csv", _customers(churned=False))])
    # only yearly customers (even ids) ordered
    orders = "order_id,customer_id,ordered_at,amount,status\n"
    orders += "".join(f"o{i},c{i:03d},2024-08-01,{10 + i},completed\n" for i in range(0, 60, 2))
    orders += "x1,c001,2024-08-02,99,cancelled\n"
    ws.import_files("orders", [write("o.csv", orders)])
    card = ws.scorecard(by=["contract"], metrics=["clv"])
    got = {r["contract"]: r for r in _rows(card, "clv")}
    assert not got["yearly"]["suppressed"]
    assert got["yearly"]["estimate"] == pytest.approx(sum(10 + i for i in range(0, 60, 2)) / 30)
    assert got["monthly"]["suppressed"]
    assert (
        got["monthly"]["reason"]
        == "no orders from these 30 customers: their CLV would be a bare 0.0"
    )
    overall = _rows(ws.scorecard(metrics=["clv"]), "clv")[0]
    assert not overall["suppressed"] and overall["n"] == 60


def test_only_cancelled_orders_say_so(ws, write):
    ws.import_files("customers", [write("c.csv", _customers(churned=False))])
    ws.import_files(
        "orders",
        [
            write(
                "o.csv",
                "order_id,customer_id,ordered_at,amount,status\no1,c001,2024-07-01,5,returned\n",
            )
        ],
    )
    row = _rows(ws.scorecard(metrics=["clv"]), "clv")[0]
    assert row["suppressed"] and row["reason"].startswith("no revenue orders")


def test_health_with_one_input_is_not_suppressed(ws, write):
    ws.import_files("customers", [write("c.csv", _customers(churned=False))])
    ws.import_files(
        "responses",
        [write("r.csv", "response_id,customer_id,submitted_at,nps\nr1,c001,2024-07-01,10\n")],
    )
    row = _rows(ws.scorecard(metrics=["health"]), "health")[0]
    assert not row["suppressed"] and row["n"] == 60
    # one customer scores 0.4*1 + 0.2 = 60, the other 59 the constant 40
    assert row["estimate"] == pytest.approx((60 + 59 * 40) / 60)


def test_demo_world_is_unchanged(demo_small):
    card = demo_small.scorecard(metrics=["clv", "health", "churn_rate"])
    for s in card:
        d = s.to_dict()
        assert not d["suppressed"] and math.isfinite(d["estimate"]), d


@pytest.fixture(scope="module")
def demo_small(tmp_path_factory):
    path = tmp_path_factory.mktemp("supp") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as w:
        w.load_demo(seed=5, customers=300, months=4)
        yield w


@pytest.mark.skipif(not TELCO.exists(), reason="the shared IBM Telco file is absent")
def test_telco_file_as_customers_via_the_cli(tmp_path, capsys):
    """The user's path: the Telco CSV as customers, then ``cxray scorecard``."""
    d = pd.read_csv(TELCO / "Telco-Customer-Churn.csv")
    end = pd.Timestamp("2024-12-31")
    d["created_at"] = [(end - pd.DateOffset(months=int(t))).date().isoformat() for t in d.tenure]
    d["churned_at"] = [end.date().isoformat() if c == "Yes" else "" for c in d.Churn]
    d = d.rename(columns={"customerID": "customer_id"}).drop(columns=["Churn"])
    src = tmp_path / "telco.csv"
    d.to_csv(src, index=False)
    db = str(tmp_path / "cx.duckdb")
    assert _cli(capsys, "--db", db, "import", "customers", str(src))[0] == 0
    code, out = _cli(capsys, "--db", db, "scorecard", "--format", "json")
    assert code == 0, out
    rows = {r["metric"]: r for r in json.loads(out)}
    # referral rate: the file has no acquisition channel (a row that says so, not a number)
    assert set(rows) == {"churn_rate", "referral_rate", "clv", "health"}
    assert all(r["suppressed"] and r["reason"] and r["estimate"] is None for r in rows.values())
    assert rows["referral_rate"]["reason"].startswith("no acquisition channels")
    assert rows["clv"]["n"] == 7043
    assert rows["health"]["n"] == int((d.churned_at == "").sum())  # 5,174 still customers
    code, out = _cli(capsys, "--db", db, "scorecard")
    assert code == 0 and "0.0 [0.0, 0.0]" not in out and "no orders" in out


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, capsys.readouterr().out


@needs_postgres
def test_postgres_states_the_same_reasons(customers_only, tmp_path, write):
    """The evidence counts and the customers' own window are portable Ibis."""
    with Workspace.open(fresh_postgres(), tmp_path / "pg.toml") as pg:
        pg.import_files("customers", [write("pg.csv", _customers())])
        for kw in ({}, {"by": ["contract"]}, {"period": "month"}):
            got = [_plain(r) for r in pg.scorecard(**kw).records()]
            want = [_plain(r) for r in customers_only.scorecard(**kw).records()]
            assert got == want, kw


def _plain(record: dict) -> dict:
    return {k: round(v, 9) if isinstance(v, float) else v for k, v in record.items()}
