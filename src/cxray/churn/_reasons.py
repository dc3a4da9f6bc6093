"""Stated churn reasons: shares with intervals, by segment and period, trends and themes.

One aggregation in the store counts the churned customers per reason (``churn_reason``,
trimmed; empty: no reason given), per value of ``by`` and per month or quarter of
``churned_at`` when asked. From those counts, in memory:

* each reason's share of the churned customers who gave a reason, with the Wilson (1927)
  score interval;
* with a period: a trend test per reason, the chi-square test of one share across all periods
  (Pearson 1900; a 2 × periods table) and the change from the first to the last period with
  Newcombe's (1998) hybrid score interval; the reasons' p-values adjusted together by
  Benjamini & Hochberg (1995);
* themes: the distinct reason texts matched to the taxonomy of ``cxray.toml`` (the text
  analytics' :class:`cxray.text.Taxonomy`, multi-label), each theme's share of the stated
  reasons with its Wilson interval.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps

from cxray.config import ProgramConfig
from cxray.exceptions import AnalysisError
from cxray.metrics import parse_when
from cxray.metrics._context import period_label
from cxray.schema import normalize_column_name
from cxray.stats import benjamini_hochberg, proportion, proportion_diff

__all__ = ["ReasonsResult", "reasons"]

TableSource = Callable[[str], ibis.Table]
NO_REASON = "(no reason given)"
PERIODS = ("month", "quarter")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]


@dataclass
class ReasonsResult:
    """Why customers left (``ws.churn.reasons()``).

    ``table``: one row per reason (and ``by`` value / period when asked): ``reason``, ``n``
    (churned customers who gave it), ``share`` of those who gave a reason with
    ``ci_low``/``ci_high``, ``stated`` (the denominator); ``trends``: per reason (and ``by``
    value) the chi-square p across periods, BH q, first and last share and the change with
    its interval; ``themes``: the reasons' taxonomy themes with shares and intervals."""

    table: pd.DataFrame
    trends: pd.DataFrame
    themes: pd.DataFrame
    by: str | None
    period: str | None
    churned: int  # churned customers in scope
    stated: int  # of them, with a reason
    start: dt.datetime | None
    end: dt.datetime | None
    notes: list[str] = field(default_factory=list)
    method: str = (
        "shares of the churned customers who gave a reason, Wilson score intervals; trend: "
        "chi-square test across periods and the first-to-last change (Newcombe hybrid score "
        "interval), Benjamini-Hochberg across reasons; themes by the taxonomy of cxray.toml"
    )

    @property
    def n(self) -> int:
        return self.stated

    @property
    def estimate(self) -> pd.DataFrame:
        return self.table

    def records(self) -> list[dict[str, Any]]:
        """One record per row of ``table`` (``cxray churn reasons --format json``'s
        ``reasons``)."""
        return _records(self.table)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reasons": self.records(),
            "trends": _records(self.trends),
            "themes": _records(self.themes),
            "by": self.by,
            "period": self.period,
            "churned": self.churned,
            "stated": self.stated,
            "no_reason": self.churned - self.stated,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "notes": list(self.notes),
            "method": self.method,
        }


def _share_rows(frame: pd.DataFrame, keys: list[str], confidence: float) -> pd.DataFrame:
    """Share of each reason within each combination of ``keys``, with Wilson intervals."""
    stated = frame[frame.reason != NO_REASON]
    if keys:
        totals = stated.groupby(keys, dropna=False)["n"].sum().rename("stated")
        out = stated.merge(totals.reset_index(), on=keys)
    else:
        out = stated.assign(stated=int(stated.n.sum()))
    est = [proportion(int(k), int(m), confidence=confidence, min_n=1)
           for k, m in zip(out.n, out.stated, strict=True)]  # fmt: skip
    out = out.assign(
        share=[e.estimate for e in est],
        ci_low=[e.ci_low for e in est],
        ci_high=[e.ci_high for e in est],
    )
    return out.sort_values([*keys, "n", "reason"], ascending=[True] * len(keys) + [False, True])


def reasons(
    tables: TableSource,
    config: ProgramConfig,
    *,
    by: str | None = None,
    period: str | None = None,
    start: Any = None,
    end: Any = None,
    confidence: float = 0.95,
    themes: bool = True,
) -> ReasonsResult:
    """Churn reasons of the customers who left from ``start`` to ``end`` (dates of
    ``churned_at``, both inclusive), by ``by`` and ``period`` (``month``/``quarter``)."""
    if period is not None and period not in PERIODS:
        raise AnalysisError(f"period must be month or quarter, got {period!r}")
    c = tables("customers")
    columns = [x for x in c.columns if not x.startswith("_")]
    if by is not None and by not in columns and normalize_column_name(by) in columns:
        by = normalize_column_name(by)  # as imports name it: Contract -> contract
    if by is not None and by not in columns:
        raise AnalysisError(
            f"cannot slice churn reasons by {by!r}: not a column of the customers "
            f"({', '.join(columns)})"
        )
    if by in ("churn_reason", "churned_at"):
        raise AnalysisError(f"--by {by} is what is being counted; slice by a customer attribute")
    lo = parse_when(start, "from")
    hi = parse_when(end, "to")
    if hi is not None and not (isinstance(end, str) and "T" in end):
        hi = hi + dt.timedelta(days=1)
    t = c.filter(c.churned_at.notnull())
    if lo is not None:
        t = t.filter(t.churned_at >= ibis.timestamp(lo))
    if hi is not None:
        t = t.filter(t.churned_at < ibis.timestamp(hi))
    text = t.churn_reason.cast("string").strip()
    reason = ibis.ifelse(text.isnull() | (text.length() == 0), NO_REASON, text)
    keys: dict[str, Any] = {"reason": reason}
    if by:
        keys[by] = t[by].cast("string").fill_null("(missing)")
    if period:
        keys["period"] = t.churned_at.truncate("M" if period == "month" else "Q").date()
    counts = t.group_by(**keys).aggregate(n=t.count()).to_pandas()
    where = _span(lo, hi)
    if counts.empty:
        raise AnalysisError(
            f"no churned customers{where}: customers.churned_at is empty; nothing to explain"
        )
    counts["n"] = counts["n"].astype("int64")
    if period:
        counts["period"] = [period_label(pd.Timestamp(d).date(), period) for d in counts.period]
    churned = int(counts.n.sum())
    stated = int(counts[counts.reason != NO_REASON].n.sum())
    notes = []
    if stated == 0:
        raise AnalysisError(
            f"none of the {churned} churned customers{where} has a churn_reason: there are no "
            "stated reasons to count (import customers.churn_reason)"
        )
    if churned > stated:
        notes.append(
            f"{churned - stated} of {churned} churned customers gave no reason; shares are of "
            f"the {stated} who did"
        )
    group_keys = [k for k in (by, "period" if period else None) if k]
    table = _share_rows(counts, group_keys, confidence).reset_index(drop=True)
    table = table[["reason", *group_keys, "n", "stated", "share", "ci_low", "ci_high"]]
    trends = _trends(counts, by, confidence) if period else pd.DataFrame()
    theme_frame = _themes(counts, config, confidence) if themes else pd.DataFrame()
    small = table[table.stated < 30]
    if not small.empty:
        notes.append(
            f"{small[group_keys].drop_duplicates().shape[0] if group_keys else 1} slice(s) have "
            "fewer than 30 stated reasons: their shares are rough"
        )
    return ReasonsResult(
        table=table,
        trends=trends,
        themes=theme_frame,
        by=by,
        period=period,
        churned=churned,
        stated=stated,
        start=lo,
        end=hi - dt.timedelta(days=1) if hi is not None else None,
        notes=notes,
    )


def _span(lo: dt.datetime | None, hi: dt.datetime | None) -> str:
    if lo is None and hi is None:
        return ""
    a = f" from {lo:%Y-%m-%d}" if lo else ""
    b = f" to {hi - dt.timedelta(days=1):%Y-%m-%d}" if hi else ""
    return a + b


def _trends(counts: pd.DataFrame, by: str | None, confidence: float) -> pd.DataFrame:
    """Per reason (and ``by`` value): chi-square across periods, first vs last, BH."""
    stated = counts[counts.reason != NO_REASON]
    slices = [(None, stated)] if not by else list(stated.groupby(by, sort=True))
    rows = []
    for value, part in slices:
        per = part.groupby("period")["n"].sum().sort_index()
        if len(per) < 2:
            continue
        first, last = per.index[0], per.index[-1]
        for r in sorted(part.reason.unique()):
            k = part[part.reason == r].groupby("period")["n"].sum().reindex(per.index, fill_value=0)
            table = np.vstack([k.to_numpy(), (per - k).to_numpy()])
            table = table[:, per.to_numpy() > 0]
            if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
                p = float("nan")
            else:
                p = float(sps.chi2_contingency(table, correction=False)[1])
            diff = proportion_diff(
                (int(k[last]), int(per[last])), (int(k[first]), int(per[first])),
                confidence=confidence, min_n=1,
            )  # fmt: skip
            row = {"reason": r}
            if by:
                row[by] = value
            row.update({
                "periods": len(per), "first_period": first, "last_period": last,
                "first_share": k[first] / per[first], "last_share": k[last] / per[last],
                "change": diff.estimate, "change_low": diff.ci_low, "change_high": diff.ci_high,
                "p_value": p,
            })  # fmt: skip
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    ps = frame.p_value.to_numpy(dtype=float)
    q = np.full(ps.shape, np.nan)
    ok = np.isfinite(ps)
    if ok.any():
        q[ok] = benjamini_hochberg(ps[ok]).q_values
    frame["q_value"] = q
    sig = q < 0.05
    frame["trend"] = np.select(
        [sig & (frame.change_low > 0), sig & (frame.change_high < 0), sig],
        ["rising", "falling", "varies across periods"],
        "no clear trend",
    )
    return frame


def _themes(counts: pd.DataFrame, config: ProgramConfig, confidence: float) -> pd.DataFrame:
    """Taxonomy themes of the stated reasons (distinct texts matched once, counts summed)."""
    from cxray.text import Taxonomy

    stated = counts[counts.reason != NO_REASON].groupby("reason")["n"].sum()
    if stated.empty:
        return pd.DataFrame()
    taxonomy = Taxonomy.from_config(config)
    assigned = taxonomy.assign(list(stated.index))
    total = int(stated.sum())
    per: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    unmatched = 0
    for text, n, found in zip(stated.index, stated.to_numpy(), assigned, strict=True):
        if not found:
            unmatched += int(n)
        for theme in found:
            per[theme] = per.get(theme, 0) + int(n)
            examples.setdefault(theme, []).append(text)
    rows = []
    for theme, n in sorted(per.items(), key=lambda kv: (-kv[1], kv[0])):
        e = proportion(n, total, confidence=confidence, min_n=1)
        rows.append({"theme": theme, "label": taxonomy.label(theme), "n": n, "share": e.estimate,
                     "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "reasons": examples[theme][:5]})  # fmt: skip
    if unmatched:
        e = proportion(unmatched, total, confidence=confidence, min_n=1)
        rows.append({"theme": "(no theme)", "label": "no theme of the taxonomy", "n": unmatched,
                     "share": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "reasons": [t for t, f in zip(stated.index, assigned, strict=True)
                                 if not f][:5]})  # fmt: skip
    return pd.DataFrame(rows)
