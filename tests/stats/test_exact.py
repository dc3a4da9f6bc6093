"""Fisher's exact two-sample test of proportions (cxray.stats.proportion_exact)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import fisher_exact

from cxray import stats


def test_hand_computed_tea_tasting():
    # 3 of 3 against 0 of 3: the only table as extreme has probability 1 / C(6, 3) = 1/20
    greater = stats.proportion_exact((3, 3), (0, 3), alternative="greater", min_n=1)
    assert greater.p_value == pytest.approx(0.05)
    assert stats.proportion_exact((3, 3), (0, 3), min_n=1).p_value == pytest.approx(0.1)
    assert stats.proportion_exact((3, 3), (0, 3), alternative="less", min_n=1).p_value == 1.0
    # estimate and interval are the z test's (Newcombe); only the p-value is exact
    z = stats.proportion_diff((3, 3), (0, 3), min_n=1)
    assert (greater.estimate, greater.ci_low, greater.ci_high) == (
        z.estimate,
        z.ci_low,
        z.ci_high,
    )
    assert greater.method.startswith("Fisher exact (greater)")


@pytest.mark.parametrize(
    "a,b",
    [((7, 20), (2, 25)), ((0, 10), (4, 12)), ((15, 40), (15, 40)), ((51, 520), (40, 4000))],
)
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_equals_scipy(a, b, alternative):
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    want = fisher_exact(table, alternative=alternative).pvalue
    got = stats.proportion_exact(a, b, alternative=alternative, min_n=1).p_value
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_never_rejects_more_than_alpha_under_the_null():
    rng = np.random.default_rng(3)
    rejected = 0
    trials = 2000
    for _ in range(trials):
        xa, xb = rng.binomial(15, 0.3), rng.binomial(15, 0.3)
        p = stats.proportion_exact((xa, 15), (xb, 15), alternative="greater", min_n=1).p_value
        rejected += p <= 0.05
    assert rejected / trials <= 0.05


def test_bad_alternative_and_empty_groups():
    with pytest.raises(ValueError, match="alternative"):
        stats.proportion_exact((1, 2), (1, 2), alternative="bigger")
    empty = stats.proportion_exact((0, 0), (1, 2), min_n=1)
    assert empty.suppressed
