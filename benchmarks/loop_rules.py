"""Benchmark: the closed loop's row rules after a 1M-row import of survey responses.

    python -m benchmarks.loop_rules [--rows 1000000] [--repeat 3]

An import runs the rules on the rows it brought (``Workspace._run_loop``, right after the
import commits): they are evaluated in the store, and what fires is recorded (alerts,
follow-ups and their first event, outbox messages) in one transaction. Cases, each in a
fresh process and a fresh store:

- ``import``: ``import_files`` of the CSV with no rules (the baseline);
- ``evaluate``: the same import with the four rules below made to fire on nothing; the
  time is the rules' part alone (the import's own part is reported beside it);
- ``rules``: the same with the four row rules in ``cxray.toml`` (below): evaluating them,
  and recording what fired.

Goal (the closed-loop issue): the rules take at most 10 % of the import's time. The rules
fire on a realistic share of a survey's rows (the strongest detractors with a comment, the
worst CSAT, two narrower ones: about 2 % of the rows here, 20,000 alerts); a third case
evaluates the same rules made to fire on nothing, to separate evaluating from recording.
Libraries are imported before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# libraries are imported before the clock starts: the figures compare the work
import cxray.features
import cxray.loop
import cxray.text  # noqa: F401
from benchmarks._harness import Case, child_main, markdown, run_cases
from benchmarks.import_responses import ROWS_DEFAULT, data_file
from cxray.workspace import Workspace

RULES = """
[[loop.rules]]
name = "strong-detractors"
on = "responses"
where = "nps == 0 and comment != null and channel == \\"email\\""
action = "followup"
route_by = "survey"
routes = { relationship = "team:account-managers", "*" = "team:cx" }

[[loop.rules]]
name = "worst-csat"
on = "responses"
where = "csat == 1 and nps == 0"
action = "both"
team = "support"
notify = ["webhook:http://127.0.0.1:9/cxray-hook"]

[[loop.rules]]
name = "app-detractors"
on = "responses"
where = "nps == 0 and channel == \\"app\\" and comment != null"
action = "notify"
notify = ["email:app-team@example.com"]

[[loop.rules]]
name = "late-delivery-complaints"
on = "responses"
where = "comment == \\"Delivery was late again\\" and nps <= 1 and channel == \\"email\\""
action = "followup"
team = "logistics"
sla_hours = 24
"""

#: the same rules, made to fire on nothing: what evaluating them alone costs
QUIET = RULES.replace('\nwhere = "', '\nwhere = "survey == \\"none\\" and ')


def _rows() -> int:
    return int(os.environ.get("CXRAY_BENCH_ROWS", ROWS_DEFAULT))


def case_import():
    src = data_file(_rows())
    with (
        tempfile.TemporaryDirectory() as d,
        Workspace.open(Path(d) / "cx.duckdb", Path(d) / "cxray.toml") as ws,
    ):
        report = ws.import_files("responses", [src])
    return {"rows": report.result.added}


def _with_rules(rules: str) -> dict:
    src = data_file(_rows())
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "cxray.toml").write_text(rules)
        with Workspace.open(Path(d) / "cx.duckdb", Path(d) / "cxray.toml") as ws:
            spent = {}
            run_loop = ws._run_loop

            def timed(*args, **kwargs):
                t0 = time.perf_counter()
                out = run_loop(*args, **kwargs)
                spent["rules"] = time.perf_counter() - t0
                return out

            ws._run_loop = timed  # type: ignore[method-assign]
            t0 = time.perf_counter()
            report = ws.import_files("responses", [src])
            total = time.perf_counter() - t0
            loop = report.loop or {}
            con = ws.store.backend.con
            counts = {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("_cx_alerts", "followups", "_cx_outbox")
            }
    assert not loop.get("errors") and "error" not in loop, loop
    return {
        "seconds": spent["rules"],
        "import_seconds": total - spent["rules"],
        "fired": loop.get("fired"),
        "rows": report.result.added,
        **counts,
    }


def case_evaluate():
    return _with_rules(QUIET)


def case_rules():
    return _with_rules(RULES)


CASES = {"import": case_import, "evaluate": case_evaluate, "rules": case_rules}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=ROWS_DEFAULT)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    load0 = os.getloadavg()[0]
    data_file(args.rows)
    os.environ["CXRAY_BENCH_ROWS"] = str(args.rows)
    rows = run_cases(
        "benchmarks.loop_rules",
        [
            Case("import", "import_files, no rules (the baseline)"),
            Case("evaluate", "the four rules evaluated on the imported rows, none firing"),
            Case("rules", "the four rules evaluated and what fires recorded"),
        ],
        repeat=args.repeat,
    )
    print(markdown(rows, f"Row rules after importing {args.rows:,} survey responses"))
    base, quiet, rules = rows
    d = rules["detail"]
    alerts = d["_cx_alerts"]
    print(
        f"\nrules: {d['fired']} fired on {alerts / d['rows']:.2%} of the rows: {alerts:,} "
        f"alerts, {d['followups']:,} follow-ups, {d['_cx_outbox']:,} outbox messages"
    )
    for name, r in (("evaluating", quiet), ("evaluating and recording", rules)):
        share = r["seconds"] / base["seconds"]
        print(
            f"{name}: {r['seconds']:.2f} s = {share:.1%} of the import without rules "
            f"({base['seconds']:.2f} s; the import's own part in that process: "
            f"{r['detail']['import_seconds']:.2f} s); goal ≤ 10 %: "
            + ("met" if share <= 0.10 else "NOT met")
        )
    if alerts:
        per = (rules["seconds"] - quiet["seconds"]) / alerts
        print(f"recording: {per * 1e6:.0f} µs per alert (alert, follow-up, event, messages)")
    print(f"{os.cpu_count()} cores, 1-minute load average {load0:.2f} at the start")


if __name__ == "__main__":
    if "--case" in sys.argv:
        child_main(CASES)
    else:
        main()
