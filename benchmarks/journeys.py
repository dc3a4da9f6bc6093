"""Benchmark: a funnel and the directly-follows graph over 20M events.

    python -m benchmarks.journeys [--events 20000000] [--repeat 2] [--keep-data]

The events (about ``--events`` of them, 10 per customer on average) are generated with
DuckDB straight into a cxray store, ``benchmarks/_data/journeys_<events>.duckdb``:
customers whose touchpoints mostly follow a shop's funnel by position (visit, view,
cart, checkout, payment, order, then delivery and support) with drop-off and noise,
gaps of minutes within a visit and of days between visits. Cases, each in a fresh
process, libraries imported before the clock:

- ``funnel_sql``: hand-written DuckDB SQL for the funnel of six steps by customer
  (first entry, then the first of each step after the one before), with each step's
  count and its median and 90th percentile hours from the previous step (the floor);
- ``funnel_cxray``: ``Workspace.journeys.funnel`` on the same store: the same numbers,
  plus Wilson intervals, exact intervals for the times and distinct customers;
- ``funnel_pandas``: the same in straightforward pandas (loading the step touchpoints);
- ``graph_sql``, ``graph_cxray``, ``graph_pandas``: the directly-follows graph (arc
  counts, median hours per edge, start and end activities) the same three ways;
- ``graph_pm4py``: ``pm4py.discover_dfg`` plus ``discover_performance_dfg`` on the
  events as a pandas frame, run by the interpreter in ``CXRAY_PM4PY_PYTHON`` (a
  throwaway virtualenv with pm4py; see ``benchmarks/README.md``); left out when unset.

Afterwards the results are compared: every count equal, every median and 90th
percentile equal to 1e-9 relative. Goals: cxray within 1.5x of the SQL floor and at
least 10x faster than pandas.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import DATA_DIR, Case, child_main, markdown, run_cases

STEPS = [
    "visit_site",
    "product_viewed",
    "added_to_cart",
    "checkout_started",
    "payment_submitted",
    "order_placed",
]
FUNNEL_BY_POSITION = [
    *STEPS,
    "delivery_tracked",
    "case_opened",
    "case_resolved",
    "survey_completed",
]
NOISE = [
    "visit_site",
    "product_viewed",
    "product_viewed",
    "email_opened",
    "email_clicked",
    "help_center_visited",
    "app_opened",
    "added_to_cart",
]
EVENTS_DEFAULT = 20_000_000


def _events() -> int:
    return int(os.environ.get("CXRAY_BENCH_EVENTS", EVENTS_DEFAULT))


def data_file(events: int | None = None) -> Path:
    return DATA_DIR / f"journeys_{events or _events()}.duckdb"


def _u(expr: str, salt: int) -> str:
    """A deterministic uniform number in [0, 1) from ``expr`` (hash-based, thread-proof)."""
    return f"((hash({expr}, {salt}) % 1000003) / 1000003.0)"


def build(events: int) -> Path:
    """Generate about ``events`` events into a fresh cxray store (once; reused after)."""
    import duckdb

    from cxray.workspace import Workspace

    path = data_file(events)
    if path.exists():
        return path
    DATA_DIR.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    with Workspace.open(tmp, DATA_DIR / "journeys.toml"):
        pass  # the store's tables, as cxray creates them
    customers = events // 10
    funnel = "[" + ", ".join(f"'{s}'" for s in FUNNEL_BY_POSITION) + "]"
    noise = "[" + ", ".join(f"'{s}'" for s in NOISE) + "]"
    started = time.perf_counter()
    con = duckdb.connect(str(tmp))
    con.execute(f"""
        INSERT INTO events (event_id, customer_id, timestamp, touchpoint, channel, journey,
                            session_id, _import_id)
        WITH c AS (
            SELECT c, 1 + least(floor(-ln(1 - {_u("c", 1)}) * 9.5), 60)::INTEGER AS len,
                   TIMESTAMP '2025-01-01' + to_seconds(floor({_u("c", 2)} * 31536000)::BIGINT)
                       AS t0,
                   CASE WHEN {_u("c", 3)} < 0.7 THEN 'web' ELSE 'app' END AS channel
            FROM range({customers}) r(c)
        ), e AS (
            SELECT c, p, t0, channel, {_u("c * 64 + p", 4)} AS u, {_u("c * 64 + p", 5)} AS w,
                   {_u("c * 64 + p", 6)} AS k
            FROM c, unnest(range(len)) AS x(p)
        ), timed AS (
            SELECT *, sum(CASE WHEN p = 0 THEN 0
                               WHEN k < 0.08 THEN floor(-ln(1 - w) * 259200)
                               ELSE floor(-ln(1 - w) * 600) END)
                      OVER (PARTITION BY c ORDER BY p) AS off
            FROM e
        )
        SELECT 'E' || lpad((c * 64 + p)::VARCHAR, 11, '0'),
               'C' || lpad(c::VARCHAR, 8, '0'),
               t0 + to_seconds(off::BIGINT),
               CASE WHEN u < 0.65 THEN {funnel}[least(p, 9) + 1]
                    ELSE {noise}[floor(u * 1000)::INTEGER % 8 + 1] END,
               channel, 'checkout', NULL, 0
        FROM timed
    """)
    n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    tmp.rename(path)
    print(f"generated {n:,} events in {time.perf_counter() - started:.0f} s -> {path}", flush=True)
    return path


# ---------------------------------------------------------------- the funnel


def funnel_sql_text() -> str:
    """The funnel as a careful analyst writes it for DuckDB."""
    steps = ", ".join(f"'{s}'" for s in STEPS)
    ctes = [
        f"e AS (SELECT customer_id AS c, timestamp AS t, touchpoint AS tp FROM events "
        f"WHERE touchpoint IN ({steps}))",
        f"s0 AS (SELECT c, min(t) AS t FROM e WHERE tp = '{STEPS[0]}' GROUP BY c)",
    ]
    for k in range(1, len(STEPS)):
        ctes.append(
            f"s{k} AS (SELECT s.c, s.t AS prev, min(e.t) AS t FROM s{k - 1} s JOIN e "
            f"ON e.c = s.c AND e.tp = '{STEPS[k]}' AND e.t >= s.t GROUP BY s.c, s.t)"
        )
    parts = ["SELECT 0 AS k, count(*) AS n, NULL::DOUBLE AS med, NULL::DOUBLE AS p90 FROM s0"]
    for k in range(1, len(STEPS)):
        h = "(epoch(t) - epoch(prev)) / 3600.0"
        parts.append(
            f"SELECT {k}, count(*), quantile_cont({h}, 0.5), quantile_cont({h}, 0.9) FROM s{k}"
        )
    return "WITH " + ",\n".join(ctes) + "\n" + "\nUNION ALL ".join(parts) + " ORDER BY k"


def case_funnel_sql() -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file()), read_only=True)
    rows = con.execute(funnel_sql_text()).fetchall()
    seconds = time.perf_counter() - t0
    _save("funnel_sql", [[n, med, p90] for _, n, med, p90 in rows])
    return {"seconds": seconds}


def case_funnel_cxray() -> dict[str, Any]:
    from cxray.workspace import Workspace

    t0 = time.perf_counter()
    with Workspace.open(data_file(), DATA_DIR / "journeys.toml", read_only=True) as ws:
        f = ws.journeys.funnel(STEPS)
    seconds = time.perf_counter() - t0
    _save(
        "funnel_cxray",
        [
            [r.cases, r.median.estimate if r.median else None, r.p90.estimate if r.p90 else None]
            for r in f.rows
        ],
    )
    return {"seconds": seconds}


def case_funnel_pandas() -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file()), read_only=True)
    steps = ", ".join(f"'{s}'" for s in STEPS)
    df = con.execute(
        f"SELECT customer_id, timestamp, touchpoint FROM events WHERE touchpoint IN ({steps})"
    ).df()
    first = df[df.touchpoint == STEPS[0]].groupby("customer_id", sort=False).timestamp.min()
    cur = first.rename("t").reset_index()
    out = [[len(cur), None, None]]
    for step in STEPS[1:]:
        ek = df.loc[df.touchpoint == step, ["customer_id", "timestamp"]]
        j = cur[["customer_id", "t"]].merge(ek, on="customer_id")
        j = j[j.timestamp >= j.t]
        nxt = j.groupby("customer_id", sort=False).agg(prev=("t", "first"), t=("timestamp", "min"))
        hours = (nxt.t - nxt.prev).dt.total_seconds() / 3600.0
        out.append([len(nxt), float(hours.median()), float(hours.quantile(0.9))])
        cur = nxt.reset_index()[["customer_id", "t"]]
    seconds = time.perf_counter() - t0
    _save("funnel_pandas", out)
    return {"seconds": seconds}


# ---------------------------------------------------------------- the graph

GRAPH_SQL = """
WITH t AS (
    SELECT touchpoint AS a,
           lead(touchpoint) OVER w AS b,
           (epoch(lead(timestamp) OVER w) - epoch(timestamp)) / 3600.0 AS h,
           row_number() OVER w = 1 AS first
    FROM events
    WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, event_id)
)
SELECT a, b, count(*) AS n, count(*) FILTER (WHERE first) AS starts, median(h) AS med
FROM t GROUP BY a, b
"""


def case_graph_sql() -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file()), read_only=True)
    rows = con.execute(GRAPH_SQL).fetchall()
    seconds = time.perf_counter() - t0
    _save_graph("graph_sql", [(a, b, n, s, med) for a, b, n, s, med in rows])
    return {"seconds": seconds}


def case_graph_cxray() -> dict[str, Any]:
    from cxray.workspace import Workspace

    t0 = time.perf_counter()
    with Workspace.open(data_file(), DATA_DIR / "journeys.toml", read_only=True) as ws:
        g = ws.journeys.graph()
    seconds = time.perf_counter() - t0
    rows = [(e.source, e.target, e.count, 0, e.median_hours) for e in g.edges]
    rows += [(a.name, None, a.ends, a.starts, None) for a in g.activities if a.ends or a.starts]
    _save_graph("graph_cxray", rows)
    return {"seconds": seconds}


def case_graph_pandas() -> dict[str, Any]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(str(data_file()), read_only=True)
    df = con.execute("SELECT customer_id, timestamp, event_id, touchpoint FROM events").df()
    df = df.sort_values(["customer_id", "timestamp", "event_id"], ignore_index=True)
    same = df.customer_id.eq(df.customer_id.shift(-1))
    df["b"] = df.touchpoint.shift(-1).where(same)
    df["h"] = ((df.timestamp.shift(-1) - df.timestamp).dt.total_seconds() / 3600.0).where(same)
    df["first"] = ~df.customer_id.eq(df.customer_id.shift(1))
    g = df.groupby(["touchpoint", "b"], dropna=False, sort=False).agg(
        n=("h", "size"), starts=("first", "sum"), med=("h", "median")
    )
    seconds = time.perf_counter() - t0
    rows = [
        (a, None if b != b or b is None else b, int(n), int(s), None if m != m else float(m))
        for (a, b), n, s, m in zip(g.index, g.n, g.starts, g.med, strict=True)
    ]
    _save_graph("graph_pandas", rows)
    return {"seconds": seconds}


# ---------------------------------------------------------------- checks


def _save(case: str, rows: list) -> None:
    (DATA_DIR / f"journeys_{_events()}_{case}.json").write_text(json.dumps(rows))


def _save_graph(case: str, rows: list[tuple]) -> None:
    """Edges as ``(a, b, arcs, 0, median)``; per touchpoint ``(a, None, ends, starts, None)``."""
    arcs: dict[str, Any] = {}
    starts: dict[str, int] = {}
    for a, b, n, s, med in rows:
        starts[a] = starts.get(a, 0) + int(s or 0)
        if b is not None:
            arcs[f"{a}\t{b}"] = [int(n), med]
        else:
            arcs[f"{a}\t"] = [int(n), None]
    _save(case, {"arcs": arcs, "starts": {k: v for k, v in starts.items() if v}})


def _load(case: str) -> Any:
    path = DATA_DIR / f"journeys_{_events()}_{case}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def check() -> list[str]:
    """Every case against the SQL floor: counts equal, medians and p90s to 1e-9."""
    notes = []
    base = _load("funnel_sql") or []
    for case in ("funnel_cxray", "funnel_pandas"):
        got = _load(case)
        if got is None or not base:
            continue
        ok = len(got) == len(base)
        ok = ok and all(
            g[0] == b[0] and _close(g[1], b[1]) and _close(g[2], b[2])
            for g, b in zip(got, base, strict=True)
        )
        notes.append(f"{case}: {'same counts, medians and p90s' if ok else 'DIFFERS'}")
    base = _load("graph_sql")
    for case in ("graph_cxray", "graph_pandas", "graph_pm4py"):
        got = _load(case)
        if got is None or base is None:
            continue
        same_counts = {k: v[0] for k, v in got["arcs"].items()} == {
            k: v[0] for k, v in base["arcs"].items()
        }
        same_starts = got["starts"] == base["starts"]
        medians = all(
            _close(v[1], base["arcs"][k][1]) for k, v in got["arcs"].items() if k in base["arcs"]
        )
        what = "same arcs, ends, starts" if same_counts and same_starts else "DIFFERS"
        notes.append(f"{case}: {what}; medians {'equal' if medians else 'DIFFER'}")
    return notes


CASES = {
    "funnel_sql": case_funnel_sql,
    "funnel_cxray": case_funnel_cxray,
    "funnel_pandas": case_funnel_pandas,
    "graph_sql": case_graph_sql,
    "graph_cxray": case_graph_cxray,
    "graph_pandas": case_graph_pandas,
}


def _pm4py(repeat: int) -> dict | None:
    python = os.environ.get("CXRAY_PM4PY_PYTHON")
    if not python:
        return None
    best = None
    for _ in range(repeat):
        out = subprocess.run(
            [python, "-m", "benchmarks._journeys_pm4py", str(data_file()), str(DATA_DIR)],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).parent.parent,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        if out.returncode != 0:
            raise RuntimeError(f"pm4py case failed:\n{out.stderr[-3000:]}")
        line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
        res = json.loads(line.removeprefix("RESULT "))
        if best is None or res["seconds"] < best["seconds"]:
            best = res
    return best


def main() -> None:
    if "--case" in sys.argv:
        child_main(CASES)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--only", choices=["funnel", "graph"], help="run one of the two")
    args = parser.parse_args()
    os.environ["CXRAY_BENCH_EVENTS"] = str(args.events)
    path = build(args.events)
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    n, customers = con.execute(
        "SELECT count(*), count(DISTINCT customer_id) FROM events"
    ).fetchone()
    con.close()
    title = f"{n:,} events of {customers:,} customers"
    if args.only != "graph":
        _funnel(args.repeat, title)
    if args.only != "funnel":
        _graph(args.repeat, title)
    for note in check():
        print(f"- {note}")
    if not args.keep_data:
        path.unlink(missing_ok=True)
        for f in DATA_DIR.glob(f"journeys_{args.events}_*.json"):
            f.unlink()


def _funnel(repeat: int, title: str) -> None:
    funnel = run_cases(
        "benchmarks.journeys",
        [
            Case("funnel_sql", "hand-written DuckDB SQL: counts, median and p90 per step"),
            Case("funnel_cxray", "cxray funnel: + Wilson and exact time intervals, customers"),
            Case("funnel_pandas", "straightforward pandas (load the step touchpoints + compute)"),
        ],
        repeat=repeat,
    )
    print(markdown(funnel, f"Funnel of six steps by customer: {title}"), flush=True)


def _graph(repeat: int, title: str) -> None:
    graph = run_cases(
        "benchmarks.journeys",
        [
            Case("graph_sql", "hand-written DuckDB SQL: lead(), arcs, median hours, starts, ends"),
            Case("graph_cxray", "cxray graph: the same, from a portable Ibis expression"),
            Case("graph_pandas", "straightforward pandas (load, sort, shift, group)"),
        ],
        repeat=repeat,
    )
    pm = _pm4py(repeat)
    if pm is not None:
        graph.append(
            {
                "case": "graph_pm4py",
                "description": "pm4py discover_dfg + discover_performance_dfg (load included)",
                **pm,
                "ratio": pm["seconds"] / graph[0]["seconds"],
            }
        )
    print(markdown(graph, f"Directly-follows graph: {title}"), flush=True)


if __name__ == "__main__":
    main()
