"""The benchmark harness: own peak memory per case, interleaved repeats, the load line."""

from __future__ import annotations

import sys

import pytest
from benchmarks._harness import Case, markdown, run_cases

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CASES = [Case("tiny", "does nothing"), Case("alloc", "writes 200 MiB")]


def test_a_case_reports_its_own_peak_not_its_parents(tmp_path, monkeypatch):
    order = tmp_path / "order.txt"
    monkeypatch.setenv("CXRAY_BENCH_ORDER", str(order))
    ballast = bytearray(b"\x01") * (400 << 20)  # the parent holds 400 MiB while it spawns
    rows = run_cases("tests._bench_case", CASES, repeat=2)
    assert len(ballast) == 400 << 20
    by = {r["case"]: r for r in rows}
    # a bare interpreter with the harness: far below the parent's 400 MiB
    assert by["tiny"]["peak_mib"] < 150
    # the 200 MiB the case wrote are its own peak
    assert 200 <= by["alloc"]["peak_mib"] < 400
    # the repeats were interleaved: round by round, not case by case
    assert order.read_text().split() == ["tiny", "alloc", "tiny", "alloc"]
    assert by["tiny"]["ratio"] == 1.0 and by["tiny"]["runs"] == 2
    assert by["alloc"]["seconds_min"] <= by["alloc"]["seconds"] <= by["alloc"]["seconds_max"]
    assert by["alloc"]["detail"] == {"bytes": 200 << 20}
    table = markdown(rows, "harness")
    assert "Load average (1/5/15 min) before" in table and "median of 2" in table
