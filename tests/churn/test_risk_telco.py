"""IBM Telco churn: imported unedited, a stratified 80/20 split chosen and explained, an AUC
of at least 0.85 with its interval (a scaled logistic regression on the raw columns reaches
about 0.84), far above the tenure-band baseline; scores with reasons a person recognises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from cxray.workspace import Workspace
from tests.conftest import SHARED

TELCO = SHARED / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
MAPPING = {
    "created_at": "tenure:months-before:2024-01-31",
    "churned_at": "Churn:yes-at:2024-01-31",
}


@pytest.fixture(scope="module")
def telco(tmp_path_factory):
    path = tmp_path_factory.mktemp("telco") / "telco.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_files("customers", [TELCO], mapping=MAPPING)
        report = ws.churn.risk.train(seed=0)
        scores = ws.churn.risk.score()
    return report, scores


def test_auc_at_least_085_on_a_stratified_split(telco):
    r, _ = telco
    assert r.split == "stratified"
    assert "time split is impossible" in r.split_reason and "snapshot" in r.split_reason
    # 7,032 customers joined before the snapshot (11 have a tenure of 0): 80/20
    assert (r.n_train, r.n) == (5625, 1407)
    assert r.churn_rate == pytest.approx(374 / 1407)
    assert r.auc >= 0.85
    assert r.ci_low < r.auc < r.ci_high and r.ci_high - r.ci_low < 0.06
    assert r.baseline["auc"] < 0.76
    assert r.auc_gain["ci_low"] > 0.05 and r.kept
    assert r.lift_top_decile > 2.5
    assert {"contract", "internet_service", "monthly_charges", "tenure_days"} <= set(r.features)
    assert not any(f.startswith("churn") for f in r.features)


def test_the_reference_scaled_logistic_regression(telco):
    # the stated reference point, on the same split: about 0.84 from the raw numeric columns
    # and one-hot categories without splines; the stored model does better
    r, _ = telco
    df = pd.read_csv(TELCO)
    df = df[df.tenure > 0].sort_values("customerID").reset_index(drop=True)
    y = (df.Churn == "Yes").to_numpy()
    X = pd.get_dummies(df.drop(columns=["customerID", "Churn", "TotalCharges"]), dtype=float)
    tr, te = train_test_split(np.arange(len(df)), test_size=0.2, random_state=0, stratify=y)
    sc = StandardScaler().fit(X.iloc[tr])
    lr = LogisticRegression(max_iter=2000).fit(sc.transform(X.iloc[tr]), y[tr])
    ref = roc_auc_score(y[te], lr.predict_proba(sc.transform(X.iloc[te]))[:, 1])
    assert 0.82 < ref < r.auc


def test_scores_and_reasons(telco):
    _, s = telco
    assert s.n == 7032 - 1869  # the active customers: those who did not leave
    top = s.customers.head(50)
    named = [x["feature"] for why in top.reasons for x in why]
    assert "contract" in named and "tenure_days" in named
    month_to_month = [x for why in top.reasons for x in why if x["feature"] == "contract"]
    assert {x["value"] for x in month_to_month} == {"Month-to-month"}
