"""What a notification says: Slack's incoming-webhook JSON, the webhook signature.

The Slack payload is checked against the shape Slack documents for incoming webhooks
and Block Kit, written out here from that documentation (not from cxray's code):

- an incoming webhook takes a message payload: ``text`` (the fallback shown in
  notifications and where blocks cannot be shown) and ``blocks`` (at most 50 layout
  blocks); further keys are ``attachments``, ``thread_ts``, ``mrkdwn``;
- a ``section`` block has ``type: "section"`` and a ``text`` text object (at most 3,000
  characters) and/or ``fields`` (at most 10 text objects, each at most 2,000 characters),
  optionally ``block_id`` (at most 255 characters), ``accessory`` and ``expand``;
- a ``context`` block has ``type: "context"`` and ``elements``: 1 to 10 image elements or
  text objects, optionally ``block_id``;
- a text object is ``{"type": "plain_text" | "mrkdwn", "text": ...}`` with 1 to 3,000
  characters; ``emoji`` belongs to ``plain_text`` only, ``verbatim`` to ``mrkdwn`` only;
- in ``mrkdwn``, ``&``, ``<`` and ``>`` are control characters: text that is not a link or
  a mention must carry them as ``&amp;``, ``&lt;`` and ``&gt;``; a link is ``<url|label>``,
  and ``<!channel>``, ``<!here>``, ``<@U123>`` notify people.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from cxray.loop import sign, verify_signature
from cxray.store import OUTBOX
from tests.loop.conftest import RESPONSES, rows

MESSAGE_KEYS = {"text", "blocks", "attachments", "thread_ts", "mrkdwn"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def check_text_object(obj: dict, where: str) -> None:
    assert isinstance(obj, dict), where
    assert obj.get("type") in TEXT_TYPES, f"{where}: type {obj.get('type')!r}"
    allowed = {"type", "text"} | ({"emoji"} if obj["type"] == "plain_text" else {"verbatim"})
    assert set(obj) <= allowed, f"{where}: keys {sorted(obj)}"
    text = obj.get("text")
    assert isinstance(text, str) and 1 <= len(text) <= 3000, f"{where}: {len(text or '')} chars"


def check_slack_message(payload: dict) -> None:
    """Slack's documented incoming-webhook message with Block Kit sections and contexts."""
    assert isinstance(payload, dict) and set(payload) <= MESSAGE_KEYS, sorted(payload)
    assert isinstance(payload.get("text"), str) and payload["text"], "text: the fallback"
    blocks = payload.get("blocks")
    assert isinstance(blocks, list) and 1 <= len(blocks) <= 50
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        assert isinstance(block, dict) and isinstance(block.get("type"), str), where
        if "block_id" in block:
            assert isinstance(block["block_id"], str) and len(block["block_id"]) <= 255
        if block["type"] == "section":
            assert set(block) <= {"type", "text", "fields", "block_id", "accessory", "expand"}
            assert "text" in block or "fields" in block, f"{where}: needs text or fields"
            if "text" in block:
                check_text_object(block["text"], f"{where}.text")
            for j, f in enumerate(block.get("fields", [])):
                check_text_object(f, f"{where}.fields[{j}]")
                assert len(f["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        elif block["type"] == "context":
            assert set(block) <= {"type", "elements", "block_id"}
            elements = block.get("elements")
            assert isinstance(elements, list) and 1 <= len(elements) <= 10, where
            for j, e in enumerate(elements):
                if e.get("type") == "image":
                    assert set(e) <= {"type", "image_url", "alt_text", "slack_file"}
                else:
                    check_text_object(e, f"{where}.elements[{j}]")
        else:
            raise AssertionError(f"{where}: cxray sends section and context blocks only")


def mrkdwn_texts(payload: dict) -> list[str]:
    out = []
    for b in payload["blocks"]:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        else:
            out += [e["text"] for e in b["elements"] if e.get("type") == "mrkdwn"]
    return out


SLACK_RULE = """
[surveys]
base_url = "https://cx.hearthwell.example"

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
team = "care"
notify = ["slack:https://hooks.slack.example/services/T000/B000/XXXX"]
"""


def test_the_slack_payload_is_slacks_documented_message(open_ws):
    ws = open_ws(SLACK_RULE)
    ws.import_frame("responses", RESPONSES)
    messages = rows(ws, OUTBOX)
    assert len(messages) == 3
    for m in messages:
        assert m["channel"] == "slack"
        payload = json.loads(m["payload"])
        check_slack_message(payload)
        assert [b["type"] for b in payload["blocks"]] == ["section", "context"]
        section, link = mrkdwn_texts(payload)
        assert section.startswith("*detractors: Response R")  # the title in bold
        assert "rule `detractors`" in section and "Follow-up FU-" in section
        assert re.fullmatch(
            r"<https://cx\.hearthwell\.example/inbox\?followup=FU-[0-9a-f]{12}\|Open in cxray>",
            link,
        )


def test_customer_text_cannot_mention_link_or_overflow_in_slack(open_ws):
    ws = open_ws(SLACK_RULE)
    hostile = (
        "<!channel> <!here> <@U024BE7LH> Tom & Jerry <https://evil.example|click here> "
        "a > b < c &amp; " + "very long " * 600
    )
    ws.import_frame("responses", RESPONSES.iloc[:1].assign(comment=[hostile]))
    (m,) = rows(ws, OUTBOX)
    payload = json.loads(m["payload"])
    check_slack_message(payload)  # within 3,000 characters despite a 6,000-character comment
    section = mrkdwn_texts(payload)[0]
    # the only control sequence left is cxray's own link, in the context block
    assert "<" not in section and ">" not in section
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U024BE7LH&gt; Tom &amp; Jerry" in section
    assert "&lt;https://evil.example|click here&gt; a &gt; b &lt; c &amp;amp;" in section
    assert section.endswith("…") and len(section) <= 3000
    assert "<" not in payload["text"] and ">" not in payload["text"]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    secret, body, ts = b"s3cret", b'{"event":"alert.fired"}', 1764755400
    want = hmac.new(secret, b"1764755400." + body, hashlib.sha256).hexdigest()
    assert sign(secret, ts, body) == f"sha256={want}"
    sig = sign(secret, ts, body)
    assert verify_signature(secret, str(ts), body, sig, now=ts + 10)
    assert verify_signature(secret, ts, body, sig, now=ts - 299)
    assert not verify_signature(secret, ts, body, sig, now=ts + 301)  # replayed later
    assert not verify_signature(secret, ts, body, sig.replace("sha256=", "sha1="), now=ts)
    assert not verify_signature(secret, "yesterday", body, sig, now=ts)
    assert not verify_signature(secret, ts, body, "", now=ts)
