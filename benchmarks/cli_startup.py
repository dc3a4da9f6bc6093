"""Benchmark: how long `cxray` takes to start, against the Python interpreter starting.

    python -m benchmarks.cli_startup [--customers 20000] [--demo PATH] [--repeat 5]

Goal: `cxray --help` and `cxray status` answer in under 0.5 s (on a quiet machine; the
ratio to a bare `python -c pass`, measured in the same run, is what travels between
machines). What makes it possible: the command modules import the workspace (Ibis, pandas,
PyArrow, SciPy) only inside their commands, `cxray --help` lists the commands from their
source, and `cxray status` on a DuckDB file reads it with the `duckdb` module alone
(`tests/cli/test_startup.py` checks what each of them imports).

Cases, each one whole process timed from start to exit, as a user waits for it (the
repeats interleaved by the harness):

- ``python`` (the baseline): ``python -c pass``;
- ``help``: ``cxray --help``;
- ``status_small``: ``cxray status`` on a store of two responses;
- ``status_demo``: ``cxray status`` on the demo world (``--customers``, seed 42, built once
  into ``benchmarks/_data/cli_startup_<n>.duckdb``, or ``--demo PATH``);
- ``workspace``: ``python -c "import cxray.workspace"``, what a command that opens the
  workspace pays before it starts (for comparison);
- ``scorecard``: ``cxray scorecard`` on the demo world (a command that does open it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

CUSTOMERS_DEFAULT = 20_000
ENV_SMALL, ENV_DEMO = "CXRAY_BENCH_SMALL", "CXRAY_BENCH_DEMO"

CASES = [
    Case("python", "`python -c pass`, the interpreter alone"),
    Case("help", "`cxray --help`"),
    Case("status_small", "`cxray status`, a store of two responses"),
    Case("status_demo", "`cxray status`, the demo world"),
    Case("workspace", "`python -c 'import cxray.workspace'`"),
    Case("scorecard", "`cxray scorecard`, the demo world"),
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXRAY_")}
    return {**env, "COLUMNS": "120", "PYTHONWARNINGS": "ignore"}


def _run(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=_env(), check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {out.stderr[-2000:]}")
    return out


def _timed(*args: str) -> dict:
    t0 = time.perf_counter()
    _run(*args)
    return {"seconds": time.perf_counter() - t0}


def _case(name: str) -> dict:
    small, demo = os.environ[ENV_SMALL], os.environ[ENV_DEMO]
    commands = {
        "python": ("-c", "pass"),
        "help": ("-m", "cxray", "--help"),
        "status_small": ("-m", "cxray", "--db", small, "status"),
        "status_demo": ("-m", "cxray", "--db", demo, "status"),
        "workspace": ("-c", "import cxray.workspace"),
        "scorecard": ("-m", "cxray", "--db", demo, "scorecard"),
    }
    return _timed(*commands[name])


def build_demo(n: int) -> Path:
    path = DATA_DIR / f"cli_startup_{n}.duckdb"
    if not path.exists():
        DATA_DIR.mkdir(exist_ok=True)
        _run("-m", "cxray", "--db", str(path), "demo", "--customers", str(n))
    return path


def build_small(folder: Path) -> Path:
    path = folder / "small.duckdb"
    csv = folder / "r.csv"
    csv.write_text("response_id,submitted_at,nps\nA,2025-01-01,9\nB,2025-01-02,3\n")
    _run("-m", "cxray", "--db", str(path), "import", "responses", str(csv))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=CUSTOMERS_DEFAULT)
    parser.add_argument("--demo", type=Path, help="an existing demo store (read only)")
    parser.add_argument("--repeat", type=int, default=5)
    ns = parser.parse_args()
    demo = ns.demo or build_demo(ns.customers)
    with tempfile.TemporaryDirectory(prefix="cxray-startup-bench-") as tmp:
        small = build_small(Path(tmp))
        # the status printed fast is the status the workspace prints
        fast = _run("-m", "cxray", "--db", str(demo), "status", "--format", "json").stdout
        slow = _run(
            "-c",
            "import json, sys; from cxray import Workspace\n"
            f"ws = Workspace.open({str(demo)!r}, read_only=True); st = ws.status()\n"
            "print(json.dumps({'store': st.store, 'schema_version': st.schema_version, "
            "'tables': [t.__dict__ for t in st.tables], 'imports': [i.__dict__ for i in "
            "st.imports]}, indent=2, default=str, ensure_ascii=False))",
        ).stdout
        assert fast == slow, "cxray status differs from Workspace.status()"
        os.environ[ENV_SMALL], os.environ[ENV_DEMO] = str(small), str(demo)
        rows = run_cases("benchmarks.cli_startup", CASES, repeat=ns.repeat)
    print(markdown(rows, f"`cxray` start-up ({demo.name})"))


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main({c.name: (lambda name=c.name: _case(name)) for c in CASES})
    else:
        main()
