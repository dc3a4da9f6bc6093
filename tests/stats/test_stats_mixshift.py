"""Mix-shift decomposition of a change in a mean score."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cxray.stats import mix_shift


def test_hand_computed_two_segments() -> None:
    # web: 100 -> 300 responses at NPS 40 -> 40; phone: 300 -> 100 at NPS 0 -> 10.
    # before = (100*40 + 300*0)/400 = 10; after = (300*40 + 100*10)/400 = 32.5
    # shares .25/.75 -> .75/.25, centre c = 21.25
    # mix(web)   = +.5 * (40 - 21.25) = 9.375;  mix(phone) = -.5 * (5 - 21.25) = 8.125
    # rate(web)  = .5 * 0 = 0;                  rate(phone) = .5 * 10 = 5
    result = mix_shift(["web", "phone"], [100, 300], [40, 0], [300, 100], [40, 10], metric="NPS")
    assert result.before == pytest.approx(10.0)
    assert result.after == pytest.approx(32.5)
    assert result.change == pytest.approx(22.5)
    assert result.mix == pytest.approx(17.5)
    assert result.rate == pytest.approx(5.0)
    table = result.table
    assert list(table.index) == ["phone", "web"]  # sorted by label
    assert table.loc["web", "mix"] == pytest.approx(9.375)
    assert table.loc["phone", "mix"] == pytest.approx(8.125)
    assert table.loc["phone", "rate"] == pytest.approx(5.0)
    assert table.loc["web", "share_after"] == pytest.approx(0.75)
    assert str(result) == (
        "NPS 10.0 -> 32.5: change +22.50 = mix +17.50 + rate +5.00 (symmetric split)"
    )


def test_matches_shapley_split_of_each_product() -> None:
    # per segment, mix + rate equals w1 s1 - w0 s0 up to the centring term,
    # and the uncentred Shapley mix is the average of both orders of change.
    rng = np.random.default_rng(4)
    n0, n1 = rng.integers(1, 400, 6), rng.integers(1, 400, 6)
    s0, s1 = rng.uniform(1, 5, 6), rng.uniform(1, 5, 6)
    result = mix_shift(list("abcdef"), n0, s0, n1, s1)
    w0, w1 = n0 / n0.sum(), n1 / n1.sum()
    shapley_mix = 0.5 * ((w1 - w0) @ s0 + (w1 - w0) @ s1)
    shapley_rate = 0.5 * (w0 @ (s1 - s0) + w1 @ (s1 - s0))
    assert result.mix == pytest.approx(shapley_mix)
    assert result.rate == pytest.approx(shapley_rate)
    assert result.mix + result.rate == pytest.approx(w1 @ s1 - w0 @ s0)


def test_pure_mix_and_pure_rate() -> None:
    same_scores = mix_shift(["a", "b"], [10, 90], [8.0, 2.0], [90, 10], [8.0, 2.0])
    assert same_scores.rate == pytest.approx(0.0)
    assert same_scores.mix == pytest.approx(same_scores.change)
    same_mix = mix_shift(["a", "b"], [50, 50], [8.0, 2.0], [100, 100], [9.0, 4.0])
    assert same_mix.mix == pytest.approx(0.0)
    assert same_mix.rate == pytest.approx(1.5)


def test_segments_entering_or_leaving_are_all_mix() -> None:
    result = mix_shift(
        ["kept", "new", "gone"], [100, 0, 50], [20, math.nan, -40], [100, 50, 0], [20, 60, math.nan]
    )
    table = result.table
    assert table.loc["new", "rate"] == 0.0
    assert table.loc["gone", "rate"] == 0.0
    assert math.isnan(table.loc["new", "score_before"])
    assert result.before == pytest.approx((100 * 20 - 50 * 40) / 150)
    assert result.after == pytest.approx((100 * 20 + 50 * 60) / 150)
    assert result.mix + result.rate == pytest.approx(result.change)
    json.dumps(result.to_dict(), default=float)  # serialisable for the API layer
    assert "<table" in result._repr_html_()


def test_works_with_data_frame_columns() -> None:
    frame = pd.DataFrame(
        {
            "segment": ["b", "a", "c"],
            "n0": [10, 20, 30],
            "s0": [1.0, 2.0, 3.0],
            "n1": [30, 20, 10],
            "s1": [1.5, 2.5, 3.5],
        }
    )
    result = mix_shift(frame["segment"], frame["n0"], frame["s0"], frame["n1"], frame["s1"])
    assert isinstance(result.table, pd.DataFrame)
    assert list(result.table.index) == ["a", "b", "c"]
    assert result.rate == pytest.approx(0.5)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="unique"):
        mix_shift(["a", "a"], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="n_before"):
        mix_shift(["a", "b"], [-1, 2], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="at least one response"):
        mix_shift(["a"], [0], [1], [3], [1])
    with pytest.raises(ValueError, match="finite"):
        mix_shift(["a"], [2], [math.nan], [3], [1])
    with pytest.raises(ValueError, match="one value per segment"):
        mix_shift(["a", "b"], [2], [1], [3], [1])
