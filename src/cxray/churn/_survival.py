"""Survival of customers by group: Kaplan–Meier curves, medians and log-rank tests.

The store does the one pass over the customers: :func:`survival_counts` builds one Ibis
aggregation that counts, per group and per whole day of duration, the customers who left
(events) and those still customers when observation ended (censored). The curves, bands,
medians and tests are computed from that compact table in numpy (:mod:`cxray.churn._km`),
so the same code runs on DuckDB, PostgreSQL and Spark and costs little more than one
``GROUP BY``.

Durations
---------
* ``origin="joined"`` (groups by NPS group or a customer attribute): from ``created_at`` to
  ``churned_at`` (an event) or to the end of observation (censored): ``as_of`` when given,
  otherwise the end of the data. Customers who joined after the end are left out; churn after
  the end is not known yet (censored at the end).
* ``origin="landmark"`` (groups by a feature of the feature layer, which is measured at a
  date): the customers active at the landmark date, from that date on (Anderson, Cain &
  Gelber 1983's landmark analysis), so the group never uses what happened later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxray.churn._km import Curve, kaplan_meier, logrank, survival_at
from cxray.config import ProgramConfig
from cxray.exceptions import AnalysisError
from cxray.features import Features
from cxray.metrics import parse_when
from cxray.schema import normalize_column_name
from cxray.stats import benjamini_hochberg

__all__ = ["Population", "SurvivalResult", "population", "survival", "survival_counts"]

TableSource = Callable[[str], ibis.Table]
_DAY = 86400.0
NPS_GROUPS = ("promoter", "passive", "detractor", "no answer")
#: survival reported at these days in the per-group summary
MILESTONES = (90, 180, 365)
#: a numeric column with at most this many distinct values is grouped by value
MAX_LEVELS = 6
MISSING = "(missing)"
#: at most this many groups are compared (a curve and every pair tested for each)
MAX_GROUPS = 30


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Population:
    """Per-customer rows of a survival analysis, as an Ibis table (nothing computed yet):
    ``customer_id``, ``group``, ``days`` (whole days), ``event`` (1 left, 0 censored), plus
    the feature columns asked for."""

    table: ibis.Table
    by: str
    origin: str  # "joined" or "landmark"
    end: dt.datetime
    landmark: dt.datetime | None
    definition: str  # what the groups are, in words
    order: list[str]  # the groups in their natural order (levels not seen are dropped later)
    features: tuple[str, ...] = ()  # the feature columns carried, as the store names them


#: activity tables and the time column whose latest value ends the data (as the feature layer)
_ACTIVITY = {
    "responses": "submitted_at",
    "orders": "ordered_at",
    "cases": "opened_at",
    "events": "timestamp",
    "customers": "created_at",
}


def _data_end(tables: TableSource) -> dt.datetime:
    """The latest moment in the data (``Features.data_end``), as the maximum of per-table
    maxima: each table is reduced where it lives before anything is combined."""
    parts = []
    for name, col in _ACTIVITY.items():
        t = tables(name)
        parts.append(t.aggregate(_t=t[col].cast("timestamp").max()))
    c = tables("customers")
    parts.append(c.aggregate(_t=c.churned_at.cast("timestamp").max()))
    value = ibis.union(*parts)._t.max().to_pyarrow().as_py()
    end = None if value is None else value.replace(tzinfo=None)
    if end is None:
        raise AnalysisError("the store has no data yet; import data or run `cxray demo`")
    return end


def _nps_group(tables: TableSource, customers: ibis.Table, end: dt.datetime) -> ibis.Table:
    """``customers`` with ``group``: their latest NPS answer before ``end``."""
    r = tables("responses")
    r = r.filter(r.nps.notnull() & r.customer_id.notnull() & (r.submitted_at < ibis.timestamp(end)))
    w = ibis.window(group_by=r.customer_id, order_by=[ibis.desc(r.submitted_at),
                                                      ibis.desc(r.response_id)])  # fmt: skip
    latest = (
        r.mutate(_rn=ibis.row_number().over(w))
        .filter(lambda t: t._rn == 0)
        .select(_nc=ibis._.customer_id, _nps=ibis._.nps)
    )
    joined = customers.left_join(latest, customers.customer_id == latest._nc).drop("_nc")
    group = ibis.cases(
        (joined._nps >= 9, "promoter"),
        (joined._nps >= 7, "passive"),
        (joined._nps.notnull(), "detractor"),
        else_="no answer",
    )
    return joined.mutate(group=group).drop("_nps")


def _by_column(
    t: ibis.Table, column: str, bands: int, where: str
) -> tuple[ibis.Table, list[str], str]:
    """``t`` with ``group`` from one of its columns: text by value; numbers with few values by
    value, others in ``bands`` quantile bands (cut points computed in the store)."""
    col = t[column]
    typ = col.type()
    if typ.is_boolean():
        col = ibis.ifelse(col.isnull(), ibis.null("string"), ibis.ifelse(col, "true", "false"))
        typ = col.type()
    if typ.is_string() and _text_numbers(t, col):
        # numbers a CSV file brought in as text (" 29.85"): banded as numbers; blanks missing
        v = col.strip()
        t = t.mutate(
            **{column: ibis.ifelse(v.length() > 0, v, ibis.null("string")).cast("float64")}
        )
        col = t[column]
        typ = col.type()
    if not typ.is_numeric():
        # missing values stay NULL in the store (grouping on the bare column is cheaper) and
        # are named MISSING when the counts arrive
        grouped = t.mutate(group=col.cast("string"))
        return grouped, [], f"{column} ({where}), one group per value"
    stats = (
        t.aggregate(
            _levels=col.nunique(),
            **{f"_q{i}": col.quantile(i / bands) for i in range(1, bands)},
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    if (stats["_levels"] or 0) <= MAX_LEVELS:
        num = col.cast("float64")
        label = ibis.ifelse(num.isnull(), MISSING, ibis.literal(f"{column}=") + _num_label(num))
        grouped = t.mutate(group=label, _sort=num)
        return grouped, [], f"{column} ({where}), one group per value"
    cuts = sorted({float(stats[f"_q{i}"]) for i in range(1, bands) if stats[f"_q{i}"] is not None})
    labels = [f"{column} <= {cuts[0]:g}"]
    labels += [f"{a:g} < {column} <= {b:g}" for a, b in pairwise(cuts)]
    labels.append(f"{column} > {cuts[-1]:g}")
    num = col.cast("float64")
    branches = [(num <= cut, labels[i]) for i, cut in enumerate(cuts)]
    group = ibis.cases((num.isnull(), MISSING), *branches, else_=labels[-1])
    text = ", ".join(f"{c:g}" for c in cuts)
    definition = f"{column} ({where}) in {len(labels)} quantile bands cut at {text}"
    return t.mutate(group=group), [*labels, MISSING], definition


#: a number as text, as the feature layer reads CSV columns; blanks are missing
_NUMBER = r"^\s*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?\s*$"


def _text_numbers(t: ibis.Table, col: ibis.Value) -> bool:
    """Whether a text column holds numbers only (and more values than groups by value).

    The first thousand values are looked at first: a text attribute fails there at once,
    and only a column that passes is checked whole."""
    v = col.strip()
    known = v.notnull() & (v.length() > 0)
    head = t.select(_v=v).filter(lambda x: x._v.notnull() & (x._v.length() > 0)).limit(1000)
    first = _one_row(
        head.aggregate(n=head.count(), num=ibis.ifelse(head._v.re_search(_NUMBER), 1, 0).sum())
    )
    if not first["n"] or first["num"] != first["n"]:
        return False
    row = _one_row(
        t.aggregate(
            n=ibis.ifelse(known, 1, 0).sum(),
            num=ibis.ifelse(known & v.re_search(_NUMBER), 1, 0).sum(),
            levels=col.nunique(),
        )
    )
    return bool(row["n"]) and row["num"] == row["n"] and (row["levels"] or 0) > MAX_LEVELS


def _one_row(expr: ibis.Table) -> dict[str, Any]:
    return expr.to_pyarrow().to_pylist()[0]


def _num_label(num: ibis.Value) -> ibis.Value:
    """A number as a short label: integers without a decimal point."""
    whole = num == num.floor()
    return ibis.ifelse(whole, num.cast("int64").cast("string"), num.round(4).cast("string"))


def _column_name(name: str, columns: list[str]) -> str:
    """A customer column as the user typed it (``Contract``) or as imports name it
    (``contract``, the contract's snake case)."""
    if name in columns or name == "nps_group":
        return name
    norm = normalize_column_name(name)
    return norm if norm in columns else name


def population(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: str = "nps_group",
    as_of: Any = None,
    landmark: Any = None,
    bands: int = 3,
    features: tuple[str, ...] = (),
) -> Population:
    """The per-customer rows of a survival analysis (see the module docstring)."""
    if bands < 2:
        raise AnalysisError(f"bands must be at least 2, got {bands}")
    f = Features(tables, config)
    end = parse_when(as_of, "as_of") or _data_end(tables)  # "" is no date
    assert end is not None
    c = tables("customers")
    if not by:
        raise AnalysisError("name what to group by (--by), e.g. nps_group, region, plan")
    customer_columns = [x for x in c.columns if not x.startswith("_")]
    by = _column_name(by, customer_columns)
    features = tuple(_column_name(x, customer_columns) for x in features)
    plain = by in ("nps_group", *customer_columns)
    # features of the feature layer (measured at a date): only looked up when named
    wanted = [x for x in features if x not in customer_columns]
    if not plain or wanted:
        names = {x.name for x in f.catalogue("customers")} | set(f.customer_attributes)
        unknown = [x for x in ([] if plain else [by]) + wanted if x not in names]
        if unknown and unknown[0] == by and not plain:
            raise AnalysisError(
                f"cannot group by {by!r}: not nps_group, a customer column "
                f"({', '.join(customer_columns)}) nor a feature of the customers "
                "(`cxray drivers --outcome churn --list` lists them)"
            )
        if unknown:
            raise AnalysisError(
                f"unknown covariate {unknown[0]!r}: not a customer column nor a feature of the "
                "customers (`cxray drivers --outcome churn --list` lists them)"
            )
    use_layer = not plain or bool(wanted) or landmark not in (None, "")  # "": none
    at = ibis.timestamp(end)
    if not use_layer:
        pop = c.filter(c.created_at.notnull() & (c.created_at <= at))
        event = pop.churned_at <= at  # NULL (still a customer) counts as censored
        stop = ibis.least(pop.churned_at.fill_null(at), at)
        pop = pop.mutate(
            days=((stop.epoch_seconds() - pop.created_at.epoch_seconds()) / _DAY)
            .floor()
            .cast("int64"),
            event=ibis.ifelse(event.fill_null(False), 1, 0),
        )
        if by == "nps_group":
            grouped = _nps_group(tables, pop, end)
            order, definition = (
                list(NPS_GROUPS),
                (
                    "the customer's latest NPS answer before the end of observation: "
                    "promoter 9-10, passive 7-8, detractor 0-6, no answer"
                ),
            )
        else:
            grouped, order, definition = _by_column(pop, by, bands, "customer attribute")
        keep = [
            "customer_id",
            "group",
            "days",
            "event",
            *(x for x in features if x in grouped.columns),
        ]
        return Population(
            grouped.select(*keep), by, "joined", end, None, definition, order, features
        )
    mark = parse_when(landmark, "landmark") or f.default_as_of()  # "" is no date
    assert mark is not None
    if mark >= end:
        raise AnalysisError(
            f"the landmark {mark:%Y-%m-%d} is not before the end of observation {end:%Y-%m-%d}"
        )
    layer = f.customers(as_of=mark)
    extra = [x for x in dict.fromkeys([by, *features]) if x in customer_columns]
    extra = [x for x in extra if x not in layer.columns]
    cust = c.select(c.customer_id.name("_cc"), _churned=c.churned_at,
                    **{x: c[x] for x in extra})  # fmt: skip
    rows = layer.join(cust, layer.customer_id == cust._cc).drop("_cc")
    event = rows._churned.notnull() & (rows._churned <= at)
    stop = ibis.ifelse(event, rows._churned, at)
    rows = rows.mutate(
        days=((stop.epoch_seconds() - ibis.timestamp(mark).epoch_seconds()) / _DAY)
        .floor()
        .cast("int64"),
        event=ibis.ifelse(event, 1, 0),
    )
    if by == "nps_group":
        nps = rows.latest_nps
        group = ibis.cases(
            (nps >= 9, "promoter"), (nps >= 7, "passive"), (nps.notnull(), "detractor"),
            else_="no answer",
        )  # fmt: skip
        grouped, order = rows.mutate(group=group), list(NPS_GROUPS)
        definition = f"the customer's latest NPS answer before {mark:%Y-%m-%d}"
    else:
        where = "customer attribute" if by in customer_columns else f"feature at {mark:%Y-%m-%d}"
        grouped, order, definition = _by_column(rows, by, bands, where)
    keep = ["customer_id", "group", "days", "event", *dict.fromkeys(features)]
    missing = [x for x in features if x not in grouped.columns]
    if missing:
        raise AnalysisError(
            f"unknown covariate {missing[0]!r}: not a customer column nor a feature of the "
            "customers (`cxray drivers --outcome churn --list` lists them)"
        )
    return Population(grouped.select(*keep), by, "landmark", end, mark, definition, order, features)


def survival_counts(pop: Population) -> pd.DataFrame:
    """ONE aggregation in the store: ``group``, ``days``, ``events``, ``censored``."""
    t = pop.table
    counts = t.group_by(["group", "days"]).aggregate(events=t.event.sum(), n=t.count())
    table = counts.to_pyarrow()
    frame = pd.DataFrame({
        "group": [MISSING if g is None else str(g) for g in table["group"].to_pylist()],
        "days": table["days"].to_numpy().astype("int64"),
        "events": table["events"].to_numpy().astype("int64"),
    })  # fmt: skip
    frame["censored"] = table["n"].to_numpy().astype("int64") - frame["events"].to_numpy()
    return frame.sort_values(["group", "days"]).reset_index(drop=True)


@dataclass
class SurvivalResult:
    """Kaplan–Meier survival of customers by group (``ws.churn.survival()``).

    ``curves``: one row per group and duration (``group``, ``days``, ``survival``,
    ``ci_low``, ``ci_high``, ``at_risk``, ``events``, ``censored``); ``groups``: per group
    ``n``, ``events``, ``median_days`` with ``ci_low``/``ci_high`` and the survival at 90,
    180 and 365 days with their bands; ``tests``: log-rank, overall and pairwise with
    Benjamini–Hochberg ``q``."""

    by: str
    origin: str
    end: dt.datetime
    landmark: dt.datetime | None
    definition: str
    curves: pd.DataFrame
    groups: pd.DataFrame
    tests: pd.DataFrame
    n: int
    events: int
    confidence: float = 0.95
    notes: list[str] = field(default_factory=list)
    method: str = (
        "Kaplan-Meier with Greenwood variance and log-log 95% bands (Kalbfleisch & Prentice); "
        "median with the Brookmeyer-Crowley interval; log-rank tests (Mantel), pairwise "
        "p-values adjusted by Benjamini-Hochberg"
    )

    @property
    def estimate(self) -> pd.DataFrame:
        """The per-group medians (what the result estimates), with their intervals."""
        return self.groups

    def records(self) -> list[dict[str, Any]]:
        """The curve records (``group``, ``days``, ``survival``, ``ci_low``, ``ci_high``,
        ``at_risk``, ``events``, ``censored``): ``curves`` in ``cxray churn survival --format
        json``, the rows of ``--format csv``."""
        return [
            {k: _plain(v) for k, v in row.items()} for row in self.curves.to_dict(orient="records")
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "definition": self.definition,
            "origin": self.origin,
            "end": self.end.isoformat(),
            "landmark": self.landmark.isoformat() if self.landmark else None,
            "n": self.n,
            "events": self.events,
            "confidence": self.confidence,
            "method": self.method,
            "groups": [
                {k: _plain(v) for k, v in r.items()} for r in self.groups.to_dict("records")
            ],
            "tests": [{k: _plain(v) for k, v in r.items()} for r in self.tests.to_dict("records")],
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"curves": records(), "summary": {...}}``: what ``--format json`` prints."""
        return {"curves": self.records(), "summary": self.summary()}


def _ordered(seen: list[str], order: list[str]) -> list[str]:
    first = [g for g in order if g in seen]
    return first + sorted(g for g in seen if g not in first)


def analyse_counts(
    counts: pd.DataFrame, pop: Population, *, confidence: float = 0.95
) -> SurvivalResult:
    """Curves, medians and log-rank tests from the counts of :func:`survival_counts`."""
    if counts.empty or int(counts.events.sum() + counts.censored.sum()) == 0:
        when = f"active at {pop.landmark:%Y-%m-%d}" if pop.landmark else "who joined"
        raise AnalysisError(
            f"no customers {when} before {pop.end:%Y-%m-%d}: nothing to follow; import "
            "customers or choose a later --as-of"
        )
    bad = counts[counts.days < 0]
    if not bad.empty:
        k = int(bad.events.sum() + bad.censored.sum())
        raise AnalysisError(
            f"{k} customer(s) have churned_at before created_at (customers table): a "
            "negative duration; fix those dates and import again"
        )
    total = int(counts.events.sum() + counts.censored.sum())
    if total < 2:
        raise AnalysisError(
            f"only {total} customer to follow: a survival curve needs at least 2 customers"
        )
    events = int(counts.events.sum())
    if events == 0:
        raise AnalysisError(
            f"no customer left before {pop.end:%Y-%m-%d} (customers.churned_at is empty for "
            f"all {total}): there is no churn to describe; import churn dates"
        )
    names = _ordered(list(counts.group.unique()), pop.order)
    if len(names) > MAX_GROUPS:
        raise AnalysisError(
            f"{pop.by} has {len(names)} values: too many groups to compare (at most "
            f"{MAX_GROUPS}); choose an attribute with fewer values, or a number (banded)"
        )
    curves: dict[str, Curve] = {}
    frames, rows, notes = [], [], []
    for g in names:
        part = counts[counts.group == g]
        cur = kaplan_meier(part.days.to_numpy(), part.events.to_numpy(),
                           part.censored.to_numpy(), confidence=confidence)  # fmt: skip
        curves[g] = cur
        frames.append(pd.DataFrame({
            "group": g, "days": cur.days.astype("int64"), "survival": cur.survival,
            "ci_low": cur.ci_low, "ci_high": cur.ci_high, "at_risk": cur.at_risk.astype("int64"),
            "events": cur.events.astype("int64"), "censored": cur.censored.astype("int64"),
        }))  # fmt: skip
        row: dict[str, Any] = {
            "group": g,
            "n": cur.n,
            "events": int(cur.events.sum()),
            "censored": int(cur.censored.sum()),
            "median_days": cur.median,
            "ci_low": cur.median_low if math.isfinite(cur.median_low) else float("nan"),
            "ci_high": cur.median_high,
        }
        for m in MILESTONES:
            s, lo, hi = survival_at(cur, m)
            row[f"survival_{m}d"], row[f"survival_{m}d_low"], row[f"survival_{m}d_high"] = s, lo, hi
        rows.append(row)
        if cur.n < 30:
            notes.append(f"{g}: n={cur.n} < 30; its curve and median are rough")
        if math.isnan(cur.median):
            notes.append(f"{g}: fewer than half left by day {int(cur.days[-1])}: no median yet")
    groups = pd.DataFrame(rows)
    tests = _tests(counts, names)
    return SurvivalResult(
        by=pop.by,
        origin=pop.origin,
        end=pop.end,
        landmark=pop.landmark,
        definition=pop.definition,
        curves=pd.concat(frames, ignore_index=True),
        groups=groups,
        tests=tests,
        n=total,
        events=events,
        confidence=confidence,
        notes=notes,
    )


def _matrix(counts: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    days = np.sort(counts.days.unique())
    ev = np.zeros((len(names), days.size))
    ce = np.zeros((len(names), days.size))
    row = counts.group.map({g: i for i, g in enumerate(names)}).to_numpy()
    col = np.searchsorted(days, counts.days.to_numpy())
    ev[row, col] = counts.events.to_numpy()
    ce[row, col] = counts.censored.to_numpy()
    return days, ev, ce


def _tests(counts: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    cols = ["comparison", "groups", "chi2", "df", "p_value", "q_value"]
    if len(names) < 2:
        return pd.DataFrame(columns=cols)
    days, ev, ce = _matrix(counts, names)
    chi2, df, p, _, _ = logrank(days, ev, ce)
    rows = [{"comparison": "overall", "groups": len(names), "chi2": chi2, "df": df,
             "p_value": p, "q_value": p}]  # fmt: skip
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            c2, d2, p2, _, _ = logrank(days, ev[[i, j]], ce[[i, j]])
            pairs.append({"comparison": f"{names[i]} vs {names[j]}", "groups": 2,
                          "chi2": c2, "df": d2, "p_value": p2})  # fmt: skip
    if len(names) > 2:
        ps = np.array([r["p_value"] for r in pairs], dtype=float)
        ok = np.isfinite(ps)
        q = np.full(ps.shape, np.nan)
        if ok.any():
            q[ok] = benjamini_hochberg(ps[ok]).q_values
        for r, qv in zip(pairs, q, strict=True):
            r["q_value"] = float(qv)
        rows += pairs
    return pd.DataFrame(rows, columns=cols)


def survival(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: str = "nps_group",
    as_of: Any = None,
    landmark: Any = None,
    bands: int = 3,
    confidence: float = 0.95,
) -> SurvivalResult:
    """Kaplan–Meier survival by group, with log-rank tests (see the module docstring)."""
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must be between 0 and 1, got {confidence}")
    pop = population(tables, config, by=by, as_of=as_of, landmark=landmark, bands=bands)
    return analyse_counts(survival_counts(pop), pop, confidence=confidence)
