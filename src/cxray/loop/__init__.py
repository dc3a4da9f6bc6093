"""Layer 5, acting: the closed loop (``docs/loop.md``).

Rules in ``cxray.toml`` (``[[loop.rules]]``) watch new responses, cases and mentions, KPIs
and emerging case issues; what fires becomes an alert, a follow-up for a person or team
(worked in the Inbox: open, contacted, resolved or closed without contact, every change
kept), and notifications by e-mail, signed webhook or Slack-compatible webhook, written to
an outbox with what triggered them and delivered with retries. :class:`Loop`
(``Workspace.loop``) runs it; :mod:`cxray.loop` also measures whether following up paid off.
"""

from cxray.loop._conditions import evaluate, to_filter
from cxray.loop._delivery import DeliveryReport, deliver, webhook_secret
from cxray.loop._demo import DEMO_LOOP_TOML, LoopDemoReport, demo_loop_config
from cxray.loop._demo import simulate as simulate_demo
from cxray.loop._engine import Loop, RunReport
from cxray.loop._followups import STATUSES, Followups
from cxray.loop._measure import COMPARABLE, LoopMeasures, Recovery
from cxray.loop._messages import sign, verify_signature
from cxray.loop._records import Trigger, alert_id, followup_id, message_id
from cxray.loop._runner import LoopRunner

__all__ = [
    "COMPARABLE",
    "DEMO_LOOP_TOML",
    "STATUSES",
    "DeliveryReport",
    "Followups",
    "Loop",
    "LoopDemoReport",
    "LoopMeasures",
    "LoopRunner",
    "Recovery",
    "RunReport",
    "Trigger",
    "alert_id",
    "deliver",
    "demo_loop_config",
    "evaluate",
    "followup_id",
    "message_id",
    "sign",
    "simulate_demo",
    "to_filter",
    "verify_signature",
    "webhook_secret",
]
