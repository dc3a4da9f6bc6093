"""User column mappings: ``CANONICAL=SOURCE_COLUMN`` pairs (``--map nps=Q1``)."""

from __future__ import annotations

from collections.abc import Iterable

from cxray.exceptions import SourceError

__all__ = ["parse_mapping"]


def parse_mapping(items: Iterable[str], *, option: str = "--map") -> dict[str, str]:
    """``["nps=Q1", "comment=Q2"]`` -> ``{"nps": "Q1", "comment": "Q2"}``; a clear error else."""
    out: dict[str, str] = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise SourceError(f"{option} {item!r}: expected CANONICAL=SOURCE_COLUMN, e.g. nps=Q1")
        out[canonical.strip()] = source.strip()
    return out
