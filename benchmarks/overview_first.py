"""The first overview a person opens after `cxray serve` starts and after an import.

A real `cxray serve` over a copy of a store, with the background computation of the
overview (the default) and without it (``CXRAY_WARM=0``), alternately: log in, wait a few
seconds as a person would, time ``GET /``; import a small file through the CLI (which the
server runs), wait, time ``GET /`` again. Prints a markdown table with the load average.

    python -m benchmarks.overview_first --db STORE [--rounds 2] [--wait 8]

``STORE`` is any cxray store (``cxray demo --size N`` builds one; the figures in
benchmarks/README.md used the scorecard benchmark's 1M-response world, see there).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchmarks._harness import load_line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _opener(port: int, key: str) -> urllib.request.OpenerDirector:
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    data = urllib.parse.urlencode({"key": key, "next": "/api/health"}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", data=data, headers={"Origin": f"http://127.0.0.1:{port}"}
    )
    op.open(req, timeout=600).read()
    return op


def _page(op: urllib.request.OpenerDirector, port: int) -> float:
    t0 = time.perf_counter()
    with op.open(f"http://127.0.0.1:{port}/", timeout=600) as r:
        body = r.read()
    seconds = time.perf_counter() - t0
    if b'class="tiles"' not in body:
        raise RuntimeError(f"the overview did not render: {body[:300]!r}")
    return seconds


def one_round(db: Path, key: str, *, warm: bool, wait: float, extra: Path) -> dict:
    port = _free_port()
    env = {**os.environ, "CXRAY_WARM": "1" if warm else "0"}
    cmd = ["cxray", "--db", str(db), "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        op = _opener(port, key)
        time.sleep(wait)
        start = _page(op, port)
        subprocess.run(
            ["cxray", "--db", str(db), "import", "responses", str(extra)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(wait)
        after = _page(op, port)
        return {"warm": warm, "after_start": start, "after_import": after}
    finally:
        server.terminate()
        server.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wait", type=float, default=8.0, help="seconds a person takes to look")
    args = ap.parse_args()
    from cxray.access import ApiKeys
    from cxray.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.duckdb"
        shutil.copyfile(args.db, db)
        with Store(db) as store:
            key = ApiKeys(store).create("analyst", name="benchmark")[1]
            n = store.table("responses").count().to_pyarrow().as_py()
        before = load_line()
        rows = []
        for r in range(args.rounds):
            extra = Path(tmp) / f"extra_{r}.csv"
            lines = ["response_id,customer_id,submitted_at,nps"]
            lines += [f"B{r}_{i},C{i:07d},2026-10-30T10:00:00,{i % 11}" for i in range(50)]
            extra.write_text("\n".join(lines) + "\n")
            for warm in (False, True):
                rows.append(one_round(db, key, warm=warm, wait=args.wait, extra=extra))
        after = load_line()

    def med(warm: bool, k: str) -> str:
        xs = [r[k] for r in rows if r["warm"] is warm]
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})"

    fmt = lambda x: " / ".join(f"{v:.2f}" for v in x["load"])  # noqa: E731
    print(f"### First overview over {n:,} responses, {args.rounds} rounds, {args.wait:g} s wait\n")
    print(f"Load average (1/5/15 min) before {fmt(before)}, after {fmt(after)}, "
          f"on {before['cpus']} CPUs.\n")  # fmt: skip
    print("| server | first `GET /` after start, s (median, range) | after an import, s |")
    print("|---|---:|---:|")
    print(f"| computes on the first view (`CXRAY_WARM=0`) | {med(False, 'after_start')} | "
          f"{med(False, 'after_import')} |")  # fmt: skip
    print(
        f"| computes ahead (default) | {med(True, 'after_start')} | {med(True, 'after_import')} |"
    )


if __name__ == "__main__":
    sys.exit(main())
