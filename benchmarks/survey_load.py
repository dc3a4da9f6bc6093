"""Survey submissions under sustained load, side by side with a FastAPI hello-world endpoint.

    python -m benchmarks.survey_load [--seconds 20] [--connections 64] [--world N]

Both servers run the same way (uvicorn, one process, on loopback) and are
driven by the same load tool (``wrk`` through ``benchmarks/_load.py``) with
the same number of connections:

* ``hello``: a FastAPI app whose one endpoint parses a JSON body and answers
  201 (the floor: what the web stack itself costs on this machine);
* ``cxray``: ``POST /api/surveys/pulse/responses`` of a real ``cxray serve``,
  each request a distinct submission (its own ``submission_id``), checked,
  committed to the store and only then answered 201;
* ``cxray + rules``: the same with a closed-loop rule on detractors (``nps <= 6``, 7 of
  every 11 submissions here) that opens a follow-up and writes an outbox message for a
  webhook, both inside the survey commit (the receiver is absent: the messages stay
  pending and are retried in the background).

After the run the store is opened and the rows counted: every 201 must be a
stored response (and, with the rule, every stored detractor a follow-up and a
message). The table gives requests/s, latency percentiles, the ratio to
hello-world, and the server's peak memory. Goal (issues 6 and the closed loop): at
least 1,000 submissions/s with p99 under 100 ms on a 2-core machine, rules or not.
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

RULES = """
[[loop.rules]]
name = "detractors"
on = "responses"
where = "nps <= 6"
action = "both"
team = "support"
notify = ["webhook:http://127.0.0.1:9/cxray-hook"]
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
    load0 = os.getloadavg()[0]  # other work on the machine, before this run adds its own
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

        # ---- cxray serve, without and with the closed loop's detractor rule
        runs = [
            _cxray(folder / "plain", CONFIG, args, n_bodies, "cxray POST /api/surveys/pulse/"
                   "responses (stored, then 201)", page=True),
            _cxray(folder / "rules", CONFIG + RULES, args, n_bodies, "cxray + detractor rule "
                   "(follow-up and outbox message in the same commit)"),
        ]  # fmt: skip

    hello_r = results[0]
    print(f"\n{args.connections} connections, {args.seconds:g} s each, wrk over loopback, "
          f"{os.cpu_count()} cores, 1-minute load average {load0:.2f} at the start\n")  # fmt: skip
    print("| server | requests/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [(hello_r, hello_rss)]
    for run in runs:
        rows.append((run["result"], run["rss"]))
        if run.get("page"):
            rows.append((run["page"], run["rss"]))
    for r, rss in rows:
        print(f"| {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | "
              f"{r.errors} | {rss:,.0f} |")  # fmt: skip
    print()
    for run in runs:
        cx_r = run["result"]
        print(
            f"{cx_r.name}: throughput {cx_r.rps / hello_r.rps:.2f}× hello world, "
            f"p99 {cx_r.p99_ms / hello_r.p99_ms:.2f}×; statuses {cx_r.statuses}; responses "
            f"stored {run['stored']:,} (ledger rows with a response: {run['ledger']:,}); "
            f"detractors {run['detractors']:,}, follow-ups {run['followups']:,}, outbox "
            f"messages {run['messages']:,}"
        )
        goal = cx_r.rps >= 1000 and cx_r.p99_ms < 100 and cx_r.errors == 0
        print(f"  goal ≥ 1,000/s with p99 < 100 ms: {'met' if goal else 'NOT met'}")


def _cxray(folder: Path, config_text: str, args, n_bodies: int, name: str, page: bool = False):
    """One ``cxray serve`` under the load; what it stored afterwards."""
    folder.mkdir()
    db, config = folder / "s.duckdb", folder / "cxray.toml"
    config.write_text(config_text)
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
    out: dict = {}
    try:
        url = base + "/api/surveys/pulse/responses"
        run_load(url, method="POST", bodies=_bodies(2000, "warm"), duration_s=2,
                 connections=args.connections, threads=args.threads)  # fmt: skip
        out["result"] = run_load(
            url, method="POST", bodies=_bodies(n_bodies, "load"), duration_s=args.seconds,
            connections=args.connections, threads=args.threads, name=name,
        )  # fmt: skip
        if page:
            out["page"] = run_load(
                base + "/s/pulse", duration_s=min(args.seconds, 10),
                connections=args.connections, threads=args.threads,
                name="cxray GET /s/pulse (the survey page, no JavaScript)",
            )  # fmt: skip
        out["rss"] = _peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    with Workspace.open(db, config) as ws:
        con = ws.store.backend.con
        out["stored"] = ws.store.table("responses").count().execute() - before
        out["ledger"] = con.sql(
            "SELECT count(*) FROM _cx_submissions s WHERE s.response_id IN "
            "(SELECT response_id FROM responses)"
        ).fetchone()[0]
        out["detractors"] = con.sql(
            "SELECT count(*) FROM responses WHERE survey = 'pulse' AND nps <= 6"
        ).fetchone()[0]
        out["followups"] = con.sql("SELECT count(*) FROM followups").fetchone()[0]
        out["messages"] = con.sql("SELECT count(*) FROM _cx_outbox").fetchone()[0]
    return out


if __name__ == "__main__":
    main()
