"""Freshdesk tickets → ``cases``: the API v2 ticket list (JSON) or the Tickets view CSV export.

API: ``GET /api/v2/tickets?include=stats,requester`` returns a JSON array of
tickets whose ``status``, ``priority`` and ``source`` are numeric codes and whose
``stats`` hold the first response, resolution, closing and reopening times
(https://developers.freshdesk.com/api/#list_all_tickets). The CSV export of the
Tickets view (*Tickets → Export*) writes names and local times instead.
See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import first_filled, flatten, head_text, to_json_text
from cxray.ingest.vendors._more import (
    csv_header,
    csv_records,
    has_columns,
    is_json,
    json_items,
    lookup,
    stage,
    text,
)

__all__ = ["FreshdeskSource"]

#: https://developers.freshdesk.com/api/#ticket_attributes
STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
SOURCE = {
    1: "email",
    2: "portal",
    3: "phone",
    4: "forum",
    5: "twitter",
    6: "facebook",
    7: "chat",
    8: "mobihelp",
    9: "feedback widget",
    10: "outbound email",
}
#: the contract's channel for each Freshdesk source
CHANNEL = {
    "email": "email",
    "outbound email": "email",
    "portal": "web",
    "feedback widget": "web",
    "forum": "web",
    "phone": "phone",
    "chat": "chat",
    "twitter": "social",
    "facebook": "social",
    "mobihelp": "app",
}
_RESOLVED = frozenset({"resolved", "closed"})
#: the requester's contact details: personal data the cases table has no column for
_PERSONAL = frozenset({"name", "email", "phone", "mobile"})
_CSV_PERSONAL = frozenset({"full_name", "email", "work_phone", "mobile_phone", "phone"})
_SNIFF_JSON = re.compile(r"^\s*[\[{]")


class FreshdeskSource(Source):
    name = "freshdesk"
    description = "Freshdesk tickets: API v2 ticket list (JSON) or the Tickets view CSV export"
    tables = frozenset({"cases"})
    suffixes = (".json", ".jsonl", ".ndjson", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        t = head_text(head)
        if _SNIFF_JSON.match(t):
            return '"requester_id"' in t and ('"fr_due_by"' in t or '"fr_escalated"' in t)
        header = csv_header(t)
        return has_columns(header, "Ticket ID", "Created time") and (
            has_columns(header, "Resolved time") or has_columns(header, "Due by Time")
        )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        records, rows = _from_api(path) if is_json(path) else _from_csv(path)
        stage(ctx, target, path, records, rows)


def _from_api(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    tickets, _ = json_items(
        path, "Freshdesk ticket", ("results",), "tickets", lambda o: "requester_id" in o
    )
    if not any("fr_due_by" in t or "fr_escalated" in t for _, t in tickets):
        raise SourceError(
            f"{path.name}: not a Freshdesk ticket export (its tickets have no 'fr_due_by' or "
            "'fr_escalated', which GET /api/v2/tickets returns for every ticket)"
        )
    records, rows = [], []
    for row, t in tickets:
        where = {"file": path.name, "row": row}
        status_code = t.get("status")
        status = (
            lookup(STATUS, status_code, column="status", what="Freshdesk status", **where)
            if not (isinstance(status_code, int) and status_code > 5)
            else f"custom_{status_code}"  # a custom status keeps its id
        )
        source = lookup(SOURCE, t.get("source"), column="source", what="Freshdesk source", **where)
        stats = t.get("stats") if isinstance(t.get("stats"), dict) else None
        rec: dict[str, Any] = {
            "case_id": text(t.get("id")),
            "customer_id": text(t.get("requester_id")),
            "opened_at": t.get("created_at"),
            "channel": CHANNEL.get(source or ""),
            "status": status,
            "priority": lookup(
                PRIORITY, t.get("priority"), column="priority", what="Freshdesk priority", **where
            ),
            "category": text(t.get("type")),
            "subject": text(t.get("subject")),
            "description": text(t.get("description_text")),
            "team": text(t.get("group_id")),
            "agent": text(t.get("responder_id")),
            "source": source,
        }
        if stats is not None:
            rec["first_response_at"] = stats.get("first_responded_at")
            done = stats.get("resolved_at") or stats.get("closed_at")
            rec["resolved_at"] = done if status in _RESOLVED else None
            rec["reopened"] = stats.get("reopened_at") is not None
        for key, value in t.items():
            if key in (
                "id",
                "requester_id",
                "created_at",
                "status",
                "priority",
                "source",
                "type",
                "subject",
                "description",
                "description_text",
                "group_id",
                "responder_id",
            ):
                continue
            if key == "requester" and isinstance(value, dict):
                kept = {k: v for k, v in value.items() if k not in _PERSONAL}
                rec.update(flatten(kept, "requester", depth=1))
            elif key == "tags" and isinstance(value, list):
                rec["tags"] = to_json_text(value)
            elif isinstance(value, dict):
                rec.update(flatten(value, key, depth=1))
            else:
                rec.update(flatten({key: value}, "", depth=1))
        for key, value in list(rec.items()):
            if key.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
                rec[key] = str(value)
        records.append(rec)
        rows.append(row)
    return records, rows


#: Tickets view CSV columns read into the contract (the rest are attributes)
_CSV = {
    "Ticket ID": "case_id",
    "Created time": "opened_at",
    "Initial response time": "first_response_at",
    "Status": "status",
    "Priority": "priority",
    "Type": "category",
    "Subject": "subject",
    "Description": "description",
    "Group": "team",
    "Agent": "agent",
}


def _from_csv(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    header, raw, rows = csv_records(path, "Freshdesk", "tickets")
    by_norm = {h.strip().lower(): h for h in header}
    customer = first_filled([by_norm[c] for c in ("contact id", "email") if c in by_norm], raw)
    records = []
    for r in raw:
        rec: dict[str, Any] = {}
        for col, value in r.items():
            target = next((t for s, t in _CSV.items() if s.lower() == col.lower()), None)
            if target is not None:
                rec[target] = value.strip() if isinstance(value, str) else value
            elif col == customer:
                rec["customer_id"] = value
            elif col.strip().lower().replace(" ", "_") in _CSV_PERSONAL:
                continue  # the requester's contact details (personal data)
            else:
                rec[col] = value
        for key in ("status", "priority"):
            if rec.get(key):
                rec[key] = rec[key].lower()
        source = (r.get(by_norm.get("source", "")) or "").strip().lower()
        rec["channel"] = CHANNEL.get(source)
        status = rec.get("status") or ""
        resolved = r.get(by_norm.get("resolved time", "")) or r.get(by_norm.get("closed time", ""))
        rec["resolved_at"] = resolved if status in _RESOLVED else None
        records.append(rec)
    return records, rows
