"""Benchmark: the library's reads through ``cxray serve`` against the same reads on the file.

    python -m benchmarks.remote_reads [--customers 20000] [--repeat 3] [--queries 40]

The data: the demo world (``cxray demo``, seed 42, ``--customers``), built once into
``benchmarks/_data/remote_<n>.duckdb`` and copied twice per run: one copy is opened
directly, the other is held by a real ``cxray serve`` on a loopback port for the whole run,
so ``Workspace.open`` of it goes through the server (``cxray.store._remote``: SQL compiled
here, run by the server, results back as Arrow IPC).

Cases (each in a fresh process, the workspace opened and one small query run before the
clock, so both sides have imported everything and built Ibis's compiler):

- ``direct_scorecard`` (the baseline) / ``remote_scorecard``: ``ws.scorecard()``;
- ``direct_aggregate`` / ``remote_aggregate``: ``table("responses")`` grouped by survey
  and touchpoint (count, mean NPS, mean CSAT), to pandas.

Then the latency of a small query (``table("responses")`` filtered to one customer, its
count: one round trip) with 1, 4 and 8 readers at once, each a process of its own (as
notebooks are), ``--queries`` queries each after a common start: p50 and p99, on the file
(read-only opens, which DuckDB allows side by side while nobody writes) and through the
server. The results of both sides are checked equal.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import DATA_DIR, Case, child_main, load_line, markdown, run_cases

CUSTOMERS_DEFAULT = 20_000


def store_file(n: int) -> Path:
    return DATA_DIR / f"remote_{n}.duckdb"


def build(n: int) -> Path:
    path = store_file(n)
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        from cxray.workspace import Workspace

        with Workspace.open(path) as ws:
            ws.load_demo(seed=42, customers=n)
    return path


# ---------------------------------------------------------------- the server


def start_server(db: Path, timeout: float = 180) -> subprocess.Popen:
    """``cxray serve`` over ``db`` on a free loopback port, once it has announced itself."""
    import socket

    from cxray.store import find_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = db.with_name(db.name + ".serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxray", "--db", str(db), "serve", "--port", str(port),
         "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while find_server(db) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"cxray serve did not start over {db}")
        time.sleep(0.2)
    return proc


# ---------------------------------------------------------------- cases


def _open(side: str) -> Any:
    from cxray.workspace import Workspace

    ws = Workspace.open(os.environ[f"CXRAY_BENCH_{side.upper()}"], read_only=True)
    assert (ws.store.remote is not None) == (side == "served"), ws.store
    _small(ws, "C00000001")  # imports, compiler, first connection: before the clock
    return ws


def _small(ws: Any, customer: str) -> int:
    t = ws.table("responses")
    return int(t.filter(t.customer_id == customer).count().to_pyarrow().as_py())


def _scorecard(side: str) -> dict[str, Any]:
    ws = _open(side)
    t0 = time.perf_counter()
    frame = ws.scorecard().to_frame()
    seconds = time.perf_counter() - t0
    nps = frame.set_index("metric").loc["nps"]
    return {"seconds": seconds, "nps": float(nps["estimate"]), "n": int(nps["n"])}


def _aggregate(side: str) -> dict[str, Any]:
    ws = _open(side)
    t0 = time.perf_counter()
    t = ws.table("responses")
    frame = (
        t.group_by(["survey", "touchpoint"])
        .aggregate(n=t.count(), nps=t.nps.mean(), csat=t.csat.mean())
        .order_by(["survey", "touchpoint"])
        .to_pandas()
    )
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "groups": len(frame), "n": int(frame["n"].sum())}


CASES = {
    "direct_scorecard": lambda: _scorecard("direct"),
    "remote_scorecard": lambda: _scorecard("served"),
    "direct_aggregate": lambda: _aggregate("direct"),
    "remote_aggregate": lambda: _aggregate("served"),
}


# ---------------------------------------------------------------- concurrent readers


def _reader(side: str, env: dict[str, str], customers: list[str], barrier, out) -> None:
    os.environ.update(env)
    ws = _open(side)
    barrier.wait()
    times = []
    counts = []
    for c in customers:
        t0 = time.perf_counter()
        counts.append(_small(ws, c))
        times.append(time.perf_counter() - t0)
    out.put((times, counts))


def latency(side: str, readers: int, queries: int, customers: list[str]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(readers)
    out = ctx.Queue()
    env = {k: v for k, v in os.environ.items() if k.startswith("CXRAY_BENCH_")}
    procs = [
        ctx.Process(target=_reader, args=(side, env, customers[:queries], barrier, out))
        for _ in range(readers)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    times = sorted(t for ts, _ in results for t in ts)
    counts = [c for _, cs in results for c in cs]
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {
        "p50_ms": 1000 * statistics.median(times),
        "p99_ms": 1000 * p99,
        "queries": len(times),
        "counts": counts[:queries],
    }


def _load() -> str:
    now = load_line()
    return f"Load average (1/5/15 min) {' / '.join(map(str, now['load']))} on {now['cpus']} CPUs."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--queries", type=int, default=40)
    args = p.parse_args()
    src = build(args.customers)
    folder = Path(tempfile.mkdtemp(prefix="cxray-remote-"))
    direct, served = folder / "direct.duckdb", folder / "served.duckdb"
    shutil.copyfile(src, direct)
    shutil.copyfile(src, served)
    os.environ["CXRAY_BENCH_DIRECT"], os.environ["CXRAY_BENCH_SERVED"] = str(direct), str(served)
    server = start_server(served)
    try:
        title = f"demo world of {args.customers:,} customers"
        pairs = [
            [Case("direct_scorecard", "`ws.scorecard()` on the file"),
             Case("remote_scorecard", "`ws.scorecard()` through `cxray serve`")],
            [Case("direct_aggregate", "`table('responses')` by survey and touchpoint "
                  "(count, mean NPS and CSAT) to pandas, on the file"),
             Case("remote_aggregate", "the same aggregate through `cxray serve`")],
        ]  # fmt: skip
        detail = {}
        for what, cases in zip(("The scorecard", "An aggregate"), pairs, strict=True):
            rows = run_cases("benchmarks.remote_reads", cases, repeat=args.repeat)
            print(markdown(rows, f"{what} through `cxray serve` and on the file, {title}"))
            print(flush=True)
            detail.update({r["case"]: r["detail"] for r in rows})
        assert detail["direct_scorecard"]["n"] == detail["remote_scorecard"]["n"], detail
        assert abs(detail["direct_scorecard"]["nps"] - detail["remote_scorecard"]["nps"]) < 1e-9
        assert detail["direct_aggregate"] == detail["remote_aggregate"], detail
        from cxray.workspace import Workspace

        with Workspace.open(direct, read_only=True) as ws:
            ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        step = max(1, len(ids) // args.queries)
        customers = ids[::step][: args.queries]
        print(f"### A small query, {args.queries} per reader, each reader a process ({title})\n")
        print(_load())
        print()
        print("| readers | on the file: p50 / p99 ms | through `cxray serve`: p50 / p99 ms |")
        print("|---:|---:|---:|")
        for readers in (1, 4, 8):
            a = latency("direct", readers, args.queries, customers)
            b = latency("served", readers, args.queries, customers)
            assert a["counts"] == b["counts"], (a["counts"], b["counts"])
            print(
                f"| {readers} | {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | "
                f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} |",
                flush=True,
            )
        print()
        print(_load())
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
