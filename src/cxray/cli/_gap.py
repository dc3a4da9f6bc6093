"""The benchmark column of ``cxray scorecard``: each KPI's industry benchmark and the gap."""

from __future__ import annotations


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:,.1f}".removesuffix(".0")


def benchmark_column(card) -> str | None:  # type: ignore[no-untyped-def]
    """The scorecard's benchmark column header ("vs retail"), None when no KPI has one."""
    for s in card.scores:
        if s.benchmark is not None:
            return f"vs {s.benchmark.label}"
    return None


def benchmark_cell(score) -> str:  # type: ignore[no-untyped-def]
    """The benchmark and the gap to it ("29 +0.7"), green or red when the interval lies
    wholly on the better or the worse side of the benchmark."""
    d = score.to_dict()
    if d["benchmark"] is None:
        return ""
    text = _num(d["benchmark"])
    if d["gap"] is None:
        return text
    text += f" {d['gap']:+,.1f}"
    side = d["vs_benchmark"]
    if side in ("above", "below"):
        from cxray.config import KPI_DIRECTIONS

        better = (
            "above"
            if KPI_DIRECTIONS.get(score.metric.split(":")[0]) != ("lower_is_better")
            else "below"
        )
        colour = "green" if side == better else "red"
        text = f"[{colour}]{text}[/{colour}]"
    return text


def benchmark_caption(column: str) -> str:
    """What the benchmark column's numbers are."""
    return (
        f"{column}: the benchmark, then the gap to it (estimate - benchmark); green or red "
        "where the interval lies wholly on the better or the worse side (cxray benchmarks)"
    )
