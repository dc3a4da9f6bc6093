"""A real, larger journey end to end: the Helpdesk ticket log (4,580 tickets, 21,348 events).

Imported with the command line as a user would (the ticket is the case, mapped to
``customer_id``; exact repeat rows collapse on import, as the data contract says),
then funnel, paths and graph, with properties the published log has: every ticket
a case, 4,557 of them ending in *Closed*, and durations bounded between 30.6 and
60 days (the log's own quirk, see its SOURCE.md).
"""

from __future__ import annotations

import json

import pytest

from cxray.cli import main
from cxray.workspace import Workspace
from tests.journeys.conftest import EVENT_LOG_MAP, HELPDESK

pytestmark = pytest.mark.skipif(not HELPDESK.exists(), reason=f"{HELPDESK} is missing")

STEPS = ["Assign seriousness", "Take in charge ticket", "Resolve ticket", "Closed"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory):
    path = tmp_path_factory.mktemp("helpdesk") / "helpdesk.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        report = ws.import_files("events", [HELPDESK], mapping=EVENT_LOG_MAP)
        assert report.result.rows_in == 21_221  # 127 exact repeats of 21,348 rows collapsed
    return path


def test_import_and_commands(capsys, tmp_path, helpdesk):
    db = str(tmp_path / "hd.duckdb")
    maps = [a for k, v in EVENT_LOG_MAP.items() for a in ("--map", f"{k}={v}")]
    code, out, err = run(capsys, "--db", db, "import", "events", str(HELPDESK), *maps)
    assert code == 0, err
    assert "21,221 added" in out and "127 exact repeat" in out
    code, out, _ = run(capsys, "--db", db, "journeys", "funnel", "--steps", ",".join(STEPS),
                       "--format", "json")  # fmt: skip
    assert code == 0
    records = json.loads(out)
    assert [r["step"] for r in records] == STEPS
    code, out, _ = run(capsys, "--db", db, "journeys", "graph", "--format", "json")
    assert code == 0 and json.loads(out)["cases"] == 4580
    code, out, _ = run(capsys, "--db", db, "journeys", "paths", "--top", "3", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("rank,path,steps,length,truncated,cases")
    assert " → ".join(STEPS) in out.splitlines()[1]


def test_graph(helpdesk):
    with Workspace.open(helpdesk, read_only=True) as ws:
        g = ws.journeys.graph()
    assert (g.cases, g.events) == (4580, 21_221)
    assert g.arcs == g.events - g.cases
    assert sum(g.start_activities.values()) == sum(g.end_activities.values()) == 4580
    assert g.end_activities["Closed"] == 4557  # as the published log has it
    assert max(g.start_activities, key=g.start_activities.get) == "Assign seriousness"
    assert {a.name for a in g.activities} >= set(STEPS) | {"Wait", "Require upgrade"}
    top = g.edges[0]
    assert (top.source, top.target) == ("Resolve ticket", "Closed")
    assert top.median_hours > 24 * 7  # tickets are closed weeks after they are resolved
    assert all(e.count > 0 for e in g.edges) and g.edges == sorted(g.edges, key=lambda e: -e.count)


def test_paths(helpdesk):
    with Workspace.open(helpdesk, read_only=True) as ws:
        p = ws.journeys.paths(max_steps=50, top=500)
    assert p.cases == p.customers == 4580
    assert p.distinct_variants == len(p.variants) == 211  # 226 in the raw log, before repeats
    assert sum(v.cases for v in p.variants) == 4580
    assert not any(v.truncated for v in p.variants)
    first = p.variants[0]
    assert first.steps == tuple(STEPS) and first.cases > 2000
    lo, hi = first.share.ci_low, first.share.ci_high
    assert lo < first.cases / 4580 < hi and hi - lo < 0.04
    # every ticket spans 30.6 to 60 days in this extract
    assert all(30 * 24 < v.median_hours < 60 * 24 for v in p.variants if v.cases > 20)
    flows = {f.touchpoint: f for f in p.touchpoints}
    assert flows["Closed"].exits == 4557 and flows["Closed"].exit_share.estimate > 0.99
    assert flows["Wait"].repeats > 0  # the wait loop
    assert sum(f.exits for f in p.touchpoints) == 4580


def test_funnel(helpdesk):
    with Workspace.open(helpdesk, read_only=True) as ws:
        f = ws.journeys.funnel(STEPS)
        by = ws.journeys.funnel(STEPS, by="workgroup")
        month = ws.journeys.funnel(STEPS, within_hours=30 * 24)
        two = ws.journeys.funnel(STEPS, within_hours=61 * 24)
    cases = [r.cases for r in f.rows]
    assert cases == sorted(cases, reverse=True) and cases[0] == 4495
    assert cases[-1] > 0.9 * cases[0]
    for r in f.rows[1:]:
        assert r.conversion.ci_low < r.conversion.estimate < r.conversion.ci_high
        assert r.conversion.estimate == pytest.approx(r.cases / r.previous)
        assert r.median.ci_low <= r.median.estimate <= r.median.ci_high
        assert r.median.estimate <= r.p90.estimate
    # closing comes weeks after resolving, and the extract holds no ticket shorter than 30.6 days
    assert f.get("Closed").median.estimate > 24 * 7
    assert month.get("Closed").cases < 0.01 * month.entered
    # within 61 days: the same funnel, less the entries whose 61 days the data does not cover
    assert two.entered + two.censored == f.entered and two.censored > 0
    assert two.notes and "left out" in two.notes[0]
    assert [r.cases / r.entered for r in two.rows] == pytest.approx(
        [r.cases / r.entered for r in f.rows], abs=0.01
    )
    # slices add up to the whole, and the comparisons were adjusted together
    for step in STEPS:
        assert sum(r.cases for r in by.rows if r.step == step) == f.get(step).cases
    tested = [r for r in by.rows if r.vs_rest is not None]
    assert tested and all(r.q_value is None or r.q_value >= r.vs_rest.p_value for r in tested)
