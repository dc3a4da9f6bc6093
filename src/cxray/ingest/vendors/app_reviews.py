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

import hashlib
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
    is_json,
    json_items,
    stage,
    text,
)
from cxray.schema import normalize_column_name

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
    description = "Apple App Store reviews: App Store Connect API JSON, or a review CSV"
    tables = frozenset({"mentions"})
    suffixes = (".json", ".jsonl", ".json.gz", ".csv", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        t = head_text(head)
        if t.lstrip()[:1] in ("[", "{"):
            return bool(_APPLE_TYPE.search(t))
        # a review CSV is only claimed when it names Apple's own fields; a bare
        # date,title,review,rating file needs --source app_store
        header = {normalize_column_name(h) for h in csv_header(t)}
        return (
            "rating" in header
            and "title" in header
            and bool(header & {"territory", "reviewer_nickname"})
        )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        if not is_json(path):
            _app_store_csv(path, target, ctx)
            return
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


#: App Store review CSV columns (normalized) → contract column or kept name
_APPLE_CSV = {
    "id": "mention_id",
    "review_id": "mention_id",
    "date": "posted_at",
    "created_date": "posted_at",
    "review_date": "posted_at",
    "rating": "rating",
    "stars": "rating",
    "star_rating": "rating",
    "title": "title",
    "review_title": "title",
    "review": "text",
    "body": "text",
    "review_text": "text",
    "reviewer_nickname": "author",
    "nickname": "author",
    "territory": "territory",
    "app_version": "app_version",
    "version": "app_version",
}


def _app_store_csv(path: Path, target: str, ctx: StageContext) -> None:
    """A CSV of App Store reviews: id (or none), date, rating, title, review text, ...

    Review lists gathered outside App Store Connect often have no review id; the id is then
    ``app_store:`` and the first 16 hex digits of the SHA-256 of date, title and text, so
    that the same review imported again replaces itself.
    """
    header, raw, rows = csv_records(path, "App Store review", "reviews")
    names = {h: _APPLE_CSV.get(normalize_column_name(h), h) for h in header}
    missing = {"posted_at", "rating"} - set(names.values())
    if "text" not in names.values() and "title" not in names.values():
        missing.add("text")
    if missing:
        raise SourceError(
            f"{path.name}: not an App Store review CSV: no column for "
            f"{', '.join(sorted(missing))} (header: {', '.join(header)})"
        )
    records, kept = [], []
    for row, r in zip(rows, raw, strict=True):
        rec: dict[str, Any] = {"platform": "app_store"}
        for col, value in r.items():
            rec[names[col]] = value
        rec["text"] = text(rec.get("text")) or text(rec.get("title"))
        if rec["text"] is None:
            continue
        if not text(rec.get("mention_id")) and "mention_id" not in names.values():
            digest = hashlib.sha256(
                "\x1f".join(str(rec.get(k) or "") for k in ("posted_at", "title", "text")).encode()
            ).hexdigest()
            rec["mention_id"] = f"app_store:{digest[:16]}"
        records.append(rec)
        kept.append(row)
    if not records:
        raise SourceError(f"{path.name}: no reviews with text to import")
    _skip_unwritten(ctx, len(records), len(raw))
    stage(ctx, target, path, records, kept)
