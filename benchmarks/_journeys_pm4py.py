"""The pm4py case of ``benchmarks.journeys``, run by an interpreter that has pm4py.

    $CXRAY_PM4PY_PYTHON -m benchmarks._journeys_pm4py STORE DATA_DIR

pm4py is kept out of cxray's environment (it pins its own stack, and is AGPL), so this
module imports only the standard library, DuckDB, pandas and pm4py. It loads the events
of the benchmark store into pandas, then times ``pm4py.discover_dfg`` (arc counts, start
and end activities) and ``pm4py.discover_performance_dfg`` (per-edge times, median
among them), loading included, and prints one ``RESULT`` line as the harness does.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    store, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
    import duckdb
    import pm4py

    t0 = time.perf_counter()
    con = duckdb.connect(str(store), read_only=True)
    df = con.execute(
        "SELECT customer_id, timestamp, event_id, touchpoint FROM events "
        "ORDER BY customer_id, timestamp, event_id"
    ).df()
    con.close()
    keys = {"case_id_key": "customer_id", "activity_key": "touchpoint",
            "timestamp_key": "timestamp"}  # fmt: skip
    dfg, starts, ends = pm4py.discover_dfg(df, **keys)
    perf, _, _ = pm4py.discover_performance_dfg(df, **keys)
    seconds = time.perf_counter() - t0
    arcs = {
        f"{a}\t{b}": [int(n), float(perf[(a, b)]["median"]) / 3600.0] for (a, b), n in dfg.items()
    }
    arcs.update({f"{a}\t": [int(n), None] for a, n in ends.items()})
    events = store.stem.split("_")[-1]
    (data_dir / f"journeys_{events}_graph_pm4py.json").write_text(
        json.dumps({"arcs": arcs, "starts": {k: int(v) for k, v in starts.items()}})
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"seconds": seconds, "peak_mib": peak, "detail": None}))


if __name__ == "__main__":
    main()
