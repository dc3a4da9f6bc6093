"""A small demo world shared by the churn tests (built once, about seven seconds): a closed
file for the command line, and an open copy for the library."""

from __future__ import annotations

import shutil

import pytest

from cxray.workspace import Workspace

WORLD = {"seed": 7, "customers": 3000, "months": 12}


@pytest.fixture(scope="package")
def demo_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("churn-cli") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
    return str(path)


@pytest.fixture(scope="package")
def demo(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("churn-demo") / "demo.duckdb"
    shutil.copy(demo_db, path)
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        yield ws
