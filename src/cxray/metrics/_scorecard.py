"""The scorecard: every KPI by slice and period, with status, change and its significance."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from cxray import stats
from cxray.config import ProgramConfig, Threshold
from cxray.exceptions import UnknownMetricError
from cxray.metrics._benchmarks import Benchmark, benchmark_fields, benchmark_of
from cxray.metrics._context import Context, TableSource, as_keys, parse_when, period_label
from cxray.metrics._coverage import Profile, check, kpi_needs, nothing_to_measure, profile
from cxray.metrics._engine import Cell, compare, compute_all, without_evidence
from cxray.metrics._registry import KPI, kpis
from cxray.store import FOLLOWUPS

__all__ = ["Score", "Scorecard", "Status", "scorecard", "status_of"]

Status = Literal["on_target", "watch", "action"]


def status_of(value: float, threshold: Threshold, direction: str) -> Status | None:
    """``on_target`` when the target is met, ``action`` when worse than the action threshold.

    ``watch`` in between; ``None`` when the KPI has neither (or the value is missing).
    """
    if value is None or not math.isfinite(value):
        return None
    if threshold.target is None and threshold.action is None:
        return None
    better = (lambda a, b: a >= b) if direction == "higher_is_better" else (lambda a, b: a <= b)
    if threshold.target is not None and better(value, threshold.target):
        return "on_target"
    if threshold.action is not None and not better(value, threshold.action):
        # strictly worse than the action threshold
        return "action" if value != threshold.action else "watch"
    return "watch"


@dataclass(frozen=True)
class Score:
    """One row of a scorecard: a KPI for one slice (and period)."""

    metric: str
    title: str
    slices: dict[str, Any]
    result: stats.Estimate
    status: Status | None
    change: stats.Comparison | None = None
    q_value: float | None = None
    significant: bool | None = None
    #: the ``[program] industry`` benchmark it is shown against (docs/benchmarks.md)
    benchmark: Benchmark | None = None

    def to_dict(self) -> dict[str, Any]:
        r = self.result.to_dict()
        out: dict[str, Any] = {"metric": self.metric, "title": self.title, **self.slices}
        out.update(
            estimate=r["estimate"],
            ci_low=r["ci_low"],
            ci_high=r["ci_high"],
            n=r["n"],
            unit=r["unit"],
            status=self.status,
            suppressed=r["suppressed"],
            reason=r["reason"],
            method=r["method"],
            confidence=r["confidence"],
        )
        c = self.change.to_dict() if self.change is not None else {}
        out.update(
            change=c.get("estimate"),
            change_ci_low=c.get("ci_low"),
            change_ci_high=c.get("ci_high"),
            p_value=c.get("p_value"),
            q_value=_plain(self.q_value) if c.get("p_value") is not None else None,
            significant=self.significant,
            definition=r["definition"],
        )
        out.update(benchmark_fields(self.result, self.benchmark))
        return out


def _plain(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class Scorecard:
    """KPIs by slice and period. ``records()`` for JSON, ``to_frame()`` for pandas."""

    scores: list[Score]
    by: tuple[str, ...] = ()
    period: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    fdr: float = 0.05
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.scores)

    @property
    def slice_keys(self) -> list[str]:
        return (["period"] if self.period else []) + list(self.by)

    def records(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.scores]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records())

    def get(self, metric: str, **slices: Any) -> Score:
        """The one score of ``metric`` for the given slice values."""
        for s in self.scores:
            if s.metric == metric and all(s.slices.get(k) == v for k, v in slices.items()):
                return s
        raise KeyError(f"no score for {metric} {slices}")

    def _repr_html_(self) -> str:
        colours = {"on_target": "#1a7f37", "watch": "#9a6700", "action": "#cf222e"}
        head = [*self.slice_keys, "metric", "estimate", "95% CI", "n", "status", "change"]
        rows = []
        for s in self.scores:
            d = s.to_dict()
            if d["suppressed"]:
                est, ci = "—", html.escape(str(d["reason"]))
            else:
                est = f"{d['estimate']:.1f}"
                ci = f"[{d['ci_low']:.1f}, {d['ci_high']:.1f}]"
            status = d["status"] or ""
            colour = colours.get(status, "inherit")
            change = ""
            if d["change"] is not None:
                change = f"{d['change']:+.1f}" + (" *" if d["significant"] else "")
            cells = [*(str(d.get(k, "")) for k in self.slice_keys), s.title, est, ci, str(d["n"])]
            cells += [f"<span style='color:{colour}'>{status}</span>", change]
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{c if i >= len(cells) - 2 else html.escape(c)}</td>"
                    for i, c in enumerate(cells)
                )
                + "</tr>"
            )
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        note = "<p>* significant change from the previous period (Benjamini–Hochberg)</p>"
        return f"<table><tr>{header}</tr>{''.join(rows)}</table>{note if self.period else ''}"


def scorecard(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: Sequence[str] = (),
    period: str | None = None,
    start: str | dt.date | dt.datetime | None = None,
    end: str | dt.date | dt.datetime | None = None,
    metrics: Sequence[str] | None = None,
) -> Scorecard:
    """Every KPI (or those named in ``metrics``) by the ``by`` attributes and ``period``.

    ``start`` and ``end`` are dates (or date-times) in the program's time
    zone; both are inclusive when given as dates. With a period, each slice's
    value is compared with its previous period (two-sample test) and the
    p-values of each KPI and period are adjusted across the slices by
    Benjamini–Hochberg at the configured false discovery rate.
    """
    s = parse_when(start, "--from")
    e = parse_when(end, "--to")
    if e is not None and isinstance(end, dt.date | str) and not _has_time(end):
        e = e + dt.timedelta(days=1)
    tables = _memo(tables)
    p = profile(tables)
    ctx = Context(tables, config, start=s, end=e, period=period, by=tuple(by), spans=p.spans)
    ctx.check_attributes()
    registry = kpis(
        config.journeys,
        surveys="completed" in ctx.columns("responses"),
        loop=p.filled(FOLLOWUPS, None) > 0,
        custom=config.kpis,
    )
    if metrics is not None:
        names = {k.name for k in registry}
        unknown = [m for m in metrics if m not in names]
        if unknown:
            raise UnknownMetricError(
                f"unknown KPI {unknown[0]!r}; known: {', '.join(k.name for k in registry)}"
            )
        registry = [k for k in registry if k.name in metrics]
    missing = {k.name: r for k in registry if (r := _missing(k, p)) is not None}
    measured = [k for k in registry if k.name not in missing]
    cells = compute_all(measured, ctx)
    scores: list[Score] = []
    for kpi in registry:
        if kpi.name in missing:
            reason = missing[kpi.name]
            if reason:
                scores.append(_not_measured(kpi, ctx, reason))
        else:
            scores.extend(_scores(kpi, ctx, cells[kpi.name]))
    notes = [] if scores else [nothing_to_measure(p)]
    return Scorecard(scores, tuple(by), period, s, e, config.measurement.fdr, notes)


def _memo(tables: TableSource) -> TableSource:
    """``tables``, each table looked up once per scorecard (a look-up reads its schema)."""
    got: dict[str, Any] = {}

    def table(name: str) -> Any:
        if name not in got:
            got[name] = tables(name)
        return got[name]

    return table


def _missing(kpi: KPI, p: Profile) -> str | None:
    """Why ``kpi`` is not measured: its reason (inputs missing, its own table has rows),
    ``""`` (its table has no rows at all: the KPI is left out), ``None``: it is measured.

    CLV, health and churn keep their own finer reasons (``KPI.evidence``, per slice).
    """
    if kpi.kind in ("churn", "health") or kpi.evidence is not None:
        return None
    needs = kpi_needs(kpi)
    reason = check(needs, p)
    if reason is None:
        return None
    table, _ = needs[0].alternatives[0]
    return reason if p.filled(table, None) else ""


def _not_measured(kpi: KPI, ctx: Context, reason: str) -> Score:
    """The one row of a KPI whose inputs are missing: no number, the reason."""
    m = ctx.config.measurement
    est = stats.Estimate(
        math.nan,
        math.nan,
        math.nan,
        0,
        "not measured",
        m.confidence,
        metric=kpi.name,
        unit=kpi.unit,
        definition=kpi.definition,
        suppressed=True,
        reason=reason,
    )
    slices: dict[str, Any] = {a: None for a in ctx.by}
    if ctx.period is not None:
        slices = {"period": None, **slices}
    return Score(kpi.name, kpi.title, slices, est, None)


def _has_time(value: Any) -> bool:
    return isinstance(value, dt.datetime) or (isinstance(value, str) and "T" in value)


def _sort_key(cell: Cell) -> tuple[Any, ...]:
    return (
        tuple((k is None, str(k)) for k in cell.keys),
        cell.period or dt.date.min,
    )


def _scores(kpi: KPI, ctx: Context, cells: list[Cell]) -> list[Score]:
    config = ctx.config
    threshold = config.threshold(kpi.base)
    bench = benchmark_of(config, kpi.base)
    direction = config.direction(kpi.base)
    cells = sorted(cells, key=_sort_key)
    changes: dict[int, stats.Comparison] = {}
    if ctx.period is not None:
        previous: dict[tuple[Any, ...], Cell] = {}
        for i, cell in enumerate(cells):
            before = previous.get(cell.keys)
            if (
                before is not None
                and _adjacent(before.period, cell.period, ctx.period)
                and not without_evidence(cell)
                and not without_evidence(before)
            ):
                comp = compare(kpi, ctx, cell.agg, before.agg)
                if comp is not None:
                    changes[i] = comp
            previous[cell.keys] = cell
    # Benjamini-Hochberg per period across the slices compared
    q_values: dict[int, float] = {}
    reject: dict[int, bool] = {}
    families: dict[Any, list[int]] = {}
    for i, comp in changes.items():
        if not comp.suppressed and math.isfinite(comp.p_value):
            families.setdefault(cells[i].period, []).append(i)
    for members in families.values():
        fdr = stats.benjamini_hochberg(
            [changes[i].p_value for i in members], config.measurement.fdr
        )
        for i, q, rej in zip(members, fdr.q_values, fdr.reject, strict=True):
            q_values[i] = float(q)
            reject[i] = bool(rej)
    out = []
    for i, cell in enumerate(cells):
        est = cell.estimate
        slices = as_keys(ctx.by, cell.keys)
        if ctx.period is not None:
            # a KPI that cannot be measured at all has one cell without a period
            label = period_label(cell.period, ctx.period) if cell.period is not None else None
            slices = {"period": label, **slices}
        status = None if est.suppressed else status_of(est.estimate, threshold, direction)
        comp = changes.get(i)
        significant = None
        if comp is not None:
            significant = reject.get(i, False) if not comp.suppressed else False
        out.append(
            Score(
                kpi.name, kpi.title, slices, est, status, comp, q_values.get(i), significant, bench
            )
        )
    return out


def _adjacent(before: dt.date | None, now: dt.date | None, period: str) -> bool:
    from cxray.metrics._engine import _next

    return before is not None and now is not None and _next(before, period) == now
