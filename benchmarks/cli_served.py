"""Benchmark: a CLI command while ``cxray serve`` holds the store, against the same without it.

    python -m benchmarks.cli_served [--customers 20000] [--repeat 5]

The data: the demo world (``cxray demo``, seed 42, ``--customers``), built once into
``benchmarks/_data/served_cli_<n>.duckdb`` and copied twice per run: one copy is opened by the
command itself, the other is held by a real ``cxray serve`` on a loopback port for the
whole run, so the command finds its serve file and runs in the server
(``cxray.cli._remote``).

Cases (each one whole ``cxray`` process, timed from start to exit, as a user waits for it;
the repeats interleaved by the harness):

- ``direct_status`` (the baseline) / ``served_status``: ``cxray status``;
- ``direct_scorecard`` / ``served_scorecard``: ``cxray scorecard --format json``;
- ``served_status_x4``: four ``cxray status`` started together through the server, until
  the last one exits (several readers at once).

Every served answer is checked equal to the direct one before the clock starts (floats to
1e-9 relative: DuckDB's parallel sums differ in their last digits from run to run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

CUSTOMERS_DEFAULT = 20_000
ENV_DIRECT, ENV_SERVED = "CXRAY_BENCH_DIRECT", "CXRAY_BENCH_SERVED"

CASES = [
    Case("direct_status", "`cxray status`, the store opened by the command"),
    Case("served_status", "`cxray status` through `cxray serve`"),
    Case("direct_scorecard", "`cxray scorecard --format json`, opened by the command"),
    Case("served_scorecard", "`cxray scorecard --format json` through `cxray serve`"),
    Case("served_status_x4", "four `cxray status` at once through `cxray serve`"),
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXRAY_")}
    return {**env, "COLUMNS": "120", "PYTHONWARNINGS": "ignore"}


def cxray(db: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "cxray", "--db", db, *args],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cxray {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out


def _timed(*commands: tuple[str, ...]) -> dict:
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cxray", *c],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        for c in commands
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(err.decode()[-2000:])
    return {"seconds": time.perf_counter() - t0}


def _case(name: str) -> dict:
    direct, served = os.environ[ENV_DIRECT], os.environ[ENV_SERVED]
    db = served if name.startswith("served") else direct
    if name.endswith("_x4"):
        return _timed(*[("--db", db, "status")] * 4)
    if name.endswith("scorecard"):
        return _timed(("--db", db, "scorecard", "--format", "json"))
    return _timed(("--db", db, "status"))


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def build(n: int) -> Path:
    path = DATA_DIR / f"served_cli_{n}.duckdb"
    if not path.exists():
        DATA_DIR.mkdir(exist_ok=True)
        cxray(str(path), "demo", "--customers", str(n))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    ns = parser.parse_args()
    source = build(ns.customers)
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from tests._serve import start_server

    with tempfile.TemporaryDirectory(prefix="cxray-cli-bench-") as tmp:
        direct, served = Path(tmp, "direct.duckdb"), Path(tmp, "served.duckdb")
        shutil.copy(source, direct)
        shutil.copy(source, served)
        proc, url = start_server(served)
        try:
            for args in (("status", "--format", "json"), ("scorecard", "--format", "json")):
                a = json.loads(cxray(str(direct), *args).stdout.replace(str(direct), "DB"))
                b = json.loads(cxray(str(served), *args).stdout.replace(str(served), "DB"))
                # floats to 1e-9: DuckDB's parallel sums differ in the last digits run to run
                assert _close(a, b), f"cxray {' '.join(args)}: the served answer differs"
            os.environ[ENV_DIRECT], os.environ[ENV_SERVED] = str(direct), str(served)
            rows = run_cases("benchmarks.cli_served", CASES, repeat=ns.repeat)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        markdown(rows, f"`cxray` commands with and without a server ({ns.customers:,} customers)")
    )
    print(f"\nserver: {url}; each case is one whole process (or four), start to exit")


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main({c.name: (lambda name=c.name: _case(name)) for c in CASES})
    else:
        main()
