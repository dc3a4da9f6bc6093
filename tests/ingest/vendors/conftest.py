"""Shared fixtures for the vendor source tests."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"


@pytest.fixture
def fixture_path():
    """``fixture_path("qualtrics_responses.csv")`` → the path of a vendor fixture."""

    def get(name: str) -> Path:
        path = FIXTURES / name
        assert path.exists(), path
        return path

    return get


@pytest.fixture
def rows_by():
    """``rows_by(batch, "response_id")`` → the batch's rows as dicts keyed by that column."""

    def get(batch, key: str) -> dict[str, dict]:
        return {row[key]: row for row in batch.data.to_pylist()}

    return get
