"""Benchmark: every dashboard page and API call of a real ``cxray serve`` under load.

    python -m benchmarks.web_load [--size 24] [--duration 10] [--connections 4]

The world is the demo company at ``--size`` (24 gives 480,000 customers and
1.0M survey responses, 3M orders, 30M events), built once with ``cxray demo``
into ``benchmarks/_data/web_load_<size>.duckdb`` and reused. The script then

1. creates an API key (``cxray keys create --role viewer``) and starts
   ``cxray serve`` in a subprocess on 127.0.0.1 at a free port;
2. logs in (``POST /api/login``) for the session cookie the pages need;
3. asks every endpoint once (the first, cold request: its time is printed too),
   then once more, so that what follows is the warm state a server is in
   after its first visitors;
4. drives each endpoint with ``wrk`` (``benchmarks/_load.py``) for ``--duration``
   seconds over ``--connections`` connections; requests that take many values
   (customers, pages of rows) cycle through distinct ones;
5. prints a markdown table: requests/s, p50, p95, p99 and errors per endpoint
   (any status but 2xx is an error: a page that redirects to the login page
   failed), the p95 as a multiple of a trivial endpoint's (``/api/health``,
   measured in the same run), and the server's peak resident memory.

Goal (issue 4): warm p95 under 300 ms for every page and API call.
Needs ``wrk`` (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from benchmarks._harness import DATA_DIR
from benchmarks._load import LoadResult, run_load, wrk_path

ROOT = Path(__file__).resolve().parent.parent
GOAL_P95_MS = 300.0


@dataclass(frozen=True)
class Endpoint:
    name: str
    paths: list[str]
    auth: str  # "cookie", "key" or "none"
    kind: str  # "page", "api", "baseline"


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _cxray(db: Path, *args: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "cxray", "--db", str(db), "--config", str(config), *args]


def build_world(db: Path, size: float, config: Path) -> None:
    if db.exists():
        return
    print(f"building the demo world at --size {size:g} into {db} (once) ...", flush=True)
    started = time.perf_counter()
    tmp = db.with_suffix(".building.duckdb")
    tmp.unlink(missing_ok=True)
    subprocess.run(
        _cxray(tmp, "demo", "--size", f"{size:g}", config=config),
        check=True,
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    tmp.rename(db)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def create_key(db: Path, config: Path) -> str:
    for _ in range(30):  # a server of an earlier run may still be closing the store
        out = subprocess.run(
            _cxray(db, "keys", "create", "--role", "viewer", "--name", "web_load", config=config),
            env=_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode == 0:
            return out.stdout.strip().splitlines()[-1]
        time.sleep(2)
    raise RuntimeError(f"cxray keys create failed: {out.stderr.strip()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes, float]:
    """One request; (status, headers, body, milliseconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    ms = (time.perf_counter() - started) * 1000
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, ms


def wait_up(port: int, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"cxray serve exited with {proc.returncode}")
        try:
            if request(port, "GET", "/api/health", {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("cxray serve did not answer /api/health in time")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def endpoints(port: int, key_headers: dict[str, str]) -> list[Endpoint]:
    """Every page and API call, with real ids and dates from the served store."""

    def get_json(path: str) -> dict:
        status, _, body, _ = request(port, "GET", path, key_headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    st = get_json("/api/status")
    responses = next(t for t in st["tables"] if t["table"] == "responses")
    print(f"store: {json.dumps(st['tables'])}", flush=True)
    last_day = str(responses.get("last") or responses.get("max") or "")[:10]
    customers = [
        r["customer_id"]
        for r in get_json("/api/tables/responses/rows?limit=60&sort=-submitted_at")["rows"]
        if r["customer_id"]
    ]
    customers = list(dict.fromkeys(customers))
    one_day = f"from={last_day}&to={last_day}T23:59:59" if last_day else "filter=channel:email"
    pages = [f"/api/tables/responses/rows?limit=100&offset={100 * i}" for i in range(20)]
    sorted_filtered = [
        f"/api/tables/responses/rows?limit=100&sort=-nps&filter=channel:{ch}&offset={100 * i}"
        for ch in ("email", "app", "web")
        for i in range(5)
    ]
    return [
        Endpoint("baseline: GET /api/health", ["/api/health"], "none", "baseline"),
        Endpoint("baseline: GET /static/cxray.css", ["/static/cxray.css"], "none", "baseline"),
        Endpoint("page: login", ["/login"], "none", "page"),
        Endpoint("page: overview", ["/"], "cookie", "page"),
        Endpoint(
            "page: trends (NPS by month)",
            ["/trends?metric=nps", "/trends?metric=csat"],
            "cookie",
            "page",
        ),
        Endpoint(
            "page: segments (NPS by region)",
            ["/segments?metric=nps&by=region", "/segments?metric=csat&by=channel"],
            "cookie",
            "page",
        ),
        Endpoint(
            "page: rows (drill-down, pages 1-10)",
            [f"/rows/responses?metric=nps&offset={50 * i}" for i in range(10)],
            "cookie",
            "page",
        ),
        Endpoint(
            "page: rows (filtered, sorted)",
            [f"/rows/responses?filter=channel:{c}&sort=-nps" for c in ("email", "app", "web")],
            "cookie",
            "page",
        ),
        Endpoint(
            "page: customer timeline",
            [f"/customers/{quote(c)}" for c in customers],
            "cookie",
            "page",
        ),
        Endpoint("api: status", ["/api/status"], "key", "api"),
        Endpoint("api: scorecard", ["/api/scorecard"], "key", "api"),
        Endpoint(
            "api: scorecard by region x month (NPS)",
            ["/api/scorecard?by=region&period=month&metric=nps"],
            "key",
            "api",
        ),
        Endpoint("api: rows, 20 pages of 100", pages, "key", "api"),
        Endpoint("api: rows, sorted + filtered", sorted_filtered, "key", "api"),
        Endpoint(
            "api: customer timeline",
            [f"/api/customers/{quote(c)}" for c in customers],
            "key",
            "api",
        ),
        Endpoint(
            "api: export CSV (one day of responses)",
            [f"/api/tables/responses/export?format=csv&{one_day}"],
            "key",
            "api",
        ),
        Endpoint(
            "api: export Parquet (one day of responses)",
            [f"/api/tables/responses/export?format=parquet&{one_day}"],
            "key",
            "api",
        ),
        Endpoint("api: openapi.json", ["/api/openapi.json"], "key", "api"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=24.0, help="demo --size (24: 1M responses)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", default=None, help="only endpoints whose name contains this")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    wrk_path()  # a clear error first when wrk is missing

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    db = DATA_DIR / f"web_load_{args.size:g}.duckdb"
    with tempfile.TemporaryDirectory(prefix="cxray-web-load-") as tmp:
        config = Path(tmp) / "cxray.toml"  # the defaults: no file
        build_world(db, args.size, config)
        key = create_key(db, config)
        port = free_port()
        log = Path(tmp) / "serve.log"
        with log.open("w") as log_file:
            proc = subprocess.Popen(
                _cxray(db, "serve", "--port", str(port), "--log-level", "warning", config=config),
                env=_env(),
                cwd=tmp,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_up(port, proc)
            started_rss = peak_rss_mib(proc.pid)
            results, first_ms = run_all(args, port, key)
            peak = peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(report(args, db, results, first_ms, started_rss, peak))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "results": [r.to_dict() for r in results],
                        "first_ms": first_ms,
                        "peak_rss_mib": peak,
                    },
                    indent=1,
                )
            )
        if proc.returncode not in (0, -15):
            print(log.read_text()[-3000:])


def run_all(args, port: int, key: str) -> tuple[list[LoadResult], dict[str, float]]:
    key_headers = {"Authorization": f"Bearer {key}"}
    status, headers, body, _ = request(
        port,
        "POST",
        "/api/login",
        {"Content-Type": "application/json"},
        json.dumps({"key": key}).encode(),
    )
    if status != 200:
        raise RuntimeError(f"POST /api/login: {status} {body[:300]!r}")
    cookie = headers["set-cookie"].split(";")[0]
    auth = {"cookie": {"Cookie": cookie}, "key": key_headers, "none": {}}

    chosen = endpoints(port, key_headers)
    if args.only:
        chosen = [e for e in chosen if e.kind == "baseline" or args.only in e.name]
    first_ms: dict[str, float] = {}
    for e in chosen:  # the first (cold) request of each, then every path once, warm
        for i, path in enumerate(e.paths):
            status, _, body, ms = request(port, "GET", path, auth[e.auth])
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
            if i == 0:
                first_ms[e.name] = ms
                print(f"first request {ms:9.1f} ms  {e.name}", flush=True)
    results = []
    for e in chosen:
        r = run_load(
            f"http://127.0.0.1:{port}{e.paths[0]}",
            paths=e.paths,
            headers=auth[e.auth],
            connections=args.connections,
            threads=args.threads,
            duration_s=args.duration,
            timeout_s=30,
            ok_status=range(200, 300),
            name=e.name,
        )
        print(
            f"{r.rps:8.1f} req/s  p95 {r.p95_ms:8.1f} ms  errors {r.errors}  {e.name}",
            flush=True,
        )
        results.append(r)
    return results, first_ms


def report(args, db: Path, results, first_ms, started_rss: float, peak: float) -> str:
    base = results[0]
    lines = [
        f"### Web load: `cxray serve` over {db.name}, {args.connections} connections, "
        f"{args.duration:g} s per endpoint",
        "",
        "| endpoint | requests/s | p50 ms | p95 ms | p99 ms | errors | p95 × baseline "
        f"| first request ms | p95 < {GOAL_P95_MS:g} ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        ok = r.p95_ms < GOAL_P95_MS and r.errors == 0 and r.requests > 0
        lines.append(
            f"| {r.name} | {r.rps:,.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.errors} | {r.p95_ms / base.p95_ms:.1f}× | {first_ms.get(r.name, 0):,.0f} | "
            f"{'yes' if ok else '**no**'} |"
        )
    met = all(r.p95_ms < GOAL_P95_MS and r.errors == 0 for r in results)
    lines += [
        "",
        f"Server peak RSS: {peak:,.0f} MiB ({started_rss:,.0f} MiB after start-up). "
        f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[1]:.1f} over the "
        "last 5 minutes (other work included). "
        f"Goal (warm p95 < {GOAL_P95_MS:g} ms, no errors, every endpoint): "
        f"{'met' if met else '**not met**'}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
