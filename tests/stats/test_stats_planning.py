"""Sample-size planning: formulas by hand, inverse consistency, simulated power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray.stats import (
    nps_detectable_difference,
    nps_diff,
    nps_sample_size,
    proportion_detectable_difference,
    proportion_diff,
    proportion_sample_size,
)

Z_975 = 1.959963984540054
Z_80 = 0.8416212335729143


def test_nps_sample_size_by_hand() -> None:
    # baseline 45% promoters / 20% detractors (NPS 25), +10 points split evenly:
    # after 50% / 15%. var0 = .65 - .25**2 = .5875, var1 = .65 - .35**2 = .5275
    # n = (1.96 + .8416)**2 * (.5875 + .5275) / .1**2 = 875.2 -> 876
    expected = (Z_975 + Z_80) ** 2 * (0.5875 + 0.5275) / 0.1**2
    plan = nps_sample_size(0.45, 0.20, 10)
    assert plan.n_per_group == math.ceil(expected) == 876
    assert plan.metric == "NPS"
    assert "876 responses per group" in str(plan)
    assert plan.to_dict()["delta_points"] == 10.0


def test_nps_shift_options() -> None:
    # moving passives into promoters only: after 55% / 20%
    var0 = 0.65 - 0.25**2
    var1 = 0.75 - 0.35**2
    plan = nps_sample_size(0.45, 0.20, 10, shift="promoters")
    assert plan.n_per_group == math.ceil((Z_975 + Z_80) ** 2 * (var0 + var1) / 0.01)
    down = nps_sample_size(0.45, 0.20, -10, shift="detractors")
    var_down = 0.75 - 0.15**2  # 45% / 30%
    assert down.n_per_group == math.ceil((Z_975 + Z_80) ** 2 * (var0 + var_down) / 0.01)
    with pytest.raises(ValueError, match="impossible"):
        nps_sample_size(0.45, 0.20, 50, shift="detractors")


def test_proportion_sample_size_by_hand() -> None:
    # Fleiss: p0 = .65, p1 = .85, pbar = .75
    # n = (1.96 * sqrt(2 * .75 * .25) + .8416 * sqrt(.65 * .35 + .85 * .15))**2 / .2**2
    #   = 72.4 -> 73
    plan = proportion_sample_size(0.65, 20)
    expected = (
        Z_975 * math.sqrt(2 * 0.75 * 0.25) + Z_80 * math.sqrt(0.65 * 0.35 + 0.85 * 0.15)
    ) ** 2 / 0.2**2
    assert plan.n_per_group == math.ceil(expected) == 73


def test_more_power_or_smaller_changes_need_more_responses() -> None:
    base = proportion_sample_size(0.8, 5).n_per_group
    assert proportion_sample_size(0.8, 5, power=0.9).n_per_group > base
    assert proportion_sample_size(0.8, 5, alpha=0.01).n_per_group > base
    assert proportion_sample_size(0.8, 3).n_per_group > base
    assert nps_sample_size(0.4, 0.2, 3).n_per_group > nps_sample_size(0.4, 0.2, 5).n_per_group


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1000, 20_000),
    p=st.floats(0.1, 0.55),
    d=st.floats(0.1, 0.35),
    direction=st.sampled_from(["increase", "decrease"]),
)
def test_nps_detectable_difference_inverts_sample_size(
    n: int, p: float, d: float, direction: str
) -> None:
    plan = nps_detectable_difference(n, p, d, direction=direction)  # type: ignore[arg-type]
    assert (plan.delta_points > 0) == (direction == "increase")
    back = nps_sample_size(p, d, plan.delta_points)
    assert abs(back.n_per_group - n) <= 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(200, 20_000), p=st.floats(0.2, 0.8))
def test_proportion_detectable_difference_inverts_sample_size(n: int, p: float) -> None:
    plan = proportion_detectable_difference(n, p)
    back = proportion_sample_size(p, plan.delta_points)
    assert abs(back.n_per_group - n) <= 1


def test_nothing_detectable_with_tiny_samples() -> None:
    with pytest.raises(ValueError, match="no feasible"):
        nps_detectable_difference(3, 0.98, 0.01)


def test_planning_input_checks() -> None:
    with pytest.raises(ValueError, match="exceed 1"):
        nps_sample_size(0.7, 0.4, 5)
    with pytest.raises(ValueError, match="non-zero"):
        proportion_sample_size(0.5, 0)
    with pytest.raises(ValueError, match="leaves"):
        proportion_sample_size(0.97, 5)
    with pytest.raises(ValueError, match="power"):
        proportion_sample_size(0.5, 5, power=1.0)


def test_simulated_power_matches_plan() -> None:
    # Monte Carlo check of both formulas against the tests they plan for.
    rng = np.random.default_rng(20240917)
    reps = 1500
    tolerance = 3.5 * math.sqrt(0.8 * 0.2 / reps)  # 3.5 binomial sd, about .036

    n = nps_sample_size(0.45, 0.20, 10).n_per_group
    a = rng.multinomial(n, [0.50, 0.35, 0.15], size=reps)
    b = rng.multinomial(n, [0.45, 0.35, 0.20], size=reps)
    hits = np.mean([nps_diff(x, y).p_value < 0.05 for x, y in zip(a, b, strict=True)])
    assert hits == pytest.approx(0.8, abs=tolerance)

    n = proportion_sample_size(0.80, -8).n_per_group
    xa = rng.binomial(n, 0.72, size=reps)
    xb = rng.binomial(n, 0.80, size=reps)
    hits = np.mean(
        [proportion_diff((x, n), (y, n)).p_value < 0.05 for x, y in zip(xa, xb, strict=True)]
    )
    assert hits == pytest.approx(0.8, abs=tolerance)
