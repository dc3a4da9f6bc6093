"""Shared demo worlds: small enough to keep the suite fast, big enough to show every effect."""

from __future__ import annotations

import pytest

from cxray.demo import World, generate


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate(seed=42, customers=2_000, months=12)
