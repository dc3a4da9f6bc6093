"""Invariants on random event logs, and the store's answers against a row-by-row reference.

Random small logs (ties in time included) are read through in-memory tables; the
funnel and the directly-follows graph must equal the plain-Python definitions in
``_reference.py``, funnel counts never increase, and a graph has events − cases arcs.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxray import stats
from tests.journeys import _reference as ref

T0 = dt.datetime(2026, 1, 1)
TOUCHPOINTS = ["a", "b", "c", "d"]

events = st.lists(
    st.tuples(
        st.integers(0, 6),  # case
        st.sampled_from(TOUCHPOINTS),
        st.integers(0, 40),  # minutes: plenty of ties
    ),
    min_size=1,
    max_size=60,
)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"e{i:03d}" for i in range(len(rows))],
            "customer_id": [f"c{c}" for c, _, _ in rows],
            "timestamp": [T0 + dt.timedelta(minutes=m) for _, _, m in rows],
            "touchpoint": [tp for _, tp, _ in rows],
            "channel": None,
            "journey": None,
            "session_id": [f"s{c % 3}" for c, _, _ in rows],
        }
    )


@SETTINGS
@given(rows=events)
def test_graph_equals_the_definition(rows):
    f = frame(rows)
    g = ref.memory_journeys(f).graph()
    arcs, starts, ends = ref.dfg(f.to_dict("records"))
    assert g.counts() == arcs
    assert (g.start_activities, g.end_activities) == (starts, ends)
    cases = f.customer_id.nunique()
    assert (g.cases, g.events, g.arcs) == (cases, len(f), len(f) - cases)


@SETTINGS
@given(
    rows=events,
    steps=st.lists(st.sampled_from(TOUCHPOINTS), min_size=2, max_size=4),
    within=st.sampled_from([None, 0.1, 0.25, 1.0]),
)
def test_funnel_equals_the_definition(rows, steps, within):
    f = frame(rows)
    if steps[0] not in set(f.touchpoint):
        return  # a step that never occurs is an error (tested elsewhere)
    missing = [s for s in steps if s not in set(f.touchpoint)]
    got = ref.memory_journeys(f)
    if missing:
        with pytest.raises(Exception, match="never occurs"):
            got.funnel(steps, within_hours=within)
        return
    result = got.funnel(steps, within_hours=within)
    counts, hours, censored = ref.funnel(f.to_dict("records"), steps, within)
    assert [r.cases for r in result.rows] == counts
    assert result.censored == censored
    assert counts == sorted(counts, reverse=True)  # never increase
    for k, r in enumerate(result.rows[1:], 1):
        assert r.previous == counts[k - 1] and r.dropped == counts[k - 1] - counts[k]
        if counts[k]:
            exact = stats.median(np.array(hours[k]), min_n=1)
            assert r.median.estimate == pytest.approx(exact.estimate)
            if counts[k] > 1:
                assert (r.median.ci_low, r.median.ci_high) == pytest.approx(
                    (exact.ci_low, exact.ci_high)
                )


@SETTINGS
@given(rows=events)
def test_paths_partition_the_cases(rows):
    f = frame(rows)
    p = ref.memory_journeys(f).paths(top=500, max_steps=50)
    traces = ref.traces(f.to_dict("records"))
    assert p.cases == len(traces) == sum(v.cases for v in p.variants)
    expected = {tuple(e["touchpoint"] for e in evs) for evs in traces.values()}
    assert {v.steps for v in p.variants} == expected
    assert p.distinct_variants == len(expected)
    assert sum(t.exits for t in p.touchpoints) == sum(t.starts for t in p.touchpoints) == p.cases


@SETTINGS
@given(rows=events)
def test_sessions_as_cases(rows):
    f = frame(rows)
    g = ref.memory_journeys(f).graph(case="session")
    arcs, _, _ = ref.dfg(f.to_dict("records"), case="session_id")
    assert g.counts() == arcs and g.cases == f.session_id.nunique()
