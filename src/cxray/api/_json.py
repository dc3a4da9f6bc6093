"""JSON for the API: one way to write times, decimals and missing numbers."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["CXJSONResponse", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` with every cxray type turned into plain JSON.

    Stored times are UTC without a zone, so they are written ISO 8601 with ``Z``;
    decimals become numbers; NaN and infinities become null.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    return str(value)


class CXJSONResponse(JSONResponse):
    """A JSON response that writes cxray values (see :func:`jsonable`)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            jsonable(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")
