"""Intercom conversations (REST API JSON) → ``cases``, and their ratings → ``responses``.

``GET /conversations`` (or the search endpoint) returns
``{"type": "conversation.list", "conversations": [...]}``; each conversation has
Unix-second times, its ``source`` (first message, with its ``author``),
``statistics`` (first admin reply, closes, reopens), ``tags`` and, once the
customer rated it, a ``conversation_rating`` (1-5 stars and a remark)
(https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations).
See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import flatten, head_text, to_json_text
from cxray.ingest.vendors._more import epoch_iso, json_items, stage, text

__all__ = ["IntercomSource"]

#: Intercom's source types (the channel the conversation started in) → the contract's channel
CHANNEL = {
    "conversation": "chat",
    "email": "email",
    "push": "app",
    "facebook": "social",
    "twitter": "social",
    "instagram": "social",
    "whatsapp": "social",
    "phone_call": "phone",
    "sms": "sms",
}
_SNIFF = re.compile(r'"type"\s*:\s*"conversation(\.list)?"')
_FIELDS = frozenset(
    {
        "id",
        "type",
        "created_at",
        "updated_at",
        "waiting_since",
        "snoozed_until",
        "state",
        "priority",
        "title",
        "source",
        "contacts",
        "tags",
        "statistics",
        "conversation_rating",
        "admin_assignee_id",
        "team_assignee_id",
        "conversation_parts",
    }
)


class IntercomSource(Source):
    name = "intercom"
    description = "Intercom conversations (REST API JSON): cases, and ratings as CSAT responses"
    tables = frozenset({"cases", "responses"})
    suffixes = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        t = head_text(head)
        return bool(_SNIFF.search(t)) and ('"statistics"' in t or '"conversation_rating"' in t)

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        conversations, _ = json_items(
            path,
            "Intercom conversation",
            ("conversations", "data"),
            "conversations",
            lambda o: o.get("type") == "conversation",
        )
        for row, c in conversations:
            if c.get("type") != "conversation" or (c.get("id") is None and "source" not in c):
                raise SourceError(
                    f"{path.name}: conversation {row} is not an Intercom conversation "
                    '(expected an object with "type": "conversation")'
                )
        customer_of = _customer_ids(conversations)
        if ctx.table.name == "cases":
            records = [_case(path, row, c, customer_of(c)) for row, c in conversations]
            stage(ctx, target, path, records, [row for row, _ in conversations])
            return
        rated = [
            (row, c)
            for row, c in conversations
            if isinstance(c.get("conversation_rating"), dict)
            and c["conversation_rating"].get("rating") is not None
        ]
        if not rated:
            raise SourceError(
                f"{path.name}: no rated conversations to import into responses "
                f"({len(conversations)} conversation(s), none with a conversation_rating)"
            )
        if len(rated) < len(conversations):
            ctx.skipped = len(conversations) - len(rated)
            ctx.skipped_reason = "conversations without a rating"
        records = [_rating(path, row, c, customer_of(c)) for row, c in rated]
        stage(ctx, target, path, records, [row for row, _ in rated])


def _contact(c: dict[str, Any]) -> dict[str, Any]:
    contacts = c.get("contacts")
    if isinstance(contacts, dict):
        contacts = contacts.get("contacts")
    if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict):
        return contacts[0]
    return {}


def _author(c: dict[str, Any]) -> dict[str, Any]:
    source = c.get("source") if isinstance(c.get("source"), dict) else {}
    author = source.get("author")
    return author if isinstance(author, dict) else {}


def _customer_ids(conversations: list[tuple[int, dict[str, Any]]]) -> Any:
    """One kind of id for the whole file: the contact's ``external_id`` (your user id) when
    any conversation has one, else Intercom's contact id, else the source author's id."""
    kinds = (
        lambda c: text(_contact(c).get("external_id")),
        lambda c: text(_contact(c).get("id")),
        lambda c: (
            text(_author(c).get("id"))
            if _author(c).get("type") in ("user", "lead", "contact")
            else None
        ),
    )
    for kind in kinds:
        if any(kind(c) for _, c in conversations):
            return kind
    return lambda c: None


def _case(path: Path, row: int, c: dict[str, Any], customer: str | None) -> dict[str, Any]:
    where = {"file": path.name, "row": row}
    stats = c.get("statistics") if isinstance(c.get("statistics"), dict) else None
    source = c.get("source") if isinstance(c.get("source"), dict) else {}
    state = text(c.get("state"))
    rec: dict[str, Any] = {
        "case_id": text(c.get("id")),
        "customer_id": customer,
        "opened_at": epoch_iso(c.get("created_at"), unit=1, column="created_at", **where),
        "channel": CHANNEL.get(str(source.get("type") or "").lower()),
        "status": state,
        "priority": text(c.get("priority")),
        "subject": text(source.get("subject")) or text(c.get("title")),
        "description": text(source.get("body")),
        "team": text(c.get("team_assignee_id")),
        "agent": text(c.get("admin_assignee_id")),
        "updated_at": epoch_iso(c.get("updated_at"), unit=1, column="updated_at", **where),
        "source_type": text(source.get("type")),
        "source_delivered_as": text(source.get("delivered_as")),
        "source_url": text(source.get("url")),
        "author_type": text(_author(c).get("type")),
        "author_id": text(_author(c).get("id")),
        "contact_id": text(_contact(c).get("id")),
        "contact_external_id": text(_contact(c).get("external_id")),
    }
    tags = c.get("tags")
    if isinstance(tags, dict):
        tags = tags.get("tags")
    if isinstance(tags, list):
        rec["tags"] = to_json_text([t.get("name") if isinstance(t, dict) else t for t in tags])
    if stats is not None:
        rec["first_response_at"] = epoch_iso(
            stats.get("first_admin_reply_at"),
            unit=1,
            column="statistics.first_admin_reply_at",
            **where,
        )
        closed = epoch_iso(
            stats.get("last_close_at"), unit=1, column="statistics.last_close_at", **where
        )
        rec["resolved_at"] = closed if state == "closed" else None
        reopens = stats.get("count_reopens")
        rec["reopened"] = reopens > 0 if isinstance(reopens, int) else None
        for key, value in stats.items():
            if key == "type":
                continue
            if key.endswith("_at") and isinstance(value, int):
                value = epoch_iso(value, unit=1, column=f"statistics.{key}", **where)
            rec[f"statistics_{key}"] = value
    rating = c.get("conversation_rating")
    if isinstance(rating, dict):
        rec["rating"] = rating.get("rating")
        rec["rating_remark"] = text(rating.get("remark"))
    for key, value in c.items():
        if key in _FIELDS:
            continue
        rec.update(flatten({key: value}, "", depth=2))
    return rec


def _rating(path: Path, row: int, c: dict[str, Any], customer: str | None) -> dict[str, Any]:
    rating = c["conversation_rating"]
    where = {"file": path.name, "row": row}
    teammate = rating.get("teammate") if isinstance(rating.get("teammate"), dict) else {}
    return {
        "response_id": text(c.get("id")),
        "submitted_at": epoch_iso(
            rating.get("created_at") or c.get("updated_at"),
            unit=1,
            column="conversation_rating.created_at",
            **where,
        ),
        "customer_id": customer,
        "survey": "intercom_conversation_rating",
        "touchpoint": "conversation_rated",
        "channel": "chat",
        "csat": rating.get("rating"),
        "comment": text(rating.get("remark")),
        "case_id": text(c.get("id")),
        "teammate_id": text(teammate.get("id")),
    }
