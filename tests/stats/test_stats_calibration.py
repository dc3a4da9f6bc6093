"""Calibration by simulation (seeded): do the tests and intervals keep their promises?

Each check allows the Monte Carlo error of its own simulation: three binomial
standard deviations of the simulated rate around the nominal rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cxray.stats import benjamini_hochberg, nps, nps_diff, proportion

ALPHA = 0.05


def _upper_tolerance(rate: float, reps: int) -> float:
    return rate + 3.0 * math.sqrt(rate * (1.0 - rate) / reps)


@pytest.mark.parametrize(
    ("shares", "n", "method"),
    [
        ((0.45, 0.35, 0.20), 30, "adjusted_wald"),
        ((0.45, 0.35, 0.20), 120, "adjusted_wald"),
        ((0.30, 0.30, 0.40), 400, "adjusted_wald"),
        ((0.70, 0.20, 0.10), 100, "adjusted_wald"),
        ((0.45, 0.35, 0.20), 400, "wald"),
    ],
)
def test_nps_diff_false_positive_rate_without_real_change(
    shares: tuple[float, float, float], n: int, method: str
) -> None:
    reps = 2000
    rng = np.random.default_rng(1000 + n)
    before = rng.multinomial(n, shares, size=reps)
    after = rng.multinomial(n, shares, size=reps)
    p_values = np.array(
        [
            nps_diff(a, b, method=method, min_n=0).p_value  # type: ignore[arg-type]
            for a, b in zip(after, before, strict=True)
        ]
    )
    rate = float(np.mean(p_values < ALPHA))
    assert rate <= _upper_tolerance(ALPHA, reps)
    assert rate >= 0.02  # a test that never fires would pass the bound trivially


@pytest.mark.parametrize(("shares", "n"), [((0.45, 0.35, 0.20), 50), ((0.80, 0.15, 0.05), 200)])
def test_adjusted_wald_nps_interval_coverage(shares: tuple[float, float, float], n: int) -> None:
    reps = 2000
    truth = 100.0 * (shares[0] - shares[2])
    draws = np.random.default_rng(n).multinomial(n, shares, size=reps)
    covered = [(r := nps(*d, min_n=0)).ci_low <= truth <= r.ci_high for d in draws]
    miss = 1.0 - float(np.mean(covered))
    assert miss <= _upper_tolerance(ALPHA, reps)


def test_wilson_interval_coverage() -> None:
    reps, n, truth = 3000, 60, 0.85
    draws = np.random.default_rng(9).binomial(n, truth, size=reps)
    covered = [(r := proportion(x, n)).ci_low <= truth <= r.ci_high for x in draws]
    assert 1.0 - float(np.mean(covered)) <= _upper_tolerance(ALPHA, reps)


def test_benjamini_hochberg_controls_fdr_across_segments() -> None:
    # 20 segments compared between two periods; 15 did not change, 5 gained
    # 15 NPS points. Benjamini-Hochberg at q = .10 over the 20 p-values must
    # keep the false discovery proportion at or below .10 on average.
    rng = np.random.default_rng(2024)
    reps, n, q = 300, 150, 0.10
    null = (0.40, 0.35, 0.25)
    better = (0.475, 0.35, 0.175)
    changed = np.zeros(20, dtype=bool)
    changed[:5] = True
    fdp = np.empty(reps)
    raw_fdp = np.empty(reps)
    for rep in range(reps):
        p_values = np.empty(20)
        for seg in range(20):
            before = rng.multinomial(n, null)
            after = rng.multinomial(n, better if changed[seg] else null)
            p_values[seg] = nps_diff(after, before, min_n=0).p_value
        reject = benjamini_hochberg(p_values, alpha=q).reject
        fdp[rep] = (reject & ~changed).sum() / max(reject.sum(), 1)
        raw = p_values < q
        raw_fdp[rep] = (raw & ~changed).sum() / max(raw.sum(), 1)
    fdr = float(fdp.mean())
    assert fdr <= q + 3.0 * float(fdp.std(ddof=1)) / math.sqrt(reps)
    # and it matters: flagging every p < .10 would let through far more noise
    assert float(raw_fdp.mean()) > fdr
