"""Evidence on the demo store: each figure checked against a direct query of the file."""

from __future__ import annotations

import duckdb
import pytest

from cxray import stats
from cxray.workspace import Workspace

from .conftest import TODAY


@pytest.fixture(scope="module")
def measured(demo_world):
    db, config = demo_world
    with Workspace.open(db, config, read_only=True, create=False) as ws:
        items = {e.id: e for e in ws.maturity.evidence(today=TODAY)}
        lm = ws.loop.measure()
        followup_rate = lm.followup_rate
        ttc = lm.time_to_contact
        n_rules = len([r for r in ws.config.loop.rules if r.enabled])
    con = duckdb.connect(str(db), read_only=True)
    yield items, con, followup_rate, n_rules, ttc
    con.close()


def _one(con, sql: str):
    return con.execute(sql).fetchone()


def test_detractor_followups_match_a_direct_query(measured):
    items, con, *_ = measured
    n, k = _one(con, """
        WITH r AS (SELECT * FROM responses WHERE nps IS NOT NULL),
             d AS (SELECT r.* FROM r WHERE nps <= 6
                   AND submitted_at > (SELECT max(submitted_at) FROM r) - INTERVAL 90 DAY),
             f AS (SELECT DISTINCT subject FROM followups)
        SELECT count(*), count(f.subject) FROM d
        LEFT JOIN f ON f.subject = 'responses:' || d.response_id
    """)  # fmt: skip
    e = items["detractor_followup"]
    assert (e.figure["n"], e.figure["successes"]) == (n, k)
    assert n >= 5 and 0 < k <= n  # the demo's loop follows detractors up
    ref = stats.proportion(k, n, percent=True, min_n=5)
    assert e.figure["estimate"] == pytest.approx(100 * k / n)
    assert (e.figure["ci_low"], e.figure["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    assert e.dimension == "closed_loop" and e.implies is not None


def test_channel_coverage_matches_a_direct_query(measured):
    items, con, *_ = measured
    used = {r[0] for r in con.execute(
        "SELECT channel FROM events WHERE channel IS NOT NULL UNION "
        "SELECT channel FROM cases WHERE channel IS NOT NULL").fetchall()}  # fmt: skip
    heard = {r[0] for r in con.execute(
        "SELECT DISTINCT channel FROM responses WHERE channel IS NOT NULL").fetchall()}  # fmt: skip
    e = items["channel_coverage"]
    assert e.figure["n"] == len(used) and e.figure["successes"] == len(used & heard)
    assert e.detail["without_feedback"] == sorted(used - heard)
    assert e.figure["method"].lower().startswith("wilson")


def test_loop_figures(measured):
    items, con, followup_rate, n_rules, ttc = measured
    total, owned = _one(con, "SELECT count(*), count(*) FILTER (WHERE coalesce(owner, '') <> '' "
                        "OR coalesce(team, '') <> '') FROM followups")  # fmt: skip
    e = items["followups_owned"]
    assert (e.figure["n"], e.figure["successes"]) == (total, owned) and total > 0
    r = items["followup_rate"]
    assert r.figure["estimate"] == pytest.approx(followup_rate.estimate)
    assert r.figure["n"] == followup_rate.n
    t = items["time_to_contact"]  # the same median and exact interval as cxray loop measure
    assert (t.figure["estimate"], t.figure["ci_low"], t.figure["ci_high"], t.figure["n"]) == (
        pytest.approx(ttc.estimate),
        pytest.approx(ttc.ci_low),
        pytest.approx(ttc.ci_high),
        ttc.n,
    )
    rules = items["alert_rules"]
    assert rules.figure["estimate"] == n_rules == 4
    # the demo watches responses and emerging issues, not predicted churn: Proactive
    assert rules.implies == 2 and "emerging" in rules.detail["watching"]


def test_store_figures(measured):
    items, con, *_ = measured
    latest = [_one(con, f"SELECT max({c})::DATE FROM {t}")[0] for t, c in (
        ("customers", "created_at"), ("responses", "submitted_at"), ("cases", "opened_at"),
        ("orders", "ordered_at"), ("events", "timestamp"), ("mentions", "posted_at"))]  # fmt: skip
    stalest = max((TODAY - d).days for d in latest if d is not None)
    f = items["data_freshness"]
    assert f.figure["estimate"] == stalest and f.detail["today"] == TODAY.isoformat()
    assert items["tables_integrated"].figure["estimate"] == 6
    assert items["predictive_models"].figure["estimate"] == 0  # no model fitted in the demo
    assert items["response_rate"].implies is None  # no invitations sent: not measured
    assert "no survey invitations" in items["response_rate"].reason
    j = items["journeys_measured"]
    assert j.detail["measured"] == ["checkout"] and j.implies == 1


def test_kpis_with_targets_are_the_measurable_kpis_with_a_target(demo_world, measured):
    items, *_ = measured
    db, config = demo_world
    with Workspace.open(db, config, read_only=True, create=False) as ws:
        kpis = [s for s in ws.doctor() if s.kind == "kpi"]
        targets = ws.config.targets
    measurable = [s.name for s in kpis if s.supported]
    with_target = [
        k for k in measurable if getattr(getattr(targets, k.split(":")[0], None), "target", None)
        is not None
    ]  # fmt: skip
    assert items["kpis_measurable"].figure["n"] == len(kpis)
    assert items["kpis_measurable"].figure["successes"] == len(measurable)
    e = items["kpis_with_targets"]
    assert e.detail["with_target"] == with_target and "nps" in with_target
    assert (e.figure["successes"], e.figure["n"]) == (len(with_target), len(measurable))
