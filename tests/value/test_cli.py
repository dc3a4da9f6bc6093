"""``cxray clv fit`` and ``cxray clv``: the JSON a script reads, the table a person reads,
CSV, and one red line for mistakes; on CDNOW imported from a CSV file."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cxray.cli import main
from tests.value.conftest import CALIBRATION_END, cdnow_orders


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clv-cli")
    orders = folder / "orders.csv"
    cdnow_orders().to_csv(orders, index=False)
    path = str(folder / "cdnow.duckdb")
    with pytest.raises(SystemExit) as exc:
        main(["--db", path, "import", "orders", str(orders)])
    assert exc.value.code == 0
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_fit_json_has_the_agreed_keys_and_the_golden_parameters(capsys, db):
    code, out, _ = run(capsys, "--db", db, "clv", "fit", "--calibration-end", CALIBRATION_END,
                       "--model", "bgnbd", "--format", "json")  # fmt: skip
    assert code == 0
    fit = json.loads(out)
    assert {"model", "params", "log_likelihood", "n_customers"} <= set(fit)
    assert fit["model"] == "bgnbd" and fit["n_customers"] == 2357
    want = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    for name, value in want.items():
        assert fit["params"][name] == pytest.approx(value, abs=1e-3)
    assert fit["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert fit["holdout"]["length"] == pytest.approx(39.0)


def test_fit_table_and_clv_listing(capsys, db):
    code, out, _ = run(capsys, "--db", db, "clv", "fit", "--unit", "day")
    assert code == 0
    assert "Gamma-Gamma" in out and "log-likelihood" in out and "model:" in out
    code, out, _ = run(capsys, "--db", db, "clv", "--top", "5")
    assert code == 0 and "CLV over 365 days" in out and "P(alive)" in out
    code, out, _ = run(capsys, "--db", db, "clv", "show", "--top", "3", "--format", "csv",
                       "--horizon-days", "730", "--discount-rate", "0")  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and list(rows[0]) == [
        "customer_id", "frequency", "recency", "T", "monetary",
        "expected_purchases", "p_alive", "expected_spend", "clv",
    ]  # fmt: skip
    for r in rows:  # no discounting: CLV = spend x purchases
        assert float(r["clv"]) == pytest.approx(
            float(r["expected_spend"]) * float(r["expected_purchases"]), rel=1e-9
        )
    code, out, _ = run(capsys, "--db", db, "clv", "--format", "json", "--top", "2")
    body = json.loads(out)
    assert code == 0 and len(body["customers"]) == 2 and body["n"] == 2357
    assert body["unit"] == "day" and body["summary"]["n"] == 2357


def test_mistakes_get_one_red_line(capsys, db):
    code, _, err = run(capsys, "--db", db, "clv", "fit", "--calibration-end", "2001-01-01")
    assert code == 1 and "outside the orders' range" in err and "1997-01-01" in err
    code, _, err = run(capsys, "--db", db, "clv", "--horizon-days", "-1")
    assert code == 1 and "horizon_days" in err
    code, _, _ = run(capsys, "--db", db, "clv", "fit", "--unit", "month")
    assert code == 2
