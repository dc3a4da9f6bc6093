"""Two tiny benchmark cases for tests/test_benchmark_harness.py (run as ``-m tests._bench_case``)."""

from __future__ import annotations

import os
import sys

from benchmarks._harness import child_main


def _log(name: str) -> None:
    path = os.environ.get("CXRAY_BENCH_ORDER")
    if path:
        with open(path, "a") as f:
            f.write(name + "\n")


def tiny() -> dict:
    _log("tiny")
    return {"answer": 42}


def alloc() -> dict:
    _log("alloc")
    block = bytearray(b"\x01") * (200 << 20)  # 200 MiB, every page written
    return {"bytes": len(block)}


if __name__ == "__main__" and "--case" in sys.argv:
    child_main({"tiny": tiny, "alloc": alloc})
