"""Layer 4, metrics: every CX KPI as an Ibis aggregate, turned into honest results.

Each KPI (:func:`kpis` lists them) is a portable Ibis query that computes
counts, sums and sums of squares per slice in the database; the statistics
core (:mod:`cxray.stats`) turns them into estimates with intervals, suppressed
below the configured ``min_n``. :func:`scorecard` cuts every KPI by
attributes and periods, adds the status against the configured targets, the
change from the previous period, its test and Benjamini–Hochberg control.
:func:`coverage` says which KPIs and analyses the data supports, and for each one it
does not, why and what to import (``cxray doctor``). Definitions and formulas:
``docs/metrics.md``.
"""

from cxray.metrics._context import NPS_GROUP, NULL_LABEL, PERIODS, Context, TableSource, parse_when
from cxray.metrics._coverage import Coverage, Support, coverage
from cxray.metrics._custom import custom_rows, kpi_catalogue, kpi_where
from cxray.metrics._engine import health_scores
from cxray.metrics._loop import (
    bottom_box_values,
    data_end,
    followup_rows,
    has_followups,
    loop_now,
    recovery_rows,
)
from cxray.metrics._planning import mix_shift, plan_sample_size
from cxray.metrics._registry import KPI, business_hours, get_kpi, kpis
from cxray.metrics._scorecard import Score, Scorecard, Status, scorecard, status_of

__all__ = [
    "KPI",
    "NPS_GROUP",
    "NULL_LABEL",
    "PERIODS",
    "Context",
    "Coverage",
    "Score",
    "Scorecard",
    "Status",
    "Support",
    "TableSource",
    "bottom_box_values",
    "business_hours",
    "coverage",
    "custom_rows",
    "data_end",
    "followup_rows",
    "get_kpi",
    "has_followups",
    "health_scores",
    "kpi_catalogue",
    "kpi_where",
    "kpis",
    "loop_now",
    "mix_shift",
    "parse_when",
    "plan_sample_size",
    "recovery_rows",
    "scorecard",
    "status_of",
]
