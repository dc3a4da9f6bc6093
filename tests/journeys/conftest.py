"""Journey fixtures: the textbook running example, the helpdesk log and a small demo world."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cxray.workspace import Workspace
from tests.conftest import SHARED

RUNNING_EXAMPLE = SHARED / "data" / "event_logs" / "running-example.csv"
HELPDESK = SHARED / "data" / "helpdesk_tickets" / "helpdesk_events.csv"
#: how the process-mining exports map onto events: the case id is the customer
EVENT_LOG_MAP = {
    "customer_id": "case:concept:name",
    "touchpoint": "concept:name",
    "timestamp": "time:timestamp",
}


def without_index(src: Path, dest: Path) -> Path:
    """The running example without pandas' unnamed index column (cxray wants named columns)."""
    with src.open(newline="", encoding="utf-8") as f, dest.open("w", newline="") as out:
        w = csv.writer(out)
        for row in csv.reader(f):
            w.writerow(row[1:])
    return dest


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: runs on Apache Spark (PySpark, local mode)")


@pytest.fixture(scope="session")
def running_csv(tmp_path_factory) -> Path:
    if not RUNNING_EXAMPLE.exists():
        pytest.skip(f"{RUNNING_EXAMPLE} is missing")
    return without_index(RUNNING_EXAMPLE, tmp_path_factory.mktemp("re") / "running-example.csv")


@pytest.fixture(scope="module")
def running(tmp_path_factory, running_csv):
    """The running example imported as events, its case id as the customer."""
    path = tmp_path_factory.mktemp("running") / "re.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_files("events", [running_csv], mapping=EVENT_LOG_MAP)
        yield ws


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("journeys") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=3, customers=2000, months=6)
        yield ws
