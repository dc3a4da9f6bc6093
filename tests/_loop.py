"""A small demo world with the closed loop run over it: rules, alerts, follow-ups, keys.

Shared by the API, dashboard and browser tests of follow-ups and alerts (and the script
that takes their screenshots). Detractors become follow-ups routed by region (West to
the person ``ana``, the others to the team ``cx``); reopened cases go to the team
``support`` and were opened two days ago, so with their 24-hour SLA they are overdue;
emerging case issues open a follow-up for ``quality`` and notify a webhook nobody
listens on (its deliveries fail); a month whose NPS is below its action threshold
notifies by e-mail.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cxray.access import ApiKeys
from cxray.workspace import Workspace

RULES = """\
[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
action = "followup"
route_by = "region"
routes = { West = "ana", "*" = "team:cx" }

[[loop.rules]]
name = "reopened-cases"
on = "cases"
where = "reopened == true"
action = "followup"
team = "support"
sla_hours = 24

[[loop.rules]]
name = "product-spike"
on = "emerging"
period = "week"
team = "quality"
notify = ["webhook:http://127.0.0.1:9/cxray-hook"]

[[loop.rules]]
name = "nps-action"
on = "kpi"
metric = "nps"
when = "action"
period = "month"
action = "notify"
notify = ["email:cx-leads@example.com"]
"""

#: key names: the analyst owns the West's detractors
ANALYST, VIEWER, ADMIN = "ana", "vic", "root"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def build_loop_world(
    db: Path, config: Path, *, seed: int = 11, customers: int = 500, months: int = 3
) -> dict[str, str]:
    """Write the rules to ``config``, a demo world to ``db``, run the loop over it (without
    delivering) and create one key per role; ``{role: key}``."""
    config.write_text(RULES, encoding="utf-8")
    with Workspace.open(db, config) as ws:
        ws.load_demo(seed=seed, customers=customers, months=months)
        ws.loop.run(deliver=False)  # the rules are seen: later imports fire them
        now = utcnow()
        ws.loop.run(backfill=True, deliver=False, sources=["cases"], now=now - dt.timedelta(days=2))
        ws.loop.run(
            backfill=True, deliver=False, sources=["responses"], now=now - dt.timedelta(hours=3)
        )
        ws.loop.run(backfill=True, deliver=False)  # KPI and emerging-issue rules: the newest
        keys = ApiKeys(ws.store)
        return {
            "analyst": keys.create("analyst", name=ANALYST)[1],
            "viewer": keys.create("viewer", name=VIEWER)[1],
            "admin": keys.create("admin", name=ADMIN)[1],
        }
