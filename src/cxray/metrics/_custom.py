"""KPIs defined in config (``[kpis.NAME]``): registry entries, and the rate and ratio kinds.

A custom KPI becomes a :class:`~cxray.metrics._registry.KPI` like the built-in ones, so the
scorecard, period changes with Benjamini–Hochberg, slices, statuses, drill-down, tiles and
the API treat it the same way. Its rows are the table's rows where ``filter`` holds and
``value`` is not NULL (for ``ratio``: ``denominator`` too), placed in time by
``time_column``; ``nps``, ``share``, ``mean`` and ``median`` are summarised exactly as the
built-in kinds are. Two kinds are its own:

``rate``
    ``per × Σ value / n`` over the n rows: events per row (per 1,000 rows with
    ``per = 1000``), ``value`` a count or a boolean (true = 1). The interval is the exact
    Poisson (Garwood) interval of the total ``Σ value``, divided by n and times ``per``:
    ``[G⁻¹(α/2; x), G⁻¹(1 − α/2; x + 1)]`` with ``G`` the gamma distribution
    (``χ²`` quantiles over 2). The change between periods is a Wald z test on the
    difference of two Poisson rates, ``se = per × √(x_a / n_a² + x_b / n_b²)``.
``ratio``
    ``R = Σ value / Σ denominator`` over the n rows (a ratio of totals, not a mean of
    per-row ratios). The interval is the delta method (Taylor linearisation) of a ratio
    estimator: with ``d_i = y_i − R x_i``, ``Var(R) ≈ Σ d_i² / ((n − 1) · n · x̄²)``,
    where ``Σ d_i² = Σy² − 2R Σxy + R² Σx²`` comes from sums the database computes; the
    interval is ``R ± z · se``. The change between periods is a z test on
    ``R_a − R_b`` with ``se = √(se_a² + se_b²)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
from scipy import special
from scipy import stats as sps

from cxray import stats
from cxray.config import ProgramConfig
from cxray.config._kpis import CustomKPI, ExpressionError
from cxray.exceptions import ConfigError
from cxray.metrics._context import Context
from cxray.metrics._expr import compile_expression
from cxray.metrics._registry import KPI, Rows

__all__ = [
    "CUSTOM_AGGREGATES",
    "ConfiguredKPI",
    "custom_compare",
    "custom_estimate",
    "custom_kpis",
    "custom_metrics",
    "custom_rows",
    "kpi_catalogue",
    "kpi_where",
]

#: the kinds whose aggregates and statistics live here
CUSTOM_AGGREGATES = ("rate", "ratio")
_KINDS = {"share": "proportion"}


@dataclass(frozen=True)
class ConfiguredKPI(KPI):
    """A KPI from ``[kpis.NAME]``; ``spec`` is its config section."""

    spec: CustomKPI | None = None


def custom_kpis(defined: Mapping[str, CustomKPI] | None) -> list[KPI]:
    """The registry entries of the KPIs defined in config, in the order they are written."""
    out: list[KPI] = []
    for name, spec in (defined or {}).items():
        out.append(
            ConfiguredKPI(
                name,
                spec.title or name,
                spec.shown_unit,
                spec.describe(),
                spec.table,
                spec.time,
                _KINDS.get(spec.kind, spec.kind),  # type: ignore[arg-type]
                _rows(name, spec),
                spec=spec,
            )
        )
    return out


def _fail(name: str, field: str, text: str | None, why: str) -> ConfigError:
    where = f"[kpis.{name}] {field}" + (f" {text!r}" if text is not None else "")
    return ConfigError(f"{where}: {why}")


def _compiled(name: str, field: str, text: str, t: ibis.Table) -> ibis.Value:
    try:
        return compile_expression(text, t)
    except ExpressionError as exc:
        raise _fail(name, field, text, str(exc)) from None


def _numeric(name: str, field: str, text: str, v: ibis.Value, *, boolean: bool) -> ibis.Value:
    """``v`` as the kind needs it: a boolean for share, else a number (a boolean counts 1)."""
    dtype = v.type()
    if boolean:
        if not dtype.is_boolean():
            raise _fail(name, field, text, f"a share needs a true/false expression, not {dtype}")
        return v
    if dtype.is_boolean():
        return ibis.ifelse(v, 1, 0)
    if dtype.is_string():  # an imported attribute (survey answers from a file) is text
        return v.cast("float64")
    if not dtype.is_numeric():
        raise _fail(name, field, text, f"needs a number, not {dtype}")
    return v


def custom_rows(name: str, spec: CustomKPI, ctx: Context) -> ibis.Table:
    """The rows of a custom KPI (filtered, placed in time) with ``_v`` (and ``_w``)."""
    return _rows(name, spec)(ctx)


def _rows(name: str, spec: CustomKPI) -> Any:
    def base(ctx: Context) -> ibis.Table:
        t = ctx.tables(spec.table)
        if spec.time not in t.columns:
            raise _fail(name, "time_column", spec.time, f"no such column in {spec.table}")
        if not t[spec.time].type().is_temporal():
            raise _fail(name, "time_column", spec.time, "is not a date or time column")
        t = t.mutate(_t=ctx.local(t[spec.time].cast("timestamp")))
        if spec.filter is not None:
            cond = _compiled(name, "filter", spec.filter, t)
            if not cond.type().is_boolean():
                raise _fail(name, "filter", spec.filter, "must be true or false for each row")
            t = t.filter(cond.fill_null(False))
        return t

    def value(ctx: Context, t: ibis.Table) -> ibis.Value:
        v = _compiled(name, "value", spec.value, t)
        v = _numeric(name, "value", spec.value, v, boolean=spec.kind == "share")
        if spec.kind in ("mean", "median", "rate", "ratio"):
            v = v.cast("float64")
        return v

    def where(ctx: Context, t: ibis.Table) -> ibis.BooleanValue:
        v = value(ctx, t)
        if spec.kind == "nps":  # an answer on the 0-10 scale; anything else is not counted
            return v.notnull() & v.between(0, 10)
        return v.notnull()

    if spec.kind not in CUSTOM_AGGREGATES:
        return Rows(base, value, where)

    def rows(ctx: Context) -> ibis.Table:
        t = base(ctx)
        v = value(ctx, t)
        if spec.kind == "ratio":
            assert spec.denominator is not None
            w = _compiled(name, "denominator", spec.denominator, t)
            w = _numeric(name, "denominator", spec.denominator, w, boolean=False).cast("float64")
            return t.filter(v.notnull() & w.notnull()).mutate(_v=v, _w=w)
        return t.filter(v.notnull()).mutate(_v=v)

    return rows


# ------------------------------------------------------------------ aggregates
def custom_metrics(kind: str, t: ibis.Table) -> dict[str, Any]:
    """The sums a rate or ratio rests on, over the rows of ``t`` (``_v``, ``_w``)."""
    if kind == "rate":
        return {"_n": t._v.count(), "_s": t._v.sum()}
    y, x = t._v, t._w
    return {
        "_n": y.count(),
        "_sy": y.sum(),
        "_sx": x.sum(),
        "_syy": (y * y).sum(),
        "_sxx": (x * x).sum(),
        "_sxy": (x * y).sum(),
    }


def _reason(n: int, min_n: int) -> str | None:
    if n == 0:
        return "no rows"
    if n < min_n:
        return f"n={n} < {min_n}; widen the period or merge segments"
    return None


def rate_interval(x: float, n: int, per: float, confidence: float) -> tuple[float, float]:
    """The exact Poisson (Garwood) interval of ``per × x / n``."""
    alpha = 1.0 - confidence
    lo = 0.0 if x <= 0 else float(special.gammaincinv(x, alpha / 2))
    hi = float(special.gammaincinv(x + 1.0, 1.0 - alpha / 2))
    return per * lo / n, per * hi / n


def ratio_se(agg: Mapping[str, Any]) -> tuple[float, float]:
    """The ratio of totals and its delta-method standard error (nan with fewer than 2 rows)."""
    n = int(agg["_n"])
    sy, sx = float(agg["_sy"]), float(agg["_sx"])
    r = sy / sx
    if n < 2:
        return r, math.nan
    dd = float(agg["_syy"]) - 2 * r * float(agg["_sxy"]) + r * r * float(agg["_sxx"])
    return r, math.sqrt(max(dd, 0.0) * n / ((n - 1) * sx * sx))


def custom_estimate(
    kpi: KPI, agg: Mapping[str, Any], *, confidence: float, min_n: int
) -> stats.Estimate:
    """A rate or ratio cell with its interval (see the module's docstring)."""
    n = int(agg.get("_n") or 0)
    reason = _reason(n, min_n)
    if kpi.kind == "rate":
        per = _per(kpi)
        method = "exact Poisson (Garwood)"
        if n == 0:
            return stats.Estimate(math.nan, math.nan, math.nan, 0, method, confidence,
                                  suppressed=True, reason=reason)  # fmt: skip
        x = float(agg["_s"] or 0.0)
        lo, hi = rate_interval(x, n, per, confidence)
        return stats.Estimate(per * x / n, lo, hi, n, method, confidence,
                              suppressed=reason is not None, reason=reason)  # fmt: skip
    method = "delta method (ratio of totals)"
    sx = float(agg.get("_sx") or 0.0)
    if n == 0 or sx == 0:
        why = reason or "the denominator sums to 0"
        return stats.Estimate(math.nan, math.nan, math.nan, n, method, confidence,
                              suppressed=True, reason=why)  # fmt: skip
    r, se = ratio_se(agg)
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    if not math.isfinite(se):
        reason = reason or "an interval needs at least 2 rows"
    return stats.Estimate(r, r - z * se, r + z * se, n, method, confidence,
                          suppressed=reason is not None, reason=reason)  # fmt: skip


def _per(kpi: KPI) -> float:
    spec = getattr(kpi, "spec", None)
    return float(spec.per) if spec is not None else 1.0


def custom_compare(
    kpi: KPI, now: Mapping[str, Any], before: Mapping[str, Any], *, confidence: float, min_n: int
) -> stats.Comparison | None:
    """The change of a rate or ratio from ``before`` to ``now`` with its z test."""
    n_a, n_b = int(now.get("_n") or 0), int(before.get("_n") or 0)
    if n_a < 2 or n_b < 2:
        return None
    if kpi.kind == "rate":
        per = _per(kpi)
        x_a, x_b = float(now["_s"] or 0.0), float(before["_s"] or 0.0)
        a, b = per * x_a / n_a, per * x_b / n_b
        se = per * math.sqrt(x_a / n_a**2 + x_b / n_b**2)
        method = "Poisson rate difference (Wald z)"
    else:
        if not float(now.get("_sx") or 0.0) or not float(before.get("_sx") or 0.0):
            return None
        a, se_a = ratio_se(now)
        b, se_b = ratio_se(before)
        se = math.sqrt(se_a**2 + se_b**2)
        method = "difference of ratios (delta method, z)"
    diff = a - b
    if se > 0:
        z_stat = diff / se
        p = float(2 * sps.norm.sf(abs(z_stat)))
    else:
        z_stat, p = (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    smaller = min(n_a, n_b)
    reason = _reason(smaller, min_n)
    if reason is not None:
        reason = f"{'group a' if n_a <= n_b else 'group b'}: {reason}"
    return stats.Comparison(
        diff, diff - z * se, diff + z * se, n_a + n_b, method, confidence,
        suppressed=reason is not None, reason=reason, statistic=z_stat, p_value=p,
        n_a=n_a, n_b=n_b, estimate_a=a, estimate_b=b,
    )  # fmt: skip


def kpi_catalogue(config: ProgramConfig) -> list[dict[str, Any]]:
    """Every KPI the scorecard knows with this config (``GET /api/kpis``): name, title,
    kind, unit, definition, table, time column, direction, target and action, and where it
    was defined (``built-in`` or ``config``, with its expressions)."""
    from cxray.metrics._registry import kpis

    out = []
    for kpi in kpis(config.journeys, surveys=True, loop=True, custom=config.kpis):
        th = config.threshold(kpi.name)
        spec = getattr(kpi, "spec", None)
        row: dict[str, Any] = {
            "name": kpi.name,
            "title": kpi.title,
            "kind": spec.kind if spec is not None else kpi.kind,
            "unit": kpi.unit,
            "definition": kpi.definition,
            "table": kpi.table,
            "time_column": kpi.time_column,
            "direction": config.direction(kpi.name if spec is not None else kpi.base),
            "target": th.target,
            "action": th.action,
            "benchmark": getattr(config.benchmark(kpi.name), "value", None),  # [program] industry
            "source": "config" if spec is not None else "built-in",
        }
        if spec is not None:
            row.update(value=spec.value, filter=spec.filter, denominator=spec.denominator)
            if spec.kind == "rate":
                row["per"] = spec.per
        out.append(row)
    return out


class KpiCondition(tuple):
    """A drill-down's named condition ``(name, build)`` that also says which column places
    a row in a period (``time``: a KPI's ``time_column``), so that the rows behind a KPI
    over another time column are cut by that column, as the KPI counts them."""

    __slots__ = ()

    def __new__(cls, name: str, build: Any, time: str | None = None) -> KpiCondition:
        return super().__new__(cls, (name, build, time))

    @property
    def time(self) -> str | None:
        return self[2]


def kpi_where(config: ProgramConfig, metric: str | None) -> Any:
    """The rows a KPI defined in config counts, as the drill-down's named condition
    ``(metric, build)`` (``cxray.explore.RowSelection.where``): its filter holds and its
    value (and denominator) is not NULL; its ``time`` is the KPI's time column (the dates
    of the drill-down cut on it). ``None`` for a built-in KPI."""
    if metric is None or metric not in config.kpis:
        return None
    spec = config.kpis[metric]

    def build(t: ibis.Table) -> ibis.BooleanValue:
        cond = _compiled(metric, "value", spec.value, t).notnull()
        if spec.filter is not None:
            cond = cond & _compiled(metric, "filter", spec.filter, t).fill_null(False)
        if spec.denominator is not None:
            cond = cond & _compiled(metric, "denominator", spec.denominator, t).notnull()
        return cond

    return KpiCondition(metric, build, spec.time)
