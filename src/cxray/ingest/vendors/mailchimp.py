"""Mailchimp audience exports (CSV) → ``customers``.

*Audience → All contacts → Export audience* gives a ZIP of CSV files (subscribed,
unsubscribed, cleaned, ...), each with the audience's fields (``Email Address``,
``First Name``, ``Last Name``, ``Address``, ``Phone Number``, ``Birthday``, your own merge
fields) and Mailchimp's columns ``MEMBER_RATING``, ``OPTIN_TIME``, ``OPTIN_IP``,
``CONFIRM_TIME``, ``CONFIRM_IP``, ``LATITUDE``, ``LONGITUDE``, ``GMTOFF``, ``DSTOFF``,
``TIMEZONE``, ``CC``, ``REGION``, ``LAST_CHANGED``, ``LEID``, ``EUID``, ``NOTES``, ``TAGS``
(plus ``UNSUB_*`` or ``CLEAN_*`` columns in those files)
(https://mailchimp.com/help/view-export-contacts/, https://mailchimp.com/help/export-and-back-up-account-data/).
See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import head_text, to_json_text
from cxray.ingest.vendors._more import csv_header, csv_records, has_columns, stage, text
from cxray.schema import normalize_column_name

__all__ = ["MailchimpSource"]

#: the contact's personal details the customers table has no column for: not kept
_PERSONAL = frozenset(
    {"address", "phone_number", "birthday", "optin_ip", "confirm_ip", "latitude", "longitude"}
)
#: where ``created_at`` comes from, in order: opt-in, confirmation, last change
_CREATED = ("optin_time", "confirm_time", "last_changed")
_READ = frozenset({"email_address", "first_name", "last_name", "region", "tags"})


class MailchimpSource(Source):
    name = "mailchimp"
    description = "Mailchimp audience export (CSV: subscribed, unsubscribed or cleaned)"
    tables = frozenset({"customers"})
    suffixes = (".csv", ".csv.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        header = csv_header(head_text(head))
        return has_columns(header, "Email Address") and (
            has_columns(header, "MEMBER_RATING") or has_columns(header, "LEID", "EUID")
        )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        header, raw, rows = csv_records(path, "Mailchimp audience", "contacts")
        norm = {normalize_column_name(h): h for h in header}
        status = (
            "unsubscribed"
            if "unsub_time" in norm
            else "cleaned"
            if "clean_time" in norm
            else "subscribed"
        )
        records = []
        for r in raw:
            get = {k: r[h] for k, h in norm.items()}
            email = text(get.get("email_address"))
            first, last = text(get.get("first_name")), text(get.get("last_name"))
            rec: dict[str, Any] = {
                "customer_id": email.lower() if email else None,
                "created_at": next((get[c] for c in _CREATED if text(get.get(c))), None),
                "email": email,
                "name": " ".join(p for p in (first, last) if p) or None,
                "region": text(get.get("region")),
                "mailchimp_status": status,
                "tags": _tags(get.get("tags")),
            }
            for key, col in norm.items():
                if key in _PERSONAL or key in _READ:
                    continue
                rec[col] = r[col]
            records.append(rec)
        stage(ctx, target, path, records, rows)


def _tags(value: Any) -> str | None:
    """``"VIP","Newsletter"`` (Mailchimp quotes each tag inside the cell) → a JSON list."""
    if not text(value):
        return None
    tags = next(csv.reader(io.StringIO(str(value)), skipinitialspace=True))
    return to_json_text([t.strip() for t in tags if t.strip()])
