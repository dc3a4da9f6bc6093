"""KPI and emerging-issue rules: on the demo world's planted effects and a made shift.

The demo world plants a product fault: a faulty battery batch makes ``product_defect``
cases spike in June 2026 (``cxray.demo`` effect ``product_fault_spike``). An
emerging-issue rule must fire on it, once, with its follow-up; KPI rules fire per period
and per slice of ``by``, for ``when = "action"`` (worse than the action threshold) and
``when = "significant_change"`` (a tested change from the previous period).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxray.loop import alert_id
from cxray.store import ALERTS, FOLLOWUPS, OUTBOX
from cxray.workspace import Workspace
from tests.loop.conftest import counts, rows

DEMO_RULES = """
[[loop.rules]]
name = "emerging"
on = "emerging"
period = "month"
team = "quality"
notify = ["webhook:http://127.0.0.1:9/hook"]

[[loop.rules]]
name = "fcr-action"
on = "kpi"
metric = "fcr"
by = "channel"
period = "month"
action = "followup"
team = "support"
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo world (2,000 customers, 24 months to 2026-10-31) and its planted effects."""
    folder = tmp_path_factory.mktemp("demo")
    db, cfg = folder / "demo.duckdb", folder / "cxray.toml"
    cfg.write_text(DEMO_RULES, encoding="utf-8")
    with Workspace.open(db, cfg) as ws:
        report = ws.load_demo(customers=2_000, months=24)
    effects = {e.name: e for e in report.effects}
    return db, cfg, effects


def test_the_product_fault_spike_fires_one_emerging_issue(demo):
    db, cfg, effects = demo
    month = effects["product_fault_spike"].details["month"]
    assert month == "2026-06"
    with Workspace.open(db, cfg) as ws:
        latest = ws.loop.run(deliver=False, sources=["emerging"])
        # without backfill only the latest period is looked at: June is long past
        assert not any("2026-06" in a["subject"] for a in rows(ws, ALERTS, rule="emerging"))
        report = ws.loop.run(backfill=True, deliver=False, sources=["emerging"])
        assert report.errors == {}
        subjects = {a["subject"] for a in rows(ws, ALERTS, rule="emerging")}
        assert f"emerging:product_defect:{month}" in subjects
        aid = alert_id("emerging", f"emerging:product_defect:{month}")
        (alert,) = rows(ws, ALERTS, alert_id=aid)
        details = json.loads(alert["details"])
        assert details["category"] == "product_defect" and details["period"] == month
        assert details["ratio"] > 3 and details["q_value"] < 0.05 and details["examples"]
        assert alert["title"].startswith(f"Emerging issue: product_defect in {month}")
        (fu,) = rows(ws, FOLLOWUPS, alert_id=aid)
        assert (fu["team"], fu["status"], fu["customer_id"]) == ("quality", "open", None)
        (msg,) = rows(ws, OUTBOX, alert_id=aid)
        payload = json.loads(msg["payload"])
        assert payload["alert"]["subject"] == f"emerging:product_defect:{month}"
        # again, with or without backfill: nothing new
        before = counts(ws)
        assert ws.loop.run(backfill=True, deliver=False, sources=["emerging"]).new_alerts == 0
        assert ws.loop.run(deliver=False, sources=["emerging"]).new_alerts == 0
        assert counts(ws) == before
        assert latest.rules == 2


def test_a_kpi_rule_fires_per_period_and_slice_worse_than_its_action_threshold(demo):
    db, cfg, _ = demo
    with Workspace.open(db, cfg) as ws:
        th = ws.config.threshold("fcr")
        card = ws.scorecard(by=["channel"], period="month", metrics=["fcr"]).to_frame()
        acting = card[(card["status"] == "action") & ~card["suppressed"].fillna(False)]
        want = {f"kpi:fcr:channel={r.channel}:{r.period}" for r in acting.itertuples()}
        assert want, "the demo world should have months of FCR below its action threshold"
        latest = max(card["period"])
        ws.loop.run(deliver=False, sources=["kpi"])
        got = {a["subject"] for a in rows(ws, ALERTS, rule="fcr-action")}
        assert got == {s for s in want if s.endswith(latest)}  # only the latest period
        ws.loop.run(backfill=True, deliver=False, sources=["kpi"])
        got = {a["subject"] for a in rows(ws, ALERTS, rule="fcr-action")}
        assert got == want  # every period, every channel, once
        one = rows(ws, ALERTS, rule="fcr-action")[0]
        details = json.loads(one["details"])
        assert details["metric"] == "fcr" and details["action_threshold"] == th.action
        assert details["estimate"] < th.action and "channel" in details
        fus = rows(ws, FOLLOWUPS, rule="fcr-action")
        assert len(fus) == len(want) and {f["team"] for f in fus} == {"support"}
        assert ws.loop.run(backfill=True, deliver=False, sources=["kpi"]).new_alerts == 0


def test_a_significant_change_fires_for_the_slice_that_changed(tmp_path):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text(
        """
[[loop.rules]]
name = "nps-shift"
on = "kpi"
metric = "nps"
when = "significant_change"
by = "region"
period = "month"
route_by = "region"
routes = { West = "wes", "*" = "team:cx" }
""",
        encoding="utf-8",
    )
    rng = np.random.default_rng(7)
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(400)],
            "created_at": "2025-01-01",
            "region": ["West", "East"] * 200,
        }
    )
    answers = []
    for m, month in enumerate(["2026-04", "2026-05"]):
        for i in range(400):
            dropped = m == 1 and i % 2 == 0  # West, in May
            p = [0.3, 0.3, 0.2, 0.1, 0.1] if dropped else [0.05, 0.1, 0.15, 0.3, 0.4]
            answers.append(
                {
                    "response_id": f"R{m}-{i}",
                    "submitted_at": f"{month}-10",
                    "customer_id": f"C{i}",
                    "nps": int(rng.choice([0, 4, 8, 9, 10], p=p)),
                }
            )
    with Workspace.open(tmp_path / "cx.duckdb", cfg) as ws:
        ws.import_frame("customers", customers)
        ws.import_frame("responses", pd.DataFrame(answers))
        report = ws.loop.run(backfill=True, deliver=False)
        assert report.fired == {"nps-shift": 1}
        (alert,) = rows(ws, ALERTS)
        assert alert["subject"] == "kpi:nps:region=West:2026-05"
        details = json.loads(alert["details"])
        assert details["region"] == "West" and details["change"] < -50
        assert details["q_value"] < 0.05
        assert "changed significantly" in alert["title"]
        (fu,) = rows(ws, FOLLOWUPS)
        assert (fu["owner"], fu["team"]) == ("wes", None)  # routed by the slice
        assert ws.loop.run(backfill=True, deliver=False).new_alerts == 0
