"""What a notification says: an e-mail, a Slack message, a signed webhook.

Webhooks carry the alert (and its follow-up) as JSON, with an ``Idempotency-Key`` header
(the message id: the same alert to the same target always has the same key) and a
signature over the timestamp and the body, so a receiver can check it came from this
store and drop repeats::

    X-Cxray-Timestamp: 1764755400
    X-Cxray-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

:func:`verify_signature` is the check, for receivers written in Python; ``docs/loop.md``
shows it in a few lines of any language. Slack-compatible targets get Slack's incoming
webhook JSON (``text`` and ``blocks``: a ``section`` and a ``context`` block of ``mrkdwn``
text objects), escaped and cut to Slack's limits.

A notification leaves the store for inboxes and services cxray cannot see, so it carries no
personal data: its details are masked as for a caller without the ``pii`` permission
(:class:`cxray.privacy.Masking`: a mention's author and address as ``[personal]``, e-mail
addresses, phone and card numbers in comments and subjects redacted). The customer id and
the link to the Inbox are there; a person with ``pii`` reads the rest in cxray.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from cxray.config import NotifyTarget, ProgramConfig
from cxray.privacy import Masking

__all__ = ["composer", "sign", "verify_signature"]


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Cxray-Signature`` value of a body sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    timestamp: str | int,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether a webhook is genuine: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


#: the most characters Slack takes in a text object (a section's text)
SLACK_TEXT = 3000


def _slack(text: str) -> str:
    """Text for Slack's mrkdwn: ``&``, ``<`` and ``>`` are its control characters, so a
    customer's comment can neither make a link nor mention ``<!channel>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    """A URL inside ``<url|label>``: the characters that would end it, percent-encoded."""
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis marking a cut (never inside an
    ``&amp;``-style entity)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _lines(details: dict[str, Any]) -> list[str]:
    out = []
    for k, v in details.items():
        if v is None or k.startswith("_") or isinstance(v, dict | list):
            continue
        out.append(f"{k}: {v}")
    return out


def composer(config: ProgramConfig) -> Any:
    """``compose(trigger, target, followup) -> (subject, payload)`` for this program."""
    base = config.surveys.base_url.rstrip("/")
    masking = Masking.for_caller(config, pii=False)  # a notification leaves the store

    def compose(trigger: Any, target: NotifyTarget, followup: dict | None) -> tuple[str, Any]:
        rule = trigger.rule
        shown = masking.alert(
            {"source": rule.on, "title": trigger.title, "details": dict(trigger.details or {})}
        )
        title, details = shown["title"], shown["details"]
        subject = f"[cxray] {title}"
        link = f"{base}/inbox?followup={followup['followup_id']}" if followup else f"{base}/alerts"
        facts = _lines(details)
        who = ""
        if followup:
            owner = followup.get("owner") or followup.get("team") or "unassigned"
            due = f"{followup['due_at']:%Y-%m-%d %H:%M}"
            who = f"Follow-up {followup['followup_id']} for {owner}, due {due} UTC"
        if target.kind == "email":
            body = "\n".join(
                [title, "", f"Rule: {rule.name}", f"About: {trigger.subject}"]
                + ([f"Customer: {trigger.customer_id}"] if trigger.customer_id else [])
                + (["", *facts] if facts else [])
                + (["", who] if who else [])
                + ["", link]
            )
            return subject, {"to": target.address, "subject": subject, "body": body}
        if target.kind == "slack":
            lines = [f"rule `{rule.name}` · {trigger.subject}", *facts[:8]] + ([who] if who else [])
            text = f"*{_slack(title)}*\n" + _slack("\n".join(lines))
            return subject, {
                "text": _cut(_slack(title), SLACK_TEXT),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_TEXT)}},
                    {
                        "type": "context",
                        "elements": [
                            {"type": "mrkdwn", "text": f"<{_slack_url(link)}|Open in cxray>"}
                        ],
                    },
                ],
            }
        return subject, {
            "event": "alert.fired",
            "alert": {
                "alert_id": trigger.alert_id,
                "rule": rule.name,
                "source": rule.on,
                "subject": trigger.subject,
                "customer_id": trigger.customer_id,
                "title": title,
                "details": details,
            },
            "followup": (
                None
                if not followup
                else {k: followup.get(k) for k in ("followup_id", "owner", "team", "due_at")}
            ),
            "link": link,
        }

    return compose
