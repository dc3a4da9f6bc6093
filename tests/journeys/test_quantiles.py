"""The order statistics the store returns are enough for exact quantile intervals."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray import stats
from cxray.journeys._quantiles import BAND, band_filter, quantile_estimate, rank_bounds

SIZES = [*range(2, 400), *np.unique(np.logspace(2.6, 7, 300).astype(int)).tolist()]


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("q", [0.5, 0.9])
def test_the_band_holds_the_exact_ranks(q, level):
    for n in SIZES:
        lower, upper, _ = stats.order_statistic_ranks(n, q, level)
        lo, hi = rank_bounds(n, q, level)
        assert math.floor(lo) - BAND <= lower <= math.ceil(lo) + BAND or lower == 1, (n, lower)
        assert math.floor(hi) - BAND <= upper <= math.ceil(hi) + BAND or upper == n, (n, upper)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=300),
    q=st.sampled_from([0.5, 0.9]),
    level=st.sampled_from([0.9, 0.95]),
)
def test_same_as_the_statistics_core(values, q, level):
    """Ranked in the store, only the band fetched: the same estimate as on every value."""
    t = ibis.memtable({"v": values})
    n = len(values)
    ranked = t.mutate(_rank=ibis.row_number().over(ibis.window(order_by=t.v)) + 1, _n=n)
    kept = ranked.filter(band_filter(ranked._rank, ranked._n, level, (q,))).to_pyarrow()
    got = dict(zip(kept["_rank"].to_pylist(), kept["v"].to_pylist(), strict=True))
    assert len(got) <= 4 * (2 * BAND + 3) + 4  # compact
    est = quantile_estimate(n, q, got, level=level, min_n=1, metric="m")
    exact = stats.quantile(np.array(values), q, confidence=level, min_n=1)
    assert est.estimate == pytest.approx(exact.estimate, rel=1e-12, abs=1e-12)
    if n > 1:
        assert (est.ci_low, est.ci_high) == (exact.ci_low, exact.ci_high)
        assert (est.confidence, est.method) == (exact.confidence, exact.method)
    assert est.suppressed == exact.suppressed


def test_suppressed_below_min_n():
    est = quantile_estimate(3, 0.5, {1: 1.0, 2: 2.0, 3: 3.0}, level=0.95, min_n=30, metric="m")
    assert est.suppressed and est.reason.startswith("n=3 < 30") and est.estimate == 2.0
    assert quantile_estimate(0, 0.5, {}, level=0.95, min_n=30, metric="m").reason == "no cases"
