"""Case trends: support cases by category over time, and the issues that are emerging.

**Categories.** Where cases carry a ``category`` (labelled history) it is used;
cases without one get the category a :class:`~cxray.text.CaseCategorizer`
learned from the labelled ones predicts from their subject and description.
With no labelled history (fewer than 30 labelled cases or one category) the
taxonomy decides: a case's category is its first taxonomy theme, ``other``
when it has none.

**Recurring issues.** Per category: cases, share of all cases (Wilson
interval) and cases per period (ISO weeks starting Monday, or months, in the
program's time zone).

**Emerging issues.** For every period with ``baseline`` full periods before it,
and every category: this period's share of cases against its share over the
trailing ``baseline`` periods, by Fisher's exact test
(:func:`cxray.stats.proportion_exact`), one-sided (a rise). The p-values of all
(period, category) pairs are adjusted together by Benjamini–Hochberg at the
configured false discovery rate. A pair is *emerging* when it is rejected, has
at least ``min_cases`` cases and at least ``min_ratio`` times the baseline
share. Each comes with example cases (redacted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxray import stats
from cxray.config import ProgramConfig
from cxray.store import Store
from cxray.text._categorize import CaseCategorizer
from cxray.text._redact import redactor
from cxray.text._taxonomy import Taxonomy
from cxray.text._themes import load_documents

__all__ = ["EmergingIssue", "TrendsReport", "case_categories", "case_trends"]

ProgressFn = Callable[[str, int, int], None]
Period = Literal["week", "month"]
_MIN_LABELLED = 30


def case_categories(
    texts: list[str], labels: list[str | None], config: ProgramConfig, *, random_state: int = 0
) -> tuple[list[str], str]:
    """Each case's category and where the categories came from.

    Returns ``(categories, source)``; source is ``labelled`` (every case had
    one), ``labelled+learned`` (the missing ones predicted) or ``taxonomy``.
    """
    have = [i for i, c in enumerate(labels) if isinstance(c, str) and c.strip()]
    known = {labels[i] for i in have}
    if len(have) >= _MIN_LABELLED and len(known) >= 2:
        out = [str(c) if isinstance(c, str) and c.strip() else "" for c in labels]
        missing = [i for i, c in enumerate(out) if not c]
        if not missing:
            return out, "labelled"
        model = CaseCategorizer(random_state=random_state).fit(
            [texts[i] for i in have], [out[i] for i in have]
        )
        for i, c in zip(missing, model.predict([texts[i] for i in missing]), strict=True):
            out[i] = str(c)
        return out, "labelled+learned"
    themes = Taxonomy.from_config(config).assign(texts)
    return [t[0] if t else "other" for t in themes], "taxonomy"


@dataclass(frozen=True)
class EmergingIssue:
    period: str
    category: str
    cases: int
    period_cases: int
    share: float
    baseline_share: float
    ratio: float
    change: stats.Comparison
    p_value: float
    q_value: float
    examples: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "category": self.category,
            "cases": self.cases,
            "period_cases": self.period_cases,
            "share": self.share,
            "baseline_share": self.baseline_share,
            "ratio": self.ratio,
            "change": self.change.to_dict(),
            "p_value": self.p_value,
            "q_value": self.q_value,
            "examples": self.examples,
        }


@dataclass
class TrendsReport:
    period: str
    source: str
    n_cases: int
    periods: list[str]
    categories: list[dict[str, Any]] = field(default_factory=list)
    emerging: list[EmergingIssue] = field(default_factory=list)
    tests: int = 0
    baseline: int = 8

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "source": self.source,
            "n_cases": self.n_cases,
            "baseline_periods": self.baseline,
            "tests": self.tests,
            "periods": self.periods,
            "categories": self.categories,
            "emerging": [e.to_dict() for e in self.emerging],
        }


def _period_start(local: pd.Series, period: Period) -> pd.Series:
    naive = local.dt.tz_localize(None)
    if period == "week":
        day = naive.dt.normalize()
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    if period == "month":
        return naive.dt.to_period("M").dt.to_timestamp()
    raise ValueError(f"period must be week or month, got {period!r}")


def _spike_tests(
    values: np.ndarray,
    totals: np.ndarray,
    baseline: int,
    skip: set[tuple[int, int]],
    confidence: float,
) -> list[tuple[Any, ...]]:
    """(period, category, x, n, base_x, base_n, comparison, ratio, one-sided p) per pair."""
    out = []
    for i in range(baseline, len(totals)):
        n = int(totals[i])
        if n == 0:
            continue
        for j in range(values.shape[1]):
            before = [k for k in range(i - 1, -1, -1) if (k, j) not in skip][:baseline]
            if len(before) < baseline:
                continue
            base_n = int(totals[before].sum())
            if base_n == 0:
                continue
            x, base_x = int(values[i, j]), int(values[before, j].sum())
            cmp = stats.proportion_exact(
                (x, n), (base_x, base_n), alternative="greater", confidence=confidence, min_n=1
            )
            p = float(cmp.p_value)
            base_share = base_x / base_n
            ratio = (x / n) / base_share if base_share > 0 else float("inf")
            out.append((i, j, x, n, base_x, base_n, cmp, ratio, p))
    return out


def case_trends(
    store: Store,
    config: ProgramConfig,
    *,
    period: Period = "week",
    baseline: int = 8,
    min_cases: int = 5,
    min_ratio: float = 1.5,
    n_examples: int = 3,
    random_state: int = 0,
    progress: ProgressFn | None = None,
) -> TrendsReport:
    """Cases by category and period; the (period, category) pairs that spiked."""
    if progress:
        progress("reading cases", 0, 3)
    docs = load_documents(store, config, "cases")
    labels = docs.extra["category"].tolist() if "category" in docs.extra else [None] * len(docs)
    if progress:
        progress("categorizing cases", 1, 3)
    cats, source = case_categories(docs.texts, labels, config, random_state=random_state)
    if progress:
        progress("testing for spikes", 2, 3)
    m = config.measurement
    report = TrendsReport(period, source, len(docs), [], baseline=baseline)
    if not len(docs):
        return report
    start = _period_start(docs.local_time, period)
    freq = "W-MON" if period == "week" else "MS"
    grid = pd.date_range(start.min(), start.max(), freq=freq)
    frame = pd.DataFrame({"start": start.to_numpy(), "cat": cats})
    counts = (
        frame.groupby(["start", "cat"]).size().unstack(fill_value=0).reindex(grid, fill_value=0)
    )
    counts = counts[sorted(counts.columns)]
    totals = counts.sum(axis=1).to_numpy()
    names = [d.strftime("%Y-%m-%d") if period == "week" else d.strftime("%Y-%m") for d in grid]
    report.periods = names
    opts = {"confidence": m.confidence, "min_n": m.min_n}
    for c in counts.columns:
        col = counts[c].to_numpy()
        report.categories.append(
            {
                "category": c,
                "cases": int(col.sum()),
                "share": stats.proportion(int(col.sum()), len(docs), **opts).to_dict(),
                "per_period": [int(x) for x in col],
            }
        )
    report.categories.sort(key=lambda d: (-d["cases"], d["category"]))
    values = counts.to_numpy()
    cols = list(counts.columns)
    # pass 1: every period against the trailing baseline; pass 2: the same, with the
    # baseline skipping periods pass 1 flagged for that category, so a spike that lasts
    # several periods is not hidden by its own first periods
    flagged: set[tuple[int, int]] = set()
    for _ in range(2):
        tests = _spike_tests(values, totals, baseline, flagged, m.confidence)
        if not tests:
            return report
        fdr = stats.benjamini_hochberg([t[-1] for t in tests], alpha=m.fdr)
        hits = [
            (t, float(q))
            for t, q, rej in zip(tests, fdr.q_values, fdr.reject, strict=True)
            if rej and t[2] >= min_cases and t[7] >= min_ratio
        ]
        flagged = {(t[0], t[1]) for t, _ in hits}
    report.tests = len(tests)
    when = start.to_numpy()
    cat_arr = np.asarray(cats, dtype=object)
    redact = redactor(config)
    for (i, j, x, n, base_x, base_n, cmp, ratio, p), q in hits:
        c = cols[j]
        rows = np.flatnonzero((when == grid[i].to_datetime64()) & (cat_arr == c))[:n_examples]
        examples = [{"case_id": docs.keys[r], "text": redact(docs.texts[r])} for r in rows]
        report.emerging.append(
            EmergingIssue(
                names[i], c, x, n, x / n, base_x / base_n, ratio, cmp, float(p), q, examples
            )
        )
    report.emerging.sort(key=lambda e: (e.period, e.q_value, e.category))
    if progress:
        progress("done", 3, 3)
    return report
