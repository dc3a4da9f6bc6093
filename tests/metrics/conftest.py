"""A small demo world shared by the metric tests, and its tables as pandas frames."""

from __future__ import annotations

import pytest

from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("metrics") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=11, customers=2000, months=6)
        yield ws


@pytest.fixture(scope="module")
def frames(demo):
    return {
        name: demo.table(name).to_pandas()
        for name in ("customers", "responses", "cases", "orders", "events")
    }


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: runs on Apache Spark (PySpark, local mode)")
