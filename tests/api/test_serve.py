"""`cxray serve` for real: a subprocess on loopback answers /api/health, then stops."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_and_status(tmp_path):
    db = tmp_path / "serve.duckdb"
    out = subprocess.run(
        [sys.executable, "-m", "cxray", "--db", str(db), "keys", "create", "--role", "viewer"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = out.stdout.splitlines()[-1]
    port = _free_port()
    env = {**os.environ, "CXRAY_LOGIN_WINDOW_S": "60"}
    env.pop("CXRAY_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxray", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "cxray serve did not start in 30 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert httpx.get(f"{base}/status", timeout=5).status_code == 401
        st = httpx.get(f"{base}/status", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert st.status_code == 200 and st.json()["schema_version"] >= 2
        # while the server holds the store, the CLI works through it (docs/serving.md)
        through = subprocess.run(
            [sys.executable, "-m", "cxray", "--db", str(db), "status"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert through.returncode == 0 and "responses" in through.stdout, through.stderr
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert f"serving {db}" in output.replace("\n", "")
