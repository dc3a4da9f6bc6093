"""The one error boundary of the API: every error is answered as one JSON envelope.

::

    {"error": {"code": "import_validation", "message": "...", "details": [...]}}

Each :class:`cxray.exceptions.CXError` class is mapped once, here, to a status
and a code (the most specific class in the table wins); HTTP errors (404 for an
unknown path, 405, 413), request validation (422) and unexpected failures (500,
with the traceback in the server log, never in the answer) use the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxray.api._json import CXJSONResponse
from cxray.exceptions import (
    AccessError,
    AlreadySubmittedError,
    AnalysisError,
    AuthenticationError,
    ConfigError,
    ConflictError,
    CXError,
    ExpiredTokenError,
    ImportValidationError,
    InvalidTokenError,
    JourneyError,
    MetricError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    RateLimitedError,
    SchemaVersionError,
    SourceError,
    StoreError,
    StoreLockedError,
    SubmissionError,
    SurveyError,
    UnknownTableError,
)

__all__ = ["ERROR_RESPONSES", "ErrorEnvelope", "error_body", "error_response", "install"]

log = logging.getLogger("cxray.api")

#: CXError class -> (HTTP status, error code); looked up along the class's MRO
CX_ERRORS: dict[type[CXError], tuple[int, str]] = {
    ImportValidationError: (422, "import_validation"),
    SubmissionError: (422, "invalid_submission"),
    InvalidTokenError: (403, "invalid_token"),
    ExpiredTokenError: (410, "token_expired"),
    AlreadySubmittedError: (409, "already_submitted"),
    SourceError: (422, "source_error"),
    QueryError: (422, "invalid_request"),
    MetricError: (422, "invalid_request"),
    JourneyError: (422, "analysis_error"),
    ModelError: (422, "analysis_error"),
    SurveyError: (422, "invalid_submission"),
    ConflictError: (409, "conflict"),
    AnalysisError: (422, "analysis_error"),
    UnknownTableError: (404, "unknown_table"),
    NotFoundError: (404, "not_found"),
    AuthenticationError: (401, "unauthenticated"),
    PermissionDeniedError: (403, "forbidden"),
    RateLimitedError: (429, "rate_limited"),
    AccessError: (403, "forbidden"),
    StoreLockedError: (409, "store_locked"),
    SchemaVersionError: (503, "schema_version"),
    StoreError: (409, "store_error"),
    ConfigError: (500, "config_error"),
    CXError: (422, "invalid_request"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["import_validation"])
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    """Every error the API answers has this shape."""

    error: ErrorBody


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


#: for routes' ``responses=``: the errors every authenticated route can answer
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc("no key or session, or an unknown, revoked or expired one"),
    403: _doc("the role may not do this"),
    422: _doc("a bad request (parameters, filters, sort, files)"),
}


def _printable(value: Any) -> Any:
    """``value`` with every string writable as UTF-8: an error may quote what the client
    sent, lone surrogates (``"\\ud800"`` in JSON) included, and its answer must not fail."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": _printable({"code": code, "message": message, "details": details or []})}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> CXJSONResponse:
    return CXJSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def cx_status(exc: CXError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in CX_ERRORS:
            return CX_ERRORS[cls]  # type: ignore[index]
    return CX_ERRORS[CXError]


def _details(exc: CXError) -> list[dict[str, Any]]:
    if isinstance(exc, ImportValidationError):
        return [
            {
                "file": e.first.file,
                "row": e.first.row,
                "column": e.first.column,
                "value": e.first.value,
                "rule": e.first.rule,
                "count": e.count,
            }
            for e in exc.errors
        ]
    if isinstance(exc, SubmissionError):
        return list(exc.details)
    return []


async def _cx_error(request: Request, exc: Exception) -> CXJSONResponse:
    assert isinstance(exc, CXError)
    status, code = cx_status(exc)
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return error_response(status, code, str(exc), _details(exc), headers or None)


async def _http_error(request: Request, exc: Exception) -> CXJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}"
    if exc.status_code == 400:  # a body FastAPI or Starlette could not parse (e.g. JSON
        # nested too deeply, broken multipart): a bad request like any other, as documented
        return error_response(
            422,
            "invalid_request",
            f"the request body could not be read: {message}",
            [{"location": "body", "field": None, "message": message}],
        )
    return error_response(exc.status_code, code, message, None, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> CXJSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ())]
        details.append(
            {
                "location": loc[0] if loc else None,
                "field": ".".join(loc[1:]) or None,
                "message": e.get("msg", ""),
            }
        )
    first = details[0] if details else {"field": None, "message": "invalid request"}
    where = f"{first['location']} {first['field']}: " if first.get("field") else ""
    return error_response(422, "invalid_request", f"{where}{first['message']}", details)


async def _unexpected(request: Request, exc: Exception) -> CXJSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(
        500, "internal_error", "internal error; the server log has the details", None
    )


async def checked_query(request: Request) -> None:
    """Refuse a query parameter no store can hold: a NUL character (``%00``) is 422
    ``invalid_request`` naming the parameter, before any route reads it (DuckDB's SQL
    parser and PostgreSQL's text type both refuse NUL, so it could never match)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name.replace("\x00", "\\x00")),
                        "msg": "must not contain a NUL character",
                        "type": "value_error",
                    }
                ]
            )


def install(app: FastAPI) -> None:
    """Route every error of ``app`` through the envelope; refuse NUL in query parameters
    (:func:`checked_query`, on every route included after this)."""
    app.router.dependencies.append(Depends(checked_query))
    app.add_exception_handler(CXError, _cx_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
