"""Segment calls (Segment Spec JSON Lines, a JSON array or a batch) → ``events`` or ``customers``.

``track``, ``page`` and ``screen`` calls become events; ``identify`` calls
become customers, one row per ``userId`` with their traits merged. Calls of
other types are skipped and counted. See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import (
    choose_defaults,
    flatten,
    head_text,
    load_json,
    parse_iso,
    snake,
    stage_rows,
    to_json_text,
    user_claims,
)
from cxray.schema import table_spec

__all__ = ["SegmentSource"]

log = logging.getLogger(__name__)

_TYPES = frozenset({"track", "page", "screen", "identify", "group", "alias"})
_WANTED = {"events": ("track", "page", "screen"), "customers": ("identify",)}
#: routing settings for Segment destinations, not facts about the customer
_DROPPED = frozenset({"integrations", "_metadata"})
#: fields read into contract columns (or kept under another name) for events
_EVENT_FIELDS = frozenset(
    {
        "type",
        "event",
        "name",
        "category",
        "userId",
        "anonymousId",
        "messageId",
        "timestamp",
        "properties",
        "context",
        "channel",
        "traits",
    }
)
_CREATED = frozenset({"created_at"})
_SNIFF_TYPE = re.compile(r'"type"\s*:\s*"(track|identify|page|screen|group|alias)"')
_SNIFF_ID = re.compile(r'"(messageId|anonymousId|userId)"\s*:')


class SegmentSource(Source):
    name = "segment"
    description = "Segment Spec calls (JSON Lines, JSON array or batch): events and customers"
    tables = frozenset({"events", "customers"})
    suffixes = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head)
        return bool(_SNIFF_TYPE.search(text)) and bool(_SNIFF_ID.search(text))

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        table = ctx.table.name
        calls = _calls(path)
        wanted = _WANTED[table]
        kinds = Counter(call["type"] for _, call in calls)
        usable = [(row, call) for row, call in calls if call["type"] in wanted]
        skipped = len(calls) - len(usable)
        if not usable:
            found = ", ".join(f"{n} {t}" for t, n in kinds.most_common())
            raise SourceError(
                f"{path.name}: no {' / '.join(wanted)} calls to import into {table} "
                f"(the file has: {found})"
            )
        if table == "events":
            records = [_event(call) for _, call in usable]
            rows = [row for row, _ in usable]
            columns: dict[str, None] = {}
            for r in records:
                columns.update(dict.fromkeys(r))
            renames = choose_defaults(
                columns, [("event_id", "messageId")], user_claims(ctx.mapping)
            )
        else:
            records, rows, anonymous = _customers(usable)
            skipped += anonymous
            renames = {}
            if not records:
                raise SourceError(
                    f"{path.name}: no identify calls with a userId to import into customers "
                    f"({anonymous} anonymous identify call(s) skipped)"
                )
        if skipped:
            log.info("%s: skipped %d call(s) that do not feed %s", path.name, skipped, table)
            ctx.skipped = skipped
            ctx.skipped_reason = f"calls that do not feed {table} (other types, or anonymous)"
        stage_rows(ctx.con, target, records, rows, path.name, renames)


def _calls(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every call with its row: line for JSON Lines, position for an array or batch."""
    data = load_json(path)
    out: list[tuple[int, dict[str, Any]]] = []

    def add(value: Any, row: int, where: str) -> None:
        kind = value.get("type") if isinstance(value, dict) else None
        if not isinstance(kind, str) or kind.strip().lower() not in _TYPES:
            raise SourceError(
                f"{path.name}, {where}: not a Segment call (expected an object whose 'type' is "
                "track, page, screen, identify, group or alias)"
            )
        value = {**value, "type": kind.strip().lower()}
        out.append((row, value))

    for line, value in data.values:
        if isinstance(value, dict) and isinstance(value.get("batch"), list):
            value = value["batch"]
        if isinstance(value, list):
            for item in value:
                add(item, len(out) + 1, f"call {len(out) + 1}")
        elif data.lines:
            add(value, line, f"line {line}")
        else:
            add(value, 1, "call 1")
    if not out:
        raise SourceError(f"{path.name}: the file has no Segment calls")
    return out


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value if isinstance(value, str) else str(value)


def _event(call: dict[str, Any]) -> dict[str, Any]:
    kind = call["type"]
    user, anonymous = _text(call.get("userId")), _text(call.get("anonymousId"))
    rec: dict[str, Any] = {
        "messageId": _text(call.get("messageId")),
        "customer_id": user or anonymous,
        "timestamp": call.get("timestamp")
        or call.get("originalTimestamp")
        or call.get("sentAt")
        or call.get("receivedAt"),
    }
    if kind == "track":
        event = _text(call.get("event"))
        rec["touchpoint"] = snake(event) if event else None
        rec["event"] = event
    else:
        rec["touchpoint"] = f"{kind}_viewed"
        rec["name"] = call.get("name")
        rec["category"] = call.get("category")
    rec["channel"] = _channel(call)
    rec["type"] = kind
    rec["user_id"] = user
    rec["anonymous_id"] = anonymous
    if call.get("channel") is not None:
        rec["segment_channel"] = call["channel"]
    for key, value in call.items():
        if key in _EVENT_FIELDS or key in _DROPPED:
            continue
        rec.update(flatten({key: value}, "", depth=2))
    if isinstance(call.get("properties"), dict):
        rec.update(flatten(call["properties"], "prop", depth=2))
    if isinstance(call.get("context"), dict):
        rec.update(flatten(call["context"], "context", depth=2))
    return rec


def _channel(call: dict[str, Any]) -> str | None:
    """The contract's channel: ``context.channel`` if set, else ``app`` or ``web`` where clear."""
    context = call.get("context") if isinstance(call.get("context"), dict) else {}
    if _text(context.get("channel")):
        return str(context["channel"])
    device = context.get("device") if isinstance(context.get("device"), dict) else {}
    library = context.get("library") if isinstance(context.get("library"), dict) else {}
    lib = str(library.get("name") or "").lower()
    top = str(call.get("channel") or "").lower()
    if (
        call["type"] == "screen"
        or "app" in context
        or top == "mobile"
        or str(device.get("type") or "").lower() in ("ios", "android")
    ):
        return "app"
    if (
        call["type"] == "page"
        or "page" in context
        or top == "browser"
        or lib.startswith(("analytics.js", "analytics-next"))
    ):
        return "web"
    return None


def _customers(
    calls: list[tuple[int, dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[int], int]:
    """One row per userId: traits merged (latest wins), created_at as documented.

    Returns the rows, their row numbers (the user's last identify call) and the
    number of identify calls skipped for having no userId.
    """
    spec = table_spec("customers")
    by_user: dict[str, list[tuple[float, int, int, dict[str, Any]]]] = {}
    anonymous = 0
    for order, (row, call) in enumerate(calls):
        user = _text(call.get("userId"))
        if user is None:
            anonymous += 1
            continue
        when = parse_iso(call.get("timestamp"))
        rank = when.timestamp() if when else float("-inf")
        by_user.setdefault(user, []).append((rank, order, row, call))

    records, rows = [], []
    for user, user_calls in by_user.items():
        user_calls.sort(key=lambda c: (c[0], c[1]))
        traits: dict[str, Any] = {}
        created: list[Any] = []
        anonymous_ids: dict[str, None] = {}
        for _, _, _, call in user_calls:
            raw = call.get("traits") if isinstance(call.get("traits"), dict) else {}
            for key, value in flatten(raw, "", depth=2).items():
                name = snake(key)
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if name in _CREATED:
                    created.append(value)
                else:
                    traits[name] = value
            if _text(call.get("anonymousId")):
                anonymous_ids[str(call["anonymousId"])] = None
        rec: dict[str, Any] = {"customer_id": user, "created_at": _created_at(created, user_calls)}
        for name, value in traits.items():
            if name in spec and name not in ("customer_id", "created_at"):
                rec[name] = value
            else:
                rec[f"trait_{name}"] = value
        if "name" not in rec and ("first_name" in traits or "last_name" in traits):
            parts = (traits.get("first_name"), traits.get("last_name"))
            rec["name"] = " ".join(str(p) for p in parts if p) or None
        rec["anonymous_ids"] = to_json_text(list(anonymous_ids)) if anonymous_ids else None
        records.append(rec)
        rows.append(user_calls[-1][2])
    return records, rows, anonymous


def _created_at(values: list[Any], calls: list[tuple[float, int, int, dict[str, Any]]]) -> Any:
    """The earliest ``createdAt`` trait; without one, the user's first identify timestamp.

    A ``createdAt`` that cannot be read as a time is passed on as written, so
    that validation reports it.
    """
    if values:
        parsed = [(parse_iso(v), v) for v in values]
        unreadable = [v for p, v in parsed if p is None]
        if unreadable:
            return unreadable[-1]
        return min(parsed, key=lambda pv: pv[0])[1]
    first = calls[0][3]
    return first.get("timestamp") or first.get("originalTimestamp")
