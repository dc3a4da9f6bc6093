"""Relative importance: Johnson's relative weights and LMG/Shapley, against published figures
and the properties they must have."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray.stats import (
    CrossMoments,
    correlation_from_moments,
    lmg,
    logistic_weights_from_fit,
    r_squared_subsets,
    relative_weights,
)
from tests.conftest import SHARED

MTCARS = SHARED / "data" / "mtcars" / "mtcars.csv"
DRIVERS = ["cyl", "disp", "hp", "gear"]


def _corr(frame: pd.DataFrame, cols: list[str], y: str) -> tuple[np.ndarray, np.ndarray]:
    r = frame[[*cols, y]].corr().to_numpy()
    return r[:-1, :-1], r[:-1, -1]


@pytest.fixture(scope="module")
def mtcars() -> pd.DataFrame:
    return pd.read_csv(MTCARS)


def test_relative_weights_mtcars_golden(mtcars):
    """R package rwa on mtcars, mpg ~ cyl + disp + hp + gear."""
    rxx, rxy = _corr(mtcars, DRIVERS, "mpg")
    rw = relative_weights(rxx, rxy)
    assert rw.raw == pytest.approx([0.2284797, 0.2221469, 0.2321744, 0.0963886], abs=5e-8)
    assert rw.r2 == pytest.approx(0.7791896, abs=5e-8)
    assert rw.share == pytest.approx([29.32274, 28.50999, 29.79691, 12.37037], abs=5e-6)
    assert rw.raw.sum() == pytest.approx(rw.r2, rel=1e-12)


def test_r2_matches_least_squares(mtcars):
    x = np.column_stack([np.ones(len(mtcars)), mtcars[DRIVERS].to_numpy(float)])
    y = mtcars.mpg.to_numpy(float)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    rxx, rxy = _corr(mtcars, DRIVERS, "mpg")
    assert relative_weights(rxx, rxy).r2 == pytest.approx(r2, rel=1e-10)
    # every sub-model's R² too
    subsets = r_squared_subsets(rxx, rxy)
    for size in range(1, 5):
        for combo in itertools.combinations(range(4), size):
            xs = np.column_stack([np.ones(len(y)), x[:, [1 + i for i in combo]]])
            c, *_ = np.linalg.lstsq(xs, y, rcond=None)
            res = y - xs @ c
            expected = 1 - res @ res / ((y - y.mean()) @ (y - y.mean()))
            mask = sum(1 << i for i in combo)
            assert subsets[mask] == pytest.approx(expected, rel=1e-9)


def test_lmg_sums_to_r2_on_mtcars(mtcars):
    rxx, rxy = _corr(mtcars, DRIVERS, "mpg")
    shares = lmg(rxx, rxy)
    assert shares.sum() == pytest.approx(0.7791896, abs=5e-8)
    assert (shares > 0).all()


def test_lmg_with_two_predictors_is_the_mean_of_marginal_gains(mtcars):
    rxx, rxy = _corr(mtcars, ["hp", "wt"], "mpg")
    full = relative_weights(rxx, rxy).r2
    alone = rxy**2  # R² of one predictor is its squared correlation
    expected = [(alone[0] + full - alone[1]) / 2, (alone[1] + full - alone[0]) / 2]
    assert lmg(rxx, rxy) == pytest.approx(expected, rel=1e-12)


def test_uncorrelated_predictors_get_their_squared_correlations():
    rxx = np.eye(3)
    rxy = np.array([0.5, 0.3, -0.2])
    rw = relative_weights(rxx, rxy)
    assert rw.raw == pytest.approx(rxy**2)
    assert lmg(rxx, rxy) == pytest.approx(rxy**2)


def test_collinear_predictors_share_what_they_explain():
    """A predictor repeated: the correlation matrix is singular, and the copies split it."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=500)
    b = rng.normal(size=500)
    y = a + 0.5 * b + rng.normal(size=500)
    frame = pd.DataFrame({"a": a, "a2": a, "b": b, "y": y})
    rxx, rxy = _corr(frame, ["a", "a2", "b"], "y")
    rw = relative_weights(rxx, rxy)
    assert rw.raw[0] == pytest.approx(rw.raw[1], rel=1e-9)
    assert rw.condition == float("inf")
    single = relative_weights(*_corr(frame, ["a", "b"], "y"))
    assert rw.r2 == pytest.approx(single.r2, rel=1e-9)


def test_lmg_refuses_too_many_predictors():
    with pytest.raises(ValueError, match="13 predictors"):
        lmg(np.eye(13), np.full(13, 0.1))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(2, 6),
    n=st.integers(20, 200),
)
def test_weights_are_non_negative_and_sum_to_r2(seed, k, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)) @ rng.normal(size=(k, k))  # correlated drivers
    y = x @ rng.normal(size=k) + rng.normal(size=n) * rng.uniform(0.1, 3)
    r = np.corrcoef(np.column_stack([x, y]).T)
    rw = relative_weights(r[:k, :k], r[:k, k])
    assert (rw.raw >= -1e-12).all()
    assert rw.raw.sum() == pytest.approx(rw.r2, rel=1e-9, abs=1e-12)
    assert lmg(r[:k, :k], r[:k, k]).sum() == pytest.approx(rw.r2, rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1000), shift=st.floats(-1e3, 1e3))
def test_moments_give_the_same_weights_as_the_rows(seed, scale, shift):
    """Correlations from summed moments equal those of the rows, whatever the units, once
    the values are shifted near their centre (as the store does: a mean of 244 with a
    spread of 0.01 would lose every digit to cancellation in raw sums of squares)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 4))
    x[:, 0] = x[:, 0] * scale + shift
    x = x - (x.min(axis=0) + x.max(axis=0)) / 2
    m = CrossMoments(float(len(x)), x.sum(axis=0), x.T @ x)
    r, sd = correlation_from_moments(m)
    assert r == pytest.approx(np.corrcoef(x.T), abs=1e-8)
    assert sd == pytest.approx(x.std(axis=0, ddof=1), rel=1e-8)
    # moments add: two halves give the whole
    h = CrossMoments(150.0, x[:150].sum(axis=0), x[:150].T @ x[:150]) + CrossMoments(
        150.0, x[150:].sum(axis=0), x[150:].T @ x[150:]
    )
    assert h.cov == pytest.approx(m.cov, rel=1e-10)


def test_logistic_weights_sum_to_the_squared_correlation():
    rng = np.random.default_rng(0)
    lam = np.eye(3)
    coef = np.array([1.0, -0.5, 0.2])
    z = rng.normal(size=(2000, 3))
    q, _ = np.linalg.qr(z - z.mean(axis=0))
    z = q * np.sqrt(len(z))  # orthogonal columns of unit variance, as the fit makes them
    linear = z @ coef
    p = 1 / (1 + np.exp(-linear))
    y = (rng.random(2000) < p).astype(float)
    raw, r2 = logistic_weights_from_fit(lam, coef, linear, y, p)
    assert raw.sum() == pytest.approx(r2, rel=1e-12)
    assert r2 == pytest.approx(np.corrcoef(y, p)[0, 1] ** 2, rel=1e-9)
    # with Λ = I each weight is proportional to its squared coefficient
    assert raw / raw.sum() == pytest.approx(coef**2 / (coef**2).sum(), rel=1e-9)
