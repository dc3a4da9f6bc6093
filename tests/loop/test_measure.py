"""Loop.measure and the loop KPIs on a small store whose every figure is counted by hand.

Eight follow-ups of the rule ``detractors`` (SLA 48 h), each opened by an NPS detractor's
response, worked in every way a follow-up can be: contacted in time (F1, F7, F8), late
(F2), closed without contact after its due time (F3) and before it (F6), never worked
(F4), and one still within its SLA at the moment of measurement (F5). The customers answer
again (or not), and one churns, so each recovery group has a known rate.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from cxray import stats
from cxray.cli import main as cli_main
from cxray.exceptions import QueryError
from cxray.loop import LoopMeasures
from cxray.loop._records import insert_rows
from cxray.store import FOLLOWUPS
from cxray.store._migrations import FOLLOWUPS_SCHEMA
from cxray.workspace import Workspace

NOW = dt.datetime(2025, 6, 1)
T = dt.datetime.fromisoformat

CONFIG = """
[measurement]
min_n = 1
"""

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [f"C{i}" for i in range(1, 10)],
        "created_at": ["2024-01-01"] * 9,
        "region": ["West", "East", "West", "East", "West", "East", "West", "East", "West"],
        # C2 leaves 18 days after its detractor answer; C3 after the 90-day horizon; C6
        # before its answer (no churn outcome)
        "churned_at": [None, "2025-03-20", "2025-07-01", None, None, "2025-01-01",
                       None, None, None],
    }
)  # fmt: skip

#: (response, customer, submitted_at, nps, csat)
_RESPONSES = [
    ("R1", "C1", "2025-03-01 10:00", 3, None),  # F1, in time
    ("R1b", "C1", "2025-03-20 10:00", 9, None),  # next: recovered
    ("R1c", "C1", "2025-04-20 10:00", 2, None),  # not the next one
    ("R2", "C2", "2025-03-02 10:00", 5, None),  # F2, late
    ("R2b", "C2", "2025-03-10 10:00", 4, None),  # next: still a detractor
    ("R3", "C3", "2025-03-03 10:00", 6, None),  # F3, closed without contact after due
    ("R3b", "C3", "2025-04-03 10:00", 8, None),  # next: recovered
    ("R4", "C4", "2025-03-04 10:00", 2, None),  # F4, never worked: no later answer
    ("R5", "C5", "2025-05-31 12:00", 1, None),  # F5, still within its SLA
    ("R6", "C6", "2025-03-05 10:00", 1, None),  # F6, closed without contact before due
    ("R6b", "C6", "2025-03-25 10:00", 3, None),  # next: still a detractor
    ("R7", "C7", "2025-03-06 10:00", 4, 1),  # F7, in time; CSAT in the bottom box
    ("R7b", "C7", "2025-03-16 10:00", 7, 4),  # next NPS 7 and next CSAT 4: recovered
    ("R8", "C8", "2025-03-07 10:00", 6, None),  # F8, in time
    ("R8a", "C8", "2025-03-07 10:00", 10, None),  # the same second, later id: the next one
    ("R8z", "C8", "2025-03-08 10:00", 0, None),
    ("R9", "C9", "2025-07-15 10:00", 9, None),  # the data end: March's horizons are over
]
RESPONSES = pd.DataFrame(
    _RESPONSES, columns=["response_id", "customer_id", "submitted_at", "nps", "csat"]
).astype({"nps": "Int64", "csat": "Int64"})

#: (follow-up, response, opened, contacted, closed, status)
_FOLLOWUPS = [
    ("F1", "R1", "2025-03-01 10:00", "2025-03-01 16:00", "2025-03-02 10:00", "resolved"),
    ("F2", "R2", "2025-03-02 10:00", "2025-03-05 10:00", None, "contacted"),
    ("F3", "R3", "2025-03-03 10:00", None, "2025-03-06 10:00", "closed_no_contact"),
    ("F4", "R4", "2025-03-04 10:00", None, None, "open"),
    ("F5", "R5", "2025-05-31 12:00", None, None, "open"),
    ("F6", "R6", "2025-03-05 10:00", None, "2025-03-05 12:00", "closed_no_contact"),
    ("F7", "R7", "2025-03-06 10:00", "2025-03-06 22:00", "2025-03-07 09:00", "resolved"),
    ("F8", "R8", "2025-03-07 10:00", "2025-03-08 16:00", None, "contacted"),
]


def _followups() -> list[dict]:
    customer = dict(zip(RESPONSES.response_id, RESPONSES.customer_id, strict=True))
    out = []
    for fid, rid, opened, contacted, closed, status in _FOLLOWUPS:
        o = T(opened)
        out.append(
            {
                "followup_id": fid,
                "alert_id": "AL-" + fid,
                "rule": "detractors",
                "customer_id": customer[rid],
                "subject": f"responses:{rid}",
                "title": f"detractor {rid}",
                "status": status,
                "opened_at": o,
                "due_at": o + dt.timedelta(hours=48),
                "contacted_at": contacted and T(contacted),
                "closed_at": closed and T(closed),
                "updated_at": o,
            }
        )
    return out


def _build(path) -> Workspace:
    (path / "cxray.toml").write_text(CONFIG)
    ws = Workspace.open(path / "m.duckdb", path / "cxray.toml")
    ws.import_frame("customers", CUSTOMERS)
    ws.import_frame("responses", RESPONSES)
    insert_rows(ws.store, FOLLOWUPS, FOLLOWUPS_SCHEMA, _followups())
    return ws


@pytest.fixture(scope="module")
def lws(tmp_path_factory):
    with _build(tmp_path_factory.mktemp("measure")) as ws:
        yield ws


@pytest.fixture(scope="module")
def m(lws) -> LoopMeasures:
    return lws.loop.measure(now=NOW)


def test_counts_and_pending(m):
    assert (m.opened, m.due, m.pending) == (8, 7, 1)
    assert m.by_status == {"closed_no_contact": 2, "contacted": 2, "open": 2, "resolved": 2}
    assert m.notes and "1 follow-ups are still within their SLA" in m.notes[0]


def test_followup_rate_and_sla_met(m):
    # due: F1-F4, F6-F8; contacted: F1, F2, F7, F8; met: F1, F6 (closed in time), F7, F8
    want = stats.proportion(4, 7, percent=True, min_n=1)
    for est in (m.followup_rate, m.sla_met):
        assert (est.estimate, est.n) == pytest.approx((400 / 7, 7))
        assert (est.ci_low, est.ci_high) == pytest.approx((want.ci_low, want.ci_high))
        assert est.method == "Wilson score" and not est.suppressed


def test_time_to_first_contact(m):
    hours = [6.0, 72.0, 12.0, 30.0]  # F1, F2, F7, F8
    assert m.time_to_contact.estimate == 21.0
    want = stats.median(hours, min_n=1)
    assert (m.time_to_contact.ci_low, m.time_to_contact.ci_high) == (want.ci_low, want.ci_high)
    assert m.time_to_contact.method.startswith("order statistics")
    assert (m.time_to_contact_mean.estimate, m.time_to_contact_mean.n) == (30.0, 4)
    assert m.time_to_contact_mean.method == "Student t"


def test_recovery_of_nps_by_group(m):
    r = m.get("nps")
    # in time: C1 -> 9, C7 -> 7, C8 -> 10 (R8a, same second, later id); late: C2 -> 4;
    # not contacted: C3 -> 8, C6 -> 3, C4 has no later answer
    counts = {"in_time": (3, 3), "late": (0, 1), "not_contacted": (1, 2)}
    for group, (x, n) in counts.items():
        assert (r.groups[group].estimate, r.groups[group].n) == pytest.approx((100 * x / n, n))
    assert r.without_outcome == {"in_time": 0, "late": 0, "not_contacted": 1}
    c = r.comparisons["not_contacted"]
    want = stats.proportion_diff((3, 3), (1, 2), percent=True, min_n=1)
    assert (c.estimate, c.ci_low, c.ci_high, c.p_value) == pytest.approx(
        (want.estimate, want.ci_low, want.ci_high, want.p_value)
    )
    assert c.method == "pooled z; Newcombe hybrid score interval"
    assert m.recovery_rate.estimate == 75.0 and m.recovery_rate.n == 4  # in time + late


def test_recovery_of_csat_and_churn(m):
    csat = m.get("csat")  # only R7 was in the bottom box; its next CSAT answer is 4
    assert (csat.groups["in_time"].estimate, csat.groups["in_time"].n) == (100.0, 1)
    assert csat.groups["late"].n == csat.groups["not_contacted"].n == 0
    churn = m.get("churn")  # C2 left within 90 days; C3 after them; C6 before its answer
    assert (churn.groups["in_time"].estimate, churn.groups["in_time"].n) == (0.0, 3)
    assert (churn.groups["late"].estimate, churn.groups["late"].n) == (100.0, 1)
    assert (churn.groups["not_contacted"].estimate, churn.groups["not_contacted"].n) == (0.0, 2)
    assert churn.without_outcome["not_contacted"] == 1 and churn.better == "lower"


def test_benjamini_hochberg_across_the_report(m):
    comps = [(r, vs, c) for r in m.recovery for vs, c in r.comparisons.items()]
    tested = [(r, vs, c) for r, vs, c in comps if not c.suppressed]
    assert len(tested) == 4  # nps and churn, each against two groups; csat has empty ones
    fdr = stats.benjamini_hochberg([c.p_value for _, _, c in tested], 0.05)
    for (r, vs, _), q, rej in zip(tested, fdr.q_values, fdr.reject, strict=True):
        assert r.q_values[vs] == pytest.approx(q)
        assert r.significant[vs] == bool(rej)
    empty = m.get("csat").comparisons["late"]
    assert empty.suppressed and empty.reason == "late: no follow-ups"


def test_window_rule_and_now(lws):
    march = lws.loop.measure("2025-03-04", "2025-03-06", now=NOW)  # F4, F6, F7
    assert (march.opened, march.due) == (3, 3)
    assert march.followup_rate.estimate == pytest.approx(100 / 3)
    later = lws.loop.measure(now=dt.datetime(2025, 7, 1))  # F5's SLA has run out too
    assert (later.due, later.pending) == (8, 0)
    assert lws.loop.measure(rule="detractors", now=NOW).opened == 8
    with pytest.raises(QueryError, match="unknown rule 'nope'; known: detractors"):
        lws.loop.measure(rule="nope")


def test_small_groups_are_suppressed(lws):
    from cxray.config import ProgramConfig
    from cxray.loop._measure import measure

    m = measure(lws.table, ProgramConfig(), now=NOW)  # min_n 30
    assert m.followup_rate.suppressed and m.followup_rate.reason.startswith("n=7 < 30")
    d = m.to_dict()
    assert d["followup_rate"]["estimate"] is None
    assert d["recovery"][0]["comparisons"][0]["estimate"] is None


def test_to_dict_is_the_documented_shape(m):
    d = json.loads(json.dumps(m.to_dict()))
    assert list(d) == ["start", "end", "rule", "as_of", "followups", "followup_rate",
                       "time_to_contact", "sla_met", "recovery_rate", "recovery", "fdr",
                       "comparable", "notes"]  # fmt: skip
    assert d["followups"] == {
        "opened": 8,
        "due": 7,
        "pending": 1,
        "by_status": {"closed_no_contact": 2, "contacted": 2, "open": 2, "resolved": 2},
    }
    assert set(d["time_to_contact"]) == {"median", "mean"}
    rec = d["recovery"][0]
    assert set(rec) == {"rule", "outcome", "definition", "better", "groups", "comparisons",
                        "without_outcome"}  # fmt: skip
    assert [c["b"] for c in rec["comparisons"]] == ["not_contacted", "late"]
    assert {"q_value", "significant", "estimate", "ci_low", "ci_high", "p_value", "n_a"} <= set(
        rec["comparisons"][0]
    )
    assert "not random" in d["comparable"]


def test_kpis_equal_the_measures(lws):
    """The scorecard's loop KPIs rest on the same rows: as of now every SLA has run out."""
    m = lws.loop.measure()
    card = {r["metric"]: r for r in lws.scorecard().records()}
    assert card["followup_rate"]["n"] == 8 and card["followup_rate"]["estimate"] == 50.0
    for name, est in (
        ("followup_rate", m.followup_rate),
        ("time_to_contact", m.time_to_contact),
        ("sla_met", m.sla_met),
        ("recovery_rate", m.recovery_rate),
    ):
        r = card[name]
        assert (r["estimate"], r["ci_low"], r["ci_high"], r["n"]) == pytest.approx(
            (est.estimate, est.ci_low, est.ci_high, est.n)
        ), name
    assert card["time_to_contact"]["unit"] == "hours" and card["sla_met"]["status"] is None


def test_kpis_by_month_and_customer_attribute(lws):
    card = lws.scorecard(by=["region"], period="month", metrics=["followup_rate", "sla_met"])
    rows = [r for r in card.records() if r["metric"] == "followup_rate"]
    # March: F1, F3, F7 West; F2, F4, F6, F8 East. May: F5 (West), due by now
    assert {(r["period"], r["region"]): (r["n"], r["estimate"]) for r in rows} == {
        ("2025-03", "West"): (3, pytest.approx(200 / 3)),
        ("2025-03", "East"): (4, 50.0),
        ("2025-05", "West"): (1, 0.0),
    }


def test_no_loop_kpis_without_followups(ws):
    ws.import_frame("responses", RESPONSES)
    metrics = {r["metric"] for r in ws.scorecard().records()}
    assert "nps" in metrics and not metrics & {"followup_rate", "sla_met", "recovery_rate"}


def test_cli_measure_json(tmp_path, capsys):
    _build(tmp_path).close()
    args = ["--db", str(tmp_path / "m.duckdb"), "--config", str(tmp_path / "cxray.toml")]
    with pytest.raises(SystemExit) as done:
        cli_main([*args, "loop", "measure", "--json", "--to", "2025-03-31"])
    assert done.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["end"] == "2025-03-31" and out["followups"]["opened"] == 7
    with pytest.raises(SystemExit) as done:
        cli_main([*args, "loop", "measure"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "follow-up rate" in text and "contacted in time minus the others" in text
