"""Running a real ``cxray serve`` in tests: a free loopback port, API keys, start and wait.

Shared by the browser tests, the durability test and the e-mail tests, which all
talk to cxray (or a local SMTP server) over 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

#: Debian's Chromium, driven by Playwright (``.ci/run`` installs it)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_key(db: Path, role: str) -> str:
    """A new API key made by ``cxray keys create`` (the key alone on its last line)."""
    out = subprocess.run(
        [sys.executable, "-m", "cxray", "--db", str(db), "keys", "create", "--role", role],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def start_server(
    db: Path, config: Path | None = None, *, port: int | None = None, timeout: float = 60
) -> tuple[subprocess.Popen, str]:
    """``cxray serve`` over ``db`` on 127.0.0.1, once ``/api/health`` answers: (process, base URL).

    Its output goes to a file beside the store (a pipe nobody reads could stall it);
    a server that exits or does not answer in ``timeout`` seconds raises with that output.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "cxray", "--db", str(db)]
    if config is not None:
        cmd += ["--config", str(config)]
    cmd += ["serve", "--port", str(port), "--log-level", "warning"]
    log = db.with_name(f"{db.name}.serve-{port}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"cxray serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def served(db: Path, config: Path | None = None, *, port: int | None = None) -> Iterator[str]:
    """A running ``cxray serve`` for the duration of the block; yields its base URL."""
    proc, base = start_server(db, config, port=port)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
