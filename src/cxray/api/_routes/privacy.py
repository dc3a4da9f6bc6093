"""Erasure of a customer (GDPR art. 17) and the records of erasures and retention (admin).

``DELETE /api/customers/{customer_id}`` anonymises the customer in every table in one
transaction (``Workspace.privacy``, ``docs/privacy.md``): 200 with the rows changed per
table, ``already_erased`` for an id erased before (nothing changes), 404 for an id no table
holds. ``GET /api/privacy/erasures`` and ``GET /api/privacy/retention`` list the records.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cxray.api._auth import Principal, _require
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._state import ApiContext, context

__all__ = ["router"]

router = APIRouter(tags=["privacy"])
eraser = _require("admin", "erase customers or read the erasure records")


@router.delete(
    "/customers/{customer_id}",
    summary="Erase a customer: anonymise them in every table, keep their scores counting",
    responses={
        **ERROR_RESPONSES,
        404: {"model": ErrorEnvelope, "description": "no table holds this customer"},
    },
)
def erase_customer(
    customer_id: str,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(eraser)],
    reason: Annotated[
        str, Query(max_length=500, description="why (kept in the record; no personal data)")
    ] = "",
    dry_run: Annotated[bool, Query(description="count what would change; change nothing")] = False,
) -> dict[str, Any]:
    actor = who.name or (f"key {who.key_id}" if who.key_id else "local")
    role = "owner" if who.via == "local" else who.role
    report = cx.ws.privacy.erase(
        customer_id, actor=actor, role=role, reason=reason, dry_run=dry_run
    )
    if report.rows and not dry_run:
        with cx._cache_lock:  # results computed before (theme quotes) may hold their texts
            cx._cache.clear()
    return report.to_dict()


@router.get("/privacy/erasures", summary="The erasure records, newest first (admin)")
def erasures(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(eraser)],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    with cx.reader() as ws:  # this thread's cursor, not the writers' connection
        return ws.privacy.erasures(limit)


@router.get("/privacy/retention", summary="The retention runs, newest first (admin)")
def retention_runs(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(eraser)],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    with cx.reader() as ws:
        return ws.privacy.purges(limit)
