"""Worlds for the driver tests: a small demo world, and mtcars as survey responses."""

from __future__ import annotations

import pandas as pd
import pytest

from cxray.workspace import Workspace
from tests.conftest import SHARED

MTCARS = SHARED / "data" / "mtcars" / "mtcars.csv"


@pytest.fixture(scope="package")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("drivers-demo") / "demo.duckdb"
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.load_demo(seed=7, customers=3000, months=12)
        yield ws


@pytest.fixture(scope="package")
def mtcars(tmp_path_factory):
    """mtcars, one car per response: mpg and the car's attributes as numeric columns."""
    path = tmp_path_factory.mktemp("mtcars") / "cx.duckdb"
    cars = pd.read_csv(MTCARS).rename(columns={"Unnamed: 0": "response_id"})
    cars["submitted_at"] = "2026-01-01"
    cars["nps"] = 8  # a survey answer; the analysis explains mpg
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        ws.import_frame("responses", cars)
        yield ws
