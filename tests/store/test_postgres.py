"""The store on PostgreSQL through Ibis: the same promises as on DuckDB.

Needs a PostgreSQL server: ``CXRAY_TEST_POSTGRES_URL`` (``.ci/run`` starts one on
127.0.0.1 and sets it). Without it the module is skipped, except under CI, where a
missing server is a failure rather than a silent skip.
"""

from __future__ import annotations

import os

import pytest

from cxray.exceptions import ImportValidationError
from cxray.workspace import Workspace
from tests.conftest import snapshot

URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
if not URL and os.environ.get("CI"):
    pytest.fail(
        "CXRAY_TEST_POSTGRES_URL is not set under CI (.ci/run starts PostgreSQL)", pytrace=False
    )
pytestmark = pytest.mark.skipif(not URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)")

HEAD = "response_id,submitted_at,nps,comment\n"


@pytest.fixture
def pg(tmp_path):
    import ibis

    con = ibis.connect(URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()  # a clean database for each test
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    with Workspace.open(URL, tmp_path / "cxray.toml") as ws:
        yield ws


def rows(ws, table="responses"):
    return {r["response_id"]: r for r in ws.table(table).to_pyarrow().to_pylist()}


def test_import_reimport_and_overlap(pg, write):
    a = write("a.csv", HEAD + "A,2025-01-01T10:00:00+02:00,9,good\nB,2025-01-02,3,bad\n")
    r1 = pg.import_files("responses", [a]).result
    assert (r1.added, r1.updated, r1.unchanged) == (2, 0, 0)
    r2 = pg.import_files("responses", [a]).result
    assert (r2.added, r2.updated, r2.unchanged) == (0, 0, 2)
    b = write("b.csv", HEAD + "B,2025-01-02,4,better\nC,2025-01-03,10,wow\n")
    r3 = pg.import_files("responses", [b]).result
    assert (r3.added, r3.updated, r3.unchanged) == (1, 1, 0)
    got = rows(pg)
    assert {k: v["nps"] for k, v in got.items()} == {"A": 9, "B": 4, "C": 10}
    assert str(got["A"]["submitted_at"]) == "2025-01-01 08:00:00"
    # an unchanged row keeps the import that wrote it; a replaced one gets the new import
    assert (got["A"]["_import_id"], got["B"]["_import_id"]) == (1, 3)
    assert [i.import_id for i in pg.status().imports] == [3, 2, 1]


def test_dry_run_and_bad_files_write_nothing(pg, write):
    pg.import_files("responses", [write("a.csv", HEAD + "A,2025-01-01,9,good\n")])
    before = snapshot(pg)
    r = pg.import_files(
        "responses", [write("b.csv", HEAD + "A,2025-01-01,1,x\nB,2025-01-02,3,y\n")], dry_run=True
    ).result
    assert (r.added, r.updated, r.dry_run) == (1, 1, True)
    with pytest.raises(ImportValidationError, match="bad.csv, row 2, column 'nps': value '12'"):
        pg.import_files("responses", [write("bad.csv", HEAD + "C,2025-01-03,12,z\n")])
    assert snapshot(pg) == before


def test_attributes_become_columns(pg, write):
    pg.import_files(
        "responses", [write("a.csv", "response_id,submitted_at,nps,tier\nA,2025-01-01,9,gold\n")]
    )
    assert pg.store.attributes("responses") == ["tier"]
    assert rows(pg)["A"]["tier"] == "gold"


def test_same_world_same_numbers_as_duckdb(pg, tmp_path):
    """Portability: the demo world on PostgreSQL and on DuckDB gives identical figures."""
    with Workspace.open(tmp_path / "duck.duckdb") as duck:
        duck.load_demo(seed=5, customers=400, months=3)
        expected = (
            {t.table: t.rows for t in duck.status().tables},
            {(r["metric"], r.get("region")): r for r in duck.scorecard(by=["region"]).records()},
        )
    pg.load_demo(seed=5, customers=400, months=3)
    got = (
        {t.table: t.rows for t in pg.status().tables},
        {(r["metric"], r.get("region")): r for r in pg.scorecard(by=["region"]).records()},
    )
    assert got[0] == expected[0]
    assert got[1].keys() == expected[1].keys()  # every KPI, every region
    for metric, values in expected[1].items():
        for key, value in values.items():
            if isinstance(value, float):
                assert got[1][metric][key] == pytest.approx(value, rel=1e-9, nan_ok=True), (
                    metric,
                    key,
                )
            else:
                assert got[1][metric][key] == value, (metric, key)
