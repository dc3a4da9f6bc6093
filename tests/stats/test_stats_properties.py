"""Property tests: invariants that must hold for every input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cxray.exceptions import StatisticalWarning
from cxray.stats import (
    bootstrap,
    mean_of,
    median,
    mix_shift,
    nps,
    nps_diff,
    proportion,
    proportion_diff,
    quantile,
)

FAST = settings(max_examples=60, deadline=None)

counts = st.integers(min_value=0, max_value=5000)
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99])
nps_methods = st.sampled_from(["adjusted_wald", "wald"])
scores = hnp.arrays(
    np.float64,
    st.integers(min_value=1, max_value=120),
    elements=st.integers(min_value=0, max_value=10).map(float),
)


@FAST
@given(p=counts, q=counts, d=counts, method=nps_methods, level=levels)
def test_nps_in_range_and_interval_contains_estimate(
    p: int, q: int, d: int, method: str, level: float
) -> None:
    assume(p + q + d > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = nps(p, q, d, method=method, confidence=level, min_n=0)  # type: ignore[arg-type]
    assert -100.0 <= result.ci_low <= result.estimate <= result.ci_high <= 100.0
    assert result.n == p + q + d


@FAST
@given(a=st.tuples(counts, counts, counts), b=st.tuples(counts, counts, counts), m=nps_methods)
def test_nps_diff_in_range_and_contains_estimate(
    a: tuple[int, int, int], b: tuple[int, int, int], m: str
) -> None:
    assume(sum(a) > 0 and sum(b) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = nps_diff(a, b, method=m, min_n=0)  # type: ignore[arg-type]
    assert -200.0 <= result.ci_low <= result.estimate <= result.ci_high <= 200.0
    assert 0.0 <= result.p_value <= 1.0


@FAST
@given(
    n=st.integers(min_value=1, max_value=10_000),
    frac=st.floats(min_value=0, max_value=1),
    method=st.sampled_from(["wilson", "clopper_pearson"]),
    level=levels,
)
def test_proportion_interval_within_bounds(n: int, frac: float, method: str, level: float) -> None:
    x = round(frac * n)
    result = proportion(x, n, method=method, confidence=level, min_n=0)  # type: ignore[arg-type]
    assert 0.0 <= result.ci_low <= result.estimate <= result.ci_high <= 1.0


@FAST
@given(
    na=st.integers(1, 3000),
    fa=st.floats(0, 1),
    nb=st.integers(1, 3000),
    fb=st.floats(0, 1),
)
def test_proportion_diff_within_bounds(na: int, fa: float, nb: int, fb: float) -> None:
    xa, xb = round(fa * na), round(fb * nb)
    result = proportion_diff((xa, na), (xb, nb), min_n=0)
    assert -1.0 <= result.ci_low <= result.estimate <= result.ci_high <= 1.0
    assert 0.0 <= result.p_value <= 1.0


@FAST
@given(values=scores, seed=st.integers(0, 2**32 - 1))
def test_raw_value_results_do_not_depend_on_row_order(values: np.ndarray, seed: int) -> None:
    shuffled = np.random.default_rng(seed).permutation(values)
    for estimator in (mean_of, median, lambda v, **kw: quantile(v, 0.9, **kw)):
        first, second = estimator(values, min_n=0), estimator(shuffled, min_n=0)
        assert first.to_dict() == second.to_dict()


@settings(max_examples=15, deadline=None)
@given(values=scores, seed=st.integers(0, 2**32 - 1))
def test_bootstrap_does_not_depend_on_row_order(values: np.ndarray, seed: int) -> None:
    shuffled = np.random.default_rng(seed).permutation(values)
    kwargs = {"n_resamples": 200, "random_state": 5, "min_n": 0, "vectorized": True}
    assert bootstrap(values, np.mean, **kwargs) == bootstrap(shuffled, np.mean, **kwargs)


@FAST
@given(values=scores, q=st.floats(min_value=0.05, max_value=0.95))
def test_quantile_interval_contains_estimate(values: np.ndarray, q: float) -> None:
    assume(values.size >= 2)
    result = quantile(values, q, min_n=0)
    assert values.min() <= result.ci_low <= result.estimate <= result.ci_high <= values.max()
    assert 0.0 < result.confidence <= 1.0


@FAST
@given(values=scores)
def test_mean_interval_contains_estimate(values: np.ndarray) -> None:
    assume(values.size >= 2)
    result = mean_of(values, min_n=0)
    assert result.ci_low <= result.estimate <= result.ci_high
    assert 0.0 <= result.estimate <= 10.0


segment_rows = st.lists(
    st.tuples(
        st.integers(0, 500),
        st.floats(-100, 100, allow_nan=False),
        st.integers(0, 500),
        st.floats(-100, 100, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
)


@FAST
@given(rows=segment_rows, seed=st.integers(0, 2**32 - 1))
def test_mix_shift_parts_add_up_and_ignore_row_order(
    rows: list[tuple[int, float, int, float]], seed: int
) -> None:
    n0 = np.array([r[0] for r in rows], dtype=float)
    n1 = np.array([r[2] for r in rows], dtype=float)
    assume(n0.sum() > 0 and n1.sum() > 0)
    s0 = np.array([r[1] for r in rows])
    s1 = np.array([r[3] for r in rows])
    labels = [f"seg{i:02d}" for i in range(len(rows))]
    result = mix_shift(labels, n0, s0, n1, s1)
    assert result.mix + result.rate == pytest.approx(result.change, abs=1e-9)
    assert result.table["total"].sum() == pytest.approx(result.change, abs=1e-9)
    assert result.table["mix"].sum() == pytest.approx(result.mix, abs=1e-12)
    # the totals are the response-weighted means of each period
    assert result.before == pytest.approx(np.dot(n0, s0) / n0.sum(), abs=1e-9)
    assert result.after == pytest.approx(np.dot(n1, s1) / n1.sum(), abs=1e-9)

    order = np.random.default_rng(seed).permutation(len(rows))
    shuffled = mix_shift([labels[i] for i in order], n0[order], s0[order], n1[order], s1[order])
    assert shuffled.change == pytest.approx(result.change, abs=1e-9)
    assert shuffled.mix == pytest.approx(result.mix, abs=1e-9)
    assert list(shuffled.table.index) == list(result.table.index)

    # moving the origin of the scale changes no effect
    moved = mix_shift(labels, n0, s0 + 50.0, n1, s1 + 50.0)
    assert np.allclose(moved.table["mix"], result.table["mix"], atol=1e-9)
    assert np.allclose(moved.table["rate"], result.table["rate"], atol=1e-9)
