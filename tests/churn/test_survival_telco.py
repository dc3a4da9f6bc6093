"""IBM Telco churn (a snapshot: tenure in months and a Yes/No churn flag, imported with
derived dates): month-to-month customers leave far faster than those on a contract."""

from __future__ import annotations

import math

import pytest

from cxray.exceptions import AnalysisError
from cxray.workspace import Workspace
from tests.conftest import SHARED

TELCO = SHARED / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
MAPPING = {
    "created_at": "tenure:months-before:2024-01-31",
    "churned_at": "Churn:yes-at:2024-01-31",
}


@pytest.fixture(scope="module")
def telco(tmp_path_factory):
    path = tmp_path_factory.mktemp("telco-survival") / "telco.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_files("customers", [TELCO], mapping=MAPPING)
        yield ws


def test_survival_by_contract(telco):
    s = telco.churn.survival(by="Contract")  # the file's name; the store's is contract
    g = s.groups.set_index("group")
    assert s.n == 7043 and s.events == 1869  # the file's 1,869 "Yes"
    assert list(g.n) == [3875, 1473, 1695] and list(g.events) == [1655, 166, 48]
    monthly = g.loc["Month-to-month"]
    assert 900 < monthly.median_days < 1200 and monthly.ci_low < monthly.median_days
    assert math.isnan(g.loc["Two year", "median_days"])
    assert monthly.survival_365d_high < g.loc["One year", "survival_365d_low"]
    assert (s.tests.q_value < 1e-10).all()


def test_cox_by_contract(telco):
    c = telco.churn.cox(by="Contract", covariates=["MonthlyCharges"], save=False)
    assert c.reference == "Month-to-month" and c.covariates == ["monthly_charges"]
    hr, _, hi = c.hazard_ratio("contract=Two year")
    assert hr < 0.05 and hi < 0.05
    assert c.concordance > 0.7
    assert any("proportional hazards doubtful" in n for n in c.notes)


def test_numbers_the_file_brought_as_text_are_banded(telco):
    s = telco.churn.survival(by="TotalCharges")  # text in the store; 11 blanks
    g = s.groups.set_index("group")
    assert "quantile bands" in s.definition and len(g) == 4
    assert g.loc["(missing)", "n"] == 11 and int(g.n.sum()) == 7043
    c = telco.churn.cox(by=None, covariates=["TotalCharges"], save=False)
    assert c.n == 7032 and c.left_out == 11
    with pytest.raises(AnalysisError, match="covariate 'gender' is not numeric"):
        telco.churn.cox(covariates=["gender"], save=False)
