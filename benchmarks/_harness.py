"""A small benchmark harness: each case runs in its own process, timed, with its peak memory.

Results print as a markdown table with the ratio of each case to the first
(the baseline, measured in the same run), because the machines are shared and
noisy: ratios travel, absolute seconds do not.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Case",
    "child_main",
    "load_line",
    "load_note",
    "markdown",
    "run_cases",
    "run_measured",
    "run_one",
]

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


def load_line() -> dict:
    """The machine's load average (1, 5, 15 min) and its CPU count, now."""
    one, five, fifteen = os.getloadavg()
    return {"load": [round(one, 2), round(five, 2), round(fifteen, 2)], "cpus": os.cpu_count() or 1}


def run_measured(cmd: list[str], **popen: object) -> dict:
    """Run ``cmd`` to its end: its seconds and its own peak resident memory (MiB).

    The peak is the child's ``ru_maxrss`` as ``wait4`` reports it for that one process
    (not the largest of every child this process ever waited for). Raises
    ``CalledProcessError`` when it fails.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return {"seconds": round(seconds, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1)}


def run_one(module: str, case: str, *, cwd: Path | None = None) -> dict:
    """Run one case once, in a fresh interpreter; its seconds, own peak memory and detail."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--case", case],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd or Path(__file__).parent.parent,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{out.stderr[-3000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run_cases(module: str, cases: list[Case], *, repeat: int = 3) -> list[dict]:
    """Run every case ``repeat`` times, each run in a fresh process, the repeats interleaved.

    Round ``k`` runs every case once (A B C, then A B C again ...), so a change of the
    machine's load during the run touches every case alike instead of one case's every
    repeat. Each case reports the median of its runs (and their range); its ratio is the
    median, over rounds, of its time divided by the baseline's (the first case) in the same
    round. Peak memory is each case's own (``own_peak_kib``), the largest over its runs. The
    load average before and after is kept on every row (``markdown`` prints it).
    """
    before = load_line()
    runs: dict[str, list[dict]] = {c.name: [] for c in cases}
    max_load = before["load"][0]
    for _ in range(max(1, repeat)):
        for case in cases:
            runs[case.name].append(run_one(module, case.name))
            max_load = max(max_load, os.getloadavg()[0])
    after = load_line()
    base_runs = runs[cases[0].name]
    rows = []
    for case in cases:
        rs = runs[case.name]
        secs = [r["seconds"] for r in rs]
        ratios = [r["seconds"] / b["seconds"] for r, b in zip(rs, base_runs, strict=True)]
        middle = sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2]
        rows.append(
            {
                "case": case.name,
                "description": case.description,
                **middle,  # detail of the median run
                "seconds": statistics.median(secs),
                "seconds_min": min(secs),
                "seconds_max": max(secs),
                "runs": len(secs),
                "ratio": statistics.median(ratios),
                "peak_mib": max(r["peak_mib"] for r in rs),
                "load_before": before,
                "load_after": after,
                "load_max": round(max_load, 2),
            }
        )
    return rows


def load_note(rows: list[dict]) -> str:
    """One line: the load average before and after the run, flagged when above the CPUs."""
    if not rows or "load_before" not in rows[0]:
        return ""
    b, a, peak = rows[0]["load_before"], rows[0]["load_after"], rows[0]["load_max"]
    cpus = b["cpus"]
    fmt = lambda x: " / ".join(f"{v:.2f}" for v in x["load"])  # noqa: E731
    flag = (
        f" **The load rose above the {cpus} CPUs during the run (peak 1-min {peak:.2f}): "
        "the ratios are less trustworthy.**"
        if peak > cpus
        else ""
    )
    return f"Load average (1/5/15 min) before {fmt(b)}, after {fmt(a)}, on {cpus} CPUs.{flag}"


def markdown(rows: list[dict], title: str) -> str:
    n = rows[0].get("runs", 1) if rows else 1
    lines = [f"### {title}", ""]
    note = load_note(rows)
    if note:
        lines += [note, ""]
    lines += [
        f"| case | seconds (median of {n}, range) | × baseline (median of rounds) | peak memory |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        spread = f" ({r['seconds_min']:.2f}–{r['seconds_max']:.2f})" if r.get("runs", 1) > 1 else ""
        lines.append(
            f"| {r['case']}: {r['description']} | {r['seconds']:.2f}{spread} | "
            f"{r['ratio']:.2f}× | {r['peak_mib']:.0f} MiB |"
        )
    return "\n".join(lines)
