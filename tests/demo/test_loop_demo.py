"""The demo's closed loop (``load_demo(loop=True)``): its rules fire on the planted effects,
the follow-up work is simulated, and the planted recovery effect is found with intervals."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from cxray.config import load_program_config
from cxray.demo import recovery_effect
from cxray.loop import DEMO_LOOP_TOML, demo_loop_config
from cxray.loop._demo import LEADS, TEAMS
from cxray.workspace import Workspace

ROUTES = demo_loop_config().rules[0].routes


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("loop-demo")
    with Workspace.open(path / "demo.duckdb", path / "cxray.toml") as ws:
        report = ws.load_demo(seed=42, customers=8000, months=12, loop=True)
        yield ws, report


def _fault_month(report) -> str:
    return next(e for e in report.effects if e.name == "product_fault_spike").details["month"]


def test_the_rules_are_taken_and_replayed_without_surprises(demo):
    ws, report = demo
    assert [r.name for r in ws.config.loop.rules] == [
        "detractors", "email-detractors", "emerging-issues", "region-nps"
    ]  # fmt: skip
    lp = report.loop
    assert lp.errors == {} and lp.mismatched == 0  # in-memory conditions agree with the store
    assert lp.followups > 500 and lp.answers_changed > 100
    assert sum(lp.fates.values()) == lp.followups
    assert lp.fates["in_time"] > lp.fates["late"] > 0 and lp.fates["closed_no_contact"] > 0
    assert "followup_recovers_detractors" in {e.name for e in report.effects}


def test_the_product_spike_raises_an_alert_for_quality(demo):
    ws, report = demo
    month = _fault_month(report)
    alerts = {a["subject"]: a for a in ws.loop.alerts(rule="emerging-issues")}
    spike = alerts[f"emerging:product_defect:{month}"]
    assert spike["notified"]["targets"] == ["email:quality@hearthwell.example"]
    # recorded when the month ended, not when the demo ran
    year, mon = (int(x) for x in month.split("-"))
    assert spike["fired_at"] == dt.datetime(year + mon // 12, mon % 12 + 1, 1)


def test_email_detractors_become_followups_for_support_with_a_notification(demo):
    ws, _ = demo
    page = ws.loop.followups.list(rule="email-detractors", status=None, limit=10_000)
    assert page["total"] > 50
    assert {r["team"] for r in page["rows"]} == {"Customer Care"}
    assert {r["owner"] for r in page["rows"]} <= {*TEAMS["Customer Care"], None}
    alert = ws.loop.alerts(rule="email-detractors", limit=1)[0]
    assert alert["notified"]["targets"] == ["email:support-lead@hearthwell.example"]
    con = ws.store.backend.con
    statuses = dict(
        con.execute(
            "SELECT status, count(*) FROM _cx_outbox WHERE rule = 'email-detractors' GROUP BY 1"
        ).fetchall()
    )
    assert set(statuses) == {"delivered"} and statuses["delivered"] == page["total"]
    # the triggering answers: unhappy, after a recent e-mail case
    fu = ws.loop.followups.get(page["rows"][0]["followup_id"])
    d = fu["alert"]["details"]
    assert (d.get("nps") is not None and d["nps"] <= 6) or d["csat"] <= 2


def test_detractors_are_routed_by_region_and_worked_with_a_history(demo):
    ws, _ = demo
    page = ws.loop.followups.list(rule="detractors", status="resolved", limit=50)
    fu = ws.loop.followups.get(page["rows"][0]["followup_id"])
    region = ws.table("customers").filter(lambda c: c.customer_id == fu["customer_id"])
    region = region.to_pyarrow().column("region")[0].as_py()
    assert fu["owner"] == ROUTES[region]
    actions = [e["action"] for e in fu["history"]]
    assert actions[0] == "opened" and actions[-2:] == ["contacted", "resolved"]
    opened, contacted, closed = fu["opened_at"], fu["contacted_at"], fu["closed_at"]
    assert opened < contacted < closed <= dt.datetime(2026, 10, 31, 23, 59, 59)
    assert {e["actor"] for e in fu["history"][1:]} == {fu["owner"]}
    assert fu["outcome"] and fu["note"]
    # opened when the answer was submitted (the trigger's time), not when the demo ran
    rid = fu["subject"].removeprefix("responses:")
    r = ws.table("responses").filter(lambda t: t.response_id == rid).to_pyarrow().to_pylist()[0]
    assert opened == r["submitted_at"]


def test_team_followups_are_handed_out_by_the_lead(demo):
    ws, _ = demo
    page = ws.loop.followups.list(rule="email-detractors", status="contacted", limit=5)
    fu = ws.loop.followups.get(page["rows"][0]["followup_id"])
    assigned = next(e for e in fu["history"] if e["action"] == "assigned")
    assert assigned["actor"] == LEADS["Customer Care"]
    assert assigned["detail"]["owner"] == fu["owner"]


def test_the_planted_recovery_is_found_with_intervals(demo):
    ws, _ = demo
    m = ws.loop.measure(rule="detractors")
    nps = m.get("nps", "detractors")
    effect = recovery_effect()
    for vs in ("not_contacted", "late"):
        c = nps.comparisons[vs]
        assert not c.suppressed, c.reason
        assert c.estimate >= effect.at_least and c.ci_low > 0, (vs, str(c))
        assert nps.significant[vs]
    # churn was not planted: its difference is small and its interval holds 0
    churn = m.get("churn", "detractors").comparisons["not_contacted"]
    assert churn.ci_low < 0 < churn.ci_high
    assert m.followup_rate.ci_low > 75 and 55 < m.sla_met.estimate < 85


def test_scorecard_has_the_loop_kpis(demo):
    ws, _ = demo
    card = {r["metric"]: r for r in ws.scorecard().records()}
    assert {"followup_rate", "time_to_contact", "sla_met", "recovery_rate"} <= set(card)
    assert card["recovery_rate"]["estimate"] > 70 and card["time_to_contact"]["unit"] == "hours"


def test_demo_rules_text_is_the_config():
    data = tomllib.loads(DEMO_LOOP_TOML)
    assert len(data["loop"]["rules"]) == 4
    assert demo_loop_config().rules[1].sla_hours == 24


def test_cli_writes_the_rules_to_a_new_config(tmp_path, monkeypatch, capsys):
    from cxray.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["demo", "--customers", "300", "--months", "3", "--loop"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "the closed loop" in out and "written to cxray.toml (created)" in out
    config = load_program_config(tmp_path / "cxray.toml")
    assert config.loop == demo_loop_config()
    with Workspace.open(tmp_path / "cxray.duckdb", tmp_path / "cxray.toml") as ws:
        ws.loop.check()  # the written rules hold against the store
        assert ws.loop.run(deliver=False).new_alerts == 0  # nothing new to fire


def test_demo_without_loop_has_no_followups(tmp_path):
    with Workspace.open(tmp_path / "d.duckdb", tmp_path / "cxray.toml") as ws:
        report = ws.load_demo(customers=200, months=2)
        assert report.loop is None
        assert ws.table("followups").count().to_pyarrow().as_py() == 0
        assert "followup_recovers_detractors" not in {e.name for e in report.effects}
        assert "followup_rate" not in {r["metric"] for r in ws.scorecard().records()}
