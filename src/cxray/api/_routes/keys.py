"""API key management over HTTP (admin), for when the server holds the store.

While ``cxray serve`` runs, ``cxray keys`` cannot open the store (one writer per
DuckDB file); these endpoints do the same through the server.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from cxray.api._auth import Principal, admin
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._state import ApiContext, context

router = APIRouter(tags=["keys"], responses=ERROR_RESPONSES)


class NewKey(BaseModel):
    role: Literal["admin", "analyst", "viewer"]
    name: str | None = Field(None, max_length=200)
    #: the key sees personal data unmasked (admin keys always do; docs/privacy.md)
    pii: bool = False


@router.get("/keys", summary="Every API key (never the keys themselves)")
def list_keys(
    cx: Annotated[ApiContext, Depends(context)], _: Annotated[Principal, Depends(admin)]
) -> list[dict[str, Any]]:
    return [k.to_dict() for k in cx.keys.list()]


@router.post("/keys", status_code=201, summary="Create a key; the answer is the only copy")
def create_key(
    body: NewKey,
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(admin)],
) -> dict[str, Any]:
    info, key = cx.keys.create(body.role, name=body.name, permissions=("pii",) if body.pii else ())
    return {**info.to_dict(), "key": key}


@router.delete("/keys/{key_id}", summary="Revoke a key and its sessions")
def revoke_key(
    key_id: int,
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(admin)],
) -> dict[str, Any]:
    return cx.keys.revoke(key_id).to_dict()
