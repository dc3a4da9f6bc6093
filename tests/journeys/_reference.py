"""Plain-Python reference implementations of the journey definitions, row by row.

Slow and obvious on purpose: the tests hold the store's answers against these.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import ibis
import pandas as pd

from cxray.config import ProgramConfig
from cxray.journeys import Journeys
from cxray.schema import table_spec

TABLES = ("customers", "events", "responses", "cases", "orders", "mentions")


def traces(rows: Sequence[dict[str, Any]], case: str = "customer_id") -> dict[str, list[dict]]:
    """Each case's rows in time order, ties broken by event_id."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r.get(case) is not None:
            out[str(r[case])].append(r)
    for v in out.values():
        v.sort(key=lambda r: (r["timestamp"], r["event_id"]))
    return dict(out)


def funnel(
    rows: Sequence[dict[str, Any]],
    steps: Sequence[str],
    within_hours: float | None = None,
    case: str = "customer_id",
) -> tuple[list[int], list[list[float]], int]:
    """Cases reaching each step, the hours from the previous step of each, entries left out."""
    by_case = traces(rows, case)
    last = max((r["timestamp"] for r in rows), default=None)
    span = dt.timedelta(seconds=round(within_hours * 3600)) if within_hours else None
    counts = [0] * len(steps)
    hours: list[list[float]] = [[] for _ in steps]
    censored = 0
    for evs in by_case.values():
        entry = next((e["timestamp"] for e in evs if e["touchpoint"] == steps[0]), None)
        if entry is None:
            continue
        if span is not None and entry + span > last:
            censored += 1
            continue
        counts[0] += 1
        t = entry
        for k in range(1, len(steps)):
            strict = steps[k] in steps[:k]
            nxt = [
                e["timestamp"]
                for e in evs
                if e["touchpoint"] == steps[k]
                and (e["timestamp"] > t if strict else e["timestamp"] >= t)
                and (span is None or e["timestamp"] <= entry + span)
            ]
            if not nxt:
                break
            t_next = min(nxt)
            counts[k] += 1
            hours[k].append((t_next - t).total_seconds() / 3600)
            t = t_next
    return counts, hours, censored


def dfg(rows: Sequence[dict[str, Any]], case: str = "customer_id"):
    """``(arc counts, start counts, end counts)`` of the directly-follows graph."""
    arcs: Counter = Counter()
    starts: Counter = Counter()
    ends: Counter = Counter()
    for evs in traces(rows, case).values():
        tps = [e["touchpoint"] for e in evs]
        starts[tps[0]] += 1
        ends[tps[-1]] += 1
        arcs.update(pairwise(tps))
    return dict(arcs), dict(starts), dict(ends)


def memory_journeys(events: pd.DataFrame, config: ProgramConfig | None = None) -> Journeys:
    """:class:`Journeys` over in-memory tables: ``events`` as given, the others empty."""
    tables = {}
    for name in TABLES:
        spec = table_spec(name)
        schema = {c.name: c.ibis_type for c in spec.columns}
        frame = events if name == "events" else pd.DataFrame({c: [] for c in schema})
        tables[name] = ibis.memtable(frame[list(schema)], schema=schema)
    return Journeys(tables.__getitem__, config or ProgramConfig())
