"""Imports never block collection: a survey submission commits, and is read, while an import
is held half-way (reading, or inside its write); import limits over the API (4xx, the file
and the limit named, nothing written); a broken Parquet upload named as uploaded; upload
folders a killed server left are removed when the next one starts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cxray.api._routes import imports as import_route
from tests.api.conftest import assert_envelope
from tests.conftest import snapshot
from tests.surveys.conftest import PULSE

ROWS = "".join(f"I{i},2025-02-{1 + i % 28:02d},{i % 11},north\n" for i in range(200))
CSV = "response_id,submitted_at,nps,region\n" + ROWS


@pytest.fixture(autouse=True)
def own_temp(tmp_path, monkeypatch):
    """Upload folders under this test's folder, not the machine's temp folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()


@pytest.fixture
def sapi(make_api, tmp_path):
    (tmp_path / "cxray.toml").write_text(
        "[imports.limits]\nmax_columns = 6\nmax_line_kb = 1\nmax_cells = 1000\nmax_file_mb = 1\n"
    )
    api = make_api()
    r = api.client.put("/api/surveys/pulse", json=PULSE, headers=api.auth("admin"))
    assert r.status_code == 201, r.text
    return api


def _upload(api, name, content, table="responses"):
    return api.post(f"/api/imports/{table}", files=[("files", (name, content, "text/csv"))])


def _in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported by the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def _hold(monkeypatch, target, attr):
    """Make ``target.attr`` stop half-way until the test says go: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    original = getattr(target, attr)

    def held(*args, **kwargs):
        out = original(*args, **kwargs)
        entered.set()
        assert release.wait(30), "the test never released the import"
        return out

    monkeypatch.setattr(target, attr, held)
    return entered, release


@pytest.mark.parametrize("phase", ["reading", "writing"])
def test_a_submission_commits_and_is_read_while_an_import_is_held(sapi, monkeypatch, phase):
    import cxray.store._store as store_module
    import cxray.workspace as workspace_module

    if phase == "reading":  # the file staged and checked, not yet written
        entered, release = _hold(monkeypatch, workspace_module, "read_batch")
    else:  # inside the import's transaction: its rows inserted, not committed
        entered, release = _hold(monkeypatch, store_module._DuckDBWriter, "_write_one")
    importing, imported = _in_thread(lambda: _upload(sapi, "big.csv", CSV))
    try:
        assert entered.wait(20), imported
        body = {"answers": {"nps": 10}, "submission_id": "during"}
        sending, sent = _in_thread(
            lambda: sapi.client.post("/api/surveys/pulse/responses", json=body)
        )
        sending.join(10)
        assert not sending.is_alive(), "the submission waited for the import"
        assert sent["value"].status_code == 201, sent["value"].text
        rid = sent["value"].json()["response_id"]
        row = sapi.get(f"/api/tables/responses/rows?filter=response_id:{rid}").json()
        assert [r["nps"] for r in row["rows"]] == [10]  # committed and readable
        held_rows = sapi.get("/api/tables/responses/rows?filter=response_id:I7").json()["rows"]
        assert held_rows == []  # the import's rows are not seen before it commits
    finally:
        release.set()
        importing.join(30)
    report = imported["value"]
    assert report.status_code == 201, report.text
    assert (report.json()["added"], report.json()["new_attributes"]) == (200, ["region"])
    con = sapi.ws.store.backend.con
    assert con.sql("SELECT count(*) FROM responses").fetchone() == (201,)
    assert con.sql("SELECT nps FROM responses WHERE response_id = 'I7'").fetchone() == (7,)
    log = con.sql("SELECT import_id, source FROM _cx_imports ORDER BY import_id").fetchall()
    # one id each, although the collector logged itself while the import was under way
    want = (
        [(1, "canonical"), (2, "surveys")]
        if phase == "writing"
        else [(1, "surveys"), (2, "canonical")]
    )
    assert log == want


CASES = {
    "columns": (
        "wide.csv",
        "a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n",
        422,
        "wide.csv, line 1 (the header): 7 columns, over the limit of 6 "
        "([imports.limits] max_columns)",
    ),
    "line": (
        "long.csv",
        "response_id,submitted_at,nps,comment\nA,2025-01-01,9," + "x" * 2000 + "\n",
        422,
        "long.csv, line 2: longer than the limit of 1 KiB per line ([imports.limits] max_line_kb)",
    ),
    "cells": (
        "many.csv",
        CSV + ROWS[: ROWS.index("I60,")].replace("I", "J"),
        422,
        "many.csv: over 260 rows × 4 columns, more than the limit of 1,000 cells "
        "([imports.limits] max_cells)",
    ),
    "size": (
        "huge.csv",
        "response_id,submitted_at,nps\n" + "A,2025-01-01,9\n" * 80_000,
        413,
        "huge.csv: over the limit of 1 MiB per file ([imports.limits] max_file_mb)",
    ),
    "nul": (
        "nul.csv",
        "response_id,submitted_at,nps,comment\nA,2025-01-01,9,fi\x00ne\n",
        422,
        "nul.csv, line 2, column 'comment': a NUL byte",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_upload_over_a_limit_is_refused_naming_file_and_limit(sapi, case):
    name, content, status, message = CASES[case]
    before = snapshot(sapi.ws)
    r = _upload(sapi, name, content)
    err = assert_envelope(r, status, "payload_too_large" if status == 413 else "source_error")
    assert message in err["message"]
    assert snapshot(sapi.ws) == before
    assert list(import_route.uploads_folder().iterdir()) == []  # its upload folder is gone


def test_a_broken_parquet_upload_names_the_file_not_a_server_path(sapi, tmp_path):
    r = _upload(sapi, "answers.parquet", b"PAR1 this is not parquet at all PAR1")
    err = assert_envelope(r, 422, "source_error")
    assert err["message"].startswith("answers.parquet: cannot be read as Parquet")
    for leak in (str(tmp_path), tempfile.gettempdir(), "cxray-upload", "/"):
        assert leak not in err["message"]


def test_stale_upload_folders_are_removed_when_the_server_starts(make_api, tmp_path):
    folder = import_route.uploads_folder()
    assert folder == tmp_path / "tmp" / f"cxray-uploads-{os.getuid()}"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid, live_pid = int(gone.stdout), os.getppid()
    dead = folder / f"cxray-upload-{dead_pid}-abc"
    live = folder / f"cxray-upload-{live_pid}-def"
    old = folder / f"cxray-upload-{live_pid}-ghi"
    other = folder / "not-an-upload"
    for d in (dead, live, old, other):
        (d / "0").mkdir(parents=True)
        (d / "0" / "r.csv").write_text("response_id\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    make_api()  # a server starts
    assert sorted(p.name for p in folder.iterdir()) == sorted([live.name, other.name])


def test_an_upload_folder_is_made_under_the_uploads_folder_and_removed(sapi, monkeypatch):
    seen = []
    original = import_route.tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        td = original(*args, **kwargs)
        seen.append(Path(td.name))
        return td

    monkeypatch.setattr(import_route.tempfile, "TemporaryDirectory", spy)
    r = _upload(sapi, "r.csv", "response_id,submitted_at,nps\nA,2025-01-01,9\n")
    assert r.status_code == 201, r.text
    (made,) = seen
    assert made.parent == import_route.uploads_folder()
    assert made.name.startswith(f"cxray-upload-{os.getpid()}-")
    assert not made.exists()
