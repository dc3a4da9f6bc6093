"""Zendesk Support incremental ticket export (JSON, or JSON Lines of pages) → ``cases``.

A page is ``{"tickets": [...], "end_of_stream": ..., ...}``; with
``include=metric_sets`` each ticket carries its ``metric_set`` (first reply,
resolution, reopens, ...), or the page lists them in ``metric_sets`` by
``ticket_id``. An incremental export lists a ticket again each time it
changed, so only its last version is kept. See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
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
    stage_rows,
    to_json_text,
    user_claims,
)

__all__ = ["ZendeskSource"]

log = logging.getLogger(__name__)

_DEFAULTS = (
    ("case_id", "id"),
    ("customer_id", "requester_id"),
    ("opened_at", "created_at"),
    ("channel", "via_channel"),
    ("category", "type"),
    ("team", "group_id"),
    ("agent", "assignee_id"),
)
_RESOLVED = frozenset({"solved", "closed"})
#: ``fields`` repeats ``custom_fields`` in every ticket; the latter is kept
_DUPLICATES = frozenset({"fields"})
_SNIFF = re.compile(r'^\s*\{\s*"(tickets|metric_sets)"\s*:\s*\[')


class ZendeskSource(Source):
    name = "zendesk"
    description = "Zendesk Support incremental ticket export (JSON or JSON Lines of pages)"
    tables = frozenset({"cases"})
    suffixes = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head)
        if not _SNIFF.match(text):
            return False
        return any(k in text for k in ('"requester_id"', '"end_of_stream"', "/api/v2/"))

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        tickets, metrics = _tickets(path)
        latest = _last_versions(tickets)
        if len(latest) < len(tickets):
            ctx.skipped = len(tickets) - len(latest)
            ctx.skipped_reason = "earlier versions of tickets that the export holds again later"
            log.info(
                "%s: %d ticket versions, %d tickets: kept the last version of each",
                path.name,
                len(tickets),
                len(latest),
            )
        claims = user_claims(ctx.mapping)
        records = []
        rows = []
        for position, ticket in latest:
            metric = ticket.get("metric_set")
            if not isinstance(metric, dict):
                metric = metrics.get(str(ticket.get("id")))
            records.append(_record(ticket, metric))
            rows.append(position)
        columns: dict[str, None] = {}
        for r in records:
            columns.update(dict.fromkeys(r))
        renames = choose_defaults(columns, _DEFAULTS, claims)
        stage_rows(ctx.con, target, records, rows, path.name, renames)


def _tickets(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Every ticket with its position in the export, and side-loaded metric sets by ticket."""
    data = load_json(path)
    tickets: list[tuple[int, dict[str, Any]]] = []
    metrics: dict[str, dict[str, Any]] = {}

    def where(line: int) -> str:
        return f"{path.name}, line {line}" if data.lines else path.name

    for line, page in data.values:
        if isinstance(page, list):  # a bare array of tickets
            page = {"tickets": page}
        if not isinstance(page, dict) or not isinstance(page.get("tickets"), list):
            if isinstance(page, dict) and "id" in page and "created_at" in page and data.lines:
                page = {"tickets": [page]}  # one ticket per line
            else:
                raise SourceError(
                    f"{where(line)}: not a Zendesk ticket export (expected an object with a "
                    "'tickets' array, as GET /api/v2/incremental/tickets returns)"
                )
        for ticket in page["tickets"]:
            if not isinstance(ticket, dict):
                raise SourceError(f"{where(line)}: ticket {len(tickets) + 1} is not a JSON object")
            tickets.append((len(tickets) + 1, ticket))
        for metric in page.get("metric_sets") or []:
            if isinstance(metric, dict) and metric.get("ticket_id") is not None:
                metrics[str(metric["ticket_id"])] = metric
    if not tickets:
        raise SourceError(f"{path.name}: the Zendesk export has no tickets")
    return tickets, metrics


def _last_versions(
    tickets: list[tuple[int, dict[str, Any]]],
) -> list[tuple[int, dict[str, Any]]]:
    """The last version of each ticket: latest ``updated_at``, then latest position."""
    best: dict[str, tuple[tuple[float, int], int, dict[str, Any]]] = {}
    for position, ticket in tickets:
        tid = ticket.get("id")
        key = f"#{position}" if tid is None else str(tid)  # no id: validation reports it
        updated = parse_iso(ticket.get("updated_at"))
        rank = (updated.timestamp() if updated else float("-inf"), position)
        if key not in best or rank >= best[key][0]:
            best[key] = (rank, position, ticket)
    return sorted(((p, t) for _, p, t in best.values()), key=lambda pt: pt[0])


def _record(ticket: dict[str, Any], metric: dict[str, Any] | None) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for key, value in ticket.items():
        if key == "metric_set" or key in _DUPLICATES:
            continue
        if key == "custom_fields" and isinstance(value, list):
            for field in value:
                if isinstance(field, dict) and "id" in field:
                    v = field.get("value")
                    rec[f"custom_field_{field['id']}"] = (
                        to_json_text(v) if isinstance(v, dict | list) else v
                    )
            continue
        if isinstance(value, dict):
            rec.update(flatten(value, key, depth=1))
        elif isinstance(value, list):
            rec[key] = to_json_text(value)
        else:
            rec[key] = value
    if metric:
        own = {k: v for k, v in metric.items() if k != "ticket_id"}  # ticket_id = case_id
        rec.update(flatten(own, "metric", depth=2))
    for key, value in rec.items():
        if (key == "id" or key.endswith("_id")) and isinstance(value, int):
            rec[key] = str(value)  # IDs are strings
    rec.update(_derived(ticket, metric))
    return rec


def _derived(ticket: dict[str, Any], metric: dict[str, Any] | None) -> dict[str, Any]:
    """first_response_at, resolved_at and reopened from the ticket's metric set."""
    if not metric:
        return {}
    out: dict[str, Any] = {}
    opened = parse_iso(ticket.get("created_at"))
    minutes = (metric.get("reply_time_in_minutes") or {}).get("calendar")
    seconds = (metric.get("reply_time_in_seconds") or {}).get("calendar")
    if opened is not None and isinstance(seconds, int | float):
        out["first_response_at"] = (opened + timedelta(seconds=seconds)).isoformat()
    elif opened is not None and isinstance(minutes, int | float):
        out["first_response_at"] = (opened + timedelta(minutes=minutes)).isoformat()
    else:
        out["first_response_at"] = None
    status = str(ticket.get("status") or "").lower()
    out["resolved_at"] = metric.get("solved_at") if status in _RESOLVED else None
    reopens = metric.get("reopens")
    out["reopened"] = reopens > 0 if isinstance(reopens, int) else None
    return out
