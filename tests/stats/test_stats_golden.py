"""Golden tests: published or hand-computed reference numbers, pinned."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from cxray.stats import (
    Moments,
    mean,
    mean_diff,
    mean_of,
    median,
    nps,
    nps_diff,
    proportion,
    proportion_diff,
    quantile,
)

# --------------------------------------------------------------------------- NPS
# NPS 30 from n=100: 50 promoters, 30 passives, 20 detractors.
#   plain Wald: var = .5 + .2 - .3**2 = .61, se = sqrt(.61 / 100) = .0781,
#   margin = 1.96 * .0781 = ±15.31 points.
#   adjusted Wald (Rocks 2016; MeasuringU, "Evaluating NPS confidence
#   intervals with real-world data", 2021: add 3/4 promoter and 3/4 detractor,
#   n + 3): p = 50.75/103, d = 20.75/103, interval [14.05, 44.20].


def test_nps_wald_margin_golden() -> None:
    result = nps(50, 30, 20, method="wald")
    assert result.estimate == pytest.approx(30.0)
    assert result.margin == pytest.approx(15.31, abs=0.005)
    assert result.ci_low == pytest.approx(30.0 - 15.31, abs=0.005)


def test_nps_adjusted_wald_golden() -> None:
    result = nps(50, 30, 20)
    assert result.method == "adjusted Wald"
    assert result.estimate == pytest.approx(30.0)
    assert round(result.ci_low, 2) == 14.05
    assert round(result.ci_high, 2) == 44.20


def test_nps_str_golden() -> None:
    assert str(nps(50, 30, 20)) == "NPS 30.0 [14.1, 44.2] n=100 (adjusted Wald)"


def test_nps_adjustment_is_three_pseudo_responses() -> None:
    # 3/4 promoter + 3/2 passive + 3/4 detractor: the adjusted interval of
    # 50/30/20 equals the Wald interval of 50.75/31.5/20.75 (centre 29.13).
    adjusted = nps(50, 30, 20)
    p, d, n = 50.75 / 103, 20.75 / 103, 103
    se = math.sqrt((p + d - (p - d) ** 2) / n)
    assert adjusted.ci_low == pytest.approx(100 * (p - d - 1.959963984540054 * se))
    assert adjusted.ci_high == pytest.approx(100 * (p - d + 1.959963984540054 * se))


# n=100 with 50 promoters and 20 detractors vs n=120 with 48 promoters and 36
# detractors: z = 1.8373 plain, 1.8071 adjusted (hand computation:
# 0.2 / sqrt(.61/100 + .69/120) = 1.8373).
def test_nps_diff_golden_plain() -> None:
    result = nps_diff((50, 30, 20), (48, 36, 36), method="wald")
    assert round(result.statistic, 4) == 1.8373
    assert result.estimate == pytest.approx(20.0)
    assert result.estimate_a == pytest.approx(30.0)
    assert result.estimate_b == pytest.approx(10.0)
    assert result.p_value == pytest.approx(2 * sps.norm.sf(1.837260848698501))
    assert (result.n_a, result.n_b, result.n) == (100, 120, 220)


def test_nps_diff_golden_adjusted() -> None:
    result = nps_diff((50, 30, 20), (48, 36, 36))
    assert round(result.statistic, 4) == 1.8071
    assert result.estimate == pytest.approx(20.0)
    assert not result.significant


def test_nps_diff_is_antisymmetric() -> None:
    ab = nps_diff((50, 30, 20), (48, 36, 36))
    ba = nps_diff((48, 36, 36), (50, 30, 20))
    assert ba.statistic == pytest.approx(-ab.statistic)
    assert ba.p_value == pytest.approx(ab.p_value)
    assert ba.ci_low == pytest.approx(-ab.ci_high)


# ------------------------------------------------------------------- proportion
# Newcombe R.G. (1998) "Two-sided confidence intervals for the single
# proportion: comparison of seven methods", Stat Med 17:857-872, Table II:
# method 3 (Wilson score, no continuity correction) and method 5
# (Clopper-Pearson "exact").
NEWCOMBE_SINGLE = [
    # successes, n, Wilson low, Wilson high, Clopper-Pearson low, high
    (81, 263, 0.2553, 0.3662, 0.2527, 0.3676),
    (15, 148, 0.0624, 0.1605, 0.0578, 0.1617),
    (0, 20, 0.0000, 0.1611, 0.0000, 0.1684),
    (1, 29, 0.0061, 0.1718, 0.0009, 0.1776),
]


@pytest.mark.parametrize(("x", "n", "wl", "wh", "el", "eh"), NEWCOMBE_SINGLE)
def test_wilson_and_clopper_pearson_newcombe_1998(
    x: int, n: int, wl: float, wh: float, el: float, eh: float
) -> None:
    wilson = proportion(x, n, min_n=0)
    exact = proportion(x, n, method="clopper_pearson", min_n=0)
    assert wilson.method == "Wilson score"
    assert (round(wilson.ci_low, 4), round(wilson.ci_high, 4)) == (wl, wh)
    assert (round(exact.ci_low, 4), round(exact.ci_high, 4)) == (el, eh)


def test_proportion_percent() -> None:
    share = proportion(81, 263)
    percent = proportion(81, 263, percent=True)
    assert percent.unit == "%"
    assert percent.ci_low == pytest.approx(100 * share.ci_low)
    assert str(percent) == "proportion 30.8 [25.5, 36.6] n=263 (Wilson score)"


# Newcombe R.G. (1998) "Interval estimation for the difference between
# independent proportions: comparison of eleven methods", Stat Med
# 17:873-890, Table II, method 10 (hybrid score interval from Wilson limits).
NEWCOMBE_DIFFERENCE = [
    ((56, 70), (48, 80), 0.0524, 0.3339),
    ((9, 10), (3, 10), 0.1705, 0.8090),
    ((5, 56), (0, 29), -0.0381, 0.1926),
    ((0, 10), (0, 20), -0.1611, 0.2775),
    ((10, 10), (0, 20), 0.6791, 1.0000),
]


@pytest.mark.parametrize(("a", "b", "low", "high"), NEWCOMBE_DIFFERENCE)
def test_proportion_diff_newcombe_1998(
    a: tuple[int, int], b: tuple[int, int], low: float, high: float
) -> None:
    result = proportion_diff(a, b, min_n=0)
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (low, high)
    assert result.estimate == pytest.approx(a[0] / a[1] - b[0] / b[1])


def test_proportion_diff_pooled_z() -> None:
    # 56/70 vs 48/80: pooled p = 104/150, z = .2 / sqrt(p(1-p)(1/70 + 1/80))
    pooled = 104 / 150
    z = 0.2 / math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80))
    result = proportion_diff((56, 70), (48, 80))
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * sps.norm.sf(z))
    assert result.significant


def test_proportion_diff_identical_degenerate_groups() -> None:
    result = proportion_diff((0, 40), (0, 50))
    assert result.statistic == 0.0
    assert result.p_value == 1.0


# ------------------------------------------------------------------------- mean
def test_mean_t_interval_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    values = rng.integers(1, 6, size=57).astype(float)  # a CSAT 1-5 sample
    expected = sps.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=sps.sem(values))
    from_sample = mean_of(values, confidence=0.9)
    moments = Moments.from_sample(values)
    from_sums = mean(moments.n, moments.sum_x, moments.sum_x2, confidence=0.9)
    for result in (from_sample, from_sums):
        assert result.estimate == pytest.approx(values.mean())
        assert result.ci_low == pytest.approx(expected[0])
        assert result.ci_high == pytest.approx(expected[1])
        assert result.method == "Student t"
        assert result.confidence == 0.9


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(12)
    a = rng.normal(7.2, 1.5, size=80)
    b = rng.normal(6.8, 2.5, size=45)
    expected = sps.ttest_ind(a, b, equal_var=False)
    ci = expected.confidence_interval(0.95)
    result = mean_diff(Moments.from_sample(a), Moments.from_sample(b))
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.df == pytest.approx(expected.df)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high))
    assert result.estimate == pytest.approx(a.mean() - b.mean())


# -------------------------------------------------------------------- quantiles
# Exact distribution-free intervals for the median: n=10 -> x(2)..x(9)
# (coverage 97.9%); n=100 -> x(40)..x(61) (Campbell & Gardner 1988, BMJ
# 296:1454, give the same ranks for n=100 by their normal approximation).
@pytest.mark.parametrize(("n", "low_rank", "high_rank"), [(10, 2, 9), (100, 40, 61)])
def test_median_order_statistic_ranks(n: int, low_rank: int, high_rank: int) -> None:
    values = np.arange(1, n + 1, dtype=float) * 1.5
    result = median(values, min_n=0)
    assert result.ci_low == values[low_rank - 1]
    assert result.ci_high == values[high_rank - 1]
    assert result.estimate == pytest.approx(np.median(values))
    assert result.confidence == 0.95
    assert result.method == "order statistics"


def test_quantile_interval_too_small_sample_reports_coverage() -> None:
    result = median([3.0, 1.0, 2.0, 5.0], min_n=0)
    # the sample range of 4 values covers the median with 1 - 2 / 2**4
    assert (result.ci_low, result.ci_high) == (1.0, 5.0)
    assert result.confidence == pytest.approx(1 - 2 / 16)
    assert "too small" in result.method


def test_upper_quantile() -> None:
    values = np.arange(1000, dtype=float)
    result = quantile(values, 0.9)
    assert result.metric == "quantile 0.9"
    assert result.ci_low < result.estimate < result.ci_high
    # binomial(1000, .9) has sd 9.5: the ranks lie about 1.96 sd either side
    assert result.ci_low == pytest.approx(900 - 1.96 * 9.49, abs=2)
    assert result.ci_high == pytest.approx(900 + 1.96 * 9.49, abs=2)


def test_quantile_of_one_response_has_no_interval() -> None:
    result = median([4.0], min_n=0)
    assert result.suppressed
    assert result.estimate == 4.0
    assert math.isnan(result.ci_low)
