"""Property tests (hypothesis): bounds, intervals, row order and slices that add up."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxray.config import ProgramConfig
from cxray.metrics import scorecard
from cxray.workspace import Workspace

CONFIG = ProgramConfig.model_validate({"measurement": {"min_n": 1}})
METRICS = [
    "nps",
    "csat",
    "ces_mean",
    "ces_easy",
    "first_response_mean",
    "first_response_median",
    "resolution_business_mean",
]
TABLES = ("customers", "responses", "cases", "orders", "events")
START = dt.datetime(2026, 3, 1)
SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    path = tmp_path_factory.mktemp("props")
    with Workspace.open(path / "s.duckdb", path / "cxray.toml") as ws:
        return {name: ws.table(name).schema() for name in TABLES}


def source(schemas, responses: pd.DataFrame, cases: pd.DataFrame):
    """A table source over an in-memory DuckDB holding these rows (other tables empty)."""
    con = ibis.duckdb.connect()
    given_rows = {"responses": responses, "cases": cases}
    for name in TABLES:
        schema = schemas[name]
        frame = given_rows.get(name)
        if frame is None:
            con.create_table(name, schema=schema)
            continue
        full = pd.DataFrame({c: frame.get(c) for c in schema.names})
        con.create_table(name, ibis.memtable(full, schema=schema))
    return con.table


answers = st.lists(
    st.tuples(
        st.integers(0, 10),  # nps
        st.one_of(st.none(), st.integers(1, 5)),  # csat
        st.one_of(st.none(), st.integers(1, 7)),  # ces
        st.sampled_from(["web", "email", "app"]),  # survey
        st.integers(0, 60 * 86400),  # seconds after START
    ),
    min_size=1,
    max_size=60,
)
tickets = st.lists(
    st.tuples(
        st.integers(0, 60 * 86400),  # opened, seconds after START
        st.integers(0, 5 * 86400),  # first response after it
        st.integers(0, 20 * 86400),  # resolved after it
        st.sampled_from(["chat", "phone"]),  # channel
    ),
    min_size=1,
    max_size=40,
)


def frames(rows, cases):
    r = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(len(rows))],
            "submitted_at": [START + dt.timedelta(seconds=x[4]) for x in rows],
            "nps": pd.array([x[0] for x in rows], dtype="Int64"),
            "csat": pd.array([x[1] for x in rows], dtype="Int64"),
            "ces": pd.array([x[2] for x in rows], dtype="Int64"),
            "survey": [x[3] for x in rows],
        }
    )
    opened = [START + dt.timedelta(seconds=x[0]) for x in cases]
    k = pd.DataFrame(
        {
            "case_id": [f"T{i}" for i in range(len(cases))],
            "opened_at": opened,
            "first_response_at": [
                o + dt.timedelta(seconds=x[1]) for o, x in zip(opened, cases, strict=True)
            ],
            "resolved_at": [
                o + dt.timedelta(seconds=x[2]) for o, x in zip(opened, cases, strict=True)
            ],
            "channel": [x[3] for x in cases],
        }
    )
    return r, k


def same(a: list[dict], b: list[dict]) -> bool:
    """Equal records; floats to 1e-12 relative (sums of floats differ in the last bits
    with the order of addition, in any database; counts and order statistics are exact)."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key, value in x.items():
            if isinstance(value, float) and isinstance(y[key], float):
                assert math.isclose(value, y[key], rel_tol=1e-12, abs_tol=1e-12), (x, key)
            else:
                assert value == y[key], (x["metric"], key, value, y[key])
    return True


@SETTINGS
@given(rows=answers, cases=tickets, seed=st.integers(0, 2**32 - 1))
def test_bounds_intervals_and_row_order(schemas, rows, cases, seed):
    r, k = frames(rows, cases)
    card = scorecard(source(schemas, r, k), CONFIG, metrics=METRICS)
    for s in card:
        est = s.result
        if est.estimate is None or not math.isfinite(est.estimate):
            continue
        if s.metric == "nps":
            assert -100 <= est.estimate <= 100
            assert -100 <= est.ci_low <= est.ci_high <= 100
        if est.ci_low is not None and math.isfinite(est.ci_low):
            assert est.ci_low <= est.estimate + 1e-9 and est.estimate <= est.ci_high + 1e-9
    shuffled = source(
        schemas,
        r.sample(frac=1.0, random_state=seed % 2**32),
        k.sample(frac=1.0, random_state=(seed + 1) % 2**32),
    )
    assert same(scorecard(shuffled, CONFIG, metrics=METRICS).records(), card.records())


@SETTINGS
@given(rows=answers, cases=tickets)
def test_slices_partition_the_rows(schemas, rows, cases):
    r, k = frames(rows, cases)
    tables = source(schemas, r, k)
    total = {s.metric: s.result.n for s in scorecard(tables, CONFIG, metrics=METRICS)}
    for by in (["survey"], ["channel"]):
        parts: dict[str, int] = {}
        for s in scorecard(tables, CONFIG, by=by, metrics=METRICS):
            parts[s.metric] = parts.get(s.metric, 0) + s.result.n
        # every KPI of a table that has the attribute splits its rows into the slices
        for metric, n in parts.items():
            assert n == total[metric], (by, metric)
    monthly: dict[str, int] = {}
    for s in scorecard(tables, CONFIG, period="week", metrics=METRICS):
        monthly[s.metric] = monthly.get(s.metric, 0) + s.result.n
    # (a KPI whose inputs are missing has one row with n 0 either way: not measured)
    assert {m: n for m, n in monthly.items() if n} == {m: n for m, n in total.items() if n}
    assert {m for m, n in monthly.items() if not n} <= {m for m, n in total.items() if not n}
