"""BG/NBD, Pareto/NBD and Gamma-Gamma against the published CDNOW figures, their formulas'
properties, gradients, parameter recovery from simulated customers and JSON round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cxray.exceptions import AnalysisError, ModelError
from cxray.value import BetaGeoModel, GammaGammaModel, ParetoNBDModel, model_from_dict
from tests.value.conftest import published

SUMMARY = published("cdnow_customers_summary_with_transactions.csv")
X, TX, T, ZBAR = (SUMMARY[c].to_numpy("float64") for c in ("x", "t_x", "T", "zbar"))
PAPER = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}


@pytest.fixture(scope="module")
def bg():
    return BetaGeoModel().fit(X, TX, T)


@pytest.fixture(scope="module")
def pareto():
    return ParetoNBDModel().fit(X, TX, T)


@pytest.fixture(scope="module")
def gg():
    return GammaGammaModel().fit(X, ZBAR)


def test_bgnbd_reproduces_fader_hardie_lee_2005(bg):
    # Fader, Hardie & Lee (2005), Marketing Science, section 4: r .243, alpha 4.414,
    # a .793, b 2.426, LL -9582.4 (lifetimes' docs: 0.2426, 4.4135, 0.7929, 2.4258)
    for name, want in PAPER.items():
        assert bg.params_[name] == pytest.approx(want, abs=1e-3), name
        assert getattr(bg, f"{name}_") == bg.params_[name]
    assert bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    assert bg.n_customers_ == 2357 and bg.converged_
    # standard errors are positive and the intervals hold the estimate
    for name in PAPER:
        lo, hi = bg.ci_[name]
        assert bg.se_[name] > 0 and lo < bg.params_[name] < hi


def test_bgnbd_conditional_expectation_and_zero_purchases():
    paper = BetaGeoModel().set_fitted(**PAPER)
    # FHL 2005: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
    assert paper.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)
    # P(X(39)=0) = 0.5737864 at the paper's rounded parameters (eq. 8)
    rounded = BetaGeoModel().set_fitted(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert rounded.prob_purchases(0, 39) == pytest.approx(0.5737864, abs=1e-6)


def test_bgnbd_purchase_distribution_sums_to_one_and_to_its_mean():
    m = BetaGeoModel().set_fitted(**PAPER)
    probs = np.array([m.prob_purchases(n, 39) for n in range(400)])
    assert probs.min() >= 0 and probs.sum() == pytest.approx(1.0, abs=1e-6)
    # eq. 8's mean equals eq. 7
    assert float(np.arange(400) @ probs) == pytest.approx(
        float(m.expected_purchases_new(39)), rel=1e-4
    )


def test_pareto_nbd_reproduces_the_published_fit(pareto):
    # Fader & Hardie's CDNOW Pareto/NBD: r .553, alpha 10.578, s .606, beta 11.669, LL -9595.0
    want = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in want.items():
        assert pareto.params_[name] == pytest.approx(value, rel=2e-3), name
    assert pareto.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_reproduces_fader_hardie_lee_jmr(gg):
    # FHL 2005 (JMR) on the 946 repeat buyers: p 6.25, q 3.74, gamma 15.44, LL -4055.92
    assert gg.n_customers_ == 946
    assert gg.params_["p"] == pytest.approx(6.25, abs=0.01)
    assert gg.params_["q"] == pytest.approx(3.74, abs=0.01)
    assert gg.params_["gamma"] == pytest.approx(15.44, abs=0.02)
    assert gg.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    assert float(gg.log_likelihood(X[X > 0], ZBAR[X > 0]).sum()) == pytest.approx(
        gg.log_likelihood_, abs=1e-6
    )


def test_expected_spend_shrinks_towards_the_population_mean(gg):
    population = gg.population_mean()
    p, q, g = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    assert population == pytest.approx(p * g / (q - 1))
    spend = gg.expected_spend([0, 1, 10, 100], [0, 100, 100, 100])
    assert spend[0] == pytest.approx(population)
    # with more purchases the customer's own mean weighs more: towards 100
    assert population < spend[1] < spend[2] < spend[3] < 100


@pytest.mark.parametrize("model", ["bg", "pareto"])
def test_p_alive_and_expectations_behave(model, request):
    m = request.getfixturevalue(model)
    alive = m.p_alive(X, TX, T)
    assert np.all((alive >= 0) & (alive <= 1))
    # bought as often, but longer ago: less likely alive
    assert m.p_alive([5], [30], [38])[0] > m.p_alive([5], [10], [38])[0]
    e1, e2 = m.expected_purchases(10, X, TX, T), m.expected_purchases(40, X, TX, T)
    assert np.all(e1 >= 0) and np.all(e2 >= e1)
    # the conditional expectations average out near the population's: every customer was
    # new at time 0, so E[X(t)] for a new customer is bounded by the mean of the x's scale
    assert float(m.expected_purchases_new(39)) == pytest.approx(X.mean(), rel=0.2)


def test_bgnbd_customers_without_repeat_purchases_are_alive(bg):
    assert np.all(bg.p_alive(X[X == 0], TX[X == 0], T[X == 0]) == 1.0)


def test_the_log_likelihood_of_each_customer_sums_to_the_fit(bg, pareto):
    assert float(bg.log_likelihood(X, TX, T).sum()) == pytest.approx(bg.log_likelihood_, abs=1e-6)
    assert float(pareto.log_likelihood(X, TX, T).sum()) == pytest.approx(
        pareto.log_likelihood_, abs=1e-6
    )


@pytest.mark.parametrize("cls", [BetaGeoModel, GammaGammaModel])
def test_analytic_gradients_match_numerical_ones(cls):
    m = cls()
    if cls is BetaGeoModel:
        data = m._prepare(X, TX, T, np.ones_like(X))
        z = np.log([0.3, 5.0, 0.7, 2.0])
    else:
        keep = X > 0
        data = m._prepare(X[keep], ZBAR[keep], np.ones(int(keep.sum())))
        z = np.log([5.0, 3.0, 12.0])
    _, grad = m._objective(z, data)
    for i in range(z.size):
        e = np.zeros_like(z)
        e[i] = 1e-6
        num = (m._objective(z + e, data)[0] - m._objective(z - e, data)[0]) / 2e-6
        assert grad[i] == pytest.approx(num, rel=1e-5, abs=1e-4), i


def _simulate_bgnbd(n, r, alpha, a, b, seed):
    """FHL 2005's process: repeat purchases Poisson(lambda) on (0, T], the customer drops out
    after each with probability p; lambda ~ gamma(r, alpha), p ~ beta(a, b)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(20, 52, n)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.poisson(lam * t)  # arrivals in (0, T] had they stayed
    life = rng.geometric(p)  # the purchase after which they drop out
    x = np.minimum(k, life)
    # the x-th of k uniform arrival times is T x Beta(x, k - x + 1)
    tx = np.where(x > 0, t * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
    return x.astype(float), tx, t


def test_bgnbd_recovers_the_parameters_it_simulated_from():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 3.0}
    x, tx, t = _simulate_bgnbd(30_000, *truth.values(), seed=3)
    m = BetaGeoModel().fit(x, tx, t)
    for name, value in truth.items():
        assert abs(m.params_[name] - value) < 4 * m.se_[name], (name, m.params_[name])
        lo, hi = m.ci_[name]
        assert lo < hi


def test_gamma_gamma_recovers_the_parameters_it_simulated_from():
    rng = np.random.default_rng(11)
    p, q, g = 4.0, 3.0, 20.0
    x = rng.integers(1, 12, 20_000).astype(float)
    nu = rng.gamma(q, 1 / g, x.size)
    zbar = rng.gamma(p * x, 1 / (nu * x))
    m = GammaGammaModel().fit(x, zbar)
    for name, value in {"p": p, "q": q, "gamma": g}.items():
        assert abs(m.params_[name] - value) < 4 * m.se_[name], name


@pytest.mark.parametrize("fixture", ["bg", "pareto", "gg"])
def test_json_round_trip_gives_the_same_predictions(fixture, request):
    m = request.getfixturevalue(fixture)
    text = json.dumps(m.to_dict(), allow_nan=False)
    back = model_from_dict(json.loads(text))
    assert type(back) is type(m) and back.params_ == m.params_ and back.se_ == m.se_
    assert back.log_likelihood_ == m.log_likelihood_ and back.get_params() == m.get_params()
    if fixture == "gg":
        assert np.array_equal(back.expected_spend(X, ZBAR), m.expected_spend(X, ZBAR))
    else:
        assert np.array_equal(back.p_alive(X, TX, T), m.p_alive(X, TX, T))
        assert np.array_equal(
            back.expected_purchases(52, X, TX, T), m.expected_purchases(52, X, TX, T)
        )


def test_estimator_contract():
    m = BetaGeoModel(max_iter=200)
    assert m.get_params() == {"max_iter": 200, "tol": 1e-10}
    assert m.fit(X, TX, T) is m
    assert not hasattr(BetaGeoModel(), "params_")
    with pytest.raises(ModelError, match="not fitted"):
        BetaGeoModel().p_alive(X, TX, T)
    with pytest.raises(ModelError, match="not a gamma_gamma model"):
        GammaGammaModel.from_dict(m.to_dict())


def test_fitting_is_deterministic():
    a = BetaGeoModel().fit(X, TX, T).params_
    b = BetaGeoModel().fit(X, TX, T).params_
    assert a == b


@pytest.mark.parametrize(
    ("x", "tx", "t", "match"),
    [
        ([1, 2], [1.0], [3.0, 3.0], "same length"),
        ([-1], [0.0], [3.0], "whole number"),
        ([1.5], [1.0], [3.0], "whole number"),
        ([1], [4.0], [3.0], "between 0 and T"),
        ([0], [1.0], [3.0], "recency 0"),
        ([1], [math.nan], [3.0], "missing"),
        ([], [], [], "no customers"),
    ],
)
def test_bad_summaries_are_refused(x, tx, t, match):
    with pytest.raises(AnalysisError, match=match):
        BetaGeoModel().fit(x, tx, t)


def test_gamma_gamma_needs_repeat_buyers():
    with pytest.raises(AnalysisError, match="bought at least twice"):
        GammaGammaModel().fit([0, 0, 1], [0, 0, 0])


def test_heavy_tailed_spend_uses_the_fallback_where_the_mean_is_infinite():
    gg = GammaGammaModel().set_fitted(p=2.0, q=0.8, gamma=10.0)
    with pytest.raises(ModelError, match="heavy-tailed"):
        gg.expected_spend([0, 3], [0, 50])
    spend = gg.expected_spend([0, 3], [0, 50], fallback=42.0)
    assert spend[0] == 42.0 and spend[1] == pytest.approx(2 * (10 + 150) / (6 + 0.8 - 1))


def test_many_customers_take_newton_steps_from_a_subsample_to_the_same_optimum(monkeypatch):
    from cxray.value import _models

    x, tx, t = _simulate_bgnbd(240_000, 0.4, 5.0, 0.9, 2.8, seed=5)
    newton = BetaGeoModel().fit(x, tx, t)
    assert newton.iterations_ < 15  # Newton steps, not L-BFGS iterations
    monkeypatch.setattr(_models, "_WARM_START", 10**9)
    plain = BetaGeoModel().fit(x, tx, t)
    # the same optimum (L-BFGS stops a little short of it: Newton's is at least as high)
    assert newton.log_likelihood_ >= plain.log_likelihood_ - 1e-7
    for name in newton.param_names:
        assert newton.params_[name] == pytest.approx(plain.params_[name], rel=1e-4), name
        assert newton.se_[name] == pytest.approx(plain.se_[name], rel=1e-3), name


def test_pareto_nbd_stays_finite_for_heavy_buyers_where_the_direct_series_overflows():
    # the demo world's fit: beta >> alpha; a customer with 178 repeat purchases made the
    # direct 2F1 overflow (NaN); Euler's transformation keeps it finite
    m = ParetoNBDModel().set_fitted(r=1.184, alpha=11.716, s=48.661, beta=11871.6)
    x, tx, t = [178.0, 174.0, 3.0], [102.43, 92.43, 20.0], [103.86, 92.57, 50.0]
    alive = m.p_alive(x, tx, t)
    assert np.all(np.isfinite(alive)) and np.all((alive > 0) & (alive <= 1))
    e = m.expected_purchases(52, x, tx, t)
    assert np.all(np.isfinite(e)) and e[0] > e[2] > 0
    assert np.all(np.isfinite(m.log_likelihood(x, tx, t)))
