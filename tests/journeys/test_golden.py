"""Golden numbers: pm4py's running example (van der Aalst's request-for-compensation log).

42 events, 6 cases, 8 activities; its directly-follows graph has 16 edges and 36 arcs
(the counts pm4py's ``discover_dfg`` gives for this log), every case starts with
*register request*, three end with *pay compensation* and three with *reject request*,
and each case is a variant of its own. The log is imported the way a user would:
``cxray import events FILE --map customer_id=case:concept:name ...``.
"""

from __future__ import annotations

import pytest

from cxray.cli import main
from cxray.workspace import Workspace

#: pm4py's directly-follows graph of the running example
DFG = {
    ("check ticket", "decide"): 6,
    ("examine casually", "check ticket"): 4,
    ("decide", "pay compensation"): 3,
    ("decide", "reinitiate request"): 3,
    ("decide", "reject request"): 3,
    ("register request", "examine casually"): 3,
    ("check ticket", "examine casually"): 2,
    ("examine casually", "decide"): 2,
    ("examine thoroughly", "check ticket"): 2,
    ("register request", "check ticket"): 2,
    ("check ticket", "examine thoroughly"): 1,
    ("examine thoroughly", "decide"): 1,
    ("register request", "examine thoroughly"): 1,
    ("reinitiate request", "check ticket"): 1,
    ("reinitiate request", "examine casually"): 1,
    ("reinitiate request", "examine thoroughly"): 1,
}
R, EC, ET, CT, D = (
    "register request",
    "examine casually",
    "examine thoroughly",
    "check ticket",
    "decide",
)
PAY, REJ, RE = "pay compensation", "reject request", "reinitiate request"
VARIANTS = {
    (R, ET, CT, D, REJ),
    (R, CT, EC, D, PAY),
    (R, EC, CT, D, RE, ET, CT, D, PAY),
    (R, CT, ET, D, REJ),
    (R, EC, CT, D, RE, CT, EC, D, RE, EC, CT, D, REJ),
    (R, EC, CT, D, PAY),
}


def test_imported_with_the_command_line(capsys, tmp_path, running_csv):
    db = str(tmp_path / "cli.duckdb")
    args = ["--db", db, "import", "events", str(running_csv)]
    args += ["--map", "customer_id=case:concept:name", "--map", "touchpoint=concept:name"]
    args += ["--map", "timestamp=time:timestamp"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0, capsys.readouterr()
    assert "42 added" in capsys.readouterr().out
    with Workspace.open(db, read_only=True) as ws:
        g = ws.journeys.graph()
        assert (g.cases, g.events, len(g.edges), g.arcs) == (6, 42, 16, 36)


def test_directly_follows_graph(running):
    g = running.journeys.graph()
    assert (g.cases, g.events, len(g.activities)) == (6, 42, 8)
    assert g.counts() == DFG
    assert (len(g.edges), g.arcs) == (16, 36)
    assert g.arcs == g.events - g.cases
    assert g.start_activities == {R: 6}
    assert g.end_activities == {PAY: 3, REJ: 3}
    # check ticket -> decide: its six arcs' hours (cases 3, 3, 1, 6, 5, 5), from the log
    hours = sorted([160.7333, 22.2, 20.1, 0.5, 50.1, 49.6333])
    assert g.edge(CT, D).median_hours == pytest.approx((hours[2] + hours[3]) / 2, abs=1e-3)


def test_variants_one_case_each(running):
    p = running.journeys.paths(max_steps=20, top=50)
    assert (p.cases, p.distinct_variants) == (6, 6)
    assert {v.steps for v in p.variants} == VARIANTS
    assert all(v.cases == 1 and not v.truncated for v in p.variants)
    assert [v.share.estimate for v in p.variants] == pytest.approx([1 / 6] * 6)
    flows = {f.touchpoint: f for f in p.touchpoints}
    assert (flows[PAY].exits, flows[REJ].exits, flows[D].exits) == (3, 3, 0)
    assert (flows[CT].cases, flows[CT].repeats) == (6, 2)  # cases 3 and 5 come back
    assert flows[R].starts == 6
    # ten touchpoints in: case 5 is cut to its first ten and marked
    short = running.journeys.paths(max_steps=10, top=50)
    assert short.distinct_variants == 6
    assert [v.truncated for v in short.variants].count(True) == 1


def test_funnel_counts_and_times(running):
    f = running.journeys.funnel([R, D, PAY])
    assert [r.cases for r in f.rows] == [6, 6, 3]
    assert [r.dropped for r in f.rows[1:]] == [0, 3]
    decide = f.get(D)
    # hours from register request to the first decide after it, per case
    hours = sorted([168.2667, 143.8333, 162.7667, 69.0, 100.4333, 25.8333])
    assert decide.median.estimate == pytest.approx((hours[2] + hours[3]) / 2, abs=1e-3)
    assert decide.conversion.estimate == 1.0 and f.get(PAY).conversion.estimate == 0.5
    # six cases: below min_n, so the records hide the numbers and say why
    rec = f.records()[2]
    assert rec["conversion"] is None and rec["reason"].startswith("n=6 < 30")
    # within 72 h of the entry only cases 4 (69 h) and 6 (25.8 h) decide
    assert [r.cases for r in running.journeys.funnel([R, D], within_hours=72).rows] == [6, 2]


def test_steps_must_follow_in_order(running):
    # reject request never comes before check ticket in a case
    assert [r.cases for r in running.journeys.funnel([REJ, CT]).rows] == [3, 0]
    # a repeated touchpoint must come again later: decide twice happens in cases 3 and 5
    assert [r.cases for r in running.journeys.funnel([D, D]).rows] == [6, 2]
    assert [r.cases for r in running.journeys.funnel([D, RE, D, RE]).rows] == [6, 2, 2, 1]
