"""The new vendor sources on a PostgreSQL store: the same rows, all-or-nothing, idempotent.

Needs ``CXRAY_TEST_POSTGRES_URL`` (skipped without it, a failure under CI), like
``tests/store/test_postgres.py``. One store for the module: each vendor writes its own
table, so the order of the tests does not matter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cxray.exceptions import ImportValidationError
from cxray.workspace import Workspace

URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
if not URL and os.environ.get("CI"):
    pytest.fail(
        "CXRAY_TEST_POSTGRES_URL is not set under CI (.ci/run starts PostgreSQL)", pytrace=False
    )
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    import ibis

    # Empty the store by dropping this user's tables and views only: DROP OWNED BY would
    # also revoke the privileges the user was granted on the database and its schema.
    con = ibis.connect(URL)
    owned = con.raw_sql(
        "SELECT 'TABLE', tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tableowner = current_user UNION ALL SELECT 'VIEW', viewname FROM pg_views "
        "WHERE schemaname = current_schema() AND viewowner = current_user"
    ).fetchall()
    for kind, name in owned:
        quoted = '"' + name.replace('"', '""') + '"'
        con.raw_sql(f"DROP {kind} IF EXISTS {quoted} CASCADE").close()
    con.disconnect()
    with Workspace.open(URL, tmp_path_factory.mktemp("pg") / "cxray.toml") as ws:
        yield ws


@pytest.mark.parametrize(
    ("table", "names", "key", "expected"),
    [
        (
            "cases",
            ["freshdesk_tickets.json", "hubspot_tickets.json", "salesforce_cases_report.csv"],
            "case_id",
            {"1042": "resolved", "513": "new", "00001027": "new"},
        ),
        ("events", ["ga4_events.jsonl"], "touchpoint", {"purchase": "C-0042"}),
        (
            "mentions",
            ["google_play_reviews.csv", "app_store_reviews.json", "trustpilot_reviews.json"],
            "mention_id",
            {"gp:AOqpTOH1aX2kettle": 2.0, "67c5a1b2e4b0a1c2d3e4f502": 5.0},
        ),
        (
            "customers",
            ["mailchimp_subscribed_members.csv"],
            "customer_id",
            {"ada@example.com": "Ada Lovell"},
        ),
    ],
    ids=["cases", "events", "mentions", "customers"],
)
def test_import_twice_on_postgres(pg, table, names, key, expected):
    paths = [FIXTURES / n for n in names]
    first = pg.import_files(table, paths).result
    again = pg.import_files(table, paths).result
    assert first.added > 0
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    rows = {r[key]: r for r in pg.table(table).to_pyarrow().to_pylist()}
    assert len(rows) == first.added
    value = {"cases": "status", "events": "customer_id", "mentions": "rating", "customers": "name"}[
        table
    ]
    assert {k: rows[k][value] for k in expected} == expected


def test_a_bad_file_writes_nothing_on_postgres(pg, tmp_path):
    export = json.loads((FIXTURES / "intercom_conversations.json").read_text())
    export["conversations"][2]["id"] = "147"  # same id as the first, other values
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(export))
    with pytest.raises(ImportValidationError, match="duplicate key: row 1"):
        pg.import_files("responses", [path])
    assert pg.table("responses").count().execute() == 0
