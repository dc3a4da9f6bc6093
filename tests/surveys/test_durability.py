"""An acknowledged response is never lost: SIGKILL a real ``cxray serve`` under load.

Eight clients post submissions over loopback as fast as the server answers;
after a few hundred acknowledgements the server is killed with SIGKILL (no
shutdown, no flush). Every response the server acknowledged (201) must then
be in the store, with its answers, and a new server over the same store must
start and accept more.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import httpx
import pytest

from cxray.workspace import Workspace
from tests._serve import start_server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CONFIG = """
[surveys.pulse]
title = "Pulse"
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
required = true
[[surveys.pulse.questions]]
id = "why"
type = "text"
text = "Why?"
"""


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_response(tmp_path):
    db, config = tmp_path / "d.duckdb", tmp_path / "cxray.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with Workspace.open(db, config):
        pass  # create the store before the server opens it
    proc, base = start_server(db, config)
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            j = 0
            while not stop.is_set():
                nps = (i * 7 + j) % 11
                try:
                    r = http.post("/api/surveys/pulse/responses", json={
                        "answers": {"nps": nps, "why": f"client {i} message {j}"},
                        "submission_id": f"c{i}-{j}",
                    })  # fmt: skip
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 201:
                    with lock:
                        acked[r.json()["response_id"]] = nps
                j += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=10)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 400, "the server acknowledged too few responses to test"
    with Workspace.open(db, config) as ws:
        stored = dict(
            ws.store.backend.con.sql("SELECT response_id, nps FROM responses").fetchall()
        )
        missing = [rid for rid in acked if rid not in stored]
        assert not missing, f"{len(missing)} acknowledged responses lost, e.g. {missing[:3]}"
        assert all(stored[rid] == nps for rid, nps in acked.items())
        ledger = ws.store.backend.con.sql("SELECT count(*) FROM _cx_submissions").fetchone()[0]
        assert ledger == len(stored)  # the ledger and the responses were committed together
    # a new server over the same store starts and takes more
    proc, base = start_server(db, config)
    try:
        r = httpx.post(f"{base}/api/surveys/pulse/responses", json={"answers": {"nps": 10}})
        assert r.status_code == 201
    finally:
        proc.terminate()
        proc.wait(timeout=20)
