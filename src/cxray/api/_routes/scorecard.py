"""The scorecard: ``GET /api/scorecard`` over ``Workspace.scorecard`` (to come).

It takes the same options as ``cxray scorecard`` and answers the same records
as its ``--format json``; it lands with the measurement framework (issue 3).
The router is mounted already, so adding the route here is all it takes::

    @router.get("/scorecard", responses=ERROR_RESPONSES)
    def scorecard(cx=Depends(context), _=Depends(viewer), ...):
        with cx.lock:   # or cx.reading() once it reads through an Ibis backend
            return cx.ws.scorecard(...).to_records()
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["scorecard"])
