"""Layer 5, journeys: funnels, paths, the directly-follows graph and outcomes by path.

Journey analytics over ``events`` (and, on request, cases, orders and responses as
touchpoints), computed in the store as portable Ibis expressions (window functions,
joins, grouped aggregates), so the same request gives the same numbers on DuckDB,
PostgreSQL and Spark; only compact results come back.

* :class:`Journeys` (``Workspace.journeys``): ``funnel``, ``paths``, ``graph``,
  ``outcomes``, ``touchpoints``
* results: :class:`Funnel` (rows of :class:`FunnelStep`), :class:`Paths`
  (:class:`Variant`, :class:`TouchpointFlow`), :class:`Graph` (:class:`Edge`,
  :class:`Activity`), :class:`PathOutcomes` (:class:`PathOutcome`); each with
  ``records()`` and ``to_frame()``

What one trace (a *case*) is: a customer (default), a session, or any column of
events. Methods, intervals and limits: ``docs/journeys.md``.
"""

from cxray.journeys._funnel import Funnel, FunnelStep, parse_steps
from cxray.journeys._graph import Activity, Edge, Graph
from cxray.journeys._journeys import Journeys
from cxray.journeys._outcomes import GROUPS, OUTCOMES, PathOutcome, PathOutcomes
from cxray.journeys._paths import SEP, Paths, TouchpointFlow, Variant
from cxray.journeys._stream import CASES, INCLUDE, MAX_STEPS

__all__ = [
    "CASES",
    "GROUPS",
    "INCLUDE",
    "MAX_STEPS",
    "OUTCOMES",
    "SEP",
    "Activity",
    "Edge",
    "Funnel",
    "FunnelStep",
    "Graph",
    "Journeys",
    "PathOutcome",
    "PathOutcomes",
    "Paths",
    "TouchpointFlow",
    "Variant",
    "parse_steps",
]
