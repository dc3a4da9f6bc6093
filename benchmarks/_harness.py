"""A small benchmark harness: each case runs in its own process, timed, with its peak memory.

Results print as a markdown table with the ratio of each case to the first
(the baseline, measured in the same run), because the machines are shared and
noisy: ratios travel, absolute seconds do not.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "child_main", "run_cases"]

DATA_DIR = Path(__file__).parent / "_data"


@dataclass
class Case:
    name: str
    description: str


def own_peak_kib() -> int:
    """This process's peak resident memory in KiB.

    On Linux it is read from ``/proc/self/status`` (``VmHWM``): ``ru_maxrss`` would
    also count the memory of the parent this process was forked from, which Linux
    carries across ``exec`` (a benchmark that built its data in the parent would
    report that as every case's peak).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_main(cases: dict[str, Callable[[], object]]) -> None:
    """Entry point in the child: run one case, print its timing and peak RSS as JSON."""
    name = sys.argv[sys.argv.index("--case") + 1]
    t0 = time.perf_counter()
    detail = cases[name]()
    seconds = time.perf_counter() - t0
    if isinstance(detail, dict) and "seconds" in detail:  # a case that times its own part
        seconds = detail.pop("seconds")
    peak_kib = max(own_peak_kib(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(
        "RESULT "
        + json.dumps(
            {"seconds": seconds, "peak_mib": peak_kib / 1024, "detail": detail}, default=str
        )
    )


def run_cases(module: str, cases: list[Case], *, repeat: int = 3) -> list[dict]:
    """Run every case ``repeat`` times in fresh processes; keep the best time of each."""
    rows = []
    for case in cases:
        best = None
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, "-m", module, "--case", case.name],
                capture_output=True,
                text=True,
                check=False,
                cwd=Path(__file__).parent.parent,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if out.returncode != 0:
                raise RuntimeError(f"case {case.name} failed:\n{out.stderr[-3000:]}")
            line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
            res = json.loads(line.removeprefix("RESULT "))
            if best is None or res["seconds"] < best["seconds"]:
                best = res
        rows.append({"case": case.name, "description": case.description, **best})
    base = rows[0]["seconds"]
    for r in rows:
        r["ratio"] = r["seconds"] / base
    return rows


def markdown(rows: list[dict], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| case | seconds (best of runs) | × baseline | peak memory |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']}: {r['description']} | {r['seconds']:.2f} | "
            f"{r['ratio']:.2f}× | {r['peak_mib']:.0f} MiB |"
        )
    return "\n".join(lines)
