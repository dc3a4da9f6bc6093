"""Not one planted e-mail, phone or card number reaches a caller without the pii permission.

A small store holds personal data in every text field and personal column of every table:
the contract's personal columns (customer e-mail and name, mention author and address), a
column ``[privacy] personal`` marks (``customers.loyalty_card``), every free-text column,
a survey's second text question (``extra_note``, stored as its own column), attribute
columns of orders and events, a follow-up's note. Then, with a viewer key and with an
analyst key without pii, every GET operation of the API (from its OpenAPI schema), every
dashboard page, the CSV and Parquet exports of every table, the text reports and the
loop's notifications are fetched and their bytes scanned. With a pii key and an admin key
the same values do come back (so the scan can fail).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.store import OUTBOX
from cxray.workspace import Workspace

# one planted value per place, each findable on its own: e-mails, phone numbers in the
# forms people write them, Luhn-valid card numbers (spaced, dashed, plain)
P = {
    "customers.email": "zoe.planted@example.com",
    "customers.name": "Zoltan Plantedname",
    "customers.loyalty_card": "LOYAL-77-31-PLANTED",
    "customers.notes": "vip.contact@example.org",
    "customers.notes.phone": "+1 (415) 555-0143",
    "customers.churn_reason": "07700 900461",
    "responses.comment": "comment.writer@example.net",
    "responses.comment.phone": "+44 20 7946 0958",
    "responses.comment.card": "4111 1111 1111 1111",
    "responses.extra_note": "extra.note@example.com",
    "responses.extra_note.phone": "+49 30 901820",
    "responses.extra_note.card": "5500-0000-0000-0004",
    "cases.subject": "case.subject@example.com",
    "cases.description": "+33 1 42 68 53 00",
    "cases.description.card": "378282246310005",
    "mentions.text": "mention.text@example.com",
    "mentions.author": "@planted_author_zq",
    "mentions.url": "https://social.example/zq-planted-post",
    "orders.gift_message": "gift.to@example.com",
    "events.search_query": "search.me@example.com",
    "followups.note": "+1 212 555 0199",
}

CONFIG = """
[loop]
check_every = "1h"

[privacy]
personal = ["customers.loyalty_card"]

[surveys.feedback]
title = "How did we do?"
[[surveys.feedback.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
[[surveys.feedback.questions]]
id = "why"
type = "text"
text = "Why?"
[[surveys.feedback.questions]]
id = "extra_note"
type = "text"
text = "Anything else?"

[[loop.rules]]
name = "unhappy-mentions"
on = "mentions"
where = "rating <= 2"
action = "both"
notify = ["email:cx-lead@company.test", "slack:http://127.0.0.1:9/slack",
          "webhook:http://127.0.0.1:9/hooks/cxray"]  # nothing listens: kept in the outbox

[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
action = "both"
notify = ["email:cx-lead@company.test"]
"""


#: reads that slice, filter or sort by a personal column (each would list its values)
SLICED = (
    "/scorecard?by=email&metrics=nps",
    "/scorecard?by=loyalty_card",
    "/churn/reasons?by=name",
    "/tables/responses/rows?filter=email:" + P["customers.email"],
    "/tables/mentions/rows?sort=author",
)


def _csv(rows: list[dict[str, Any]]) -> str:
    cols = list(rows[0])
    out = [",".join(cols)]
    for r in rows:
        out.append(",".join(f'"{r[c]}"' if r[c] is not None else "" for c in cols))
    return "\n".join(out) + "\n"


def _plant(folder: Path, ws: Workspace) -> None:
    tables = {
        "customers": [
            {
                "customer_id": "C1",
                "created_at": "2026-01-05T10:00:00Z",
                "email": P["customers.email"],
                "name": P["customers.name"],
                "region": "West",
                "loyalty_card": P["customers.loyalty_card"],
                "notes": f"mail {P['customers.notes']} or ring {P['customers.notes.phone']}",
                "churned_at": "2026-03-20T00:00:00Z",
                "churn_reason": f"moved; call {P['customers.churn_reason']}",
            },
            {
                "customer_id": "C2",
                "created_at": "2026-01-06T10:00:00Z",
                "email": None,
                "name": None,
                "region": "East",
                "loyalty_card": None,
                "notes": "no contact",
                "churned_at": None,
                "churn_reason": None,
            },
        ],
        "responses": [
            {
                "response_id": f"R{i}",
                "submitted_at": f"2026-02-{i + 1:02d}T10:00:00Z",
                "customer_id": "C1" if i % 2 else "C2",
                "survey": "feedback",
                "nps": i % 11,
                "comment": (
                    f"late delivery, mail {P['responses.comment']}, call "
                    f"{P['responses.comment.phone']}, card {P['responses.comment.card']}"
                    if i == 1
                    else "the delivery was late and support was slow"
                    if i % 3
                    else "great price and quick delivery"
                ),
            }
            for i in range(1, 25)
        ],
        "cases": [
            {
                "case_id": "K1",
                "customer_id": "C1",
                "opened_at": "2026-02-03T09:00:00Z",
                "channel": "email",
                "reopened": "true",
                "subject": f"Refund to {P['cases.subject']}",
                "description": f"call {P['cases.description']}, card {P['cases.description.card']}",
            }
        ],
        "orders": [
            {
                "order_id": "O1",
                "customer_id": "C1",
                "ordered_at": "2026-02-01T08:00:00Z",
                "amount": "49.90",
                "gift_message": f"for {P['orders.gift_message']}",
            }
        ],
        "events": [
            {
                "event_id": "E1",
                "customer_id": "C1",
                "timestamp": "2026-02-01T07:55:00Z",
                "touchpoint": "search",
                "search_query": f"order for {P['events.search_query']}",
            }
        ],
        "mentions": [
            {
                "mention_id": "M1",
                "posted_at": "2026-02-04T08:00:00Z",
                "customer_id": "C1",
                "platform": "social",
                "rating": "1",
                "author": P["mentions.author"],
                "url": P["mentions.url"],
                "text": f"awful delivery, DM me at {P['mentions.text']}",
            }
        ],
    }
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        path.write_text(_csv(rows))
        ws.import_files(name, [path])


def _login(client: TestClient, key: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pii")
    config = folder / "cxray.toml"
    config.write_text(CONFIG)
    db = folder / "store.duckdb"
    with Workspace.open(db, config) as ws:
        _plant(folder, ws)
        keys = ApiKeys(ws.store)
        made = {
            "viewer": keys.create("viewer")[1],
            "analyst": keys.create("analyst")[1],
            "analyst+pii": keys.create("analyst", permissions=["pii"])[1],
            "admin": keys.create("admin")[1],
        }
    client = TestClient(create_app(db, config, settings=ApiSettings()))
    client.__enter__()
    admin = {"Authorization": f"Bearer {made['admin']}"}
    # the survey's second text question, through the collection API
    r = client.post(
        "/api/surveys/feedback/responses",
        headers=admin,
        json={
            "customer_id": "C1",
            "answers": {
                "nps": 2,
                "why": "the parcel never came",
                "extra_note": f"write {P['responses.extra_note']}, call "
                f"{P['responses.extra_note.phone']}, card {P['responses.extra_note.card']}",
            },
        },
    )
    assert r.status_code == 201, r.text
    r = client.post("/api/loop/run", headers=admin, json={"backfill": True, "deliver": False})
    assert r.status_code == 200 and not r.json()["errors"], r.text
    fus = client.get("/api/followups?limit=1000", headers=admin).json()["rows"]
    assert fus, "the rules opened follow-ups"
    analyst = {"Authorization": f"Bearer {made['analyst']}"}
    r = client.post(
        f"/api/followups/{fus[0]['followup_id']}/notes",
        headers=analyst,
        json={"text": f"called back on {P['followups.note']}"},
    )
    assert r.status_code == 201, r.text
    assert P["followups.note"] not in r.text  # the writer without pii reads it masked too
    # an executive digest made by a key without pii (kept in the archive, read by everyone)
    # and a shared saved view: both must carry nothing personal to a caller without pii
    r = client.post(
        "/api/reports",
        headers=analyst,
        json={"period": "2000-01-01..2030-12-31", "format": "html"},
    )
    assert r.status_code == 201, r.text
    report_id = r.json()["report_id"]
    r = client.post(
        "/api/views",
        headers=analyst,
        json={"name": "West detractors", "page": "overview", "query": {"filter": ["region:West"]},
              "visibility": "shared"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    ids = {"followup_id": fus[0]["followup_id"], "report_id": report_id, "slug": r.json()["slug"]}
    yield client, made, ids
    client.__exit__(None, None, None)


def _found(text: str) -> set[str]:
    """The planted values in ``text`` (also with the separators of a number taken out)."""
    squeezed = re.sub(r"[ \-()]", "", text)
    out = set()
    for name, value in P.items():
        plain = re.sub(r"[ \-()]", "", value)
        if value in text or (any(ch.isdigit() for ch in value) and plain in squeezed):
            out.add(name)
    return out


def _export_text(content: bytes, fmt: str) -> str:
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(content))
    else:
        table = pacsv.read_csv(io.BytesIO(content))
    return content.decode("latin-1") + json.dumps(table.to_pylist(), default=str)


def _api_outputs(client: TestClient, key: str, ids: dict[str, str]) -> dict[str, str]:
    """Every GET operation of the API, with sensible parameters; exports as text."""
    auth = {"Authorization": f"Bearer {key}"}
    spec = client.get("/api/openapi.json").json()
    themes = client.get("/api/text/themes?table=responses", headers=auth).json()
    theme = (themes.get("themes") or [{"id": "delivery"}])[0]["id"]
    values = {
        "customer_id": ["C1"],
        "followup_id": [ids["followup_id"]],
        "report_id": [ids["report_id"]],
        "slug": [ids["slug"]],
        "name": ["feedback"],
        "theme_id": [theme],
        "table": ["customers", "responses", "cases", "orders", "events", "mentions"],
    }
    out: dict[str, str] = {}
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        names = re.findall(r"{(\w+)}", path)
        urls = [path]
        for n in names:
            urls = [u.replace(f"{{{n}}}", v) for u in urls for v in values[n]]
        for url in urls:
            full = "/api" + url if not url.startswith("/api") else url
            if url.endswith("/export"):
                for fmt in ("csv", "parquet"):
                    r = client.get(f"{full}?format={fmt}", headers=auth)
                    assert r.status_code == 200, (full, fmt, r.text)
                    out[f"{full} {fmt}"] = _export_text(r.content, fmt)
                continue
            for query in ("", "?table=mentions", "?table=cases"):
                if query and "/text/" not in full:
                    continue
                r = client.get(full + query, headers=auth)
                assert r.status_code < 500, (full, r.text)
                out[full + query] = r.text
    for t in values["table"]:  # every row, not only the first page's
        r = client.get(f"/api/tables/{t}/rows?limit=1000", headers=auth)
        assert r.status_code == 200, r.text
        out[f"rows {t}"] = r.text
    return out


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, also those of included routers (FastAPI may keep them nested)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out += _routes(inner.routes) if inner is not None else [r]
    return out


def _pages(client: TestClient, key: str, ids: dict[str, str]) -> dict[str, str]:
    """Every dashboard page (GET routes outside /api and the public survey pages)."""
    _login(client, key)
    fills = {
        "table": ["customers", "responses", "cases", "orders", "events", "mentions"],
        "customer_id": ["C1"],
        "followup_id": [ids["followup_id"]],
        "report_id": [ids["report_id"]],
        "slug": [ids["slug"]],
    }
    out = {}
    for route in _routes(client.app.routes):
        path = getattr(route, "path", "")
        if (
            "GET" not in (getattr(route, "methods", None) or ())
            or getattr(route, "include_in_schema", True)  # the API's operations
            or path.startswith(("/api", "/s/", "/static", "/login", "/logout"))
        ):
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", path)
        if any(n not in fills for n in names):
            continue
        urls = [path]
        for n in names:
            urls = [re.sub("{" + n + r"(?::\w+)?}", v, u) for u in urls for v in fills[n]]
        for url in urls:
            r = client.get(url)
            assert r.status_code < 500, (url, r.text[:500])
            out[url] = r.text
    extra = [f"/inbox?id={ids['followup_id']}", "/text?table=mentions", "/text?table=cases"]
    extra += ["/rows/mentions?limit=1000", "/alerts"]
    for url in extra:
        r = client.get(url)
        assert r.status_code < 500, (url, r.text[:500])
        out[url] = r.text
    client.cookies.clear()
    return out


def _notifications(client: TestClient) -> dict[str, str]:
    ws = client.app.state.cx.ws
    rows = ws.store.backend.table(OUTBOX).to_pyarrow().to_pylist()
    assert {r["channel"] for r in rows} == {"email", "slack", "webhook"}
    return {f"outbox {r['channel']} {r['target']}": r["subject"] + r["payload"] for r in rows}


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_no_planted_value_reaches_a_caller_without_pii(site, role):
    client, keys, ids = site
    outputs = {
        **_api_outputs(client, keys[role], ids),
        **_pages(client, keys[role], ids),
        **_notifications(client),
    }
    pages = [k for k in outputs if not k.startswith(("/api", "rows ", "outbox "))]
    assert len(pages) > 20 and "/customers/C1" in pages and "/rows/customers" in pages, pages
    leaks = {where: sorted(_found(text)) for where, text in outputs.items() if _found(text)}
    assert leaks == {}
    # masked, not dropped: the outputs still say what customers said
    rows = outputs["rows customers"] + outputs["rows mentions"] + outputs["rows responses"]
    assert "[personal]" in rows and "[email]" in rows and "[phone]" in rows and "[card]" in rows
    assert "late delivery" in rows and "awful delivery" in rows
    assert "C1" in outputs["/api/customers/C1"]
    # slicing, filtering or sorting by a masked column would list its values: refused
    auth = {"Authorization": f"Bearer {keys[role]}"}
    for url in SLICED:
        r = client.get("/api" + url, headers=auth)
        assert r.status_code == 403 and not _found(r.text), (url, r.text)
    _login(client, keys[role])
    for url in ("/segments?by=email", "/rows/responses?sort=name", "/churn?by=name"):
        r = client.get(url)
        assert r.status_code == 403 and "pii" in r.text and not _found(r.text), url
    client.cookies.clear()
    # no sort link on a masked column (sorting by it is refused), on the others there is
    assert "sort=email" not in outputs["/rows/customers"]
    assert "sort=region" in outputs["/rows/customers"]


@pytest.mark.parametrize("role", ["analyst+pii", "admin"])
def test_a_caller_with_pii_sees_every_planted_value(site, role):
    client, keys, ids = site
    outputs = _api_outputs(client, keys[role], ids)
    exports = " ".join(v for k, v in outputs.items() if k.endswith((" csv", " parquet")))
    assert _found(exports) == set(P) - {"followups.note"}
    followup = outputs[f"/api/followups/{ids['followup_id']}"]
    assert "followups.note" in _found(followup)
    auth = {"Authorization": f"Bearer {keys[role]}"}
    sliced = " ".join(client.get("/api" + url, headers=auth).text for url in SLICED)
    assert _found(sliced) >= {"customers.email", "customers.name", "customers.loyalty_card"}
    pages = _pages(client, keys[role], ids)
    assert _found(pages["/customers/C1"]) >= {"customers.email", "customers.name"}
    assert "sort=email" in pages["/rows/customers"]
    # text reports show the texts as written (a report of their own)
    reports = " ".join(v for k, v in outputs.items() if "/text/" in k)
    assert _found(reports) >= {"responses.comment", "responses.comment.card", "mentions.text"}
    # a notification leaves the store: masked whoever set up the rule
    assert not _found(" ".join(_notifications(client).values()))
