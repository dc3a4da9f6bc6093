"""Key driver analysis: which parts of the experience move an outcome, and how much.

:meth:`Drivers.__call__` resolves the outcome (a survey answer, a binary
outcome, churn, or any numeric column), chooses the drivers (or checks the
ones named), reads the feature layer, and fits Johnson's relative weights:
from moments summed in the store for a numeric outcome, by the logistic
variant on the rows for a binary one. Every figure has a bootstrap interval;
collinearity, small samples and skipped drivers are reported with the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
from threadpoolctl import threadpool_limits

from cxray.config import ProgramConfig
from cxray.drivers._fit import Fit, fit_linear, fit_logistic, percentile_interval
from cxray.drivers._moments_store import GroupedMoments, bootstrap_moments, grouped_moments
from cxray.drivers._results import DriverAnalysis, DriverReport, DriverResult
from cxray.exceptions import AnalysisError, UnknownAttributeError
from cxray.features import Feature, Features
from cxray.metrics import Context
from cxray.stats import Estimate

__all__ = ["OUTCOMES", "Outcome", "analyse"]

TableSource = Callable[[str], ibis.Table]

#: LMG (Shapley) shares need 2^k sub-models: computed up to this many drivers
LMG_MAX = 12
#: logistic fits read at most this many rows (a deterministic sample beyond)
LOGISTIC_MAX_ROWS = 50_000
#: an automatically chosen driver must be known for at least this share of the rows
MIN_COVERAGE = 0.5
#: at most this many drivers are chosen automatically (the most complete first)
MAX_AUTO = 20


@dataclass(frozen=True)
class Outcome:
    name: str
    title: str
    #: ``responses`` or ``customers``
    unit: str
    #: ``linear``, ``logistic`` or ``auto`` (logistic when the column holds only 0 and 1)
    model: str
    column: str


def _builtin(config: ProgramConfig) -> dict[str, Outcome]:
    h = config.features.churn_horizon_days
    csat = config.scales.csat
    return {
        "nps": Outcome("nps", "NPS answer (0-10)", "responses", "linear", "nps"),
        "csat": Outcome(
            "csat", f"CSAT answer ({csat.min}-{csat.max})", "responses", "linear", "csat"
        ),
        "ces": Outcome("ces", "CES answer", "responses", "linear", "ces"),
        "promoter": Outcome("promoter", "Promoter (NPS 9-10)", "responses", "logistic", "promoter"),
        "detractor": Outcome(
            "detractor", "Detractor (NPS 0-6)", "responses", "logistic", "detractor"
        ),
        "top_box": Outcome("top_box", "CSAT in the top box", "responses", "logistic", "top_box"),
        "churn": Outcome("churn", f"Churn within {h:g} days", "customers", "logistic", "churned"),
    }


#: the built-in outcomes (besides any numeric response or customer column)
OUTCOMES = tuple(_builtin(ProgramConfig()))


def _resolve_outcome(name: str, features: Features, config: ProgramConfig) -> Outcome:
    known = _builtin(config)
    if name in known:
        return known[name]
    if name in features.ratings:
        return Outcome(name, name, "responses", "auto", name)
    if name in features.customer_attributes:
        return Outcome(name, name, "customers", "auto", name)
    columns = features.ratings + features.customer_attributes
    extra = f", or a numeric column: {', '.join(columns)}" if columns else ""
    raise AnalysisError(f"unknown outcome {name!r}; use {', '.join(known)}{extra}")


def _table(features: Features, outcome: Outcome, opts: dict[str, Any]) -> ibis.Table:
    if outcome.unit == "responses":
        return features.responses(
            start=opts.get("start"), end=opts.get("end"), window_days=opts.get("window_days")
        )
    return features.customers(as_of=opts.get("as_of"), lookback_days=opts.get("window_days"))


def _key(outcome: Outcome) -> str:
    return "response_id" if outcome.unit == "responses" else "customer_id"


def _candidates(features: Features, outcome: Outcome, t: ibis.Table) -> dict[str, Feature]:
    """Every column that may be a driver of ``outcome``, by name."""
    out = {f.name: f for f in features.catalogue(outcome.unit) if f.name in t.columns}
    skip = {outcome.column, "churned", "promoter", "detractor", "top_box", _key(outcome)}
    for name, typ in t.schema().items():
        if name in out or name in skip or name.endswith("_id") or name.startswith("_"):
            continue
        if typ.is_numeric() or typ.is_boolean():
            out[name] = Feature(name, name, name, "value", None, outcome.unit, auto=False)
    for name in skip:
        out.pop(name, None)
    return out


def _profile(t: ibis.Table, columns: Sequence[str]) -> dict[str, dict[str, float]]:
    aggs: dict[str, ibis.Value] = {"_rows": t.count()}
    for i, c in enumerate(columns):
        v = t[c].cast("float64")
        aggs[f"n{i}"] = v.count()
        aggs[f"lo{i}"] = v.min()
        aggs[f"hi{i}"] = v.max()
        aggs[f"nz{i}"] = ibis.ifelse(v != 0, 1, 0).sum()
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return {
        c: {
            "rows": row["_rows"],
            "n": row[f"n{i}"] or 0,
            "lo": row[f"lo{i}"],
            "hi": row[f"hi{i}"],
            "nonzero": row[f"nz{i}"] or 0,
        }
        for i, c in enumerate(columns)
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _choose(
    features: Features,
    outcome: Outcome,
    t: ibis.Table,
    named: Sequence[str],
    min_rare: int = 30,
) -> tuple[list[Feature], list[dict[str, str]], dict[str, dict[str, float]]]:
    """The drivers to fit, those skipped (and why), and the profile (n, lowest and highest
    value) of the outcome and every candidate."""
    candidates = _candidates(features, outcome, t)
    if named:
        unknown = [d for d in named if d not in candidates]
        if unknown:
            raise AnalysisError(
                f"unknown driver(s) {', '.join(map(repr, unknown))} for outcome "
                f"{outcome.name!r}; known: {', '.join(sorted(candidates))}"
            )
        if len(set(named)) != len(named):
            raise AnalysisError("each driver may be named once")
        pool = [candidates[d] for d in named]
    else:
        pool = [f for f in candidates.values() if f.auto]
    rows = t.filter(t[outcome.column].notnull())
    prof = _profile(rows, [outcome.column, *(f.name for f in pool)])
    out_p = prof[outcome.column]
    if not out_p["n"]:
        raise AnalysisError(
            f"no {outcome.unit} with a value of {outcome.name!r} in the selection; nothing "
            "to explain (check --from/--to and the outcome)"
        )
    if out_p["lo"] == out_p["hi"]:
        raise AnalysisError(
            f"the outcome {outcome.name!r} does not vary: every value is {_fmt(out_p['lo'])}"
        )
    chosen, skipped = [], []
    for f in pool:
        p = prof[f.name]
        if p["n"] == 0:
            reason = "no value in the rows analysed"
        elif p["lo"] == p["hi"]:
            reason = f"does not vary (every value is {_fmt(p['lo'])})"
        elif not named and p["n"] < MIN_COVERAGE * out_p["n"]:
            share = 100 * p["n"] / out_p["n"]
            reason = f"known for only {share:.0f}% of the rows; name it with --driver to use it"
        elif (
            not named
            and f.unit in ("count", "flag")
            and min(p["nonzero"], p["n"] - p["nonzero"]) < min_rare
        ):
            rare = min(p["nonzero"], p["n"] - p["nonzero"])
            reason = (
                f"too rare: only {rare} rows {'have it' if p['nonzero'] == rare else 'lack it'} "
                f"(fewer than {min_rare}); name it with --driver to use it"
            )
        else:
            chosen.append(f)
            continue
        if named:
            raise AnalysisError(f"driver {f.name!r} cannot be used: {reason}")
        skipped.append({"driver": f.name, "reason": reason})
    if not named and len(chosen) > MAX_AUTO:
        chosen.sort(key=lambda f: -prof[f.name]["n"])
        for f in chosen[MAX_AUTO:]:
            skipped.append({"driver": f.name, "reason": f"more than {MAX_AUTO} drivers"})
        chosen = chosen[:MAX_AUTO]
    if not chosen:
        raise AnalysisError(
            f"no driver of {outcome.name!r} varies in the selection"
            + (": " + "; ".join(f"{s['driver']} {s['reason']}" for s in skipped) if skipped else "")
        )
    return chosen, skipped, prof


def _is_binary(gm: GroupedMoments) -> bool:
    """Whether the outcome (the last variable) holds only 0 and 1: then ``x² = x``, so
    the sum of squares of the shifted values is ``Σx (1 - 2c) + n c²``."""
    m = gm.total
    k = len(gm.variables) - 1
    c = gm.shift[k]
    ones = m.s[k] + m.n * c
    expected = ones * (1 - 2 * c) + m.n * c * c
    return (
        gm.minimum[k] == 0
        and gm.maximum[k] == 1
        and math.isclose(m.ss[k, k], expected, rel_tol=1e-9, abs_tol=1e-6)
    )


def _performance(f: Feature, gm: GroupedMoments, j: int) -> tuple[float | None, str]:
    """How well the company does on a driver, 0-100 (``None`` for a neutral one).

    A feature where less is better and none is possible (late deliveries, days
    late, unresolved cases): the share of rows without it. One where more is
    better and none is possible: the share with it. Anything else (a rating):
    where the mean lies between the lowest and the highest value seen, from
    the worse end. A feature that is neither good nor bad (orders, a channel)
    has no performance.
    """
    if f.better is None:
        return None, "neither more nor less is better"
    if gm.minimum[j] == 0 and f.unit != "rating":
        without = 100.0 * gm.zeros[j] / gm.rows
        if f.better == "lower":
            return without, "% of rows without it"
        return 100.0 - without, "% of rows with it"
    lo, hi = gm.minimum[j], gm.maximum[j]
    pos = 100.0 * (gm.mean[j] - lo) / (hi - lo)
    if f.better == "lower":
        return 100.0 - pos, "position of the mean between the highest and lowest value"
    return pos, "position of the mean between the lowest and highest value"


def _priorities(share: np.ndarray, perf: list[float | None]) -> list[str]:
    """Importance x performance: fix first, maintain, monitor, lower priority; ``context``
    for drivers that are neither good nor bad. Importance is high from an equal share
    (100 / k %) up; performance is high above the median of the drivers that have one."""
    k = len(share)
    known = [p for p in perf if p is not None]
    cut = float(np.median(known)) if known else 0.0
    out = []
    for s, p in zip(share, perf, strict=True):
        if p is None:
            out.append("context")
            continue
        important = bool(s >= 100.0 / k)
        good = p > cut
        out.append(
            ("maintain" if good else "fix first")
            if important
            else ("lower priority" if good else "monitor")
        )
    return out


def analyse(
    tables: TableSource,
    config: ProgramConfig,
    outcome: str = "nps",
    drivers: Sequence[str] = (),
    *,
    by: str | None = None,
    start: Any = None,
    end: Any = None,
    window_days: float | None = None,
    as_of: Any = None,
    bootstrap: int = 200,
    seed: int = 0,
) -> DriverReport:
    """Key drivers of ``outcome`` (see :class:`cxray.drivers.Drivers`)."""
    if bootstrap < 0 or (0 < bootstrap < 50):
        raise AnalysisError(f"bootstrap must be 0 (no intervals) or at least 50, got {bootstrap}")
    features = Features(tables, config)
    out = _resolve_outcome(outcome, features, config)
    if out.unit == "customers" and (start is not None or end is not None):
        raise AnalysisError(
            f"{out.name!r} is measured per customer as of a date: use --as-of, not --from/--to"
        )
    opts = {"start": start, "end": end, "window_days": window_days, "as_of": as_of}
    t = _table(features, out, opts)
    chosen, skipped, profile = _choose(
        features, out, t, list(drivers), min_rare=config.measurement.min_n
    )
    names = [f.name for f in chosen]
    rows = t.filter(t[out.column].notnull())
    for n in names:
        rows = rows.filter(rows[n].notnull())
    slice_col = None
    if by:
        ctx = Context(tables, config, by=(by,))
        got = ctx.slice_column(rows, by)
        if got is None:
            raise UnknownAttributeError(
                f"unknown attribute {by!r} for {out.unit}: use a column of the {out.unit} "
                "or of the customers"
            )
        rows, slice_col = got
    total = int(profile[out.column]["n"])
    level = config.measurement.confidence
    variables = [*names, out.column]
    centre = [(profile[v]["lo"] + profile[v]["hi"]) / 2 for v in variables]
    sliced = grouped_moments(
        rows, variables, key=_key(out), slice_column=slice_col, shift=centre, rows=total
    )
    basis = (
        f"what happened in the {window_days or config.features.window_days:g} days before "
        "each response"
        if out.unit == "responses"
        else f"customers active at {features.as_of(as_of):%Y-%m-%d %H:%M} (UTC), the "
        f"{window_days or config.features.lookback_days:g} days before it"
    )
    analyses = []
    left_out: list[dict[str, Any]] = []
    for value, gm in sliced.items():
        key = {by: value} if by else {}
        model = out.model
        if model == "auto":
            model = "logistic" if _is_binary(gm) else "linear"
        try:
            analyses.append(
                _analyse_slice(
                    out, chosen, gm, rows, slice_col, value, model,
                    bootstrap=bootstrap, seed=seed, level=level, min_n=config.measurement.min_n,
                    skipped=skipped, slice_keys=key, basis=basis,
                    missing=(total - gm.rows) if not by else 0,
                )
            )  # fmt: skip
        except AnalysisError as exc:
            if not by:
                raise
            left_out.append({**key, "n": gm.rows, "reason": str(exc)})
    if not analyses:
        why = "; ".join(s["reason"] for s in left_out)
        raise AnalysisError(
            f"no {out.unit} have {out.name!r} and every driver ({', '.join(names)}) known"
            + (f": {why}" if why else "")
        )
    return DriverReport(analyses, by, left_out)


def _analyse_slice(
    out: Outcome,
    chosen: list[Feature],
    gm: GroupedMoments,
    rows: ibis.Table,
    slice_col: str | None,
    value: Any,
    model: str,
    *,
    bootstrap: int,
    seed: int,
    level: float,
    min_n: int,
    skipped: list[dict[str, str]],
    slice_keys: dict[str, Any],
    basis: str,
    missing: int,
) -> DriverAnalysis:
    k = len(chosen)
    n = gm.rows
    notes: list[str] = []
    if n < k + 2:
        raise AnalysisError(
            f"{n} {out.unit} with every driver known{_where(slice_keys)}: too few to fit "
            f"{k} drivers (at least {k + 2})"
        )
    if n < max(min_n, 10 * k):
        notes.append(
            f"n={n} is small for {k} drivers (fewer than {max(min_n, 10 * k)}): the intervals "
            "are wide; widen the period or name fewer drivers"
        )
    with_lmg = model == "linear" and k <= LMG_MAX
    # small matrices, many times: one BLAS thread (several fight over two cores, 100x slower)
    with threadpool_limits(1):
        if model == "linear":
            fit = fit_linear(gm.total, with_lmg=with_lmg)
            reps = [
                fit_linear(m, with_lmg=with_lmg) for m in bootstrap_moments(gm, bootstrap, seed)
            ] if bootstrap else []  # fmt: skip
            groups = len(gm.n)
            how = (
                f"Johnson's relative weights of a least-squares model; {bootstrap} bootstrap "
                f"replicates over {groups} groups of rows, seed {seed}"
            )
            if with_lmg:
                how += "; LMG (Shapley) shares"
        else:
            x, y = _rows(rows, slice_col, value, [f.name for f in chosen], out.column, n)
            fit = fit_logistic(x, y)
            rng = np.random.default_rng(seed)
            reps = [
                fit_logistic(x, y, rng.multinomial(len(y), np.full(len(y), 1 / len(y))))
                for _ in range(bootstrap)
            ]
            how = (
                "logistic relative weights (Tonidandel & LeBreton 2010); "
                f"{bootstrap} bootstrap replicates over rows, seed {seed}"
            )
            if len(y) < n:
                how += f"; fitted on a deterministic sample of {len(y):,} of {n:,} rows"
    if fit is None:
        flat = [chosen[j].name for j in range(k) if gm.minimum[j] == gm.maximum[j]]
        if gm.minimum[k] == gm.maximum[k]:
            flat.append(out.name)
        what = f": {', '.join(flat)} does not vary" if flat else ""
        raise AnalysisError(
            f"the drivers of {out.name!r} cannot be fitted{_where(slice_keys)}{what}"
        )
    if fit.r2 <= 0:
        notes.append("the drivers explain none of the outcome (R² = 0): shares are undefined")
    collinear = [chosen[j].name for j in range(k) if fit.vif[j] > 10]
    if collinear:
        notes.append(
            f"collinear drivers (variance inflation above 10): {', '.join(collinear)}; their "
            "weights share what they explain together"
        )
    good = [r for r in reps if r is not None]
    if bootstrap and len(good) < 0.9 * bootstrap:
        notes.append(
            f"{bootstrap - len(good)} of {bootstrap} bootstrap replicates could not be fitted "
            "(a driver did not vary in them); the intervals rest on the others"
        )

    def interval(get: Callable[[Fit], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if not good:
            nan = np.full(k, np.nan)
            return nan, nan
        return percentile_interval(np.array([get(r) for r in good]), level)

    raw_lo, raw_hi = interval(lambda f: f.raw)
    sh_lo, sh_hi = interval(lambda f: f.share)
    ef_lo, ef_hi = interval(lambda f: f.coef)
    if with_lmg and fit.lmg is not None:
        lmg_pct = 100.0 * fit.lmg / fit.r2 if fit.r2 > 0 else np.full(k, np.nan)
        lm_lo, lm_hi = interval(
            lambda f: 100.0 * f.lmg / f.r2 if f.r2 > 0 and f.lmg is not None else np.full(k, np.nan)
        )
    r2_lo, r2_hi = (
        percentile_interval(np.array([[r.r2] for r in good]), level)
        if good
        else ([np.nan], [np.nan])
    )
    perf = [_performance(f, gm, j) for j, f in enumerate(chosen)]
    share = fit.share
    priority = _priorities(share, [p for p, _ in perf])
    logistic = model == "logistic"
    results = []
    for j, f in enumerate(chosen):
        effect, lo, hi = fit.coef[j], ef_lo[j], ef_hi[j]
        if logistic:
            effect, lo, hi = math.exp(effect), math.exp(lo), math.exp(hi)
        results.append(
            DriverResult(
                driver=f.name,
                title=f.title,
                raw_weight=float(fit.raw[j]),
                raw_ci_low=float(raw_lo[j]),
                raw_ci_high=float(raw_hi[j]),
                share=float(share[j]),
                ci_low=float(sh_lo[j]),
                ci_high=float(sh_hi[j]),
                effect=float(effect),
                effect_ci_low=float(lo),
                effect_ci_high=float(hi),
                effect_unit=(
                    f"odds ratio of {out.title.lower()} per {_per(f)}"
                    if logistic
                    else f"{out.title} per {_per(f)}"
                ),
                direction="+" if fit.coef[j] >= 0 else "-",
                correlation=float(fit.corr[j]),
                performance=perf[j][0],
                performance_basis=perf[j][1],
                priority=priority[j],
                mean=float(gm.mean[j]),
                vif=float(fit.vif[j]),
                n=n,
                method=how,
                lmg_share=float(lmg_pct[j]) if with_lmg else None,
                lmg_ci_low=float(lm_lo[j]) if with_lmg else None,
                lmg_ci_high=float(lm_hi[j]) if with_lmg else None,
                unit=f.unit,
                better=f.better,
            )
        )
    results.sort(key=lambda d: -d.share if math.isfinite(d.share) else 0.0)
    r2 = Estimate(
        fit.r2, float(r2_lo[0]), float(r2_hi[0]), n, how, level,
        metric="R²" if not logistic else "R² (outcome vs fitted probability)",
    )  # fmt: skip
    return DriverAnalysis(
        outcome=out.name,
        outcome_title=out.title,
        unit=out.unit,
        model=model,
        drivers=results,
        r2=r2,
        n=n,
        n_missing=max(missing, 0),
        bootstrap=bootstrap,
        seed=seed,
        method=how,
        skipped=list(skipped),
        warnings=notes,
        slice=slice_keys,
        basis=basis,
    )


def _per(f: Feature) -> str:
    return {
        "count": f"one more ({f.title.lower()})",
        "days": "day",
        "hours": "hour",
        "flag": "flag (0 to 1)",
        "rating": "point of the rating",
        "amount": "unit of money",
    }.get(f.unit, f"unit of {f.name}")


def _where(keys: dict[str, Any]) -> str:
    return "" if not keys else " where " + ", ".join(f"{k}={v}" for k, v in keys.items())


def _rows(
    rows: ibis.Table,
    slice_col: str | None,
    value: Any,
    names: list[str],
    outcome: str,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of one slice as arrays, a deterministic sample of them beyond the cap."""
    t = rows if slice_col is None else rows.filter(rows[slice_col].cast("string") == value)
    key = "response_id" if "response_id" in t.columns else "customer_id"
    if n > LOGISTIC_MAX_ROWS:
        step = math.ceil(n / LOGISTIC_MAX_ROWS)
        t = t.mutate(_r=ibis.row_number().over(ibis.window(order_by=t[key])))
        t = t.filter(t._r % step == 0)
    # in key order, so that the bootstrap draws the same rows on every backend
    frame = t.order_by(key).select(*names, outcome).to_pandas()
    x = frame[names].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    return x, y
