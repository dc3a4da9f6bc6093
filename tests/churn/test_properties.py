"""Kaplan–Meier, its band, the median with its interval and the log-rank tests computed from
counts equal lifelines' on random data sets; properties every curve must have."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray.churn._km import kaplan_meier, logrank


def _frame(seed: int, n: int, groups: int, horizon: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "T": rng.integers(0, horizon, n),
        "E": (rng.random(n) < rng.uniform(0.2, 0.9)).astype(int),
        "g": rng.integers(0, groups, n),
    })  # fmt: skip


def _curve(df: pd.DataFrame):
    c = df.groupby("T").agg(e=("E", "sum"), n=("E", "size"))
    return kaplan_meier(c.index.to_numpy(), c.e.to_numpy(), (c.n - c.e).to_numpy())


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(1, abs(b))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 400), horizon=st.integers(1, 60))
def test_curve_band_and_median_equal_lifelines(seed, n, horizon):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    df = _frame(seed, n, 1, horizon)
    if df.E.sum() == 0:
        df.loc[0, "E"] = 1
    cur = _curve(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(df["T"], df["E"])
    sf = kmf.survival_function_.iloc[:, 0]
    assert list(sf.index) == list(cur.days)
    np.testing.assert_allclose(cur.survival, sf.to_numpy(), rtol=1e-12, atol=1e-12)
    ci = kmf.confidence_interval_
    finite = np.isfinite(ci.iloc[:, 0].to_numpy())
    np.testing.assert_allclose(cur.ci_low[finite], ci.iloc[:, 0].to_numpy()[finite], atol=1e-9)
    np.testing.assert_allclose(cur.ci_high[finite], ci.iloc[:, 1].to_numpy()[finite], atol=1e-9)
    median = kmf.median_survival_time_
    assert _same(cur.median, np.nan if np.isinf(median) else median)
    lo, hi = median_survival_times(ci).iloc[0]
    assert _same(cur.median_low, lo) and _same(cur.median_high, hi)
    # properties: non-increasing, inside its band, the band inside [0, 1]
    assert np.all(np.diff(cur.survival) <= 1e-15)
    assert np.all((cur.ci_low <= cur.survival + 1e-12) & (cur.survival <= cur.ci_high + 1e-12))
    assert np.all((cur.ci_low >= 0) & (cur.ci_high <= 1))
    assert cur.n == n and cur.events.sum() == df.E.sum()


@pytest.mark.parametrize("seed,groups", [(1, 2), (2, 3), (3, 4), (4, 3)])
def test_log_rank_equals_lifelines(seed, groups):
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    df = _frame(seed, 500, groups, 40)
    tab = df.groupby(["g", "T"]).agg(e=("E", "sum"), n=("E", "size")).reset_index()
    days = np.sort(tab["T"].unique())
    ev = np.zeros((groups, days.size))
    ce = np.zeros((groups, days.size))
    col = np.searchsorted(days, tab["T"])
    ev[tab.g, col] = tab.e
    ce[tab.g, col] = tab.n - tab.e
    chi2, dof, p, _, _ = logrank(days, ev, ce)
    ref = multivariate_logrank_test(df["T"], df.g, df.E)
    assert chi2 == pytest.approx(ref.test_statistic, rel=1e-9)
    assert p == pytest.approx(ref.p_value, rel=1e-7) and dof == groups - 1
    for i, j in itertools.combinations(range(groups), 2):
        a, b = df[df.g == i], df[df.g == j]
        pair = logrank_test(a["T"], b["T"], a.E, b.E)
        got = logrank(days, ev[[i, j]], ce[[i, j]])
        assert got[0] == pytest.approx(pair.test_statistic, rel=1e-9)


def test_the_order_of_the_counts_does_not_matter():
    df = _frame(7, 300, 1, 30)
    c = df.groupby("T").agg(e=("E", "sum"), n=("E", "size"))
    days, e, cens = c.index.to_numpy(), c.e.to_numpy(), (c.n - c.e).to_numpy()
    perm = np.random.default_rng(0).permutation(days.size)
    a = kaplan_meier(days, e, cens)
    b = kaplan_meier(days[perm], e[perm], cens[perm])
    np.testing.assert_array_equal(a.survival, b.survival)


def test_identical_groups_have_no_difference():
    df = _frame(11, 200, 1, 30)
    tab = df.groupby("T").agg(e=("E", "sum"), n=("E", "size"))
    days = tab.index.to_numpy()
    ev = np.vstack([tab.e.to_numpy()] * 2)
    ce = np.vstack([(tab.n - tab.e).to_numpy()] * 2)
    chi2, _, p, observed, expected = logrank(days, ev, ce)
    assert chi2 == pytest.approx(0.0, abs=1e-12) and p == pytest.approx(1.0)
    np.testing.assert_allclose(observed, expected)
