"""Personal data planted in free text never leaves through the dashboard, API rows or
exports while ``[privacy] redact`` is on (the default), and does when it is off."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from cxray.access import ApiKeys
from cxray.api import ApiSettings
from cxray.app import create_app
from cxray.workspace import Workspace

EMAIL = "jo.tester@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"  # passes the Luhn check
PLANTED = (EMAIL, PHONE, CARD)
COMMENT = f"Call me on {PHONE} or mail {EMAIL}; card {CARD} was charged twice"
RESPONSES = (
    "response_id,submitted_at,customer_id,nps,comment\n"
    f'R1,2026-03-02T10:00:00Z,C1,2,"{COMMENT}"\n'
    "R2,2026-03-03T10:00:00Z,C1,9,Order 20260303 arrived fine\n"
)
CASES = (
    "case_id,opened_at,customer_id,subject,description\n"
    f'K1,2026-03-04T09:00:00Z,C1,"Refund to {EMAIL}","Charged twice on {CARD}, call {PHONE}"\n'
)
MENTIONS = f'mention_id,posted_at,customer_id,text\nM1,2026-03-05T08:00:00Z,C1,"DM me {EMAIL}"\n'


def _site(folder: Path, redact: bool | None) -> tuple[TestClient, dict[str, str]]:
    config = folder / "cxray.toml"
    if redact is not None:
        config.write_text(f"[privacy]\nredact = {str(redact).lower()}\n")
    db = folder / "store.duckdb"
    with Workspace.open(db, config) as ws:
        for table, text in (("responses", RESPONSES), ("cases", CASES), ("mentions", MENTIONS)):
            path = folder / f"{table}.csv"
            path.write_text(text)
            ws.import_files(table, [path])
        key = ApiKeys(ws.store).create("viewer", name="privacy")[1]
    client = TestClient(create_app(db, config, settings=ApiSettings()))
    client.__enter__()
    r = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, {"Authorization": f"Bearer {key}"}


@pytest.fixture(params=[None, False], ids=["default", "off"])
def site(request, tmp_path) -> Iterator[tuple[TestClient, dict[str, str], bool]]:
    client, auth = _site(tmp_path, request.param)
    yield client, auth, request.param is None
    client.__exit__(None, None, None)


def _everything(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    """What a person can read: pages, API rows and timelines, exports (as text)."""
    out = {}
    for path in ("/rows/responses", "/rows/cases", "/rows/mentions", "/customers/C1"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.text
    for table in ("responses", "cases", "mentions"):
        r = client.get(f"/api/tables/{table}/rows", headers=auth)
        assert r.status_code == 200, r.text
        out[f"api rows {table}"] = r.text
        csv = client.get(f"/api/tables/{table}/export?format=csv", headers=auth)
        assert csv.status_code == 200, csv.text
        out[f"csv {table}"] = pacsv.read_csv(io.BytesIO(csv.content)).to_pandas().to_csv()
        parquet = client.get(f"/api/tables/{table}/export?format=parquet", headers=auth)
        assert parquet.status_code == 200
        out[f"parquet {table}"] = pq.read_table(io.BytesIO(parquet.content)).to_pandas().to_csv()
    r = client.get("/api/customers/C1", headers=auth)
    assert r.status_code == 200, r.text
    out["api customer"] = r.text
    return out


def test_planted_personal_data_is_masked_everywhere_unless_turned_off(site):
    client, auth, redacting = site
    shown = _everything(client, auth)
    for where, text in shown.items():
        planted = (EMAIL,) if "mentions" in where else PLANTED  # a mention holds an e-mail
        for secret in planted:
            found = secret in text or secret.replace(" ", "") in text
            assert found is not redacting, (where, secret, redacting)
    if redacting:
        # masked, not dropped: the rest of the comment is still there to read
        assert "[phone]" in shown["csv responses"] and "[email]" in shown["csv responses"]
        assert "[card]" in shown["api rows cases"] and "Charged twice" in shown["api rows cases"]
        # numbers that are no phone or card stay (an order number with no separators)
        assert "Order 20260303 arrived fine" in shown["/rows/responses"]
