"""A KPI against its industry benchmark: the gap, its interval, and which side it lies on.

The benchmark is a published figure (``[program] industry``, docs/benchmarks.md), taken as
a fixed number: the gap is ``estimate - benchmark`` and its interval is the estimate's
interval shifted by the same amount. ``vs_benchmark`` says whether that interval lies wholly
``above`` or wholly ``below`` the benchmark, or ``includes`` it (the data cannot tell the
KPI from the benchmark at the configured confidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from cxray import stats
from cxray.config import ProgramConfig

__all__ = ["Benchmark", "benchmark_fields", "benchmark_of"]

Side = Literal["above", "below", "includes"]


@dataclass(frozen=True)
class Benchmark:
    """The figure a KPI is compared with, and the set it comes from."""

    value: float
    industry: str
    label: str
    source: str


def benchmark_of(config: ProgramConfig, kpi: str) -> Benchmark | None:
    """The ``[program] industry`` set's figure for ``kpi`` (None without one or a value)."""
    industry = config.program.industry
    fig = config.benchmark(kpi)
    if industry is None or fig is None or fig.value is None:
        return None
    bench_set = config.benchmark_sets[industry]
    return Benchmark(fig.value, industry, bench_set.label(industry), fig.source)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def benchmark_fields(est: stats.Estimate, bench: Benchmark | None) -> dict[str, Any]:
    """``benchmark``, ``benchmark_set``, ``gap``, ``gap_ci_low``, ``gap_ci_high`` and
    ``vs_benchmark`` of one result (None where there is no benchmark or no estimate)."""
    out: dict[str, Any] = dict.fromkeys(
        ("benchmark", "benchmark_set", "gap", "gap_ci_low", "gap_ci_high", "vs_benchmark")
    )
    if bench is None:
        return out
    out.update(benchmark=bench.value, benchmark_set=bench.label)
    if est.suppressed or not _finite(est.estimate):
        return out
    out["gap"] = float(est.estimate) - bench.value
    if _finite(est.ci_low) and _finite(est.ci_high):
        low, high = float(est.ci_low) - bench.value, float(est.ci_high) - bench.value
        out.update(gap_ci_low=low, gap_ci_high=high)
        side: Side = "above" if low > 0 else "below" if high < 0 else "includes"
        out["vs_benchmark"] = side
    return out
