"""Every kind of error is one JSON envelope: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import pytest

from cxray.exceptions import ConfigError, StoreError, StoreLockedError
from tests.api.conftest import assert_envelope


def test_http_errors(api):
    err = assert_envelope(api.get("/api/nowhere"), 404, "not_found")
    assert "/api/nowhere" in err["message"]
    assert_envelope(api.client.delete("/api/health"), 405, "method_not_allowed")
    err = assert_envelope(api.get("/api/tables/responses/rows?limit=x"), 422, "invalid_request")
    assert err["details"][0] == {
        "location": "query",
        "field": "limit",
        "message": "Input should be a valid integer, unable to parse string as an integer",
    }
    r = api.client.post(
        "/api/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_envelope(r, 422, "invalid_request")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (StoreLockedError("cx.duckdb is in use"), 409, "store_locked"),
        (StoreError("the responses table is empty"), 409, "store_error"),
        (ConfigError("cxray.toml: bad"), 500, "config_error"),
    ],
)
def test_cx_errors_are_mapped_once(api, monkeypatch, exc, status, code):
    def fail(self, **kw):
        raise exc

    monkeypatch.setattr(type(api.ws), "status", fail)  # the route reads through a reader
    err = assert_envelope(api.get("/api/status"), status, code)
    assert err["message"] == str(exc)


def test_unexpected_errors_are_500_without_internals(api, monkeypatch):
    def fail(self, **kw):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(type(api.ws), "status", fail)
    err = assert_envelope(api.get("/api/status"), 500, "internal_error")
    assert "secret" not in err["message"]


def test_openapi_is_published(api):
    spec = api.client.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/health",
        "/api/status",
        "/api/login",
        "/api/tables/{table}/rows",
        "/api/tables/{table}/export",
        "/api/customers/{customer_id}",
        "/api/imports/{table}",
    ):
        assert path in paths
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert {"HTTPBearer", "APIKeyCookie"} <= set(spec["components"]["securitySchemes"])
    assert api.client.get("/api/docs").status_code == 200
