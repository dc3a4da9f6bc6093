"""HubSpot tickets → ``cases``: the CRM v3 objects API JSON, or the tickets view CSV export.

API: ``GET /crm/v3/objects/tickets?properties=...&associations=contacts`` returns
``{"results": [{"id", "properties": {...}, "associations": {...}}], "paging": ...}``
with property values as text (https://developers.hubspot.com/docs/api/crm/tickets,
https://knowledge.hubspot.com/properties/hubspots-default-ticket-properties). The CSV
export writes the properties' labels as its header (``Ticket ID``, ``Ticket status``,
``Create date``, ...). See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import head_text, parse_iso, to_json_text
from cxray.ingest.vendors._more import (
    csv_header,
    csv_records,
    has_columns,
    is_json,
    json_items,
    stage,
    text,
)

__all__ = ["HubSpotSource"]

#: the stages of HubSpot's default support pipeline ("0"); other pipelines keep their ids
DEFAULT_STAGES = {"1": "new", "2": "waiting on contact", "3": "waiting on us", "4": "closed"}
#: ``source_type`` values → the contract's channel
CHANNEL = {"email": "email", "chat": "chat", "phone": "phone", "form": "web"}
#: properties read into contract columns
_READ = frozenset(
    {
        "createdate",
        "closed_date",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "hs_ticket_category",
        "subject",
        "content",
        "source_type",
        "hubspot_owner_id",
        "first_agent_reply_date",
    }
)
#: CSV labels read into contract columns
_CSV = {
    "ticket id": "case_id",
    "create date": "opened_at",
    "close date": "resolved_at",
    "ticket status": "status",
    "priority": "priority",
    "category": "category",
    "ticket name": "subject",
    "ticket description": "description",
    "ticket owner": "agent",
    "first agent email response date": "first_response_at",
}
#: CSV association columns that list people by name and e-mail (personal data)
_CSV_PERSONAL = frozenset({"associated contact"})


class HubSpotSource(Source):
    name = "hubspot"
    description = "HubSpot tickets: CRM v3 objects API JSON or the tickets view CSV export"
    tables = frozenset({"cases"})
    suffixes = (".json", ".jsonl", ".ndjson", ".csv", ".json.gz", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        t = head_text(head)
        if t.lstrip()[:1] in ("[", "{"):
            return '"hs_pipeline_stage"' in t and '"properties"' in t
        return has_columns(csv_header(t), "Ticket ID", "Ticket status", "Create date")

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        records, rows = _from_api(path) if is_json(path) else _from_csv(path)
        stage(ctx, target, path, records, rows)


def _from_api(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    tickets, _ = json_items(
        path, "HubSpot ticket", ("results",), "tickets", lambda o: "properties" in o
    )
    records, rows = [], []
    for row, t in tickets:
        props = t.get("properties")
        if not isinstance(props, dict):
            raise SourceError(
                f"{path.name}: ticket {row} has no 'properties' object; not a HubSpot CRM "
                "objects API export"
            )
        pipeline = text(props.get("hs_pipeline"))
        stage_id = text(props.get("hs_pipeline_stage"))
        status = DEFAULT_STAGES.get(stage_id or "") if pipeline in (None, "0") else None
        opened = props.get("createdate")
        rec: dict[str, Any] = {
            "case_id": text(t.get("id")) or text(props.get("hs_object_id")),
            "customer_id": _first_contact(t),
            "opened_at": opened,
            "first_response_at": props.get("first_agent_reply_date")
            or _after(opened, props.get("time_to_first_agent_reply")),
            "resolved_at": props.get("closed_date"),
            "status": status or stage_id,
            "priority": (text(props.get("hs_ticket_priority")) or "").lower() or None,
            "category": text(props.get("hs_ticket_category")),
            "channel": CHANNEL.get((text(props.get("source_type")) or "").lower()),
            "subject": text(props.get("subject")),
            "description": text(props.get("content")),
            "agent": text(props.get("hubspot_owner_id")),
            "pipeline": pipeline,
            "pipeline_stage": stage_id,
            "source_type": text(props.get("source_type")),
        }
        for key, value in props.items():
            if key not in _READ and key not in ("hs_pipeline", "hs_object_id"):
                rec[key] = value
        for key in ("createdAt", "updatedAt", "archived"):
            if key in t:
                rec[key] = t[key]
        assoc = t.get("associations")
        if isinstance(assoc, dict):
            for kind, listed in assoc.items():
                results = listed.get("results") if isinstance(listed, dict) else None
                if isinstance(results, list):
                    ids = [text(r.get("id")) for r in results if isinstance(r, dict)]
                    rec[f"associated_{kind}"] = to_json_text(ids)
        records.append(rec)
        rows.append(row)
    return records, rows


def _first_contact(ticket: dict[str, Any]) -> str | None:
    assoc = ticket.get("associations")
    contacts = assoc.get("contacts") if isinstance(assoc, dict) else None
    results = contacts.get("results") if isinstance(contacts, dict) else None
    if isinstance(results, list) and results and isinstance(results[0], dict):
        return text(results[0].get("id"))
    return None


def _after(opened: Any, millis: Any) -> str | None:
    """``createdate`` plus ``time_to_first_agent_reply`` (milliseconds), when both are there."""
    start = parse_iso(opened)
    try:
        ms = float(millis) if millis not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if start is None or ms is None:
        return None
    return (start + timedelta(milliseconds=ms)).isoformat()


def _from_csv(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    header, raw, rows = csv_records(path, "HubSpot", "tickets")
    ids = next((h for h in header if h.strip().lower() == "associated contact ids"), None)
    records = []
    for r in raw:
        rec: dict[str, Any] = {}
        for col, value in r.items():
            key = col.strip().lower()
            if key in _CSV:
                rec[_CSV[key]] = value
            elif key in _CSV_PERSONAL:
                continue
            elif col != ids:
                rec[col] = value
        first = (r.get(ids) or "").split(";")[0].strip() if ids else ""
        rec["customer_id"] = first or None
        for key in ("status", "priority"):
            if rec.get(key):
                rec[key] = rec[key].strip().lower()
        source = r.get(next((h for h in header if h.strip().lower() == "source"), "")) or ""
        rec["channel"] = CHANNEL.get(source.strip().lower())
        if ids:
            rec["associated_contacts"] = to_json_text(
                [s.strip() for s in (r.get(ids) or "").split(";") if s.strip()]
            )
        records.append(rec)
    return records, rows
