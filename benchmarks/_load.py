"""HTTP load over loopback with `wrk`, driven from Python.

One call, one endpoint (or one family of requests), one :class:`LoadResult`::

    from benchmarks._load import run_load

    r = run_load("http://127.0.0.1:8000/api/status", headers={"X-API-Key": key})
    print(r.rps, r.p95_ms, r.errors)

    # POST many distinct JSON bodies (they are sent in turn, each thread from its own offset)
    bodies = [json.dumps({"answer": i}) for i in range(10_000)]
    r = run_load("http://127.0.0.1:8000/api/things", method="POST", bodies=bodies)

    # many distinct GET paths on one server (e.g. pages of a listing)
    r = run_load("http://127.0.0.1:8000/", paths=["/rows?page=1", "/rows?page=2"])

`wrk` (Debian: ``apt-get install -y wrk``) does the sending; a small Lua script, written per
run, builds the requests (method, headers, bodies, paths), counts the status codes of the
responses and prints the latency percentiles and counts as one JSON line, which this module
reads. Errors are responses outside 2xx/3xx (or outside ``ok_status``) plus socket errors
(connect, read, write, timeout).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["LoadResult", "markdown_table", "run_load", "wrk_path"]

_MARK = "CXLOAD "

# Runs inside wrk (LuaJIT). The request file holds, per request, a line "<path bytes> <body
# bytes>" and then the path and the body, so any bytes (newlines included) travel unchanged.
_LUA = r"""
local spec_file, method = nil, "GET"
local requests, next_i = {}, 1
local threads = {}
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  spec_file, method = args[1], args[2]
  local f = assert(io.open(spec_file, "rb"))
  while true do
    local head = f:read("*l")
    if head == nil or head == "" then break end
    local plen, blen = head:match("^(%d+) (%d+)$")
    plen, blen = tonumber(plen), tonumber(blen)
    local path = plen > 0 and f:read(plen) or "/"
    local body = nil
    if blen > 0 then
      body = f:read(blen)
    elseif method ~= "GET" and method ~= "HEAD" then
      body = ""
    end
    table.insert(requests, wrk.format(method, path, nil, body))
  end
  f:close()
  -- each thread starts its own equal share of the requests, so distinct bodies stay
  -- distinct for as long as there are enough of them
  local nthreads = tonumber(args[3]) or 1
  next_i = math.floor(id * #requests / nthreads) % #requests + 1
end

function request()
  local r = requests[next_i]
  next_i = next_i % #requests + 1
  return r
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

local function json_str(s) return '"' .. s .. '"' end

function done(summary, latency, requests_stats)
  local merged = {}
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    if st then for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, json_str(k) .. ":" .. v) end
  local e = summary.errors
  io.write("CXLOAD {")
  io.write('"requests":', summary.requests, ',')
  io.write('"duration_us":', summary.duration, ',')
  io.write('"bytes":', summary.bytes, ',')
  io.write('"connect":', e.connect, ',"read":', e.read, ',"write":', e.write, ',')
  io.write('"status":', e.status, ',"timeout":', e.timeout, ',')
  io.write('"mean_us":', latency.mean, ',"max_us":', latency.max, ',')
  io.write('"p50_us":', latency:percentile(50), ',')
  io.write('"p90_us":', latency:percentile(90), ',')
  io.write('"p95_us":', latency:percentile(95), ',')
  io.write('"p99_us":', latency:percentile(99), ',')
  io.write('"statuses":{', table.concat(parts, ","), '}')
  io.write("}\n")
end
"""


@dataclass(frozen=True)
class LoadResult:
    """What one :func:`run_load` measured. Latencies are in milliseconds."""

    url: str
    method: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    duration_s: float
    connections: int
    threads: int
    bytes: int
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    name: str = ""

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.requests > 0

    def to_dict(self) -> dict:
        return asdict(self)


def wrk_path() -> str:
    """The wrk executable, or a clear error saying how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu)")
    return found


def run_load(
    url: str,
    *,
    method: str = "GET",
    bodies: Sequence[str | bytes] | None = None,
    paths: Sequence[str] | None = None,
    headers: dict[str, str] | None = None,
    connections: int = 4,
    duration_s: float = 10.0,
    threads: int = 2,
    timeout_s: float = 10.0,
    ok_status: Sequence[int] | range = range(200, 400),
    name: str = "",
) -> LoadResult:
    """Drive ``url`` with wrk for ``duration_s`` seconds and return what it measured.

    ``bodies`` (str or bytes, sent in turn) make every request carry one; JSON is assumed
    unless ``headers`` names a Content-Type. ``paths`` (each starting with ``/``) replace
    the path and query of ``url``, also in turn; with both, request *i* takes path
    ``i % len(paths)`` and body ``i % len(bodies)``. Requests whose status is not in
    ``ok_status`` count as errors, as do socket errors and timeouts.
    """
    method = method.upper()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"run_load: not an http(s) URL: {url!r}")
    base_path = parts.path or "/"
    if parts.query:
        base_path += "?" + parts.query
    path_list = list(paths) if paths else [base_path]
    for p in path_list:
        if not p.startswith("/"):
            raise ValueError(f"run_load: a path must start with '/': {p!r}")
    body_list: list[bytes] | None = None
    if bodies is not None:
        if len(bodies) == 0:
            raise ValueError("run_load: bodies is empty")
        body_list = [b.encode() if isinstance(b, str) else bytes(b) for b in bodies]
    connections = max(1, int(connections))
    threads = max(1, min(int(threads), connections))
    seconds = max(1, round(duration_s))
    hdrs = dict(headers or {})
    if body_list is not None and not any(k.lower() == "content-type" for k in hdrs):
        hdrs["Content-Type"] = "application/json"

    n = max(len(path_list), len(body_list) if body_list is not None else 1)
    with tempfile.TemporaryDirectory(prefix="cxload-") as tmp:
        spec = Path(tmp) / "requests.bin"
        with spec.open("wb") as f:
            for i in range(n):
                p = path_list[i % len(path_list)].encode()
                b = body_list[i % len(body_list)] if body_list is not None else b""
                f.write(f"{len(p)} {len(b)}\n".encode())
                f.write(p)
                f.write(b)
        script = Path(tmp) / "load.lua"
        script.write_text(_LUA)
        cmd = [
            wrk_path(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={max(1, round(timeout_s))}s",
            "-s",
            str(script),
        ]
        for k, v in hdrs.items():
            cmd += ["-H", f"{k}: {v}"]
        cmd += [url, "--", str(spec), method, str(threads)]
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=seconds + timeout_s + 30
        )
    line = next((x for x in out.stdout.splitlines() if x.startswith(_MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed on {method} {url} (exit {out.returncode}):\n"
            f"{out.stderr[-2000:]}{out.stdout[-2000:]}"
        )
    raw = json.loads(line.removeprefix(_MARK))
    statuses = {k: int(v) for k, v in sorted(raw["statuses"].items())}
    bad_status = sum(v for k, v in statuses.items() if int(k) not in ok_status)
    sockets = {k: int(raw[k]) for k in ("connect", "read", "write", "timeout") if raw[k]}
    duration = raw["duration_us"] / 1e6
    return LoadResult(
        url=url,
        method=method,
        requests=int(raw["requests"]),
        errors=bad_status + sum(sockets.values()),
        rps=raw["requests"] / duration if duration > 0 else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        duration_s=duration,
        connections=connections,
        threads=threads,
        bytes=int(raw["bytes"]),
        statuses=statuses,
        socket_errors=sockets,
        name=name,
    )


def markdown_table(
    results: Sequence[LoadResult], *, baseline: LoadResult | None = None, goal_p95_ms=None
) -> str:
    """A markdown table of results; with ``baseline``, p95 also as a multiple of its p95."""
    head = "| endpoint | requests/s | p50 ms | p95 ms | p99 ms | errors |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if baseline is not None:
        head += " p95 × baseline |"
        rule += "---:|"
    if goal_p95_ms is not None:
        head += f" p95 < {goal_p95_ms:g} ms |"
        rule += ":---:|"
    lines = [head, rule]
    for r in results:
        row = (
            f"| {r.name or r.method + ' ' + r.url} | {r.rps:,.1f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
        if baseline is not None:
            ratio = r.p95_ms / baseline.p95_ms if baseline.p95_ms > 0 else float("nan")
            row += f" {ratio:.1f}× |"
        if goal_p95_ms is not None:
            row += " yes |" if r.p95_ms < goal_p95_ms and r.errors == 0 else " **no** |"
        lines.append(row)
    return "\n".join(lines)
