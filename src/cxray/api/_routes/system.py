"""Health (public) and the store's status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from cxray import __version__
from cxray.api._auth import Principal, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._state import ApiContext, context

router = APIRouter(tags=["system"])


@router.get("/health", summary="Is the server up (public)")
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/status",
    summary="Row counts, date ranges and recent imports (as `cxray status --json`)",
    responses=ERROR_RESPONSES,
)
def status(
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(viewer)],
    imports: int = 5,
) -> dict[str, Any]:
    n = max(0, min(imports, 100))
    st = cx.cached(("status", n), lambda ws: ws.status(imports=n))  # changes with imports
    return {
        "store": cx.store_name,
        "schema_version": st.schema_version,
        "tables": [t.__dict__ for t in st.tables],
        "imports": [i.__dict__ for i in st.imports],
    }
