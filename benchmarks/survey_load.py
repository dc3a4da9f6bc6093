"""Survey submissions under sustained load, side by side with a FastAPI hello-world endpoint.

    python -m benchmarks.survey_load [--seconds 20] [--connections 64] [--world N]

Both servers run the same way (uvicorn, one process, on loopback) and are
driven by the same load tool (``wrk`` through ``benchmarks/_load.py``) with
the same number of connections:

* ``hello``: a FastAPI app whose one endpoint parses a JSON body and answers
  201 (the floor: what the web stack itself costs on this machine);
* ``cxray``: ``POST /api/surveys/pulse/responses`` of a real ``cxray serve``,
  each request a distinct submission (its own ``submission_id``), checked,
  committed to the store and only then answered 201.

After the run the store is opened and the rows counted: every 201 must be a
stored response. The table gives requests/s, latency percentiles, the ratio to
hello-world, and the server's peak memory. Goal (issue 6): at least 1,000
submissions/s with p99 under 100 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._load import LoadResult, run_load

CONFIG = """
[surveys.pulse]
title = "Pulse"
touchpoint = "case_resolved"
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
required = true
[[surveys.pulse.questions]]
id = "improve"
type = "text"
text = "What could we do better?"
show_if = { question = "nps", max = 6 }
[[surveys.pulse.questions]]
id = "channel_used"
type = "single"
text = "How did you contact us?"
choices = ["phone", "chat", "email"]
"""

HELLO_APP = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/hello")
async def hello(request: Request):
    body = await request.json()
    return JSONResponse({"ok": True, "keys": len(body)}, status_code=201)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, path: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(base + path, timeout=2)
            return
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _bodies(n: int, prefix: str) -> list[str]:
    out = []
    for i in range(n):
        nps = i % 11
        answers: dict = {"nps": nps, "channel_used": ("phone", "chat", "email")[i % 3]}
        if nps <= 6:
            answers["improve"] = f"Please answer faster next time ({i})"
        out.append(json.dumps({"answers": answers, "submission_id": f"{prefix}-{i}"}))
    return out


def _serve(cmd: list[str], base: str, probe: str, log: Path, env: dict | None = None):
    # the server's output goes to a file: a pipe nobody reads would stall it when full
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    _wait(base, probe, proc, log)
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--world", type=int, default=0, help="demo customers in the store first")
    args = ap.parse_args()
    n_bodies = int(args.seconds * 4000) + 10_000  # more than can be sent: each one new

    results: list[LoadResult] = []
    with tempfile.TemporaryDirectory(prefix="cxsurvey-") as tmp:
        folder = Path(tmp)
        # ---- the floor: FastAPI hello world, same server, same load
        (folder / "hello_app.py").write_text(HELLO_APP)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        hello = _serve(
            [sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(port),
             "--log-level", "warning"],
            base, "/docs", folder / "hello.log", env={**os.environ, "PYTHONPATH": str(folder)},
        )  # fmt: skip
        try:
            run_load(base + "/hello", method="POST", bodies=_bodies(500, "w"), duration_s=2,
                     connections=args.connections, threads=args.threads)  # warm-up  # fmt: skip
            r = run_load(
                base + "/hello", method="POST", bodies=_bodies(n_bodies, "h"),
                duration_s=args.seconds, connections=args.connections, threads=args.threads,
                name="FastAPI hello world (POST JSON → 201)",
            )  # fmt: skip
            results.append(r)
            hello_rss = _peak_rss_mib(hello.pid)
        finally:
            hello.terminate()
            hello.wait(timeout=20)

        # ---- cxray serve
        db, config = folder / "s.duckdb", folder / "cxray.toml"
        config.write_text(CONFIG)
        from cxray.workspace import Workspace

        with Workspace.open(db, config) as ws:
            if args.world:
                ws.load_demo(seed=7, customers=args.world)
            before = ws.store.table("responses").count().execute()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = _serve(
            [sys.executable, "-m", "cxray", "--db", str(db), "--config", str(config), "serve",
             "--port", str(port), "--log-level", "warning"],
            base, "/api/health", folder / "serve.log",
        )  # fmt: skip
        try:
            url = base + "/api/surveys/pulse/responses"
            run_load(url, method="POST", bodies=_bodies(2000, "warm"), duration_s=2,
                     connections=args.connections, threads=args.threads)  # fmt: skip
            r = run_load(
                url, method="POST", bodies=_bodies(n_bodies, "load"), duration_s=args.seconds,
                connections=args.connections, threads=args.threads,
                name="cxray POST /api/surveys/pulse/responses (stored, then 201)",
            )  # fmt: skip
            results.append(r)
            page = run_load(
                base + "/s/pulse", duration_s=min(args.seconds, 10),
                connections=args.connections, threads=args.threads,
                name="cxray GET /s/pulse (the survey page, no JavaScript)",
            )  # fmt: skip
            cx_rss = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
        with Workspace.open(db, config) as ws:
            con = ws.store.backend.con
            after = ws.store.table("responses").count().execute()
            stored_load = con.sql(
                "SELECT count(*) FROM _cx_submissions s WHERE s.response_id IN "
                "(SELECT response_id FROM responses)"
            ).fetchone()[0]

    hello_r, cx_r = results
    print(f"\n{args.connections} connections, {args.seconds:g} s each, wrk over loopback, "
          f"{os.cpu_count()} cores\n")  # fmt: skip
    print("| server | requests/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r, rss in ((hello_r, hello_rss), (cx_r, cx_rss), (page, cx_rss)):
        print(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | "
              f"{r.errors} | {rss:,.0f} |")  # fmt: skip
    print(
        f"\ncxray / hello world: throughput {cx_r.rps / hello_r.rps:.2f}×, "
        f"p99 {cx_r.p99_ms / hello_r.p99_ms:.2f}×"
    )
    created = cx_r.statuses.get("201", 0)
    print(
        f"statuses: {cx_r.statuses}; responses stored: {after - before:,} "
        f"(201s in the measured run: {created:,}; ledger rows with a response: {stored_load:,})"
    )
    goal = cx_r.rps >= 1000 and cx_r.p99_ms < 100 and cx_r.errors == 0
    print(f"goal ≥ 1,000/s with p99 < 100 ms: {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
