"""The result objects: display, suppression, warnings, tables."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

from cxray.exceptions import StatisticalWarning
from cxray.stats import (
    DEFAULT_MIN_N,
    Comparison,
    Estimate,
    bootstrap,
    mean,
    mean_diff,
    mean_of,
    nps,
    nps_diff,
    proportion,
    to_frame,
    warn_if_suppressed,
)


def test_estimate_is_frozen_and_plain() -> None:
    result = nps(50, 30, 20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.estimate = 1.0  # type: ignore[misc]
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["estimate"] == pytest.approx(30.0)
    assert data["suppressed"] is False
    assert data["unit"] == "points"
    assert type(data["ci_low"]) is float


def test_suppressed_below_min_n() -> None:
    result = nps(3, 2, 2)
    assert DEFAULT_MIN_N == 30
    assert result.suppressed
    assert result.reason == "n=7 < 30; widen the period or merge segments"
    # the number is kept for programs but never displayed bare
    assert result.estimate == pytest.approx(100 / 7)
    data = result.to_dict()
    assert (data["estimate"], data["ci_low"], data["ci_high"]) == (None, None, None)
    assert "14.3" not in str(result)
    assert str(result) == (
        "NPS suppressed: n=7 < 30; widen the period or merge segments (adjusted Wald)"
    )
    assert "14.3" not in result._repr_html_()
    assert "widen the period" in result._repr_html_()


def test_min_n_is_configurable() -> None:
    assert not nps(3, 2, 2, min_n=5).suppressed
    assert nps(30, 30, 30, min_n=100).reason == "n=90 < 100; widen the period or merge segments"
    assert not proportion(3, 7, min_n=0).suppressed


def test_zero_responses_are_suppressed_not_errors() -> None:
    for result in (nps(0, 0, 0), proportion(0, 0), mean(0, 0.0, 0.0), mean_of([])):
        assert result.suppressed
        assert result.reason == "no responses"
        assert math.isnan(result.estimate)
        assert result.to_dict()["estimate"] is None
    empty = nps_diff((0, 0, 0), (10, 10, 10))
    assert empty.suppressed and empty.to_dict()["p_value"] is None


def test_warn_if_suppressed_raises_statistical_warning_with_remedy() -> None:
    with pytest.warns(StatisticalWarning, match=r"NPS: n=7 < 30; widen the period or merge"):
        assert warn_if_suppressed(nps(3, 2, 2), nps(50, 30, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_suppressed(nps(50, 30, 20))


def test_warning_lists_every_suppressed_result() -> None:
    results = [nps(1, 1, i) for i in range(8)]
    with pytest.warns(StatisticalWarning) as record:
        warn_if_suppressed(*results)
    assert len(record) == 1
    assert "and 3 more" in str(record[0].message)


def test_comparison_display_and_suppression() -> None:
    result = nps_diff((50, 30, 20), (48, 36, 36))
    assert isinstance(result, Comparison)
    assert str(result) == (
        "NPS difference 20.0 [-1.6, 40.4] n=100 vs 120, z=1.807, p=0.0708 (adjusted Wald z)"
    )
    html = result._repr_html_()
    assert "p-value" in html and "<table" in html
    small = nps_diff((5, 3, 2), (48, 36, 36))
    assert small.suppressed
    assert small.reason == "group a: n=10 < 30; widen the period or merge segments"
    assert not small.significant
    data = small.to_dict()
    assert data["statistic"] is None and data["p_value"] is None and data["estimate_a"] is None
    assert data["n_a"] == 10


def test_welch_display_uses_t() -> None:
    result = mean_diff((40, 160.0, 700.0), (50, 180.0, 720.0))
    assert ", t=" in str(result)
    assert result.df is not None


def test_mean_needs_two_responses_for_an_interval() -> None:
    result = mean(1, 4.0, 16.0, min_n=0)
    assert result.suppressed
    assert "at least 2" in str(result.reason)
    assert mean_diff((1, 4.0, 16.0), (40, 160.0, 700.0), min_n=0).suppressed


def test_other_confidence_levels_are_shown() -> None:
    result = nps(50, 30, 20, confidence=0.9)
    assert str(result).startswith("NPS 30.0 90% [")
    assert result.confidence == 0.9
    assert result.margin < nps(50, 30, 20).margin


def test_labels_can_be_set_by_the_caller() -> None:
    result = dataclasses.replace(
        proportion(420, 500, percent=True), metric="CSAT top-2-box", definition="share of 4-5"
    )
    assert str(result).startswith("CSAT top-2-box 84.0 [")
    assert "share of 4-5" in result._repr_html_()


def test_html_escapes_labels() -> None:
    result = Estimate(1.0, 0.5, 1.5, 40, "Wald", metric="<b>x</b>")
    assert "<b>x</b>" not in result._repr_html_()
    assert "&lt;b&gt;" in result._repr_html_()


def test_to_frame() -> None:
    frame = to_frame([nps(50, 30, 20), nps(3, 2, 2)], index=["north", "south"])
    assert list(frame.index) == ["north", "south"]
    assert frame.loc["north", "estimate"] == pytest.approx(30.0)
    assert frame.loc["south", "suppressed"]
    assert frame["estimate"].isna()["south"]


def test_confidence_is_validated() -> None:
    with pytest.raises(ValueError, match="confidence"):
        nps(1, 1, 1, confidence=95)
    with pytest.raises(ValueError, match="confidence"):
        Estimate(1.0, 0.0, 2.0, 10, "x", confidence=0.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: nps(-1, 2, 3),
        lambda: nps(1.5, 2, 3),
        lambda: nps(1, 2, 3, method="exact"),  # type: ignore[arg-type]
        lambda: proportion(5, 4),
        lambda: proportion(2, 4, method="wald"),  # type: ignore[arg-type]
        lambda: nps_diff((1, 2), (1, 2, 3)),
        lambda: mean(10, 10.0, 1.0),
        lambda: mean_of([1.0, math.nan]),
        lambda: mean_of(np.ones((2, 2))),
        lambda: bootstrap([1.0, 2.0], n_resamples=10),
    ],
)
def test_invalid_input_raises_value_error(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_counts_from_a_database_may_be_numpy_or_integral_floats() -> None:
    assert nps(np.int64(50), 30.0, np.uint8(20)) == nps(50, 30, 20)


def test_degenerate_wald_warns_with_remedy() -> None:
    with pytest.warns(StatisticalWarning, match="use method='adjusted_wald'"):
        result = nps(40, 0, 0, method="wald")
    assert result.ci_low == result.ci_high == 100.0
    with pytest.warns(StatisticalWarning, match="zero width"):
        nps_diff((40, 0, 0), (0, 0, 50), method="wald")
    # the default method needs no warning
    adjusted = nps(40, 0, 0)
    assert adjusted.ci_low < 100.0 and adjusted.ci_high == 100.0
