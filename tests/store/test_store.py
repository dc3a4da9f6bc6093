"""The store: upserts, idempotent re-imports, dry runs, all-or-nothing, migrations."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cxray.exceptions import (
    ImportValidationError,
    SchemaVersionError,
    SourceError,
    StoreError,
    StoreLockedError,
)
from cxray.store import MIGRATIONS, Store
from cxray.workspace import Workspace
from tests.conftest import snapshot

HEAD = "response_id,submitted_at,nps,comment\n"


def count(ws: Workspace, table: str) -> int:
    return ws.table(table).count().to_pyarrow().as_py()


def test_import_then_reimport_is_idempotent(ws, write):
    p = write("r.csv", HEAD + "A,2025-01-01,9,good\nB,2025-01-02,3,bad\n")
    first = ws.import_files("responses", [p]).result
    assert (first.added, first.updated, first.unchanged, first.import_id) == (2, 0, 0, 1)
    again = ws.import_files("responses", [p]).result
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert count(ws, "responses") == 2


def test_overlapping_file_updates_and_adds(ws, write):
    ws.import_files(
        "responses", [write("a.csv", HEAD + "A,2025-01-01,9,good\nB,2025-01-02,3,bad\n")]
    )
    r = ws.import_files(
        "responses", [write("b.csv", HEAD + "B,2025-01-02,4,better\nC,2025-01-03,10,wow\n")]
    ).result
    assert (r.added, r.updated, r.unchanged) == (1, 1, 0)
    got = {x["response_id"]: x["nps"] for x in ws.table("responses").to_pyarrow().to_pylist()}
    assert got == {"A": 9, "B": 4, "C": 10}
    log = ws.status().imports
    assert [(i.import_id, i.added, i.updated) for i in log] == [(2, 1, 1), (1, 2, 0)]
    assert log[0].files[0]["name"] == "b.csv" and len(log[0].files[0]["sha256"]) == 64


def test_dry_run_reports_and_writes_nothing(ws, write):
    ws.import_files("responses", [write("a.csv", HEAD + "A,2025-01-01,9,good\n")])
    before = snapshot(ws)
    r = ws.import_files(
        "responses",
        [write("b.csv", HEAD + "A,2025-01-01,2,changed\nB,2025-01-02,3,new\n")],
        dry_run=True,
    ).result
    assert (r.dry_run, r.added, r.updated, r.unchanged, r.import_id) == (True, 1, 1, 0, None)
    assert snapshot(ws) == before


def test_failed_import_leaves_store_unchanged(ws, write):
    ws.import_files("responses", [write("a.csv", HEAD + "A,2025-01-01,9,good\n")])
    before = snapshot(ws)
    good = write("good.csv", HEAD + "B,2025-01-02,3,fine\n")
    bad = write("bad.csv", HEAD + "C,2025-01-03,99,oops\n")
    with pytest.raises(ImportValidationError, match="bad.csv, row 2, column 'nps'"):
        ws.import_files("responses", [good, bad])
    assert snapshot(ws) == before
    with pytest.raises(SourceError):
        ws.import_files("responses", [good, write("broken.csv", HEAD + "D,x,1,2,3\n")])
    assert snapshot(ws) == before
    # no temporary objects are left behind in the store's connection
    temps = ws.store.backend.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    ).fetchone()[0]
    assert temps == 0


def test_attributes_become_columns_and_widen(ws, write):
    ws.import_files("responses", [write("a.csv", HEAD.strip() + ",tier\nA,2025-01-01,9,x,gold\n")])
    assert ws.store.attributes("responses") == ["tier"]
    import pyarrow as pa

    ws.import_frame(
        "responses",
        pa.table({"response_id": ["B"], "submitted_at": ["2025-01-02"], "nps": [1], "score2": [3]}),
    )
    ws.import_frame(
        "responses",
        pa.table(
            {"response_id": ["C"], "submitted_at": ["2025-01-02"], "nps": [1], "score2": [2.5]}
        ),
    )
    assert ws.store.columns("responses")["score2"] == "float64"
    ws.import_frame(
        "responses",
        pa.table(
            {"response_id": ["D"], "submitted_at": ["2025-01-02"], "nps": [1], "score2": ["n/a"]}
        ),
    )
    assert ws.store.columns("responses")["score2"] == "string"
    vals = {r["response_id"]: r["score2"] for r in ws.table("responses").to_pyarrow().to_pylist()}
    assert vals == {"A": None, "B": "3.0", "C": "2.5", "D": "n/a"}


def test_events_without_ids_are_idempotent(ws, write):
    p = write(
        "e.csv",
        "customer_id,timestamp,touchpoint\nC1,2025-01-01T10:00:00Z,visit_site\n"
        "C1,2025-01-01T10:05:00Z,checkout_started\n",
    )
    assert ws.import_files("events", [p]).result.added == 2
    assert ws.import_files("events", [p]).result.unchanged == 2
    assert count(ws, "events") == 2


def test_migrations_and_versions(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        assert s.schema_version == MIGRATIONS[-1].version
        assert {
            "customers",
            "events",
            "responses",
            "cases",
            "orders",
            "mentions",
            "_cx_imports",
            "_cx_meta",
        } <= set(s.backend.list_tables())
    with Store(path) as s:
        assert s.migrate() == []  # already current
        s.backend.con.execute("UPDATE _cx_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="newer cxray"):
        Store(path)


def test_read_only_open_of_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no cxray store at"):
        Store(tmp_path / "none.duckdb", read_only=True)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "no" / "dir" / "x.duckdb")


def test_second_writer_gets_a_clear_lock_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time, duckdb
            con = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            sys.stdin.readline()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match="in use by another cxray process"):
            Store(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_program_zone_applies_through_the_store(tmp_path, write):
    """Naive times are read in the program's zone whatever the store connection's zone."""
    import datetime as dt

    cfg = write("cxray.toml", '[program]\ntimezone = "America/New_York"\n')
    p = write(
        "r.csv",
        "response_id,submitted_at,nps\nA,2025-07-01 09:00,9\nB,2025-07-01T09:00Z,9\n"
        "C,2025-01-15,9\n",
    )
    with Workspace.open(tmp_path / "ny.duckdb", cfg) as ws:
        ws.import_files("responses", [p])
        got = {
            r["response_id"]: r["submitted_at"]
            for r in ws.table("responses").to_pyarrow().to_pylist()
        }
    assert got == {
        "A": dt.datetime(2025, 7, 1, 13, 0),  # EDT = UTC-4
        "B": dt.datetime(2025, 7, 1, 9, 0),  # Z is an instant
        "C": dt.datetime(2025, 1, 15, 5, 0),  # EST = UTC-5
    }


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            "A,2025-01-01,9,x\nB,2025-01-02,11,y\n",
            ImportValidationError,
            "first.csv, row 3, column 'nps': value '11': out of range",
        ),
        (
            "A,2025-01-01,9,x\nA,2025-01-02,3,y\n",
            ImportValidationError,
            "first.csv, row 3, column 'response_id': value 'A': duplicate key",
        ),
        (
            "A,2025-01-01,9,x\nB,2025-01-02,3,y,extra\n",
            SourceError,
            "first.csv: cannot be read as CSV",
        ),
    ],
)
def test_first_import_into_empty_table_checks_while_writing(ws, write, body, error, message):
    """The one-pass path (check and insert together) reports exactly what the eager path does."""
    before = snapshot(ws)
    with pytest.raises(error, match=message):
        ws.import_files("responses", [write("first.csv", HEAD + body)])
    assert snapshot(ws) == before


def test_first_import_collapses_exact_repeats(ws, write):
    p = write("rep.csv", HEAD + "A,2025-01-01,9,x\nA,2025-01-01,9,x\nB,2025-01-02,3,y\n")
    report = ws.import_files("responses", [p])
    assert (report.result.added, report.files[0].rows, report.files[0].repeated) == (2, 2, 1)
    assert count(ws, "responses") == 2
    log = ws.status().imports[0]
    assert (log.rows_in, log.added, log.files[0]["rows"]) == (2, 2, 2)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("h.csv", b"response_id,submitted_at,nps,comm\xe8nt\nA,2025-01-01,9,x\n", "h.csv, line 1"),
        (
            "d.csv",
            b"response_id,submitted_at,nps,comment\nA,2025-01-01,9,ok\nB,2025-01-01,8,Tr\xe8s\n",
            "d.csv, line 3",
        ),
        (
            "j.jsonl",
            b'{"response_id":"A","submitted_at":"2025-01-01","nps":9}\n'
            b'{"response_id":"B","submitted_at":"2025-01-01","comment":"Tr\xe8s"}\n',
            "j.jsonl, line 2",
        ),
    ],
)
@pytest.mark.parametrize("empty", [True, False])
def test_text_that_is_not_utf8_is_refused_with_its_line(
    ws, write, tmp_path, name, data, message, empty
):
    if not empty:
        ws.import_files("responses", [write("seed.csv", HEAD + "S,2025-01-01,8,seed\n")])
    before = snapshot(ws)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError, match=f"{message}: not UTF-8 text"):
        ws.import_files("responses", [path])
    assert snapshot(ws) == before
