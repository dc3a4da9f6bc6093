"""The churn-risk estimator and its figures: DeLong against a textbook computation and a
published AUC, the estimator contract, JSON round trips (in a new process too), exact
additive reasons, the delta-method covariance against statsmodels."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from cxray.churn._risk_eval import compare, delong, scores
from cxray.churn._risk_model import RiskModel
from cxray.exceptions import AnalysisError, ModelError


def _world(n: int = 3000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    tenure = rng.uniform(0, 1000, n)
    late = rng.poisson(0.5, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    nps = np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 11, n))
    eta = -1.5 - 0.002 * tenure + 0.6 * late + np.where(plan == "basic", 0.8, 0.0)
    eta = eta + np.where(np.isnan(nps), 0.0, -0.15 * (np.nan_to_num(nps) - 7))
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "tenure_days": tenure,
                          "late": late, "plan": plan, "latest_nps": nps})  # fmt: skip
    return frame, y


NUM = ("tenure_days", "late", "latest_nps")


# ---------------------------------------------------------------- DeLong


def _delong_textbook(y, *preds):
    """DeLong et al. (1988) structural components, the O(m·n) way."""
    y = np.asarray(y).astype(bool)
    out_v10, out_v01, aucs = [], [], []
    for p in preds:
        x, z = p[y], p[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(psi.mean())
        out_v10.append(psi.mean(axis=1))
        out_v01.append(psi.mean(axis=0))
    m, n = y.sum(), (~y).sum()
    s10 = np.atleast_2d(np.cov(np.array(out_v10)))
    s01 = np.atleast_2d(np.cov(np.array(out_v01)))
    return np.array(aucs), s10 / m + s01 / n


def test_delong_equals_the_textbook_computation_with_ties():
    rng = np.random.default_rng(3)
    y = rng.random(400) < 0.3
    a = np.round(rng.normal(size=400) + y, 1)  # ties on purpose
    b = rng.integers(0, 5, 400) + y * rng.integers(0, 2, 400)
    aucs, cov = delong(y, a, b)
    ref_aucs, ref_cov = _delong_textbook(y, a, b.astype(float))
    np.testing.assert_allclose(aucs, ref_aucs, rtol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10)
    assert aucs[0] == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    u = mannwhitneyu(a[y], a[~y]).statistic
    assert aucs[0] == pytest.approx(u / (y.sum() * (~y).sum()), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 3)), min_size=4,
             max_size=60).filter(lambda r: 2 <= sum(x[0] for x in r) <= len(r) - 2)
)  # fmt: skip
def test_delong_property_any_scores_with_ties(rows):
    y = np.array([r[0] for r in rows])
    a = np.array([r[1] for r in rows], dtype=float)
    b = np.array([r[2] for r in rows], dtype=float)
    aucs, cov = delong(y, a, b)
    ref_aucs, ref_cov = _delong_textbook(y, a, b)
    np.testing.assert_allclose(aucs, ref_aucs, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-12)
    flipped, _ = delong(y, -a)  # reversing the score mirrors the AUC
    assert flipped[0] == pytest.approx(1 - aucs[0], abs=1e-12)


def test_hanley_mcneil_ct_ratings():
    # Hanley & McNeil (1982), Radiology 143:29-36, Table 1: 109 CT images rated 1-5;
    # the published area under the ROC curve is 0.893
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58), np.ones(51)]
    p = np.r_[normal, abnormal].astype(float)
    aucs, cov = delong(y, p)
    assert aucs[0] == pytest.approx(0.893, abs=5e-4)
    # Hanley & McNeil's standard error is 0.032; DeLong's is close to it
    assert np.sqrt(cov[0, 0]) == pytest.approx(0.032, abs=0.004)


def test_figures_of_a_score():
    rng = np.random.default_rng(0)
    p = rng.random(5000)
    y = (rng.random(5000) < p).astype(float)  # perfectly calibrated
    fig = scores(y, p)
    assert sum(b["n"] for b in fig["reliability"]) == 5000 and len(fig["reliability"]) == 10
    for b in fig["reliability"]:
        assert b["observed_ci_low"] <= b["predicted"] + 0.05
        assert b["predicted"] - 0.05 <= b["observed_ci_high"]
    top = np.argsort(-p)[:500]
    assert fig["lift_top_decile"] == pytest.approx(y[top].mean() / y.mean())
    assert fig["capture_top_decile"] == pytest.approx(y[top].sum() / y.sum())
    assert fig["brier"] == pytest.approx(np.mean((p - y) ** 2))
    gain = compare(y, p, np.zeros_like(p))  # against a useless score (AUC 0.5)
    assert gain["auc_gain"] == pytest.approx(fig["auc"] - 0.5)
    assert gain["ci_low"] > 0


# ---------------------------------------------------------------- the estimator


def test_estimator_contract_and_determinism():
    frame, y = _world()
    m = RiskModel(numeric=NUM, categorical=("plan",), seed=4)
    assert m.fit(frame, y) is m
    assert set(m.get_params()) == {"numeric", "categorical", "C", "n_knots", "degree", "seed"}
    assert all(a.endswith("_") for a in ("coef_", "intercept_", "covariance_", "C_", "terms_"))
    assert not hasattr(RiskModel(), "coef_")
    again = RiskModel(**m.get_params()).fit(frame, y)
    np.testing.assert_array_equal(m.predict_proba(frame), again.predict_proba(frame))
    kinds = {t.name: t.kind for t in m.terms_}
    assert kinds == {"tenure_days": "spline", "late": "linear", "latest_nps": "linear",
                     "plan": "category"}  # fmt: skip
    assert [t.missing for t in m.terms_ if t.name == "latest_nps"] == [True]
    with pytest.raises(ModelError, match="not fitted"):
        RiskModel().predict_proba(frame)


def test_it_recovers_the_planted_risk():
    frame, y = _world(20000)
    m = RiskModel(numeric=NUM, categorical=("plan",), C=10.0).fit(frame, y)
    ex = m.explain(frame)
    # a late delivery adds 0.6 to the log-odds: the contribution per late delivery
    late = m.terms_[[t.name for t in m.terms_].index("late")]
    per_late = m.coef_[m.columns_.index("late")] / late.scale
    assert per_late == pytest.approx(0.6, abs=0.1)
    auc = roc_auc_score(y, ex["probability"])
    assert auc > 0.7
    assert ex["probability"].mean() == pytest.approx(y.mean(), abs=0.005)  # the intercept


def test_reasons_add_up_to_the_log_odds_exactly():
    frame, y = _world()
    m = RiskModel(numeric=NUM, categorical=("plan",)).fit(frame, y)
    ex = m.explain(frame, chunk=700)  # several chunks
    eta = m.linear_predictor(frame)
    mean_eta = m.intercept_ + m.column_means_ @ m.coef_
    np.testing.assert_allclose(ex["contributions"].sum(axis=1), eta - mean_eta, atol=1e-10)
    p = ex["probability"]
    assert np.all((ex["ci_low"] < p) & (p < ex["ci_high"]))


def test_unseen_levels_and_missing_values_are_scored():
    frame, y = _world()
    m = RiskModel(numeric=NUM, categorical=("plan",)).fit(frame, y)
    odd = frame.head(3).copy()
    odd["plan"] = ["enterprise", None, "basic"]
    odd["late"] = [np.nan, 1, 2]
    p = m.predict_proba(odd)
    assert np.isfinite(p).all()


def test_delta_method_matches_statsmodels_when_unpenalised():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    n = 4000
    frame = pd.DataFrame({"a": rng.integers(0, 5, n), "b": rng.integers(0, 3, n)})
    eta = -1 + 0.5 * frame.a - 0.7 * frame.b
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    m = RiskModel(numeric=("a", "b"), C=1e9).fit(frame, y)
    X = sm.add_constant(m._design(frame))
    ref = sm.Logit(y, X).fit(disp=0)
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-5)
    np.testing.assert_allclose(m.covariance_, ref.cov_params(), rtol=1e-4)
    ex = m.explain(frame.head(50))
    pred = ref.get_prediction(X[:50]).summary_frame(alpha=0.05)
    # statsmodels' logit interval is the same delta method on the linear predictor
    np.testing.assert_allclose(ex["ci_low"], pred["ci_lower"], rtol=1e-4)
    np.testing.assert_allclose(ex["ci_high"], pred["ci_upper"], rtol=1e-4)
    # the mean probability's interval: the delta method with a numerical gradient
    b = np.asarray(ref.params)
    X50 = np.asarray(X[:50])
    grad = np.array([
        (np.mean(1 / (1 + np.exp(-X50 @ (b + e)))) - np.mean(1 / (1 + np.exp(-X50 @ (b - e)))))
        / 2e-6
        for e in np.eye(len(b)) * 1e-6
    ])  # fmt: skip
    half = 1.959964 * np.sqrt(grad @ np.asarray(ref.cov_params()) @ grad)
    assert ex["mean_ci_high"] - ex["mean"] == pytest.approx(half, rel=1e-3)
    assert ex["mean"] - ex["mean_ci_low"] == pytest.approx(half, rel=1e-3)


def test_json_round_trip_in_a_new_process(tmp_path):
    frame, y = _world()
    m = RiskModel(numeric=NUM, categorical=("plan",)).fit(frame, y)
    text = json.dumps(m.to_json(), allow_nan=False)
    back = RiskModel.from_json(json.loads(text))
    here = m.explain(frame)
    there = back.explain(frame)
    for k in ("probability", "ci_low", "ci_high", "contributions"):
        np.testing.assert_array_equal(here[k], there[k])
    (tmp_path / "m.json").write_text(text)
    frame.to_csv(tmp_path / "f.csv", index=False)
    code = (
        "import json, sys, pandas as pd\n"
        "from cxray.churn._risk_model import RiskModel\n"
        f"m = RiskModel.from_json(json.load(open({str(tmp_path / 'm.json')!r})))\n"
        f"f = pd.read_csv({str(tmp_path / 'f.csv')!r})\n"
        "print(json.dumps([float(v) for v in m.predict_proba(f)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    np.testing.assert_allclose(json.loads(out.stdout), here["probability"], rtol=1e-12)


def test_bad_input():
    frame, y = _world(200)
    with pytest.raises(AnalysisError, match="all have the same outcome"):
        RiskModel(numeric=NUM).fit(frame, np.zeros(200))
    flat = pd.DataFrame({"x": np.ones(200)})
    with pytest.raises(AnalysisError, match="no feature varies"):
        RiskModel(numeric=("x",)).fit(flat, y)
    m = RiskModel(numeric=NUM).fit(frame, y)
    with pytest.raises(AnalysisError, match="lacks: late"):
        m.predict_proba(frame.drop(columns=["late"]))
    spec = m.to_json()
    with pytest.raises(ModelError, match="format"):
        RiskModel.from_json({**spec, "format": 99})
    with pytest.raises(ModelError, match="damaged"):
        RiskModel.from_json({**spec, "coef": spec["coef"][:-1]})
