"""Layer 4, the feature layer: what happened to a customer before an answer, or a date.

One row per survey response (:meth:`Features.responses`) or per active customer
(:meth:`Features.customers`) with portable Ibis expressions for what their orders,
deliveries, support cases and journeys were in a window before it, plus tenure,
recency, frequency, monetary value, the latest NPS answer, numeric ratings and
attributes, comment sentiment and themes. Key drivers and moments of truth read
it (``docs/drivers.md``); it runs wherever the data lives (DuckDB, PostgreSQL,
Spark), and only compact aggregates leave the store.
"""

from cxray.features._catalogue import Feature, Moment, slug
from cxray.features._layer import ANSWERS, Features
from cxray.features._window import NOT_REVENUE, WindowPlan, window_features

__all__ = [
    "ANSWERS",
    "NOT_REVENUE",
    "Feature",
    "Features",
    "Moment",
    "WindowPlan",
    "slug",
    "window_features",
]
