"""Mailchimp audience exports (subscribed / unsubscribed CSV files) into customers.

The fixtures have the columns Mailchimp documents for an exported audience
(https://mailchimp.com/help/view-export-contacts/): the audience fields (``Email Address``,
``First Name``, ``Last Name``, ``Address``, ``Phone Number``, ``Birthday``, a merge field),
then ``MEMBER_RATING``, ``OPTIN_TIME``, ``OPTIN_IP``, ``CONFIRM_TIME``, ``CONFIRM_IP``,
``LATITUDE``, ``LONGITUDE``, ``GMTOFF``, ``DSTOFF``, ``TIMEZONE``, ``CC``, ``REGION``,
``LAST_CHANGED``, ``LEID``, ``EUID``, ``NOTES``, ``TAGS`` and, for unsubscribed contacts,
the ``UNSUB_*`` columns.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from cxray.exceptions import ImportValidationError
from cxray.ingest import read_batch
from cxray.workspace import Workspace

SUBSCRIBED = "mailchimp_subscribed_members.csv"
UNSUBSCRIBED = "mailchimp_unsubscribed_members.csv"


def test_contacts_map_onto_customers(fixture_path, rows_by):
    batch = read_batch("customers", [fixture_path(SUBSCRIBED)])
    assert batch.files[0].source == "mailchimp"
    rows = rows_by(batch, "customer_id")
    assert list(rows) == ["ada@example.com", "bo@example.com", "lin@example.com"]
    ada = rows["ada@example.com"]  # the id is the address in lower case; email as written
    assert (ada["email"], ada["name"], ada["plan"]) == ("Ada@Example.com", "Ada Lovell", "plus")
    assert ada["created_at"] == datetime(2024, 11, 2, 8, 15, 31)  # OPTIN_TIME
    assert (ada["region"], ada["cc"], ada["member_rating"]) == ("England", "GB", "4")
    assert json.loads(ada["tags"]) == ["VIP", "Kettle owners"]
    assert ada["mailchimp_status"] == "subscribed"
    bo = rows["bo@example.com"]
    assert bo["created_at"] == datetime(2025, 1, 15, 17, 40)  # no opt-in: CONFIRM_TIME
    assert bo["notes"] == "Signed up at the Bristol store"
    assert rows["lin@example.com"]["name"] == "Lin"
    # street address, phone, birthday, IPs and coordinates are personal data: not kept
    for dropped in ("address", "phone_number", "birthday", "optin_ip", "latitude"):
        assert dropped not in batch.attributes, dropped


def test_unsubscribed_contacts_are_customers_still(fixture_path, rows_by):
    batch = read_batch("customers", [fixture_path(SUBSCRIBED), fixture_path(UNSUBSCRIBED)])
    rows = rows_by(batch, "customer_id")
    assert len(rows) == 4
    cai = rows["cai@example.com"]
    assert cai["mailchimp_status"] == "unsubscribed"
    assert cai["churned_at"] is None  # leaving a mailing list is not leaving the company
    assert cai["unsub_reason"] == "I no longer want to receive these emails"


@pytest.mark.parametrize(
    ("row", "old", "new", "expected"),
    [
        (1, "2024-11-02 08:15:31", "02/11/2024 8am", "row 2, column 'created_at'"),
        (2, '"bo@example.com"', '""', "row 3, column 'customer_id'"),
        (
            3,
            '"lin@example.com","Lin"',
            '"ADA@example.com","Ada L."',
            "row 4, column 'customer_id': value 'ada@example.com': duplicate key: row 2",
        ),
    ],
    ids=["wrong type", "missing email", "same address twice"],
)
def test_bad_exports_write_nothing(fixture_path, tmp_path, row, old, new, expected):
    lines = fixture_path(SUBSCRIBED).read_text(encoding="utf-8").splitlines()
    assert old in lines[row]
    lines[row] = lines[row].replace(old, new)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        with pytest.raises(ImportValidationError) as exc:
            ws.import_files("customers", [path])
        assert expected in str(exc.value) and "bad.csv" in str(exc.value)
        assert ws.status().imports == []


def test_import_is_idempotent(fixture_path, tmp_path):
    with Workspace.open(tmp_path / "store.duckdb", tmp_path / "cxray.toml") as ws:
        first = ws.import_files("customers", [fixture_path(SUBSCRIBED)]).result
        again = ws.import_files("customers", [fixture_path(SUBSCRIBED)]).result
        assert (first.added, again.added, again.updated, again.unchanged) == (3, 0, 0, 3)
        assert ws.table("customers").count().execute() == 3
