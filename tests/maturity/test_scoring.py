"""Scoring: a known set of answers gives the levels worked out by hand; evidence caps a
claim and a disagreement says so; the roadmap goes quick wins first."""

from __future__ import annotations

import pytest

from cxray.maturity import DIMENSIONS, LEVELS, PHASES, Evidence, assess, level_of
from cxray.maturity._evidence import implied_level

ANSWERS = {
    # leadership: (3 + 3 + 2) / 3 = 2.667 -> Predictive (>= 2.25)
    "leadership_strategy.vision": 3,
    "leadership_strategy.owner": 3,
    "leadership_strategy.review": 2,
    # insight: (1 + 1 + 0) / 3 = 0.667 -> Reactive (< 0.75)
    "customer_insight.listening": 1,
    "customer_insight.unsolicited": 1,
    "customer_insight.sharing": 0,
    # journeys: (1 + 2 + 1) / 3 = 1.333 -> Responsive
    "journey_management.mapped": 1,
    "journey_management.measured": 2,
    "journey_management.design": 1,
    # measurement: one answer, 2 -> Proactive
    "measurement.kpis": 2,
    # closed loop: (3 + 3 + 3) / 3 = 3 -> Predictive
    "closed_loop.followup": 3,
    "closed_loop.alerts": 3,
    "closed_loop.inner_loop": 3,
    # culture and technology: not answered
}


def test_levels_from_answers_by_hand():
    a = assess(ANSWERS, [])
    got = {d.id: (d.stated_score, d.level) for d in a.dimensions}
    assert got["leadership_strategy"] == (pytest.approx(8 / 3), "Predictive")
    assert got["customer_insight"] == (pytest.approx(2 / 3), "Reactive")
    assert got["journey_management"] == (pytest.approx(4 / 3), "Responsive")
    assert got["measurement"] == (2.0, "Proactive")
    assert got["closed_loop"] == (3.0, "Predictive")
    assert got["culture_employees"] == (None, None)
    assert got["technology_data"] == (None, None)
    # overall: the mean of the five scored dimensions
    overall = (8 / 3 + 2 / 3 + 4 / 3 + 2 + 3) / 5  # 1.933
    assert a.overall_score == pytest.approx(overall)
    assert a.overall_level == "Proactive"
    body = a.to_dict()
    assert body["overall"]["experience"] == "Intentional"
    assert body["overall"]["temkin_stages"] == ["Adapt"]
    assert body["overall"]["dimensions_scored"] == 5
    assert body["disagreements"] == []  # no evidence, nothing to disagree with


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "Reactive"), (0.7499, "Reactive"), (0.75, "Responsive"), (1.4999, "Responsive"),
     (1.5, "Proactive"), (2.2499, "Proactive"), (2.25, "Predictive"), (3, "Predictive")],
)  # fmt: skip
def test_level_bands(score, level):
    assert level_of(score).name == level


def test_model_shape():
    assert [lv.name for lv in LEVELS] == ["Reactive", "Responsive", "Proactive", "Predictive"]
    assert len(DIMENSIONS) == 7
    ids = [q.id for d in DIMENSIONS for q in d.questions]
    assert len(ids) == len(set(ids)) and all(len(d.questions) >= 3 for d in DIMENSIONS)
    assert all(len(q.options) == 4 for d in DIMENSIONS for q in d.questions)
    stages = [s for lv in LEVELS for s in lv.temkin_stages]
    assert stages == ["Ignore", "Explore", "Expand", "Adapt", "Embed", "Engage"]


def _ev(id: str, dimension: str, implies: int | None, k: int = 12, n: int = 100) -> Evidence:
    fig = {"estimate": 100 * k / n, "ci_low": 1.0, "ci_high": 2.0, "n": n, "method": "Wilson",
           "unit": "%"}  # fmt: skip
    return Evidence(id, dimension, "NPS detractors with a follow-up", fig, implies)


def test_evidence_caps_the_claim_and_the_disagreement_is_reported():
    ev = [_ev("detractor_followup", "closed_loop", 0), _ev("alert_rules", "closed_loop", 1)]
    a = assess(ANSWERS, ev)
    loop = a.dimension("closed_loop")
    assert loop.stated_score == 3.0
    assert loop.evidence_score == pytest.approx(0.5)  # (0 + 1) / 2
    assert loop.score == pytest.approx(0.5) and loop.level == "Reactive"  # the lower of the two
    msgs = [d for d in a.disagreements if d["dimension"] == "closed_loop"]
    assert [d["evidence"] for d in msgs] == ["detractor_followup", "alert_rules"]
    first = msgs[0]
    assert first["direction"] == "answers_higher"
    assert first["stated_level"] == "Predictive" and first["evidence_level"] == "Reactive"
    assert first["message"].startswith("you answered Predictive for closed loop and action, but")
    assert "12.0 % [1.0, 2.0], n=100" in first["message"]


def test_agreeing_evidence_is_not_a_disagreement_and_low_claims_are_flagged_too():
    # measurement stated 2 (Proactive): evidence at Proactive agrees, Predictive is higher
    ev = [_ev("kpis_measurable", "measurement", 2), _ev("x", "customer_insight", 3)]
    a = assess(ANSWERS, ev)
    assert [d["evidence"] for d in a.disagreements] == ["x"]
    assert a.disagreements[0]["direction"] == "evidence_higher"
    # stated insight 0.667 (Reactive), evidence 3: the lower one counts
    assert a.dimension("customer_insight").score == pytest.approx(2 / 3)


def test_evidence_only_assessment_scores_from_evidence():
    a = assess({}, [_ev("a", "technology_data", 3), _ev("b", "technology_data", 2),
                    _ev("c", "technology_data", None)])  # fmt: skip
    t = a.dimension("technology_data")
    assert t.stated_score is None and t.evidence_score == pytest.approx(2.5)
    assert t.level == "Predictive" and a.overall_level == "Predictive"
    assert a.disagreements == []


def test_roadmap_is_ordered_by_phase_then_least_mature():
    a = assess(ANSWERS, [])
    phases = [PHASES.index(s.phase) for s in a.roadmap]
    assert phases == sorted(phases) and a.roadmap
    scores = {d.id: d.score for d in a.dimensions}
    for p in set(phases):
        dims = [scores[s.dimension] for s in a.roadmap if PHASES.index(s.phase) == p]
        assert dims == sorted(dims)
    # the least mature dimension (insight, Reactive) gets its Reactive-level steps
    insight = [s.text for s in a.roadmap if s.dimension == "customer_insight"]
    assert "Import the survey responses you already have" in insight
    assert a.roadmap[0].phase == "quick_win"
    assert all(s.dimension not in ("culture_employees", "technology_data") for s in a.roadmap)


@pytest.mark.parametrize(
    ("item", "value", "level"),
    [("detractor_followup", 24.9, 0), ("detractor_followup", 25, 1), ("detractor_followup", 80, 3),
     ("time_to_contact", 100, 0), ("time_to_contact", 48, 2), ("time_to_contact", 3, 3),
     ("data_freshness", 34, 1), ("data_freshness", 7, 3), ("tables_integrated", 6, 3)],
)  # fmt: skip
def test_implied_level_cut_offs(item, value, level):
    assert implied_level(item, value) == level
