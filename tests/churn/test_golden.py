"""Golden figures: the Cox model on the Rossi recidivism data against R's ``coxph``, and
Kaplan–Meier and the log-rank test on the Freireich (1963) 6-MP leukaemia trial against the
published textbook figures (Kleinbaum & Klein, *Survival Analysis*, ch. 2)."""

from __future__ import annotations

import numpy as np
import pytest

from cxray.churn._cox import CoxModel
from cxray.churn._km import kaplan_meier, logrank, survival_at

#: R 4.x: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, rossi)
ROSSI_R = {
    "fin": -0.3794222,
    "age": -0.0574377,
    "race": 0.3138998,
    "wexp": -0.1497957,
    "mar": -0.4337039,
    "paro": -0.0848711,
    "prio": 0.0914971,
}

#: weeks in remission; events (relapse) and censored, per arm (Freireich et al. 1963)
MP6_EVENTS = [6, 6, 6, 7, 10, 13, 16, 22, 23]
MP6_CENSORED = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
PLACEBO_EVENTS = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def _counts(events: list[int], censored: list[int]) -> tuple[np.ndarray, ...]:
    days = np.array(sorted(set(events) | set(censored)))
    d = np.array([events.count(t) for t in days])
    c = np.array([censored.count(t) for t in days])
    return days, d, c


def test_cox_on_rossi_matches_r():
    from lifelines.datasets import load_rossi

    rossi = load_rossi()
    assert len(rossi) == 432
    X = rossi.drop(columns=["week", "arrest"])
    model = CoxModel().fit(X, rossi.week, rossi.arrest)
    assert model is not None and model.n_ == 432 and model.events_ == 114
    got = dict(zip(model.feature_names_in_, model.coef_, strict=True))
    for name, coef in ROSSI_R.items():
        assert got[name] == pytest.approx(coef, abs=1e-4), name
    assert model.concordance_ == pytest.approx(0.64, abs=0.01)
    # R's summary(): fin exp(coef) 0.6843, lower .95 0.4702, upper .95 0.9957
    i = list(model.feature_names_in_).index("fin")
    assert model.hazard_ratios_[i] == pytest.approx(0.6843, abs=1e-4)
    assert model.ci_low_[i] == pytest.approx(0.4702, abs=1e-4)
    assert model.ci_high_[i] == pytest.approx(0.9957, abs=1e-4)
    # Schoenfeld residual tests: age and wexp fail proportional hazards, fin does not
    ph = dict(zip(model.feature_names_in_, model.ph_p_values_, strict=True))
    assert ph["age"] < 0.05 and ph["wexp"] < 0.05 and ph["fin"] > 0.5


def test_cox_model_round_trips_through_json():
    from lifelines.datasets import load_rossi

    rossi = load_rossi()
    X = rossi.drop(columns=["week", "arrest"])
    model = CoxModel(penalizer=0.0).fit(X, rossi.week, rossi.arrest)
    back = CoxModel.from_json(model.to_json())
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.coef_, model.coef_)
    np.testing.assert_array_equal(back.predict_log_partial_hazard(X),
                                  model.predict_log_partial_hazard(X))  # fmt: skip
    assert back.concordance_ == model.concordance_


def test_kaplan_meier_on_the_6mp_arm():
    curve = kaplan_meier(*_counts(MP6_EVENTS, MP6_CENSORED))
    assert curve.n == 21
    published = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for week, s in published.items():
        assert survival_at(curve, week)[0] == pytest.approx(s, abs=5e-4), week
    assert survival_at(curve, 5)[0] == 1.0 and survival_at(curve, 35)[0] == pytest.approx(
        0.448, abs=5e-4
    )
    assert curve.median == 23
    # at risk just before each event week (Kleinbaum & Klein table 2.2)
    at = dict(zip(curve.days, curve.at_risk, strict=True))
    assert [at[w] for w in (6, 7, 10, 13, 16, 22, 23)] == [21, 17, 15, 12, 11, 7, 6]
    placebo = kaplan_meier(*_counts(PLACEBO_EVENTS, []))
    assert placebo.median == 8
    assert survival_at(placebo, 23)[0] == 0.0


def test_log_rank_between_the_arms():
    days = np.array(sorted(set(MP6_EVENTS + MP6_CENSORED + PLACEBO_EVENTS)))
    ev = np.array([[MP6_EVENTS.count(t) for t in days], [PLACEBO_EVENTS.count(t) for t in days]])
    ce = np.array([[MP6_CENSORED.count(t) for t in days], [0] * len(days)])
    chi2, df, p, observed, expected = logrank(days, ev, ce)
    assert chi2 == pytest.approx(16.79, abs=0.01) and df == 1
    assert p == pytest.approx(4.17e-5, rel=0.01)
    np.testing.assert_allclose(observed, [9, 21])
    np.testing.assert_allclose(expected, [19.25, 10.75], atol=0.01)
