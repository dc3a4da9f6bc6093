"""Bad requests get one clear error (or a stated empty result), never a traceback."""

from __future__ import annotations

import json

import pytest

from cxray.cli import main
from cxray.exceptions import CXError, JourneyError, MetricError, UnknownAttributeError
from cxray.workspace import Workspace

SHOP = "visit_site,product_viewed,order_placed"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": "visit_site,nope"}, JourneyError,
         "step 'nope' never occurs in the data; touchpoints that do: product_viewed"),
        ({"steps": "nope,order_placed"}, JourneyError, "step 'nope' never occurs in the data"),
        ({"steps": "visit_site"}, JourneyError,
         "a funnel needs at least two steps (got 'visit_site')"),
        ({"steps": ""}, JourneyError, "has an empty step"),
        ({"steps": "visit_site,,order_placed"}, JourneyError, "has an empty step"),
        ({"steps": SHOP, "within_hours": 0}, JourneyError,
         "within must be a positive number of hours, got 0"),
        ({"steps": SHOP, "within_hours": -2}, JourneyError, "within must be a positive number"),
        ({"steps": SHOP, "within_hours": float("nan")}, JourneyError, "positive number"),
        ({"steps": SHOP, "within_hours": "soon"}, JourneyError,
         "within must be a number of hours, got 'soon'"),
        ({"steps": SHOP, "by": "bogus"}, UnknownAttributeError,
         "unknown attribute 'bogus'; a journey can be sliced by a column of events or customers"),
        ({"steps": SHOP, "by": ["region", "region"]}, JourneyError, "may be given once"),
        ({"steps": SHOP, "case": "ticket"}, JourneyError,
         "unknown case 'ticket': use customer, session or a column of events"),
        ({"steps": SHOP, "include": "mentions"}, JourneyError,
         "include 'mentions': use one or more of cases, orders, responses"),
        ({"steps": SHOP, "start": "yesterday"}, MetricError, "--from 'yesterday': not a date"),
        ({"steps": SHOP, "start": "2026-09-01", "end": "2026-08-01"}, JourneyError,
         "the start date must be before the end date"),
        ({"steps": SHOP, "journey": "nope"}, JourneyError,
         "no events of journey 'nope'; journeys in events: account, checkout, delivery"),
        ({"steps": "visit_site,case_opened", "journey": "checkout"}, JourneyError,
         "step 'case_opened' never occurs in journey 'checkout'; touchpoints that do:"),
    ],
)  # fmt: skip
def test_funnel_mistakes(demo, kwargs, error, message):
    steps = kwargs.pop("steps")
    with pytest.raises(error) as exc:
        demo.journeys.funnel(steps, **kwargs)
    assert message in str(exc.value)
    assert isinstance(exc.value, CXError)


def test_stated_empty_results(demo):
    # every step occurs, but none in this order: zero conversions, not an error
    f = demo.journeys.funnel(["order_placed", "account_created"])
    assert f.entered > 0 and f.rows[1].cases == 0 and f.rows[1].conversion.estimate == 0
    # a window with no touchpoints: the step is unknown there, said as such
    with pytest.raises(JourneyError, match="no touchpoints in the window"):
        demo.journeys.funnel(SHOP, start="2001-01-01", end="2001-01-31")
    g = demo.journeys.graph(start="2001-01-01", end="2001-01-31")
    assert (g.cases, g.edges, g.notes) == (
        0,
        [],
        ["no touchpoints in the window: the graph is empty"],
    )
    p = demo.journeys.paths(start="2001-01-01", end="2001-01-31")
    assert (p.cases, p.variants) == (0, []) and "no touchpoints" in p.notes[0]
    o = demo.journeys.outcomes(start="2001-01-01", end="2001-01-31")
    assert o.rows == [] and o.overall.cases == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_steps": 0}, "max_steps must be a whole number from 1 to 50"),
        ({"top": 0}, "top must be a whole number from 1 to 500"),
        ({"group": "cohort"}, "group 'cohort': use one of variant, touchpoint"),
    ],
)
def test_paths_and_outcomes_mistakes(demo, kwargs, message):
    call = demo.journeys.outcomes if "group" in kwargs else demo.journeys.paths
    with pytest.raises(JourneyError, match=message):
        call(**kwargs)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    """A small demo store, closed (the command line opens it)."""
    path = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=4, customers=300, months=2)
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["funnel", "--steps", "visit_site,nope"], 1, "error: step 'nope' never occurs"),
        (["funnel", "--steps", "visit_site"], 1, "error: a funnel needs at least two steps"),
        (["funnel", "--steps", SHOP, "--within", "0"], 1, "error: within must be a positive"),
        (["funnel", "--steps", SHOP, "--within", "soon"], 2, "Invalid value for '--within'"),
        (["funnel", "--steps", SHOP, "--by", "bogus"], 1, "error: unknown attribute 'bogus'"),
        (["funnel", "--steps", SHOP, "--case", "ticket"], 1, "error: unknown case 'ticket'"),
        (["funnel"], 2, "Missing option '--steps'"),
        (["paths", "--top", "0"], 1, "error: top must be a whole number"),
        (["outcomes", "--group", "cohort"], 2, "Invalid value for '--group'"),
        (["graph", "--include", "mentions"], 1, "error: include 'mentions'"),
    ],
)
def test_cli_mistakes_are_one_line(capsys, demo_db, args, code, message):
    got, out, err = run(capsys, "--db", demo_db, "journeys", *args)
    assert got == code, err
    assert message in err and "Traceback" not in err + out


def test_cli_empty_store(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # init writes cxray.toml in the current folder
    db = str(tmp_path / "empty.duckdb")
    run(capsys, "--db", db, "init")
    code, out, err = run(capsys, "--db", db, "journeys", "funnel", "--steps", "a,b")
    assert code == 1 and "error: no touchpoints in the data: import events or run" in err
    code, out, _ = run(capsys, "--db", db, "journeys", "graph", "--format", "json")
    assert code == 0 and json.loads(out)["cases"] == 0
