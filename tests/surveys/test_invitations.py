"""Invitation lists drawn from the store: touchpoints, the fatigue rule, churn, one per customer."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings, create_app
from cxray.app import create_app as create_site
from cxray.exceptions import QueryError
from cxray.store import INVITATIONS
from cxray.workspace import Workspace
from tests._serve import free_port

QUESTIONS = """
[[surveys.{name}.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
"""
SURVEYS = {
    "after_case": 'touchpoint = "case_resolved"\nlanguages = ["en", "de"]',
    "after_case_too": 'touchpoint = "case_resolved"',
    "delivered": 'touchpoint = "order_delivered"',
    "ordered": 'touchpoint = "order_placed"',
    "checkout": 'touchpoint = "event:checkout"',
    "relationship": 'touchpoint = "relationship"',
}
NOW = dt.datetime(2026, 3, 11, 9, 0)
MARCH_10 = {"since": dt.datetime(2026, 3, 10), "until": dt.datetime(2026, 3, 11)}


def _config(fatigue_days: int = 30) -> str:
    parts = [f'[surveys]\nfatigue_days = {fatigue_days}\nbase_url = "https://cx.example.com"\n']
    for name, settings in SURVEYS.items():
        parts.append(
            f'[surveys.{name}]\ntitle = "{name}"\n{settings}\n' + QUESTIONS.format(name=name)
        )
    return "\n".join(parts)


def _world(ws: Workspace) -> None:
    ws.import_frame(
        "customers",
        pd.DataFrame(
            {
                "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
                "created_at": ["2025-01-01", "2025-06-01", "2025-01-01", "2025-01-01",
                               "2025-01-01", "2026-03-10 12:00"],
                "email": ["a@x.example", "b@x.example", "", "d@x.example", None, "f@x.example"],
                # C4 left before NOW; C5 leaves after it
                "churned_at": [None, None, None, "2026-02-01", "2026-04-01", None],
            }
        ),
    )  # fmt: skip
    ws.import_frame(
        "cases",
        pd.DataFrame(
            {
                "case_id": ["K1", "K2", "K3", "K4", "K5", "K6", "K7"],
                "customer_id": ["C1", "C1", "C2", "C3", "C4", "C5", "C2"],
                "opened_at": ["2026-03-01"] * 7,
                "resolved_at": ["2026-03-10 08:00", "2026-03-10 20:00", "2026-03-10 00:00",
                                "2026-03-10 12:00", "2026-03-10 13:00", "2026-03-10 14:00",
                                "2026-03-11 00:00"],
            }
        ),
    )  # fmt: skip
    ws.import_frame(
        "orders",
        pd.DataFrame(
            {
                "order_id": ["O1", "O2", "O3"],
                "customer_id": ["C1", "C2", "C3"],
                "ordered_at": ["2026-03-05", "2026-03-10 10:00", "2026-03-10 11:00"],
                "amount": [10.0, 20.0, 30.0],
                "delivered_at": ["2026-03-10 09:00", None, "2026-03-12"],
            }
        ),
    )
    ws.import_frame(
        "events",
        pd.DataFrame(
            {
                "event_id": ["E1", "E2", "E3"],
                "customer_id": ["C2", "C3", "C1"],
                "timestamp": ["2026-03-10 07:00", "2026-03-10 16:00", "2026-03-10 17:00"],
                "touchpoint": ["checkout", "checkout", "login"],
            }
        ),
    )


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    db, cfg = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    cfg.write_text(_config(), encoding="utf-8")
    with Workspace.open(db, cfg) as ws:
        _world(ws)
    return db, cfg


@pytest.fixture
def ws(paths) -> Workspace:
    with Workspace.open(*paths) as w:
        yield w


def _who(invitees) -> list[tuple[str, str | None]]:
    return [(i.customer_id, i.context) for i in invitees]


def _stored(ws: Workspace) -> list[dict]:
    return ws.store.backend.table(INVITATIONS).to_pyarrow().to_pylist()


@pytest.mark.parametrize(
    ("survey", "expected"),
    [
        # the latest resolution per customer; C4 churned; C5 churns only later; K7 is the 11th
        ("after_case", [("C1", "case:K2"), ("C5", "case:K6"), ("C3", "case:K4"),
                        ("C2", "case:K3")]),
        ("delivered", [("C1", "order:O1")]),  # O2 not delivered, O3 delivered the 12th
        ("ordered", [("C3", "order:O3"), ("C2", "order:O2")]),
        ("checkout", [("C3", "event:E2"), ("C2", "event:E1")]),  # E3 is another touchpoint
        # everyone who was a customer before the window ended, newest first, less the churned
        ("relationship", [("C6", None), ("C2", None), ("C1", None), ("C3", None), ("C5", None)]),
    ],
)  # fmt: skip
def test_each_touchpoint_draws_its_customers(ws, survey, expected):
    assert _who(ws.surveys.invite(survey, **MARCH_10, now=NOW, dry_run=True)) == expected
    assert _stored(ws) == []  # a dry run stores nothing


def test_require_email_and_limit(ws):
    got = ws.surveys.invite("after_case", **MARCH_10, now=NOW, require_email=True, dry_run=True)
    assert _who(got) == [("C1", "case:K2"), ("C2", "case:K3")]  # C3 "", C5 none
    assert _who(ws.surveys.invite("after_case", **MARCH_10, now=NOW, limit=2, dry_run=True)) == [
        ("C1", "case:K2"),
        ("C5", "case:K6"),
    ]


def test_a_customer_who_churns_is_never_invited_after(ws):
    later = NOW + dt.timedelta(days=30)  # C5 has churned by then
    got = ws.surveys.invite("after_case", **MARCH_10, now=later, dry_run=True)
    assert [c for c, _ in _who(got)] == ["C1", "C3", "C2"]


def test_the_fatigue_rule_counts_every_survey(ws):
    first = ws.surveys.invite("after_case", **MARCH_10, now=NOW, limit=2)
    assert [i.customer_id for i in first] == ["C1", "C5"]
    rows = _stored(ws)
    assert sorted(r["customer_id"] for r in rows) == ["C1", "C5"]
    assert {r["created_at"] for r in rows} == {NOW}
    assert {r["expires_at"] for r in rows} == {NOW + dt.timedelta(days=14)}
    # another survey, same touchpoint: those just asked are left out
    again = ws.surveys.invite("after_case_too", **MARCH_10, now=NOW + dt.timedelta(days=1))
    assert [i.customer_id for i in again] == ["C3", "C2"]
    # over 30 days after the first ones: C1 may be asked again (C5 has churned), not C2/C3
    day30 = NOW + dt.timedelta(days=30, minutes=1)
    assert _who(ws.surveys.invite("relationship", **MARCH_10, now=day30, dry_run=True)) == [
        ("C6", None),
        ("C1", None),
    ]
    day30 = NOW + dt.timedelta(days=30)  # 30 days to the minute: still too soon
    assert _who(ws.surveys.invite("relationship", **MARCH_10, now=day30, dry_run=True)) == [
        ("C6", None)
    ]
    assert ws.surveys.invitation_counts("after_case") == {"invited": 2, "sent": 0, "responded": 0}
    assert ws.surveys.invitation_counts("after_case_too")["invited"] == 2


def test_no_fatigue_when_it_is_zero(tmp_path):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(_config(fatigue_days=0), encoding="utf-8")
    with Workspace.open(tmp_path / "cx.duckdb", cfg) as ws:
        _world(ws)
        a = ws.surveys.invite("after_case", **MARCH_10, now=NOW)
        b = ws.surveys.invite("after_case_too", **MARCH_10, now=NOW)
        assert [i.customer_id for i in a] == [i.customer_id for i in b] == ["C1", "C5", "C3", "C2"]
        assert len(_stored(ws)) == 8


def test_each_invitation_is_signed_for_its_customer(ws):
    issued = ws.surveys.invite("after_case", **MARCH_10, now=dt.datetime.now(dt.UTC), limit=3)
    assert len({i.invitation_id for i in issued}) == 3
    for inv in issued:
        assert inv.link == f"https://cx.example.com/s/after_case?t={inv.token}"
        checked = ws.surveys.verify_token("after_case", inv.token)
        assert (checked.invitation_id, checked.customer_id) == (inv.invitation_id, inv.customer_id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": dt.datetime(2026, 3, 11), "until": dt.datetime(2026, 3, 11)}, "window is empty"),
        ({**MARCH_10, "language": "fr"}, "not offered in 'fr' (languages: en, de)"),
    ],
)
def test_bad_requests_store_nothing(ws, kwargs, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        ws.surveys.invite("after_case", now=NOW, **kwargs)
    assert _stored(ws) == []


def test_api_invite_with_an_unreachable_smtp_server_stores_nothing(paths, monkeypatch):
    monkeypatch.setenv("CXRAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXRAY_SMTP_PORT", str(free_port()))  # nothing listens there
    with Workspace.open(*paths) as ws:
        key = ApiKeys(ws.store).create("analyst")[1]
    app = create_app(paths[0], paths[1], settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(
            "/api/surveys/after_case/invitations",
            json={"since": "2026-03-10", "until": "2026-03-11", "send": True},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code >= 400 and "cannot reach the SMTP server" in r.text
        assert _stored(client.app.state.cx.ws) == []


def test_an_invitation_opens_in_its_language(paths):
    with Workspace.open(*paths) as ws:
        (inv,) = ws.surveys.invite(
            "after_case", **MARCH_10, now=dt.datetime.now(dt.UTC), limit=1, language="de"
        )
    with TestClient(create_site(paths[0], paths[1]), raise_server_exceptions=False) as client:
        page = client.get(inv.link.removeprefix("https://cx.example.com"))
        assert page.status_code == 200
        assert '<html lang="de">' in page.text
