"""Property-based fuzzing of every API operation from the app's own OpenAPI schema.

Schemathesis generates requests for each operation of ``/api/openapi.json`` (valid ones and
ones that break the schema: wrong types, out-of-range numbers, odd strings, missing and extra
fields) and sends them in-process (ASGI, no network) with an admin key to an app over a small
demo world. Whatever it sends, the server answers without a 5xx, and every 4xx is the
documented error envelope (docs/api.md). The same again with a viewer's key, fewer examples:
every operation docs/security.md's roles table closes to viewers answers 403, never a
success. Examples are bounded and derandomized, without shrinking, so CI sends the same
requests every run in bounded time.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.conftest import Api
from tests.surveys.conftest import PULSE

#: examples per operation: enough to reach every parameter's edges, small enough for CI
EXAMPLES = 25

#: operations that fit a model or rescore every text on each call get fewer (each is seconds)
FEWER = {
    ("POST", "/api/churn/model"): 6,
    ("POST", "/api/clv/fit"): 6,
    ("POST", "/api/text/enrich"): 6,
    ("POST", "/api/text/train"): 6,
    ("POST", "/api/reports"): 6,  # builds and renders a digest
}

#: operations left out, and why
EXCLUDED = {
    # sends e-mail when `send` is true: needs a live SMTP server (tests/surveys covers it with
    # a local one)
    ("POST", "/api/surveys/{name}/invitations"): "needs a live SMTP server",
    # could revoke the very key the fuzzer authenticates with (tests/api/test_auth covers it)
    ("DELETE", "/api/keys/{key_id}"): "destructive to the fixture",
    # erases customers the other operations read (tests/privacy covers erasure)
    ("DELETE", "/api/customers/{customer_id}"): "destructive to the fixture",
}


#: path parameters that name something: half the examples use a real one, so that the
#: fuzzer reaches past the 404 (a survey the fixture defines, the contract's tables)
REAL = {"name": ["pulse"], "table": ["responses", "customers", "cases", "orders", "events"]}


def _lifespan_free(app):
    """``app`` without its lifespan: the fixture's TestClient owns start and shutdown."""

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return asgi


def _problem(response) -> str | None:
    """What is wrong with ``response``, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.text[:300]}"
    if status >= 400:
        ctype = response.headers.get("content-type") or [""]  # name -> list of values
        if not ctype[0].startswith("application/json"):
            return f"{status} is not JSON: {ctype}"
        body = response.json()
        err = body.get("error") if isinstance(body, dict) else None
        if (
            set(body) != {"error"}
            or not isinstance(err, dict)
            or set(err) != {"code", "message", "details"}
            or not (isinstance(err["code"], str) and err["code"])
            or not (isinstance(err["message"], str) and err["message"])
            or not isinstance(err["details"], list)
        ):
            return f"{status} is not the error envelope: {response.text[:300]}"
    return None


def _fuzz(
    operation,
    headers: dict[str, str],
    examples: int,
    expect: Callable[[Any], str | None] | None = None,
    statuses: collections.Counter | None = None,
) -> list[str]:
    """Up to three problems found in ``examples`` generated requests to ``operation``
    (``expect``: what else is wrong with a response; ``statuses`` counts the answers)."""
    found: list[str] = []
    seen: list[None] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        params = case.path_parameters or {}
        for name, values in REAL.items():
            if name in params and len(seen) % 2 == 0:
                params[name] = values[len(seen) % len(values)]
        seen.append(None)
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process client re-raises what the app did not catch
            problem = f"500: {type(exc).__name__}: {exc}"[:300]
        else:
            problem = _problem(response) or (expect(response) if expect else None)
            if statuses is not None:
                statuses[response.status_code] += 1
        if problem and len(found) < 3:
            found.append(
                f"{case.method} {case.formatted_path} query={case.query!r} "
                f"body={str(case.body)[:200]!r} -> {problem}"
            )

    run()
    return found


def test_no_operation_answers_a_server_error(demo: Api):
    r = demo.client.put("/api/surveys/pulse", json=PULSE, headers=demo.auth("admin"))
    assert r.status_code == 201, r.text
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", _lifespan_free(demo.client.app))
    headers = demo.auth("admin")
    quiet = logging.getLogger("cxray.api")
    quiet.disabled = True  # the 500s are collected below, not logged with tracebacks
    problems, fuzzed, took = [], [], {}
    try:
        for result in schema.get_all_operations():
            op = result.ok()
            key = (op.method.upper(), op.path)
            if key in EXCLUDED:
                continue
            t0 = time.perf_counter()
            problems += _fuzz(op, headers, FEWER.get(key, EXAMPLES))
            took[key] = time.perf_counter() - t0
            fuzzed.append(key)
    finally:
        quiet.disabled = False
    # every operation is fuzzed but the excluded ones, and there are many
    spec = demo.client.get("/api/openapi.json").json()["paths"]
    every = {(m.upper(), p) for p, ops in spec.items() for m in ops}
    assert set(fuzzed) == every - set(EXCLUDED) and len(fuzzed) >= 50
    slowest = sorted(took.items(), key=lambda kv: -kv[1])[:3]
    assert not problems, "\n".join(problems) + f"\n(slowest: {slowest})"


#: examples per operation with a viewer key: one its role may not call answers 403 at once;
#: one it may call runs as with an admin's key (masked), so fewer keep the test short
VIEWER_REFUSED = 8
VIEWER_ALLOWED = 3


def _refused(response) -> str | None:
    """A viewer calling an operation its role may not: 403, never a success."""
    if response.status_code != 403:
        return f"{response.status_code} where a viewer's key must get 403: {response.text[:200]}"
    return None


def test_a_viewer_key_gets_403_where_its_role_may_not_and_never_a_server_error(demo: Api):
    """The same fuzzing with a viewer's key: no 5xx, every 4xx the envelope, and every
    operation that docs/security.md's roles table closes to viewers (analyst, admin or the
    local owner only) answers 403, never 200, whatever is sent."""
    from tests.test_security_doc import documented

    least = documented()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", _lifespan_free(demo.client.app))
    headers = demo.auth("viewer")
    quiet = logging.getLogger("cxray.api")
    quiet.disabled = True
    problems, refused, allowed = [], [], []
    statuses: collections.Counter = collections.Counter()
    t0 = time.perf_counter()
    try:
        for result in schema.get_all_operations():
            op = result.ok()
            key = (op.method.upper(), op.path)
            if least[key] in ("anonymous", "viewer"):
                allowed.append(key)
                problems += _fuzz(op, headers, VIEWER_ALLOWED)
            else:
                refused.append(key)
                problems += _fuzz(op, headers, VIEWER_REFUSED, _refused, statuses)
    finally:
        quiet.disabled = False
    took = time.perf_counter() - t0
    # the roles table's closed operations are many (imports, keys, the audit log, erasure...)
    assert len(refused) >= 20 and len(allowed) >= 40, (len(refused), len(allowed))
    assert ("DELETE", "/api/customers/{customer_id}") in refused
    assert ("GET", "/api/audit") in refused and ("PUT", "/api/surveys/{name}") in refused
    assert not problems, "\n".join(problems) + f"\n({took:.0f} s; refused: {dict(statuses)})"
    assert set(statuses) == {403} and sum(statuses.values()) >= VIEWER_REFUSED * len(refused)
