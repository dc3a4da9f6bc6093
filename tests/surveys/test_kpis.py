"""Survey KPIs on the scorecard: completion and abandonment from partial responses, response rate."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray import stats
from cxray.surveys import Invitation
from cxray.workspace import Workspace
from tests.surveys.conftest import PULSE


@pytest.fixture
def ws(tmp_path):
    with Workspace.open(tmp_path / "k.duckdb", tmp_path / "cxray.toml") as ws:
        ws.surveys.registry.save("pulse", PULSE)
        ws.surveys.registry.save("other", {**PULSE, "title": "Other"})
        yield ws


def _card(ws, **kw):
    return {(r["metric"], r.get("survey")): r for r in ws.scorecard(**kw).records()}


def test_no_survey_kpis_without_collected_responses(tmp_path):
    with Workspace.open(tmp_path / "e.duckdb", tmp_path / "cxray.toml") as ws:
        ws.import_frame(
            "responses",
            __import__("pandas").DataFrame(
                {"response_id": ["a"], "submitted_at": ["2026-01-01"], "nps": [9]}
            ),
        )
        metrics = {r["metric"] for r in ws.scorecard().records()}
    assert "nps" in metrics
    assert not metrics & {"completion:surveys", "abandonment:surveys", "response_rate"}


def test_completion_and_abandonment_count_partial_responses(ws):
    sv = ws.surveys
    for i in range(40):  # every fourth one stops after the first step
        sv.collector.collect(
            sv.prepare("pulse", {"nps": 9}, submission_id=f"s{i}", complete=i % 4 != 0)
        )
    card = _card(ws, metrics=["completion:surveys", "abandonment:surveys"])
    done, left = card[("completion:surveys", None)], card[("abandonment:surveys", None)]
    expect = stats.proportion(30, 40, percent=True)
    assert (done["n"], done["estimate"]) == (40, 75.0)
    assert done["ci_low"] == pytest.approx(expect.ci_low)
    assert done["ci_high"] == pytest.approx(expect.ci_high)
    assert left["estimate"] == 25.0 and left["n"] == 40


def test_response_rate_by_survey(ws):
    sv, con = ws.surveys, ws.store.backend.con
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    plan = {"pulse": (40, 10), "other": (30, 15)}  # sent, answered
    for survey, (sent, answered) in plan.items():
        for i in range(sent + 5):  # five more never e-mailed: not counted
            con.execute(
                "INSERT INTO _cx_invitations (invitation_id, survey, customer_id, created_at, "
                "expires_at, sent_at) VALUES (?, ?, ?, now(), now() + INTERVAL 3 DAY, ?)",
                [f"{survey}{i}", survey, f"C{i}", None if i >= sent else dt.datetime.now()],
            )
        for i in range(answered):
            token = sv.signer.sign(Invitation(f"{survey}{i}", survey, f"C{i}", soon))
            sv.collector.collect(sv.prepare(survey, {"nps": 8}, token=token))
    card = _card(ws, metrics=["response_rate"], by=["survey"])
    assert {s: (card[("response_rate", s)]["n"], card[("response_rate", s)]["estimate"])
            for s in plan} == {"pulse": (40, 25.0), "other": (30, 50.0)}  # fmt: skip
    total = _card(ws, metrics=["response_rate"])[("response_rate", None)]
    assert (total["n"], total["estimate"]) == (70, pytest.approx(100 * 25 / 70))
