"""Result objects: an estimate with its interval, and a two-sample comparison.

A number without its uncertainty is never handed out. Every estimator returns
an :class:`Estimate` (point value, confidence interval, n, method); every
two-sample test returns a :class:`Comparison`, an estimate of a difference
with its test statistic and p-value.

Small samples are not dropped, they are *suppressed*: the object keeps the
computed numbers for programmatic use, but its ``str``, HTML and ``to_dict``
forms show the reason instead of the value. :func:`warn_if_suppressed` turns
suppression into a :class:`~cxray.exceptions.StatisticalWarning`.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from cxray.exceptions import StatisticalWarning
from cxray.stats._validate import check_confidence

__all__ = ["Comparison", "Estimate", "to_frame", "warn_if_suppressed"]

_POINT_UNITS = frozenset({"points", "%", "percentage points"})
_NUMBER_FIELDS = ("estimate", "ci_low", "ci_high")


def _as_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _plain(value: Any) -> Any:
    """JSON-friendly: NaN becomes ``None``; numpy scalars become Python ones."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    estimate, ci_low, ci_high:
        The point estimate and the bounds of its ``confidence`` interval, in
        ``unit`` (NPS in points from -100 to 100, shares from 0 to 1 unless
        asked for in percent).
    n:
        Number of responses the estimate rests on.
    method:
        How the interval was computed, in words ("adjusted Wald").
    confidence:
        Confidence level of the interval.
    metric, unit, definition:
        Labels filled in by the caller (the KPI layer): what was measured.
    suppressed, reason:
        ``True`` when n is below the threshold given to the estimator; the
        reason says why and what to do ("n=7 < 30; widen the period or merge
        segments"). A suppressed estimate is never displayed bare.
    """

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float = 0.95
    metric: str | None = None
    unit: str | None = None
    definition: str | None = None
    suppressed: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        for name in _NUMBER_FIELDS:
            object.__setattr__(self, name, _as_float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "confidence", check_confidence(self.confidence))
        object.__setattr__(self, "suppressed", bool(self.suppressed))

    # ------------------------------------------------------------------ views
    @property
    def label(self) -> str:
        """The metric name, or "estimate" when none was given."""
        return self.metric or "estimate"

    @property
    def margin(self) -> float:
        """Half the width of the interval."""
        return (self.ci_high - self.ci_low) / 2.0

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain Python values; numbers are ``None`` when suppressed."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        if self.suppressed:
            for name in self._hidden_when_suppressed():
                out[name] = None
        return out

    def _hidden_when_suppressed(self) -> tuple[str, ...]:
        return _NUMBER_FIELDS

    def _format(self, value: float) -> str:
        if not math.isfinite(value):
            return "n/a"
        if self.unit in _POINT_UNITS:
            return f"{value:.1f}"
        if self.unit == "share":
            return f"{value:.3f}"
        return f"{value:.4g}"

    def _n_text(self) -> str:
        return f"n={self.n}"

    def _extra_text(self) -> str:
        return ""

    def __str__(self) -> str:
        if self.suppressed:
            return f"{self.label} suppressed: {self.reason} ({self.method})"
        level = "" if math.isclose(self.confidence, 0.95) else f" {self.confidence:.0%}"
        return (
            f"{self.label} {self._format(self.estimate)}"
            f"{level} [{self._format(self.ci_low)}, {self._format(self.ci_high)}]"
            f" {self._n_text()}{self._extra_text()} ({self.method})"
        )

    def _html_rows(self) -> list[tuple[str, str]]:
        if self.suppressed:
            return [("suppressed", str(self.reason))]
        ci = f"[{self._format(self.ci_low)}, {self._format(self.ci_high)}]"
        return [
            ("estimate", self._format(self.estimate)),
            (f"{self.confidence:.0%} CI", ci),
        ]

    def _repr_html_(self) -> str:
        rows = [
            *self._html_rows(),
            ("n", self._n_text().removeprefix("n=")),
            ("method", self.method),
        ]
        if self.unit:
            rows.append(("unit", self.unit))
        if self.definition:
            rows.append(("definition", self.definition))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        title = html.escape(self.label)
        return f"<table><caption style='text-align:left'><b>{title}</b></caption>{body}</table>"


@dataclass(frozen=True)
class Comparison(Estimate):
    """A two-sample test: ``estimate`` is the difference *a − b*.

    Besides the fields of :class:`Estimate` (with ``n = n_a + n_b``) it holds
    the test ``statistic`` (z or t), its two-sided ``p_value``, the group
    sizes and, where meaningful, the estimates of the two groups.
    """

    statistic: float = field(kw_only=True)
    p_value: float = field(kw_only=True)
    n_a: int = field(kw_only=True)
    n_b: int = field(kw_only=True)
    estimate_a: float = field(default=math.nan, kw_only=True)
    estimate_b: float = field(default=math.nan, kw_only=True)
    df: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("statistic", "p_value", "estimate_a", "estimate_b"):
            object.__setattr__(self, name, _as_float(getattr(self, name)))
        object.__setattr__(self, "n_a", int(self.n_a))
        object.__setattr__(self, "n_b", int(self.n_b))
        if self.df is not None:
            object.__setattr__(self, "df", float(self.df))

    @property
    def significant(self) -> bool:
        """p-value below ``1 - confidence``; never true for a suppressed result."""
        return (not self.suppressed) and self.p_value < 1.0 - self.confidence

    def _hidden_when_suppressed(self) -> tuple[str, ...]:
        return (*_NUMBER_FIELDS, "statistic", "p_value", "estimate_a", "estimate_b")

    def _n_text(self) -> str:
        return f"n={self.n_a} vs {self.n_b}"

    def _extra_text(self) -> str:
        name = "t" if self.df is not None else "z"
        return f", {name}={self.statistic:.3f}, p={_format_p(self.p_value)}"

    def _html_rows(self) -> list[tuple[str, str]]:
        rows = super()._html_rows()
        if not self.suppressed:
            name = "t" if self.df is not None else "z"
            rows += [(name, f"{self.statistic:.3f}"), ("p-value", _format_p(self.p_value))]
        return rows


def _format_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def to_frame(results: Iterable[Estimate], index: Iterable[Any] | None = None) -> pd.DataFrame:
    """A table of results, one row per result, as :meth:`Estimate.to_dict` gives them."""
    rows = [r.to_dict() for r in results]
    frame = pd.DataFrame(rows)
    if index is not None:
        frame.index = pd.Index(list(index))
    return frame


def warn_if_suppressed(*results: Estimate, stacklevel: int = 2) -> bool:
    """Issue one :class:`StatisticalWarning` naming every suppressed result.

    Returns whether any result was suppressed, so callers can branch on it.
    """
    hidden = [r for r in results if r.suppressed]
    if not hidden:
        return False
    shown = " | ".join(f"{r.label}: {r.reason}" for r in hidden[:5])
    more = f" | and {len(hidden) - 5} more" if len(hidden) > 5 else ""
    warnings.warn(f"{shown}{more}", StatisticalWarning, stacklevel=stacklevel)
    return True
