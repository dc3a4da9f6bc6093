"""Trustpilot-style review exports (JSON or CSV) → ``mentions``.

JSON: the Business API's reviews list, ``{"reviews": [{"id", "createdAt", "stars",
"title", "text", "language", "consumer": {"id", "displayName", "displayLocation"},
"referenceId", "location", "companyReply", "tags", ...}]}``
(https://developers.trustpilot.com/business-units-api-(private)#get-a-business-unit's-reviews).
CSV: a review export whose header names those fields, either as the API does
(``id, createdAt, stars, title, text, consumerName, referenceId, location``) or as the
Business app's download does (``Review ID``, ``Review Created (UTC)``, ``Review Stars``,
``Review Title``, ``Review Content``, ``Consumer Name``, ``Reference Id``, ``Location``).
The reviewer's name is the mention's ``author`` (personal data); their e-mail is not kept.
See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import flatten, head_text, to_json_text
from cxray.ingest.vendors._more import (
    csv_header,
    csv_records,
    is_json,
    json_items,
    stage,
    text,
)
from cxray.schema import normalize_column_name

__all__ = ["TrustpilotSource"]

#: CSV header (normalized) → contract column or kept name, for both header styles
_CSV = {
    "id": "mention_id",
    "review_id": "mention_id",
    "created_at": "posted_at",
    "review_created_utc": "posted_at",
    "stars": "rating",
    "review_stars": "rating",
    "title": "title",
    "review_title": "title",
    "text": "text",
    "review_content": "text",
    "consumer_name": "author",
    "consumer_display_name": "author",
    "reference_id": "customer_id",
    "location": "location",
    "language": "language",
    "review_language": "language",
}
#: personal data with no contract column: not kept
_PERSONAL = frozenset({"consumer_email", "referral_email", "email"})
_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_SNIFF_JSON = re.compile(r'"stars"\s*:\s*\d')


class TrustpilotSource(Source):
    name = "trustpilot"
    description = "Trustpilot-style review export (Business API JSON, or CSV)"
    tables = frozenset({"mentions"})
    suffixes = (".json", ".jsonl", ".csv", ".json.gz", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        t = head_text(head)
        if t.lstrip()[:1] in ("[", "{"):
            return bool(_SNIFF_JSON.search(t)) and '"consumer"' in t and '"createdAt"' in t
        header = {normalize_column_name(h) for h in csv_header(t)}
        return ("stars" in header or "review_stars" in header) and (
            "created_at" in header or "review_created_utc" in header
        )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        records, rows = _from_json(path) if is_json(path) else _from_csv(path)
        stage(ctx, target, path, records, rows)


def _from_json(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    reviews, _ = json_items(
        path, "Trustpilot review", ("reviews",), "reviews", lambda o: "stars" in o
    )
    records = []
    for _, r in reviews:
        consumer = r.get("consumer") if isinstance(r.get("consumer"), dict) else {}
        rec: dict[str, Any] = {
            "mention_id": text(r.get("id")),
            "posted_at": r.get("createdAt"),
            "text": text(r.get("text")) or text(r.get("title")),
            "rating": r.get("stars"),
            "author": text(consumer.get("displayName")),
            "customer_id": text(r.get("referenceId")),
            "platform": "trustpilot",
            "title": text(r.get("title")),
            "consumer_id": text(consumer.get("id")),
            "location": text(r.get("location")) or text(consumer.get("displayLocation")),
        }
        for key, value in r.items():
            if (
                key
                in (
                    "id",
                    "createdAt",
                    "text",
                    "title",
                    "stars",
                    "consumer",
                    "referenceId",
                    "location",
                )
                or normalize_column_name(key) in _PERSONAL
            ):
                continue
            if key == "tags" and isinstance(value, list):
                rec["tags"] = to_json_text(value)
            else:
                rec.update(flatten({key: value}, "", depth=2))
        records.append(rec)
    return records, [row for row, _ in reviews]


def _from_csv(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    _, raw, rows = csv_records(path, "Trustpilot", "reviews")
    records = []
    for r in raw:
        rec: dict[str, Any] = {"platform": "trustpilot"}
        for col, value in r.items():
            key = normalize_column_name(col)
            if key in _PERSONAL:
                continue
            if key.endswith("_utc") and value and not _ZONED.search(value):
                value = f"{value.strip()}+00:00"  # the header says the time is UTC
            rec[_CSV.get(key, col)] = value
        if not text(rec.get("text")):
            rec["text"] = rec.get("title")
        records.append(rec)
    return records, rows
