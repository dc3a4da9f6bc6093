"""``Journeys``: the one object the workspace hands out for journey analytics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cxray.config import ProgramConfig
from cxray.journeys._funnel import Funnel, compute_funnel, parse_steps
from cxray.journeys._graph import Graph, compute_graph
from cxray.journeys._outcomes import GROUPS, PathOutcomes, compute_outcomes
from cxray.journeys._paths import Paths, compute_paths
from cxray.journeys._stream import Scope, build_stream
from cxray.metrics import TableSource

__all__ = ["Journeys"]

CASE_DEFAULT = "customer"


class Journeys:
    """Funnels, paths, the directly-follows graph and outcomes by path, over ``events``.

    ``tables`` gives an Ibis table per canonical table (``Workspace.table``), so the
    same code runs on DuckDB, PostgreSQL or Spark. Every method takes the same
    scope: ``case`` (``"customer"``, ``"session"`` or a column of events: what one
    trace is), ``start``/``end`` (dates in the program's time zone, ``end``
    inclusive), ``journey`` (only events with this ``journey`` value) and
    ``include`` (``cases``, ``orders``, ``responses`` as touchpoints too).
    See ``docs/journeys.md``.
    """

    def __init__(self, tables: TableSource, config: ProgramConfig):
        self.tables = tables
        self.config = config

    def _stream(self, by: Sequence[str] = (), **scope: Any):  # type: ignore[no-untyped-def]
        return build_stream(self.tables, self.config, Scope.of(**scope), by=by)

    def funnel(
        self,
        steps: Sequence[str] | str,
        *,
        within_hours: float | None = None,
        by: Sequence[str] | str | None = None,
        start: Any = None,
        end: Any = None,
        case: str = CASE_DEFAULT,
        journey: str | None = None,
        include: Sequence[str] | str = (),
    ) -> Funnel:
        """Cases through ``steps`` in order: counts, conversion with Wilson intervals, hours
        between steps (median, p90, exact intervals), slices compared (BH)."""
        steps = parse_steps(steps)
        if isinstance(by, str):
            by = [b.strip() for b in by.split(",") if b.strip()]
        stream = self._stream(
            by or (), case=case, start=start, end=end, journey=journey, include=include
        )
        return compute_funnel(stream, steps, within_hours=within_hours)

    def paths(
        self,
        *,
        start: Any = None,
        end: Any = None,
        case: str = CASE_DEFAULT,
        journey: str | None = None,
        include: Sequence[str] | str = (),
        max_steps: int = 20,
        top: int = 20,
        collapse: bool = False,
    ) -> Paths:
        """The most common paths (variants) with counts and shares, where cases leave, loops."""
        stream = self._stream(case=case, start=start, end=end, journey=journey, include=include)
        return compute_paths(stream, max_steps=max_steps, top=top, collapse=collapse)

    def graph(
        self,
        *,
        start: Any = None,
        end: Any = None,
        case: str = CASE_DEFAULT,
        journey: str | None = None,
        include: Sequence[str] | str = (),
    ) -> Graph:
        """The directly-follows graph: arcs with counts and median hours; start and end
        activities."""
        stream = self._stream(case=case, start=start, end=end, journey=journey, include=include)
        return compute_graph(stream)

    def outcomes(
        self,
        *,
        group: str = "variant",
        start: Any = None,
        end: Any = None,
        case: str = CASE_DEFAULT,
        journey: str | None = None,
        include: Sequence[str] | str = (),
        max_steps: int = 20,
        top: int = 10,
        collapse: bool = False,
    ) -> PathOutcomes:
        """NPS, CSAT and churn by path (``group="variant"``) or by touchpoint passed
        (``group="touchpoint"``), each against the other cases, with BH across tests."""
        if group not in GROUPS:
            from cxray.exceptions import JourneyError

            raise JourneyError(f"group {group!r}: use one of {', '.join(GROUPS)}")
        stream = self._stream(case=case, start=start, end=end, journey=journey, include=include)
        return compute_outcomes(
            stream, group=group, max_steps=max_steps, top=top, collapse=collapse
        )

    def touchpoints(
        self,
        *,
        start: Any = None,
        end: Any = None,
        case: str = CASE_DEFAULT,
        journey: str | None = None,
        include: Sequence[str] | str = (),
    ) -> list[dict[str, Any]]:
        """Each touchpoint in scope with its count, most frequent first (for pickers)."""
        stream = self._stream(case=case, start=start, end=end, journey=journey, include=include)
        t = stream.table
        got = t.group_by("_tp").aggregate(events=t.count())
        got = got.order_by([got.events.desc(), got._tp])
        return [
            {"touchpoint": r["_tp"], "events": int(r["events"])}
            for r in got.to_pyarrow().to_pylist()
        ]

    def configured(self) -> dict[str, dict[str, Any]]:
        """The journeys of ``cxray.toml`` (the completion/abandonment KPIs) as funnels."""
        return {
            name: {
                "title": j.title or name,
                "steps": [j.start, j.success],
                "within_hours": j.window_hours,
            }
            for name, j in sorted(self.config.journeys.items())
        }
