"""Named sources: ``[sources.NAME]`` in cxray.toml, reused with ``--source NAME``."""

from __future__ import annotations

import datetime as dt

import pytest

from cxray.cli import main
from cxray.config import load_program_config
from cxray.config._sources import TABLES
from cxray.exceptions import ConfigError, SourceError
from cxray.schema import CONTRACT
from cxray.workspace import Workspace
from tests.api.conftest import make_api  # noqa: F401  (the API fixture)
from tests.conftest import SHARED

TELCO = SHARED / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
TOML = """\
[sources.telco]
table = "customers"
description = "IBM Telco churn snapshot"
map = { customer_id = "customerID", created_at = "tenure:months-before:2024-01-31", \
churned_at = "Churn:yes-at:2024-01-31", segment = "Contract:Month-to-month->monthly,*->contract", \
acquisition_channel = "'telco'" }
drop = ["gender"]

[sources.pulse]
table = "responses"
format = "csv"
map = { nps = "sql:round(score::DOUBLE)", submitted_at = "day", response_id = "#1" }
"""
FILE = """\
customerID,gender,tenure,Churn,Contract
A,Female,0,No,Month-to-month
B,Male,13,Yes,Two year
"""


def _open(tmp_path, toml=TOML) -> Workspace:
    (tmp_path / "cxray.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(tmp_path / "s.duckdb", tmp_path / "cxray.toml")


def _rows(w: Workspace, table: str, key: str) -> dict[str, dict]:
    return {r[key]: r for r in w.store.backend.table(table).to_pyarrow().to_pylist()}


def test_the_config_knows_the_contract_tables():
    assert set(TABLES) == set(CONTRACT)


def test_a_named_source_is_reused_and_the_command_line_overrides_one_target(tmp_path, write):
    p = write("t.csv", FILE)
    with _open(tmp_path) as w:
        assert w.config.sources["telco"].table == "customers"
        report = w.import_files("customers", [p], source="telco")
        assert report.result.added == 2
        rows = _rows(w, "customers", "customer_id")
        assert rows["A"]["created_at"] == dt.datetime(2024, 1, 31)
        assert rows["B"]["churned_at"] == dt.datetime(2024, 1, 31)
        assert (rows["A"]["segment"], rows["B"]["segment"]) == ("monthly", "contract")
        assert rows["A"]["acquisition_channel"] == "telco"
        assert "gender" not in w.store.attributes("customers")
        # again: nothing changes; with one target replaced on the command line: updated
        again = w.import_files("customers", [p], source="telco").result
        assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
        over = w.import_files("customers", [p], source="telco", mapping={"segment": "Contract"})
        assert over.result.updated == 2
        assert _rows(w, "customers", "customer_id")["B"]["segment"] == "Two year"
        assert _rows(w, "customers", "customer_id")["B"]["churned_at"] is not None


def test_a_named_source_with_a_declared_format(tmp_path, write):
    p = write("pulse.txt", ",day,score\nr1,2024-03-01,8.6\n")
    # the header's first cell is empty: the source maps it by position
    with _open(tmp_path) as w:
        w.import_files("responses", [p], source="pulse")
        assert _rows(w, "responses", "response_id")["r1"]["nps"] == 9


def test_a_name_that_is_neither_is_said_so(tmp_path, write):
    with _open(tmp_path) as w, pytest.raises(SourceError) as info:
        w.import_files("customers", [write("t.csv", FILE)], source="telcoo")
    msg = str(info.value)
    assert "neither a named source ([sources.NAME] in cxray.toml" in msg
    assert "defined: pulse, telco" in msg and "qualtrics" in msg


def test_a_named_source_for_another_table(tmp_path, write):
    with _open(tmp_path) as w, pytest.raises(SourceError, match="imports into customers, not"):
        w.import_files("responses", [write("t.csv", FILE)], source="telco")


def test_a_vendor_name_still_selects_the_vendor_reader(tmp_path, write):
    with _open(tmp_path) as w, pytest.raises(SourceError, match="not a Qualtrics export"):
        w.import_files("responses", [write("t.csv", FILE)], source="qualtrics")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[sources.x]\ntable = "users"\n', "[sources.x.table] table 'users' is not a table"),
        (
            '[sources.x]\ntable = "customers"\nmap = { nps = "sql:(SELECT 1)" }\n',
            "[sources.x] map.nps = 'sql:(SELECT 1)': only a scalar expression",
        ),
        (
            '[sources.x]\ntable = "customers"\nmap = { created_at = "t:weeks-before:2024-01-01" }\n',
            "unknown rule 'weeks-before'",
        ),
        ('[sources.x]\ntable = "cases"\nformat = "xlsx"\n', "format 'xlsx'"),
        ('[sources.x]\ntable = "cases"\nmapp = {}\n', "[sources.x.mapp] unknown key"),
        ('[sources.X]\ntable = "cases"\n', "source name 'X'"),
    ],
)
def test_a_bad_named_source_is_one_line_at_load(tmp_path, toml, message):
    (tmp_path / "cxray.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_program_config(tmp_path / "cxray.toml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_telco_file_with_a_named_source_from_the_command_line(tmp_path, capsys):
    (tmp_path / "cxray.toml").write_text(TOML, encoding="utf-8")
    db = str(tmp_path / "t.duckdb")
    args = ["--db", db, "--config", str(tmp_path / "cxray.toml"), "import", "customers"]
    with pytest.raises(SystemExit) as exc:
        main([*args, str(TELCO), "--source", "telco"])
    assert exc.value.code == 0, capsys.readouterr()
    with Workspace.open(db) as w:
        t = w.table("customers")
        row = t.aggregate(n=t.count(), churned=t.churned_at.notnull().sum()).to_pyarrow()
        counts = t.group_by("segment").aggregate(n=t.count()).to_pyarrow().to_pylist()
        segments = {r["segment"]: r["n"] for r in counts}
    assert row.to_pylist()[0] == {"n": 7043, "churned": 1869}
    assert segments == {"monthly": 3875, "contract": 3168}  # the file's Month-to-month count


def test_the_api_takes_the_same_mappings_and_named_sources(tmp_path, make_api):  # noqa: F811
    (tmp_path / "cxray.toml").write_text(TOML, encoding="utf-8")
    api = make_api()

    def upload(text: str, **data):
        files = [("files", ("t.csv", text, "text/csv"))]
        return api.post("/api/imports/customers", files=files, data=data)

    r = upload(FILE, source="telco", map=["segment=const:all", "-=Contract"])
    assert r.status_code == 201, r.text
    rows = _rows(api.ws, "customers", "customer_id")
    assert {r["segment"] for r in rows.values()} == {"all"}
    assert rows["B"]["created_at"] == dt.datetime(2022, 12, 31)
    assert "contract" not in api.ws.store.attributes("customers")
    bad = upload(FILE, source="telco", map=["segment=sql:getenv('HOME')"])
    assert bad.status_code == 422 and "not allowed" in bad.text
