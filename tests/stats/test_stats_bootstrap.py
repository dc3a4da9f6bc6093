"""The seeded percentile bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from cxray.stats import bootstrap, mean_of


@pytest.fixture
def sample() -> np.ndarray:
    return np.random.default_rng(21).integers(0, 11, size=300).astype(float)


def test_same_seed_same_interval(sample: np.ndarray) -> None:
    first = bootstrap(sample, np.median, random_state=7)
    again = bootstrap(sample, np.median, random_state=7)
    other = bootstrap(sample, np.mean, random_state=8)
    assert first == again
    assert other != bootstrap(sample, np.mean, random_state=7)
    generator = bootstrap(sample, np.mean, random_state=np.random.default_rng(8))
    assert generator == other


def test_vectorized_statistic_gives_the_same_replicates(sample: np.ndarray) -> None:
    looped = bootstrap(sample, np.mean, random_state=3)
    vectorized = bootstrap(sample, np.mean, random_state=3, vectorized=True)
    assert vectorized.ci_low == pytest.approx(looped.ci_low)
    assert vectorized.ci_high == pytest.approx(looped.ci_high)


def test_close_to_t_interval_for_a_mean(sample: np.ndarray) -> None:
    boot = bootstrap(sample, np.mean, n_resamples=4000, vectorized=True)
    exact = mean_of(sample)
    assert boot.estimate == pytest.approx(exact.estimate)
    assert boot.ci_low == pytest.approx(exact.ci_low, abs=0.1 * exact.margin)
    assert boot.ci_high == pytest.approx(exact.ci_high, abs=0.1 * exact.margin)
    assert boot.method == "percentile bootstrap (4000 resamples)"


def test_large_samples_are_processed_in_chunks() -> None:
    values = np.random.default_rng(2).normal(size=30_000)
    result = bootstrap(values, np.mean, n_resamples=200, vectorized=True, metric="mean")
    assert result.ci_low <= result.estimate <= result.ci_high
    assert result.metric == "mean"
    assert result.ci_high - result.ci_low == pytest.approx(2 * 1.96 / np.sqrt(30_000), rel=0.3)


def test_statistic_returning_nan_is_an_error(sample: np.ndarray) -> None:
    with pytest.raises(ValueError, match="NaN"):
        bootstrap(sample, lambda x: float("nan"), n_resamples=100)
