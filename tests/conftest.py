"""Shared fixtures: a fresh workspace per test and a tiny file writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cxray.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _config_home_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``XDG_CONFIG_HOME`` is a temporary folder for the whole session (set before any
    fixture of a narrower scope): a PostgreSQL store without ``CXRAY_SECRETS_FILE`` keeps its
    key file under it (docs/security.md), never in the user's own ``~/.config``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        yield


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace with its store in a temporary folder."""
    with Workspace.open(tmp_path / "cx.duckdb", tmp_path / "cxray.toml") as w:
        yield w


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``tmp_path/name`` and return the path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return _write


def snapshot(ws: Workspace) -> dict[str, list[dict]]:
    """Every row of every table and the import log, for before/after comparisons."""
    out = {}
    for name in ("customers", "events", "responses", "cases", "orders", "mentions", "_cx_imports"):
        t = ws.store.backend.table(name)
        out[name] = sorted(t.to_pyarrow().to_pylist(), key=repr)
    return out


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one local SparkSession of the test session (``tests/_backends.py``)."""
    from tests._backends import start_spark

    session = start_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()
