"""The library on a store that ``cxray serve`` holds: reads and writes through the server.

One real ``cxray serve`` over a small demo store; the test process then opens the same
file with ``Workspace.open`` (which DuckDB alone would refuse: the server holds it) and
must get the numbers computed on the file before the server started, import through the
server all or nothing, and be refused anything else, as must callers without the token.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest

from cxray.access import ApiKeys
from cxray.exceptions import CXError, ImportValidationError, StoreError
from cxray.store import LOCAL_TOKEN_HEADER, Store, find_server
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests._serve import start_server

TABLES = ("customers", "responses", "cases", "orders", "events", "mentions")
SC_COLUMNS = ["metric", "estimate", "ci_low", "ci_high", "n"]


def _counts(ws: Workspace) -> dict[str, int]:
    return {t: int(ws.table(t).count().to_pyarrow().as_py()) for t in TABLES}


def _scorecard(ws: Workspace, **kw) -> pd.DataFrame:
    frame = ws.scorecard(**kw).to_frame()
    keys = [c for c in frame.columns if c in ("metric", "period", "region")]
    cols = [*keys, *[c for c in SC_COLUMNS if c not in keys]]
    return frame[cols].sort_values(keys, ignore_index=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo store measured on the file, then held by a real ``cxray serve``."""
    folder = tmp_path_factory.mktemp("remote")
    db = folder / "cx.duckdb"
    with Workspace.open(db) as ws:
        ws.load_demo(customers=300, months=6, seed=11)
        before = {
            "counts": _counts(ws),
            "scorecard": _scorecard(ws),
            "by_month": _scorecard(ws, by=["region"], period="month"),
            "survival": ws.churn.survival().to_dict(),
            "paths": ws.journeys.paths().to_frame(),
        }
        cid = ws.table("responses").customer_id.min().to_pyarrow().as_py()
        before["customer"] = (cid, ws.customer(cid))
        _, key = ApiKeys(ws.store).create("analyst")
    proc, base = start_server(db)
    try:
        yield {"db": db, "base": base, "key": key, "before": before, "folder": folder}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def remote(server):
    with Workspace.open(server["db"]) as ws:
        yield ws


def test_a_held_store_opens_through_its_server(server, remote):
    # DuckDB alone refuses the file: the server holds it
    with pytest.raises(duckdb.IOException):
        duckdb.connect(str(server["db"]), read_only=True).close()
    assert remote.store.remote == server["base"]
    assert server["base"] in repr(remote.store)
    assert remote.store.duckdb_connection is None  # the portable paths everywhere
    assert _counts(remote) == server["before"]["counts"]
    with Workspace.open(server["db"], read_only=True) as ro:
        assert ro.store.remote == server["base"]
        assert _counts(ro) == server["before"]["counts"]
        with pytest.raises(StoreError, match="read-only"):
            ro.import_files("customers", [server["folder"] / "any.csv"])
        with pytest.raises(StoreError, match="read-only"):
            ro.store.save_model("remote_test", "test", {}, {})


def test_same_numbers_as_on_the_file(server, remote):
    before = server["before"]
    pd.testing.assert_frame_equal(_scorecard(remote), before["scorecard"], rtol=1e-9)
    by_month = _scorecard(remote, by=["region"], period="month")
    assert len(by_month) > 20
    pd.testing.assert_frame_equal(by_month, before["by_month"], rtol=1e-9)
    assert remote.churn.survival().to_dict() == before["survival"]
    pd.testing.assert_frame_equal(remote.journeys.paths().to_frame(), before["paths"], rtol=1e-9)
    # a frame of the table itself, and a parameterized query (a customer's timeline)
    responses = remote.table("responses").to_pandas()
    assert len(responses) == before["counts"]["responses"]
    assert responses["response_id"].is_unique
    batches = remote.table("responses").select("response_id").to_pyarrow_batches(chunk_size=100)
    assert sum(b.num_rows for b in batches) == len(responses)
    n = remote.store.backend.sql("SELECT count(*) AS n FROM responses").to_pyarrow()["n"]
    assert n[0].as_py() == len(responses)
    cid, timeline = before["customer"]
    assert timeline["timeline"]
    assert remote.customer(cid) == timeline


def test_two_threads_read_at_once(server):
    expected = server["before"]["counts"]
    errors: list[BaseException] = []
    results: list[tuple[str, int]] = []
    start = threading.Barrier(2)

    def read(names: tuple[str, ...]) -> None:
        try:
            with Workspace.open(server["db"], read_only=True) as ws:
                start.wait(timeout=30)
                for _ in range(3):
                    for t in names:
                        results.append((t, int(ws.table(t).count().to_pyarrow().as_py())))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(TABLES[:3],)),
               threading.Thread(target=read, args=(TABLES[3:],))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 18
    assert all(n == expected[t] for t, n in results)


def test_only_reads_and_only_the_local_owner(server, remote):
    served = find_server(server["db"])
    assert served is not None and served.url == server["base"]
    url = f"{server['base']}/api/_local/sql"
    owner = {LOCAL_TOKEN_HEADER: served.token}
    ok = httpx.post(url, json={"sql": "SELECT count(*) AS n FROM responses"}, headers=owner)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/vnd.apache.arrow.stream"
    import pyarrow as pa

    n = pa.ipc.open_stream(ok.content).read_all()["n"][0].as_py()
    assert n == server["before"]["counts"]["responses"]
    for sql in ("DELETE FROM responses", "SELECT 1; DELETE FROM responses",
                "CREATE TABLE x AS SELECT 1", "COPY responses TO '/tmp/x.csv'"):  # fmt: skip
        r = httpx.post(url, json={"sql": sql}, headers=owner)
        assert r.status_code == 400, sql
        assert "read-only" in r.json()["error"]["message"]
    # without the token, or with another, nothing is answered (an API key is not enough)
    for headers in ({}, {LOCAL_TOKEN_HEADER: "x" + served.token},
                    {"Authorization": f"Bearer {server['key']}"}):  # fmt: skip
        r = httpx.post(url, json={"sql": "SELECT 1"}, headers=headers)
        assert r.status_code in (401, 403), headers
        assert r.json()["error"]["code"] in ("unauthenticated", "forbidden")
    # the library refuses writes other than imports and models, saying what to do
    with pytest.raises(StoreError, match="cxray serve"):
        remote.store.backend.raw_sql("DELETE FROM responses")
    with pytest.raises(StoreError, match="import_files"):
        remote.import_frame("customers", pd.DataFrame({"customer_id": ["Q1"],
                                                       "created_at": ["2024-01-01"]}))  # fmt: skip
    # a query the store refuses comes back as DuckDB's own error
    with pytest.raises(duckdb.BinderException, match="no_such_column"):
        remote.store.backend.raw_sql("SELECT no_such_column FROM responses")
    assert _counts(remote) == server["before"]["counts"]


def test_import_through_the_server(server, remote):
    folder: Path = server["folder"]
    good = folder / "new_customers.csv"
    good.write_text("customer_id,created_at\nNEW1,2025-01-02\nNEW2,2025-01-03\n")
    counts = server["before"]["counts"]

    dry = remote.import_files("customers", [good], dry_run=True)
    assert (dry.dry_run, dry.result.added, dry.result.import_id) == (True, 2, None)
    assert _counts(remote)["customers"] == counts["customers"]

    report = remote.import_files("customers", [good])
    assert (report.table, report.result.added, report.result.updated) == ("customers", 2, 0)
    assert report.files[0].name.endswith("new_customers.csv") and report.files[0].rows == 2
    assert _counts(remote)["customers"] == counts["customers"] + 2
    again = remote.import_files("customers", [good])  # idempotent
    assert (again.result.added, again.result.unchanged) == (0, 2)

    # seen by the API and by a second workspace through the server
    auth = {"Authorization": f"Bearer {server['key']}"}
    r = httpx.get(f"{server['base']}/api/customers/NEW1", headers=auth)
    assert r.status_code == 200, r.text
    with Workspace.open(server["db"]) as other:
        assert other.store.remote == server["base"]
        assert _counts(other)["customers"] == counts["customers"] + 2

    # a bad file: the error the file gives on a store of its own; nothing written
    bad = folder / "bad_customers.csv"
    bad.write_text("customer_id,created_at\nNEW3,2025-01-04\nNEW4,not a date\n")
    with (
        Workspace.open(folder / "scratch.duckdb") as scratch,
        pytest.raises(ImportValidationError) as local,
    ):
        scratch.import_files("customers", [bad])
    imports = len(remote.store.imports(100))
    with pytest.raises(ImportValidationError) as through:
        remote.import_files("customers", [bad])
    assert str(through.value) == str(local.value)
    assert "not a date" in str(through.value)
    assert _counts(remote)["customers"] == counts["customers"] + 2
    assert len(remote.store.imports(100)) == imports
    with pytest.raises(CXError, match="no_such_file"):
        remote.import_files("customers", [folder / "no_such_file.csv"])


def test_a_model_is_kept_through_the_server(remote):
    row = remote.store.save_model("remote_test", "test", {"w": [1.5, 2]}, {"auc": 0.5})
    kept = remote.store.latest_model("remote_test")
    assert kept["model_id"] == row["model_id"]
    assert (kept["spec"], kept["evaluation"]) == ({"w": [1.5, 2]}, {"auc": 0.5})
    assert kept["data_version"] == remote.store.data_version()
    with pytest.raises(ValueError):  # NaN is no JSON: refused as on the file, nothing sent
        remote.store.save_model("remote_test", "test", {"w": float("nan")}, {})
    assert remote.store.latest_model("remote_test")["model_id"] == row["model_id"]


@needs_postgres
def test_postgres_is_never_remote():
    # many processes connect to PostgreSQL: a store there is always opened directly
    with Store(fresh_postgres()) as store:
        assert store.remote is None
        assert store.duckdb_connection is None
        assert "remote" not in repr(store)
