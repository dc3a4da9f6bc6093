"""The contract in code must equal the published data contract, column for column."""

from __future__ import annotations

import re

import pytest

from cxray.exceptions import UnknownTableError
from cxray.schema import CONTRACT, normalize_column_name, table_spec
from tests.conftest import SHARED

CONTRACT_MD = SHARED / "design" / "data-contract.md"

TYPE_WORDS = {
    "string": "string",
    "timestamp": "timestamp",
    "integer": "integer",
    "decimal": "decimal",
    "number": "number",
    "boolean": "boolean",
}


def _published() -> dict[str, list[tuple[str, str, bool]]]:
    """Parse the markdown tables of the contract: table -> [(column, type, required)]."""
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    current = None
    for line in CONTRACT_MD.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^## (\w+) —", line):
            current = m.group(1)
            tables[current] = []
            continue
        if current and line.startswith("| ") and not line.startswith("| column"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(cells[0]) <= {"-"}:
                continue
            names, typ, required = cells[0], cells[1], cells[2]
            logical = TYPE_WORDS[typ.split()[0]]
            for name in names.split(","):
                tables[current].append((name.strip(), logical, required.startswith("yes")))
    return tables


@pytest.mark.skipif(not CONTRACT_MD.exists(), reason="../shared/design not beside the project")
def test_contract_matches_published_document():
    published = _published()
    assert list(published) == list(CONTRACT)
    for name, cols in published.items():
        spec = CONTRACT[name]
        ours = [(c.name, c.type, c.required) for c in spec.columns]
        assert ours == cols, name


def test_keys_ranges_and_rules():
    assert {t: s.key for t, s in CONTRACT.items()} == {
        "customers": "customer_id",
        "events": "event_id",
        "responses": "response_id",
        "cases": "case_id",
        "orders": "order_id",
        "mentions": "mention_id",
    }
    nps = CONTRACT["responses"].column("nps")
    assert (nps.min, nps.max) == (0, 10)
    assert CONTRACT["cases"].column("contacts").min == 1
    assert CONTRACT["orders"].column("amount").min == 0
    assert CONTRACT["events"].derive_key_from == ("customer_id", "timestamp", "touchpoint")
    assert CONTRACT["responses"].at_least_one_of == ("nps", "csat", "ces", "comment")


def test_unknown_table_is_a_clear_error():
    with pytest.raises(UnknownTableError, match="unknown table 'surveys'.*customers, events"):
        table_spec("surveys")
    assert table_spec(" Responses ").name == "responses"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Customer ID ", "customer_id"),
        ("submittedAt", "submitted_at"),
        ("IPAddress", "ip_address"),
        ("ResponseId", "response_id"),
        ("HTTPStatusCode", "http_status_code"),
        ("NPS", "nps"),
        ("Q3 - How easy was it?", "q3_how_easy_was_it"),
        ("1st contact", "c_1st_contact"),
        ("???", "column"),
        ("first_response_at", "first_response_at"),
    ],
)
def test_normalize_column_name(raw, expected):
    assert normalize_column_name(raw) == expected


def test_user_docs_list_every_column():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for spec in CONTRACT.values():
        section = text.split(f"## {spec.name} —", 1)[1].split("\n## ", 1)[0]
        for c in spec.columns:
            assert f"| `{c.name}` | {c.type} |" in section, (spec.name, c.name)
