"""App store reviews → ``mentions``: Google Play console CSV and App Store Connect JSON.

Google Play: the monthly review report (*Play Console → Download reports → Reviews*, a
UTF-16 CSV ``reviews_<package>_<YYYYMM>.csv``) with ``Package Name``, ``App Version Name``,
``Reviewer Language``, ``Device``, ``Review Submit Date and Time``, ``Star Rating``,
``Review Title``, ``Review Text``, ``Developer Reply Text``, ``Review Link``
(https://support.google.com/googleplay/android-developer/answer/6135870).

App Store: ``GET /v1/apps/{id}/customerReviews`` returns ``{"data": [{"type":
"customerReviews", "id", "attributes": {"rating", "title", "body", "reviewerNickname",
"createdDate", "territory"}}]}``
(https://developer.apple.com/documentation/appstoreconnectapi/customerreview).

A rating without any written text is not a mention (``text`` is required): such rows are
left out and counted. See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cxray.exceptions import SourceError
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import head_text
from cxray.ingest.vendors._more import (
    csv_header,
    csv_records,
    epoch_iso,
    has_columns,
    json_items,
    stage,
    text,
)

__all__ = ["AppStoreSource", "GooglePlaySource"]

#: Google Play report columns read into the contract or renamed
_PLAY = {
    "review text": "text",
    "star rating": "rating",
    "review link": "url",
    "review title": "title",
    "app version name": "app_version",
    "app version code": "app_version_code",
    "reviewer language": "language",
    "package name": "package_name",
}
_UNRATED = "reviews with a star rating but no written text (a mention needs text)"


def _skip_unwritten(ctx: StageContext, kept: int, total: int) -> None:
    if kept < total:
        ctx.skipped = total - kept
        ctx.skipped_reason = _UNRATED


class GooglePlaySource(Source):
    name = "google_play"
    description = "Google Play console review report (CSV, UTF-16 as downloaded)"
    tables = frozenset({"mentions"})
    suffixes = (".csv", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        header = csv_header(head_text(head))
        return has_columns(header, "Package Name", "Star Rating", "Review Submit Date and Time")

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        header, raw, rows = csv_records(path, "Google Play review", "reviews")
        lower = {h.strip().lower(): h for h in header}
        records, kept_rows = [], []
        for row, r in zip(rows, raw, strict=True):
            get = {k: r[h] for k, h in lower.items()}
            body = text(get.get("review text")) or text(get.get("review title"))
            if body is None:
                continue
            millis = text(get.get("review submit millis since epoch"))
            posted = (
                epoch_iso(
                    millis,
                    unit=1000,
                    file=path.name,
                    row=row,
                    column="Review Submit Millis Since Epoch",
                )
                if millis
                else get.get("review submit date and time")
            )
            rec: dict[str, Any] = {
                "mention_id": _play_id(get),
                "posted_at": posted,
                "platform": "google_play",
            }
            for key, value in get.items():
                if key in _PLAY:
                    rec[_PLAY[key]] = value
                elif key not in ("review submit millis since epoch",):
                    rec[lower[key]] = value
            rec["text"] = body
            records.append(rec)
            kept_rows.append(row)
        if not records:
            raise SourceError(f"{path.name}: no reviews with text to import ({len(raw)} ratings)")
        _skip_unwritten(ctx, len(records), len(raw))
        stage(ctx, target, path, records, kept_rows)


def _play_id(get: dict[str, Any]) -> str | None:
    """The review's id from its ``Review Link`` (``reviewId=``), else package + submit time."""
    link = text(get.get("review link"))
    if link:
        query = parse_qs(urlsplit(link).query)
        for key, values in query.items():
            if key.lower() == "reviewid" and values:
                return values[0]
    package = text(get.get("package name"))
    millis = text(get.get("review submit millis since epoch"))
    return f"{package}:{millis}" if package and millis else None


_APPLE_TYPE = re.compile(r'"type"\s*:\s*"customerReviews"')


class AppStoreSource(Source):
    name = "app_store"
    description = "Apple App Store Connect customer reviews (API JSON)"
    tables = frozenset({"mentions"})
    suffixes = (".json", ".jsonl", ".json.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(_APPLE_TYPE.search(head_text(head)))

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        reviews, _ = json_items(
            path,
            "App Store Connect review",
            ("data",),
            "reviews",
            lambda o: o.get("type") == "customerReviews",
        )
        records, rows = [], []
        for row, review in reviews:
            attrs = review.get("attributes")
            if review.get("type") != "customerReviews" or not isinstance(attrs, dict):
                raise SourceError(
                    f"{path.name}: review {row} is not an App Store Connect customer review "
                    '(expected "type": "customerReviews" with "attributes")'
                )
            body = text(attrs.get("body")) or text(attrs.get("title"))
            if body is None:
                continue
            rec = {
                "mention_id": text(review.get("id")),
                "posted_at": attrs.get("createdDate"),
                "text": body,
                "rating": attrs.get("rating"),
                "author": text(attrs.get("reviewerNickname")),
                "platform": "app_store",
                "title": text(attrs.get("title")),
                "territory": text(attrs.get("territory")),
            }
            for key, value in attrs.items():
                if key not in (
                    "body",
                    "title",
                    "rating",
                    "reviewerNickname",
                    "createdDate",
                    "territory",
                ):
                    rec[key] = value
            records.append(rec)
            rows.append(row)
        if not records:
            raise SourceError(f"{path.name}: no reviews with text to import")
        _skip_unwritten(ctx, len(records), len(reviews))
        stage(ctx, target, path, records, rows)
