"""Google Analytics 4 events (the BigQuery export schema) → ``events``.

One row per event, as BigQuery exports the ``events_YYYYMMDD`` tables to JSON Lines or
Parquet: ``event_date``, ``event_timestamp`` (microseconds, UTC; JSON writes 64-bit
integers as text), ``event_name``, ``user_pseudo_id``, ``user_id``, repeated
``event_params`` key/value records, ``user_properties``, and the ``geo``, ``device``,
``traffic_source``, ``app_info`` and ``ecommerce`` records
(https://support.google.com/analytics/answer/7029846). See ``docs/importers-vendors.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxray.exceptions import SourceError
from cxray.ingest._readers import check_readable
from cxray.ingest._source import Source, StageContext
from cxray.ingest.vendors._common import flatten, head_text, snake, to_json_text
from cxray.ingest.vendors._more import epoch_iso, json_items, stage, text

__all__ = ["GA4Source"]

#: ``platform`` → the contract's channel
CHANNEL = {"web": "web", "ios": "app", "android": "app"}
#: fields read into contract columns or handled on their own
_READ = frozenset(
    {
        "event_timestamp",
        "event_name",
        "user_id",
        "user_pseudo_id",
        "event_params",
        "user_properties",
        "platform",
        "items",
    }
)
_NEEDED = frozenset({"event_name", "event_timestamp", "user_pseudo_id", "event_params"})


class GA4Source(Source):
    name = "ga4"
    description = "Google Analytics 4 events: the BigQuery export as JSON Lines or Parquet"
    tables = frozenset({"events"})
    suffixes = (".jsonl", ".ndjson", ".json", ".parquet", ".jsonl.gz", ".json.gz")

    def sniff(self, path: Path, head: bytes) -> bool:
        if head[:4] == b"PAR1":
            return set(_parquet_schema(path)) >= _NEEDED
        t = head_text(head)
        return all(f'"{k}"' in t for k in _NEEDED)

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        events = _events(path)
        records = [_event(path, row, e) for row, e in events]
        stage(ctx, target, path, records, [row for row, _ in events])


def _parquet_schema(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:  # sniffing never fails; reading reports the problem
        return []


def _events(path: Path) -> list[tuple[int, dict[str, Any]]]:
    check_readable(path)
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # any reading problem is the file's
            raise SourceError(f"{path.name}: cannot be read as Parquet: {exc}") from None
        if not rows:
            raise SourceError(f"{path.name}: the GA4 export has no events")
        events = list(enumerate(rows, start=1))
    else:
        events, _ = json_items(
            path, "GA4 BigQuery", ("events", "rows"), "events", lambda o: "event_name" in o
        )
    for row, e in events:
        if "event_name" not in e and "event_timestamp" not in e:
            raise SourceError(
                f"{path.name}, row {row}: not a GA4 BigQuery export event (no event_name or "
                "event_timestamp)"
            )
    return events


def _param(value: Any) -> Any:
    """The one filled value of a GA4 ``value`` record (string, int, float or double)."""
    if not isinstance(value, dict):
        return value
    for key in ("string_value", "int_value", "float_value", "double_value"):
        v = value.get(key)
        if v is not None:
            if key == "int_value" and isinstance(v, str) and v.lstrip("-").isdigit():
                return int(v)
            return v
    return None


def _pairs(records: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(records, list):
        for r in records:
            if isinstance(r, dict) and r.get("key") is not None:
                out[str(r["key"])] = _param(r.get("value"))
    return out


def _event(path: Path, row: int, e: dict[str, Any]) -> dict[str, Any]:
    params = _pairs(e.get("event_params"))
    pseudo, user = text(e.get("user_pseudo_id")), text(e.get("user_id"))
    micros = text(e.get("event_timestamp"))
    name = text(e.get("event_name"))
    session = text(params.get("ga_session_id"))
    key = [pseudo or user, micros, name]
    for extra in ("batch_event_index", "event_bundle_sequence_id"):
        if text(e.get(extra)) is not None:
            key.append(text(e.get(extra)))
    rec: dict[str, Any] = {
        "event_id": ".".join(k or "" for k in key) if all(key) else None,
        "customer_id": user or pseudo,
        "timestamp": epoch_iso(
            e.get("event_timestamp"), unit=1e6, file=path.name, row=row, column="event_timestamp"
        ),
        "touchpoint": name,
        "channel": CHANNEL.get((text(e.get("platform")) or "").lower()),
        "session_id": f"{pseudo}.{session}" if pseudo and session else None,
        "user_id": user,
        "user_pseudo_id": pseudo,
        "platform": text(e.get("platform")),
        "page_location": text(params.pop("page_location", None)),
        "page_title": text(params.pop("page_title", None)),
        "page_referrer": text(params.pop("page_referrer", None)),
    }
    for k, v in params.items():
        rec[f"param_{snake(k)}"] = v
    for k, v in _pairs(e.get("user_properties")).items():
        rec[f"user_property_{snake(k)}"] = v
    if isinstance(e.get("items"), list):
        rec["items"] = to_json_text(e["items"]) if e["items"] else None
    for k, v in e.items():
        if k in _READ:
            continue
        rec.update(flatten({k: v}, "", depth=3))
    return rec
