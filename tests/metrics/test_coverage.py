"""Honest numbers on partial data: a KPI whose inputs are missing says what to import.

``coverage`` (``cxray doctor``) and the scorecard agree: on the demo world every KPI and
analysis with data is supported; a store of cases without contacts or reopened data does
not get a first contact resolution of 100 %; an empty store is told what each KPI needs.
"""

from __future__ import annotations

import pytest

from cxray.metrics import coverage
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres

#: KPIs and analyses the demo world (without --loop) has no data for: cxray's own survey
#: collection, e-mailed invitations, the closed loop's follow-ups and rules
NOT_IN_DEMO = {
    "completion:surveys",
    "abandonment:surveys",
    "response_rate",
    "followup_rate",
    "time_to_contact",
    "sla_met",
    "recovery_rate",
    "loop",
}


def _cases(n: int = 40, contacts: bool = False) -> str:
    """``n`` cases: case i resolved after i+1 hours except every 4th (open); with
    ``contacts``, every 5th resolved case took 2 contacts."""
    head = "case_id,customer_id,opened_at,resolved_at,channel" + (",contacts" if contacts else "")
    lines = [head]
    for i in range(n):
        opened = f"2024-03-{1 + i % 28:02d}T08:00:00"
        resolved = "" if i % 4 == 3 else f"2024-03-{1 + i % 28:02d}T{9 + i % 12:02d}:00:00"
        row = f"k{i},c{i % 7},{opened},{resolved},{'email' if i % 2 else 'phone'}"
        if contacts:
            row += f",{2 if i % 5 == 0 else 1}"
        lines.append(row)
    return "\n".join(lines) + "\n"


def _rows(card, metric):
    return [s.to_dict() for s in card if s.metric == metric]


def test_demo_world_supports_everything_it_has_data_for(demo):
    cov = demo.doctor()
    assert set(cov.unsupported) == NOT_IN_DEMO
    assert {"drivers", "journeys", "churn_survival", "churn_risk", "clv", "text_themes"} <= set(
        cov.supported
    )
    d = cov.to_dict()
    assert d["tables"]["customers"] == 2000 and d["tables"]["followups"] == 0
    assert all(s["reason"] is None for s in d["kpis"] if s["supported"])
    assert all(s["reason"] for s in d["kpis"] + d["analyses"] if not s["supported"])
    # and the scorecard measures every KPI it shows (no row suppressed for missing inputs)
    card = demo.scorecard()
    assert {s.metric for s in card} == {s.name for s in cov if s.kind == "kpi" and s.supported}
    assert all(s.result.n > 0 for s in card)


def test_cases_without_contacts_or_reopened_do_not_show_fcr(ws, write):
    ws.import_files("cases", [write("cases.csv", _cases())])
    card = ws.scorecard(by=["channel"])
    fcr = _rows(card, "fcr")
    assert len(fcr) == 1  # one row for the KPI, whatever the slices
    row = fcr[0]
    assert row["suppressed"] and row["estimate"] is None and row["status"] is None
    assert row["channel"] is None and row["n"] == 0
    assert row["reason"].startswith("no contacts or reopened data")
    assert "import cases with contacts" in row["reason"]
    reply = _rows(card, "first_response_mean")[0]
    assert reply["suppressed"] and "first_response_at" in reply["reason"]
    # the resolution KPIs are measured: 30 resolved cases, case i after 1 + i % 12 hours
    got = _rows(ws.scorecard(), "resolution_mean")[0]
    hours = [1 + i % 12 for i in range(40) if i % 4 != 3]
    assert not got["suppressed"] and got["n"] == len(hours) == 30
    assert got["estimate"] == pytest.approx(sum(hours) / len(hours))
    # KPIs of tables with no rows at all are left out, not listed as missing
    assert not {"nps", "churn_rate", "clv", "health"} & {s.metric for s in card}
    cov = ws.doctor()
    assert cov.get("fcr").reason == row["reason"]
    assert cov.get("resolution_mean").supported and not cov.get("nps").supported
    assert cov.get("nps").reason.startswith("no NPS answers")
    assert cov.get("text_themes").reason.startswith("no texts")
    assert cov.get("journeys").reason.startswith("no events")


def test_fcr_measured_once_contacts_are_imported(ws, write):
    ws.import_files("cases", [write("cases.csv", _cases(contacts=True))])
    row = _rows(ws.scorecard(metrics=["fcr"]), "fcr")[0]
    resolved = [i for i in range(40) if i % 4 != 3]
    first = [i for i in resolved if i % 5 != 0]
    assert not row["suppressed"] and row["n"] == len(resolved)
    assert row["estimate"] == pytest.approx(100 * len(first) / len(resolved))
    assert ws.doctor().get("fcr").supported


def test_empty_store_names_what_each_kpi_needs(ws):
    card = ws.scorecard()
    assert len(card) == 0
    (note,) = card.notes
    assert note.startswith("nothing to measure: the store holds no data at all")
    assert "responses with nps" in note and "cxray doctor" in note
    cov = ws.doctor()
    assert cov.supported == []
    assert set(cov.to_dict()["tables"].values()) == {0}
    assert cov.get("clv").reason.startswith("no customers")


def test_nothing_measurable_names_what_is_present(ws, write):
    ws.import_files("mentions", [write("m.csv", "mention_id,posted_at,text\nm1,2024-01-01,hi\n")])
    card = ws.scorecard()
    assert len(card) == 0 and "mentions (1 rows)" in card.notes[0]
    assert ws.doctor().supported == ["text_themes"]


@needs_postgres
def test_postgres_gives_the_same_coverage_and_reasons(ws, write, tmp_path):
    ws.import_files("cases", [write("cases.csv", _cases())])
    with Workspace.open(fresh_postgres(), tmp_path / "pg.toml") as pg:
        pg.import_files("cases", [write("pg.csv", _cases())])
        assert pg.doctor().to_dict() == ws.doctor().to_dict()
        assert pg.scorecard().records() == ws.scorecard().records()
        assert coverage(pg.table, pg.config).get("fcr").reason.startswith("no contacts")
