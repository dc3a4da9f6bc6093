"""Maturity fixtures: one small demo world with its closed loop, built once, copied per test
that writes."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cxray.loop import DEMO_LOOP_TOML
from cxray.workspace import Workspace

#: the demo world of these tests (PostgreSQL builds the same one)
DEMO = {"seed": 3, "customers": 200, "months": 2, "loop": True}
#: the demo's data ends on 2026-10-31; freshness is judged against this day in the tests
TODAY = dt.date(2026, 11, 30)
#: a small world: figures shown from 5 answers on (the default 30 would suppress most)
CONFIG = "[measurement]\nmin_n = 5\n\n" + DEMO_LOOP_TOML


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory) -> tuple[Path, Path]:
    """A demo store (200 customers, 2 months, the closed loop replayed) and its config."""
    folder = tmp_path_factory.mktemp("maturity")
    config = folder / "cxray.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = folder / "demo.duckdb"
    with Workspace.open(db, config) as ws:
        ws.load_demo(**DEMO)
    return db, config


@pytest.fixture
def world(demo_world, tmp_path) -> tuple[Path, Path]:
    """A copy of the demo store this test may write to, with its config."""
    db, config = demo_world
    shutil.copy(db, tmp_path / "demo.duckdb")
    shutil.copy(config, tmp_path / "cxray.toml")
    return tmp_path / "demo.duckdb", tmp_path / "cxray.toml"


@pytest.fixture
def open_world(world) -> Callable[..., Workspace]:
    def _open(**kw) -> Workspace:
        return Workspace.open(world[0], world[1], **kw)

    return _open
