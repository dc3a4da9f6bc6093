"""Detection over every vendor fixture, old and new: each file is claimed by its own vendor.

Fixtures are named after their vendor (``<source>_...``). For every fixture, the source
it is named after claims it for each table that source feeds, no other vendor's sniffer
claims it at all (so a new reader cannot steal an older reader's files, whatever the
registration order), and for the tables its vendor does not feed it is left to the
canonical reader.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cxray.ingest import SOURCES, detect_source, get_source, read_batch

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"
TABLES = ("customers", "responses", "cases", "orders", "events", "mentions")
NEW = (
    "freshdesk",
    "intercom",
    "hubspot",
    "salesforce",
    "ga4",
    "google_play",
    "app_store",
    "trustpilot",
    "mailchimp",
)


def _vendors() -> list[str]:
    get_source("canonical")  # loads the vendor modules
    return sorted((n for n in SOURCES if n != "canonical"), key=len, reverse=True)


def _owner(path: Path) -> str:
    owner = next((v for v in _vendors() if path.name.startswith(f"{v}_")), None)
    assert owner is not None, f"{path.name}: name vendor fixtures <source>_<what>.<ext>"
    return owner


FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file())


def test_every_new_source_is_registered_with_its_tables():
    expected = {
        "freshdesk": {"cases"},
        "intercom": {"cases", "responses"},
        "hubspot": {"cases"},
        "salesforce": {"cases"},
        "ga4": {"events"},
        "google_play": {"mentions"},
        "app_store": {"mentions"},
        "trustpilot": {"mentions"},
        "mailchimp": {"customers"},
    }
    assert {n: set(get_source(n).tables) for n in NEW} == expected
    assert {f.name.split("_")[0] for f in FILES} >= {"freshdesk", "ga4", "mailchimp"}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_fixture_is_its_own_vendors(path):
    owner = _owner(path)
    for table in TABLES:
        want = owner if table in SOURCES[owner].tables else "canonical"
        assert detect_source(path, table).name == want, (path.name, table)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_no_other_sniffer_claims_the_fixture(path):
    owner = _owner(path)
    head = path.read_bytes()[:65536]
    others = [v for v in _vendors() if v != owner and SOURCES[v].sniff(path, head)]
    assert others == [], f"{path.name} is also claimed by {others}"


@pytest.mark.parametrize(
    ("name", "table", "rows"),
    [
        ("freshdesk_tickets.csv", "cases", 3),
        ("intercom_conversations.json", "cases", 3),
        ("ga4_events.jsonl", "events", 5),
        ("google_play_reviews.csv", "mentions", 2),
        ("mailchimp_subscribed_members.csv", "customers", 3),
    ],
)
def test_compressed_exports_are_detected_and_read(tmp_path, name, table, rows):
    path = tmp_path / f"{name}.gz"
    path.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))
    assert detect_source(path, table).name == _owner(FIXTURES / name)
    assert read_batch(table, [path]).num_rows == rows


@pytest.mark.parametrize(
    ("name", "text", "table"),
    [
        ("cases.csv", "case_id,opened_at,status,priority\n1,2025-03-01,open,high\n", "cases"),
        (
            "events.jsonl",
            '{"customer_id": "c1", "timestamp": "2025-03-01T10:00:00Z", "touchpoint": "visit",'
            ' "event_name": "visit"}\n',
            "events",
        ),
        ("mentions.csv", "mention_id,posted_at,text,rating\nm1,2025-03-01,ok,4\n", "mentions"),
        (
            "customers.csv",
            "customer_id,created_at,email\nc1,2025-03-01,a@example.com\n",
            "customers",
        ),
    ],
)
def test_canonical_files_are_not_claimed_by_the_new_sources(tmp_path, name, text, table):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect_source(path, table).name == "canonical"
