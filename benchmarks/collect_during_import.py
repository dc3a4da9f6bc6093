"""Survey collection while a large import runs: submission latency alone vs during imports.

    python -m benchmarks.collect_during_import [--connections 32] [--seconds 12] [--rows 1000000]
    python -m benchmarks.collect_during_import --client python --rate 300

One ``cxray serve`` on loopback over a small demo world, a public survey, and a load of
distinct submissions. The default client is ``wrk`` (closed loop: ``--connections``
keep-alive connections, each sending its next submission when the last was answered;
written in C, so the load takes little of the CPU the server needs on a small machine).
``--client python`` is an open-loop client (asyncio) sending at a fixed ``--rate``, each
latency measured from the moment the request was *due*, so a stalled server shows as
latency, not as fewer requests; on two cores it competes with the server for the CPU.
The phases, one after another on the same server:

* ``alone``: submissions only (the baseline of this run);
* ``import by upload``: meanwhile an analyst uploads a responses CSV of ``--rows``
  rows (``POST /api/imports/responses``), read, checked and written by the server;
* ``import through the server``: the same file imported by the library (what
  ``cxray import`` does while ``cxray serve`` holds the store), new response ids;
* ``import over a limit``: a CSV whose header has 10^6 columns and one with a
  50 MB line, refused by ``[imports.limits]`` (the time to the refusal is shown).

With wrk every phase lasts ``--seconds`` and its imports start one second in (the table
says whether they ended inside the window); with the Python client a phase lasts at least
``--seconds`` and at least as long as its imports. The table
gives requests sent and answered, p50 / p99 / max latency in ms, errors, the import's own
seconds and its answer, the server's peak memory, and the p99 ratio to ``alone``. Goal
(issue 12): p99 < 100 ms at ≥ 500 submissions/s during the imports. Afterwards the store
is opened: every 201 must be a stored response.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks._harness import load_line
from benchmarks.survey_load import _free_port, _peak_rss_mib

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

[text]
enrich_on_import_max_rows = 200000
"""


# ---------------------------------------------------------------- the open-loop client


class _Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        assert self.reader is not None
        status_line = await self.reader.readline()
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return int(status_line.split()[1])


async def _submissions(
    port: int, rate: float, seconds_fn, prefix: str, connections: int = 16
) -> dict:
    """Send submissions at ``rate``/s until ``seconds_fn()`` says stop; latencies from due."""
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Conn("127.0.0.1", port))
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    tasks = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(i: int, due: float) -> None:
        nonlocal errors
        conn = await pool.get()
        nps = i % 11
        answers: dict = {"nps": nps}
        if nps <= 6:
            answers["improve"] = f"faster please ({i})"
        body = json.dumps({"answers": answers, "submission_id": f"{prefix}-{i}"}).encode()
        try:
            status = await conn.post("/api/surveys/pulse/responses", body)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 300:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors += 1
            conn.writer = None
        finally:
            pool.put_nowait(conn)
        lat.append(loop.time() - due)

    i = 0
    while True:
        due = start + i / rate
        now = loop.time()
        if now < due:
            await asyncio.sleep(due - now)
        if seconds_fn(loop.time() - start):
            break
        tasks.append(asyncio.create_task(one(i, due)))
        i += 1
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    lat.sort()
    n = len(lat)
    return {
        "sent": i,
        "rps": n / elapsed if elapsed else 0.0,
        "p50": lat[n // 2] * 1e3 if n else float("nan"),
        "p99": lat[min(n - 1, int(n * 0.99))] * 1e3 if n else float("nan"),
        "max": lat[-1] * 1e3 if n else float("nan"),
        "errors": errors,
        "statuses": statuses,
        "created": statuses.get(201, 0),
    }


# ---------------------------------------------------------------- the imports


def _write_csv(path: Path, rows: int, prefix: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT '{prefix}' || i AS response_id,
                        TIMESTAMP '2025-01-01' + INTERVAL (i % 500000) SECOND AS submitted_at,
                        CAST(i % 11 AS INTEGER) AS nps,
                        CASE WHEN i % 3 = 0 THEN 'slow delivery, order ' || i END AS comment,
                        ['web', 'app', 'email'][1 + i % 3] AS channel
                 FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()


def _over_limits(folder: Path) -> list[Path]:
    wide = folder / "wide.csv"
    with wide.open("w") as f:
        f.write(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
        f.write(",".join("1" for _ in range(1_000_000)) + "\n")
    long = folder / "long_line.csv"
    with long.open("w") as f:
        f.write("response_id,submitted_at,nps,comment\n")
        f.write("L1,2025-01-01,9," + "x" * 50_000_000 + "\n")
    return [wide, long]


def _upload(base: str, key: str, path: Path) -> dict:
    t0 = time.perf_counter()
    with path.open("rb") as f:
        r = httpx.post(
            f"{base}/api/imports/responses",
            headers={"Authorization": f"Bearer {key}"},
            files=[("files", (path.name, f, "text/csv"))],
            timeout=600,
        )
    body = r.json()
    answer = (
        f"{r.status_code}: {body['added']:,} added"
        if r.status_code < 300
        else f"{r.status_code} {body['error']['code']}: {body['error']['message'][:90]}"
    )
    return {"seconds": time.perf_counter() - t0, "answer": answer}


def _through_server(db: Path, config: Path, path: Path) -> dict:
    from cxray.workspace import Workspace

    t0 = time.perf_counter()
    with Workspace.open(db, config) as ws:
        report = ws.import_files("responses", [path])
    return {
        "seconds": time.perf_counter() - t0,
        "answer": f"{report.result.added:,} added (through {ws.store.remote})",
    }


def _phase(port: int, rate: float, seconds: float, prefix: str, work=None) -> dict:
    """Submissions for at least ``seconds`` and until ``work`` (in a thread) has finished."""
    done = threading.Event()
    box: dict = {}

    def run() -> None:
        try:
            box["imports"] = [w() for w in work]
        except Exception as exc:  # reported in the table
            box["imports"] = [{"seconds": float("nan"), "answer": f"failed: {exc}"}]
        finally:
            done.set()

    if work:
        threading.Thread(target=run, daemon=True).start()
    else:
        done.set()
    out = asyncio.run(_submissions(port, rate, lambda t: t >= seconds and done.is_set(), prefix))
    out["imports"] = box.get("imports", [])
    return out


def _bodies(n: int, prefix: str) -> list[str]:
    out = []
    for i in range(n):
        answers: dict = {"nps": i % 11}
        if i % 11 <= 6:
            answers["improve"] = f"faster please ({i})"
        out.append(json.dumps({"answers": answers, "submission_id": f"{prefix}-{i}"}))
    return out


def _phase_wrk(port: int, connections: int, seconds: float, prefix: str, work=None) -> dict:
    """wrk for ``seconds``; ``work`` (in a thread) starts one second in."""
    from benchmarks._load import run_load

    box: dict = {}
    window_end = time.monotonic() + seconds

    def run() -> None:
        time.sleep(1.0)
        try:
            box["imports"] = [w() for w in work]
        except Exception as exc:  # reported in the table
            box["imports"] = [{"seconds": float("nan"), "answer": f"failed: {exc}"}]
        box["inside"] = time.monotonic() <= window_end

    thread = threading.Thread(target=run, daemon=True) if work else None
    if thread:
        thread.start()
    r = run_load(
        f"http://127.0.0.1:{port}/api/surveys/pulse/responses",
        method="POST",
        bodies=_bodies(60_000, prefix),
        duration_s=seconds,
        connections=connections,
        threads=2,
    )
    if thread:
        thread.join()
    statuses = {int(k): v for k, v in r.statuses.items()}
    return {
        "sent": r.requests,
        "rps": r.rps,
        "p50": r.p50_ms,
        "p99": r.p99_ms,
        "max": r.max_ms,
        "errors": r.errors,
        "statuses": statuses,
        "created": statuses.get(201, 0),
        "imports": box.get("imports", []),
        "inside": box.get("inside", True),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", choices=("wrk", "python"), default="wrk")
    ap.add_argument("--connections", type=int, default=32, help="wrk's connections")
    ap.add_argument("--rate", type=float, default=500, help="submissions per second (python)")
    ap.add_argument("--seconds", type=float, default=12, help="each phase (at least, python)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the imported CSV")
    ap.add_argument("--world", type=int, default=2000, help="demo customers in the store")
    args = ap.parse_args()
    load0 = load_line()

    with tempfile.TemporaryDirectory(prefix="cxcollect-") as tmp:
        folder = Path(tmp)
        db, config = folder / "s.duckdb", folder / "cxray.toml"
        config.write_text(CONFIG)
        from cxray.access import ApiKeys
        from cxray.workspace import Workspace

        with Workspace.open(db, config) as ws:
            ws.load_demo(seed=7, customers=args.world, months=6)
            key = ApiKeys(ws.store).create("analyst", name="benchmark")[1]
            before = ws.store.table("responses").count().execute()
        big_a, big_b = folder / "responses_a.csv", folder / "responses_b.csv"
        _write_csv(big_a, args.rows, "UA")
        _write_csv(big_b, args.rows, "UB")
        refused = _over_limits(folder)
        size_mib = big_a.stat().st_size / 2**20

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = folder / "serve.log"
        with log.open("ab") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "cxray", "--db", str(db), "--config", str(config),
                 "serve", "--port", str(port), "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(base + "/api/health", timeout=2)
                    break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log.read_text()[-2000:]) from None
                    time.sleep(0.2)

            def phase(seconds: float, prefix: str, work=None) -> dict:
                if args.client == "wrk":
                    return _phase_wrk(port, args.connections, seconds, prefix, work)
                return _phase(port, args.rate, seconds, prefix, work)

            time.sleep(5)  # the server computes the overview once it starts: let it finish
            phase(3, "warm")
            phases = [
                ("alone", phase(args.seconds, "p0")),
                (
                    f"import by upload ({args.rows:,} rows, {size_mib:,.0f} MiB)",
                    phase(args.seconds, "p1", [lambda: _upload(base, key, big_a)]),
                ),
                (
                    f"import through the server ({args.rows:,} rows, library/CLI)",
                    phase(
                        args.seconds,
                        "p2",
                        [lambda: _through_server(db, config, big_b)],
                    ),
                ),
                (
                    "imports over a limit (10^6 columns; one 50 MB line)",
                    phase(
                        args.seconds,
                        "p3",
                        [lambda p=p: _upload(base, key, p) for p in refused],
                    ),
                ),
            ]
            rss = _peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
        with Workspace.open(db, config) as ws:
            stored = ws.store.backend.con.sql(
                "SELECT count(*) FROM responses WHERE survey = 'pulse'"
            ).fetchone()[0]
            imported = ws.store.table("responses").count().execute() - before - stored

    base_p99 = phases[0][1]["p99"]
    client = (
        f"wrk, {args.connections} connections (closed loop), phases of {args.seconds:g} s"
        if args.client == "wrk"
        else f"{args.rate:g} submissions/s (open loop, latency from when each was due), "
        f"phases of ≥ {args.seconds:g} s"
    )
    print(
        f"\n{client}, one `cxray serve` on loopback, {load0['cpus']} cores, "
        f"load average {' / '.join(f'{v:.2f}' for v in load0['load'])} at the start, "
        f"{' / '.join(f'{v:.2f}' for v in load_line()['load'])} at the end; server peak RSS "
        f"{rss:,.0f} MiB\n"
    )
    print("| phase | sent | answered/s | p50 ms | p99 ms | max ms | errors | p99 vs alone "
          "| import s | import answer |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, r in phases:
        imports = r["imports"] or [{"seconds": float("nan"), "answer": "-"}]
        secs = " + ".join(f"{i['seconds']:.1f}" for i in imports)
        answer = "; ".join(i["answer"].replace("|", "/") for i in imports)
        if not r.get("inside", True):
            answer += " (ended after the window)"
        print(
            f"| {name} | {r['sent']:,} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['max']:.0f} | {r['errors']} | {r['p99'] / base_p99:.2f}× | {secs} | {answer} |"
        )
    created = sum(r["created"] for _, r in phases[1:])
    print(
        f"\nsubmissions answered 201: {created:,} (warm-up excluded); survey responses in the "
        f"store: {stored:,}; imported rows in the store: {imported:,} (expected "
        f"{2 * args.rows:,})"
    )
    worst = max(r["p99"] for _, r in phases[1:])
    slowest = min(r["rps"] for _, r in phases[1:])
    met = worst < 100 and slowest >= 500
    print(f"goal p99 < 100 ms at >= 500/s during the imports: {'met' if met else 'NOT met'} "
          f"(worst p99 {worst:.1f} ms, fewest {slowest:,.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
