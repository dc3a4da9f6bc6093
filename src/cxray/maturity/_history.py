"""Assessments kept over time in the store's ``_cx_maturity`` table (JSON, never a pickle).

One row per assessment: its id, when, from where (``cli``, ``file``, ``api``, ``web``,
``evidence``), who, the overall score and level, and the whole result as JSON. The table is
created on the first save.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from typing import Any

import ibis
import pyarrow as pa

from cxray.exceptions import StoreError
from cxray.store import Store

__all__ = ["MATURITY", "MATURITY_SCHEMA", "history", "save"]

MATURITY = "_cx_maturity"
MATURITY_SCHEMA = ibis.schema(
    {
        "assessment_id": "string",
        "assessed_at": "timestamp",
        "source": "string",
        "actor": "string",
        "overall_score": "float64",
        "overall_level": "string",
        "result": "string",  # JSON: Assessment.to_dict()
    }
)


def save(store: Store, result: dict[str, Any], *, actor: str, lock: Any = None) -> str:
    """Keep one assessment (``Assessment.to_dict()``); returns its id. The caller's result
    dict gets the id."""
    if store.read_only:
        raise StoreError(f"{store.url} is open read-only; keeping an assessment writes to it")
    aid = result.get("assessment_id") or f"m-{secrets.token_hex(6)}"
    result["assessment_id"] = aid
    row = {
        "assessment_id": aid,
        "assessed_at": dt.datetime.fromisoformat(result["assessed_at"]),
        "source": result.get("source") or "",
        "actor": actor,
        "overall_score": result["overall"]["score"],
        "overall_level": result["overall"]["level"],
        "result": json.dumps(result, allow_nan=False, default=str),
    }
    data = pa.Table.from_pylist([row], MATURITY_SCHEMA.to_pyarrow())
    b = store.backend
    with lock if lock is not None else contextlib.nullcontext():
        if MATURITY not in b.list_tables():
            b.create_table(MATURITY, schema=MATURITY_SCHEMA)
        b.insert(MATURITY, data)
    return aid


def history(store: Store, *, limit: int = 100, full: bool = False) -> list[dict[str, Any]]:
    """Kept assessments, oldest first (the latest ``limit``): id, time, source, actor,
    overall score and level; with ``full`` also the parsed result."""
    b = store.backend
    if MATURITY not in b.list_tables():
        return []
    t = b.table(MATURITY)
    cols = [c for c in MATURITY_SCHEMA.names if full or c != "result"]
    rows = (
        t.order_by([ibis.desc("assessed_at"), ibis.desc("assessment_id")])
        .limit(limit)
        .select(cols)
        .to_pyarrow()
        .to_pylist()
    )
    rows.reverse()
    for r in rows:
        r["assessed_at"] = r["assessed_at"].isoformat()
        if full:
            r["result"] = json.loads(r["result"])
    return rows
