"""Pages of rows: the bounded page query returns exactly the rows of a plain sort."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from cxray.explore import RowSelection, page_rows

HINTS: dict = {}  # shared by every case: hints of one selection must not leak to another


@pytest.fixture(scope="module")
def backend():
    con = ibis.duckdb.connect()
    n = 997
    con.create_table(
        "responses",
        pa.table(
            {
                "response_id": [f"R{i:04d}" for i in range(n)],
                # many ties and some missing values in the sort columns
                "submitted_at": pa.array(
                    [
                        None if i % 53 == 0 else 1_700_000_000_000_000 + (i * 7919 % 311) * 10**9
                        for i in range(n)
                    ],
                    pa.timestamp("us"),
                ),
                "customer_id": [f"C{i % 40}" for i in range(n)],
                "nps": [None if i % 7 == 0 else i * 31 % 11 for i in range(n)],
                "channel": [("email", "app", "web")[i % 3] for i in range(n)],
                "comment": [None if i % 2 else f"text {i * 13 % 101}" for i in range(n)],
            }
        ),
    )
    return con


@pytest.mark.parametrize(
    "sort",
    [[], ["nps"], ["-nps"], ["comment", "-submitted_at"], ["channel"], ["nps,-response_id"],
     ["response_id", "nps"], ["-submitted_at"]],
)  # fmt: skip
@pytest.mark.parametrize("offset", [0, 40, 480, 900, 990])
@pytest.mark.parametrize("filters", [[], ["channel:app"]])
def test_pages_equal_a_plain_sorted_query(backend, sort, offset, filters):
    sel = RowSelection("responses", filters, sort)
    got = page_rows(backend, sel, "UTC", limit=50, offset=offset)
    plain = sel.apply(backend.table("responses"), "UTC")
    want = backend.to_pyarrow(plain.limit(50, offset=offset)).to_pylist()
    assert got["rows"] == want
    # remembered counts and page ends (kept by a server until an import) change nothing
    for _ in range(2):
        assert page_rows(backend, sel, "UTC", limit=50, offset=offset, hints=HINTS) == got
    assert got["total"] == backend.to_pyarrow(plain.count()).as_py()
    assert got["has_more"] == (offset + len(want) < got["total"])


def test_pages_tile_the_table_without_overlap(backend):
    sel = RowSelection("responses", [], ["-nps"])
    seen = []
    for offset in range(0, 997, 100):
        seen += [
            r["response_id"]
            for r in page_rows(backend, sel, "UTC", limit=100, offset=offset)["rows"]
        ]
    assert len(seen) == len(set(seen)) == 997
