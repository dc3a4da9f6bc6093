"""A small benchmark harness: each case runs in its own process, timed, with its peak memory.

Results print as a markdown table with the ratio of each case to the first
(the baseline, measured in the same run), because the machines are shared and
noisy: ratios travel, absolute seconds do not.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Case",
    "child_main",
    "first_view_round",
    "first_view_table",
    "free_port",
    "load_line",
    "load_note",
    "login",
    "markdown",
    "run_cases",
    "run_measured",
    "run_one",
    "serve",
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


_MEASURE = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": proc.returncode, "peak_kib": usage.ru_maxrss}, f)
"""


def run_measured(cmd: list[str], **popen: object) -> dict:
    """Run ``cmd`` to its end: its seconds and its own peak resident memory (MiB).

    A small interpreter starts ``cmd`` and reads its peak from ``wait4``: Linux carries the
    peak of a forked process's parent into the child's (``ru_maxrss``), so a benchmark that
    built its data in memory would otherwise report its own peak as the command's. Raises
    ``CalledProcessError`` when it fails.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "usage.json"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", _MEASURE, str(out), *cmd], check=True, **popen)  # type: ignore[call-overload]
        seconds = time.perf_counter() - t0
        usage = json.loads(out.read_text())
    if usage["rc"] != 0:
        raise subprocess.CalledProcessError(usage["rc"], cmd)
    return {"seconds": round(seconds, 2), "peak_mib": round(usage["peak_kib"] / 1024, 1)}


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


# --- the first page a person opens after `cxray serve` starts and after an import -------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(port: int, key: str) -> urllib.request.OpenerDirector:
    """An opener that holds the session cookie of a login with ``key``."""
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    data = urllib.parse.urlencode({"key": key, "next": "/api/health"}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/login", data=data, headers={"Origin": f"http://127.0.0.1:{port}"}
    )
    op.open(req, timeout=600).read()
    return op


@dataclass
class Server:
    port: int
    pid: int

    def peak_mib(self) -> float | None:
        """The server process's peak resident memory so far (Linux), else None."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None


@contextlib.contextmanager
def serve(db: Path, *, warm: bool, start_s: float = 120.0) -> Iterator[Server]:
    """A real ``cxray serve`` over ``db`` (``CXRAY_WARM`` set from ``warm``), once
    ``/api/health`` answers. Stopped on leaving."""
    port = free_port()
    env = {**os.environ, "CXRAY_WARM": "1" if warm else "0"}
    cmd = ["cxray", "--db", str(db), "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + start_s
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cxray serve did not start on {db}") from None
                time.sleep(0.1)
        yield Server(port, server.pid)
    finally:
        server.terminate()
        server.wait(60)


def time_get(op: urllib.request.OpenerDirector, port: int, path: str, marker: bytes) -> float:
    """Seconds to ``GET path`` in full; raises when the body lacks ``marker``."""
    t0 = time.perf_counter()
    with op.open(f"http://127.0.0.1:{port}{path}", timeout=600) as r:
        body = r.read()
    seconds = time.perf_counter() - t0
    if marker not in body:
        raise RuntimeError(f"{path} did not render: {body[:300]!r}")
    return seconds


def first_view_round(
    db: Path,
    key: str,
    *,
    path: str,
    marker: bytes,
    warm: bool,
    wait: float,
    extra: Path,
    again: int = 0,
) -> dict:
    """Start a server, log in, wait ``wait`` s as a person would, time ``GET path``; import
    ``extra`` (responses) through the CLI, wait, time it again, and ``again`` more times 2 s
    apart (``"during"``: while a server computes in the background). Also the server's peak
    memory (MiB) at the end."""
    with serve(db, warm=warm) as server:
        op = login(server.port, key)
        time.sleep(wait)
        start = time_get(op, server.port, path, marker)
        subprocess.run(
            ["cxray", "--db", str(db), "import", "responses", str(extra)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(wait)
        after = time_get(op, server.port, path, marker)
        during = []
        for _ in range(again):
            time.sleep(2.0)
            during.append(time_get(op, server.port, path, marker))
        peak = server.peak_mib()
    out = {"after_start": start, "after_import": after, "server_peak_mib": peak}
    return {**out, "during": during} if again else out


def first_view_table(
    rows: list[dict], cases: list[tuple[str, str]], *, title: str, what: str, before: dict
) -> str:
    """The markdown table of ``first_view_round`` results: per case (``rows[i]["case"]``) the
    median and range of both times, under ``title`` and the load line."""

    def med(case: str, k: str) -> str:
        xs = [r[k] for r in rows if r["case"] == case]
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})"

    after = load_line()
    fmt = lambda x: " / ".join(f"{v:.2f}" for v in x["load"])  # noqa: E731
    lines = [
        f"### {title}",
        "",
        f"Load average (1/5/15 min) before {fmt(before)}, after {fmt(after)}, "
        f"on {before['cpus']} CPUs.",
        "",
        f"| server | first `GET {what}` after start, s (median, range) | after an import, s "
        "| server's peak memory |",
        "|---|---:|---:|---:|",
    ]
    seen = {r["case"] for r in rows}
    for case, label in cases:
        if case in seen:
            peaks = [r["server_peak_mib"] for r in rows if r["case"] == case]
            peak = f"{max(peaks):.0f} MiB" if None not in peaks else "n/a"
            lines.append(
                f"| {label} | {med(case, 'after_start')} | {med(case, 'after_import')} | {peak} |"
            )
    during = [(r["case"], x) for r in rows for x in r.get("during", [])]
    if during:
        lines += ["", "Later views, 2 s apart after the one after the import:", ""]
        for case, label in cases:
            xs = sorted(x for c, x in during if c == case)
            if xs:
                p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
                lines.append(
                    f"- {label}: {len(xs)} views, median {statistics.median(xs):.3f} s, "
                    f"90th percentile {p90:.3f} s, slowest {xs[-1]:.3f} s"
                )
    return "\n".join(lines)
