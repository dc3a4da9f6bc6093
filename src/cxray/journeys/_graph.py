"""The directly-follows graph: which touchpoint follows which, how often, and how soon.

Within each case the touchpoints are put in time order (ties broken by the row's
key). An *arc* a → b is one touchpoint a directly followed by b in the same case;
the graph's *edges* are the distinct (a, b) pairs with their arc counts (a case of
n touchpoints gives n − 1 arcs), and the median hours from a to b over those arcs.
Start and end activities count the first and last touchpoint of each case.

One query: a window (``lead``) over the cases, then one grouped aggregate by
(touchpoint, next touchpoint): its groups are the edges, those without a next
touchpoint count the ends, and the sums per touchpoint give its events and starts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from cxray.journeys._stream import Stream

__all__ = ["Activity", "Edge", "Graph", "compute_graph"]


@dataclass(frozen=True)
class Edge:
    """One edge of the graph: its arcs' count and their median time (descriptive)."""

    source: str
    target: str
    count: int
    #: median hours from ``source`` to ``target`` over every arc (the log's own median)
    median_hours: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "count": self.count,
            "median_hours": self.median_hours,
        }


@dataclass(frozen=True)
class Activity:
    """A touchpoint of the graph: its occurrences, and how many cases start and end with it."""

    name: str
    events: int
    starts: int
    ends: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "touchpoint": self.name,
            "events": self.events,
            "starts": self.starts,
            "ends": self.ends,
        }


@dataclass(frozen=True)
class Graph:
    """A directly-follows graph. ``records()``/``to_frame()``: its edges, most frequent first."""

    edges: list[Edge]
    activities: list[Activity]
    cases: int
    events: int
    case: str
    journey: str | None = None
    include: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def arcs(self) -> int:
        """Arcs in all (each case of n touchpoints has n − 1)."""
        return sum(e.count for e in self.edges)

    @property
    def start_activities(self) -> dict[str, int]:
        return {a.name: a.starts for a in self.activities if a.starts}

    @property
    def end_activities(self) -> dict[str, int]:
        return {a.name: a.ends for a in self.activities if a.ends}

    def edge(self, source: str, target: str) -> Edge:
        for e in self.edges:
            if e.source == source and e.target == target:
                return e
        raise KeyError(f"no edge {source!r} -> {target!r}")

    def counts(self) -> dict[tuple[str, str], int]:
        """``{(source, target): arcs}``."""
        return {(e.source, e.target): e.count for e in self.edges}

    def records(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.edges]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records(), columns=["source", "target", "count", "median_hours"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "journey": self.journey,
            "include": list(self.include),
            "from": None if self.start is None else str(self.start),
            "to": None if self.end is None else str(self.end),
            "cases": self.cases,
            "events": self.events,
            "arcs": self.arcs,
            "activities": [a.to_dict() for a in self.activities],
            "start_activities": self.start_activities,
            "end_activities": self.end_activities,
            "edges": self.records(),
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(e.source)}</td><td>{html.escape(e.target)}</td>"
            f"<td>{e.count:,}</td><td>{'' if e.median_hours is None else f'{e.median_hours:.2f}'}"
            "</td></tr>"
            for e in self.edges
        )
        return (
            f"<p>{self.cases:,} cases, {self.events:,} touchpoints, {len(self.edges)} edges, "
            f"{self.arcs:,} arcs</p><table><tr><th>from</th><th>to</th><th>arcs</th>"
            f"<th>median h</th></tr>{rows}</table>"
        )


def compute_graph(stream: Stream) -> Graph:
    """The directly-follows graph of ``stream`` (see the module's docstring)."""
    s = stream.table
    w = ibis.window(group_by=s._case, order_by=[s._ts, s._eid])
    t = s.select(
        "_tp",
        _next=s._tp.lead().over(w),
        _hours=(s._ts.lead().over(w).epoch_seconds() - s._ts.epoch_seconds()).cast("float64")
        / 3600.0,
        _first=ibis.ifelse(ibis.row_number().over(w) == 0, 1, 0),
    )
    # one grouped pass: (a, b) groups are the edges; (a, null) counts the cases ending at a
    g = t.group_by(["_tp", "_next"]).aggregate(
        _n=t.count(), _starts=t._first.sum(), _med=t._hours.median()
    )
    edges: list[Edge] = []
    nodes: dict[str, dict[str, int]] = {}
    for r in g.to_pyarrow().to_pylist():
        node = nodes.setdefault(r["_tp"], {"node": 0, "start": 0, "end": 0})
        n = int(r["_n"])
        node["node"] += n
        node["start"] += int(r["_starts"] or 0)
        if r["_next"] is None:
            node["end"] += n
        else:
            med = r["_med"]
            edges.append(Edge(r["_tp"], r["_next"], n, None if med is None else float(med)))
    edges.sort(key=lambda e: (-e.count, e.source, e.target))
    activities = sorted(
        (Activity(name, c["node"], c["start"], c["end"]) for name, c in nodes.items()),
        key=lambda a: (-a.events, a.name),
    )
    cases = sum(a.starts for a in activities)
    events = sum(a.events for a in activities)
    notes = list(stream.notes)
    if not cases:
        notes.append("no touchpoints in the window: the graph is empty")
    scope = stream.scope
    return Graph(
        edges,
        activities,
        cases,
        events,
        scope.case,
        scope.journey,
        scope.include,
        stream.ctx.start,
        stream.ctx.end,
        notes,
    )
