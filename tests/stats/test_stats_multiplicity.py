"""Benjamini-Hochberg q-values and decisions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from cxray.stats import benjamini_hochberg


def test_hand_computed_example() -> None:
    # m = 5, sorted p: .01 .02 .03 .04 .20
    #   m p / rank:    .05 .05 .05 .05 .20 -> running minimum from the top
    # input order is shuffled to check that results come back in place.
    p = [0.04, 0.01, 0.20, 0.03, 0.02]
    result = benjamini_hochberg(p, alpha=0.05)
    assert result.q_values == pytest.approx([0.05, 0.05, 0.20, 0.05, 0.05])
    assert result.reject.tolist() == [True, True, False, True, True]
    assert result.n_rejected == 4
    assert str(result) == "Benjamini-Hochberg at FDR 0.05: 4 of 5 rejected"


def test_step_up_rejects_beyond_the_first_failure() -> None:
    # sorted p: .010 .030 .035 .200, thresholds k * .05 / 4: .0125 .025 .0375 .05.
    # p_(2) = .030 misses its threshold but p_(3) = .035 meets it: the step-up
    # rule rejects the three smallest. q = running min of (.04, .06, .0467, .2).
    p = np.array([0.035, 0.010, 0.200, 0.030])
    result = benjamini_hochberg(p, alpha=0.05)
    assert result.reject.tolist() == [True, True, False, True]
    assert result.q_values == pytest.approx([0.14 / 3, 0.04, 0.20, 0.14 / 3])


def test_empty_and_single() -> None:
    assert benjamini_hochberg([]).q_values.size == 0
    single = benjamini_hochberg([0.03])
    assert single.q_values.tolist() == [0.03]
    assert single.reject.tolist() == [True]


def test_invalid_p_values() -> None:
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg([0.1, np.nan])
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg([0.1, 1.5])
    with pytest.raises(ValueError, match="alpha"):
        benjamini_hochberg([0.1], alpha=1.0)


p_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(p=p_lists, alpha=st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_matches_definition_and_scipy(p: list[float], alpha: float) -> None:
    values = np.array(p)
    result = benjamini_hochberg(values, alpha=alpha)
    np.testing.assert_allclose(result.q_values, sps.false_discovery_control(values), rtol=1e-12)
    # the step-up rule written out: reject the k smallest for the largest k with
    # p_(k) <= k alpha / m (up to floating rounding at the threshold itself)
    m = values.size
    ordered = np.sort(values)
    passing = np.nonzero(ordered <= np.arange(1, m + 1) * alpha / m * (1 + 1e-12))[0]
    k = passing.max() + 1 if passing.size else 0
    assert result.n_rejected == k
    if k:
        assert result.reject[values <= ordered[k - 1] * (1 - 1e-12)].all()
    assert np.all(result.q_values >= values - 1e-15)
    assert np.all(result.q_values <= 1.0)
    # monotone: a smaller p-value never gets a larger q-value
    by_p = np.argsort(values, kind="stable")
    assert np.all(np.diff(result.q_values[by_p]) >= -1e-15)
