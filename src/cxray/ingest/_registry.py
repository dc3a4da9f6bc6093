"""The registry of sources: canonical files and vendor exports."""

from __future__ import annotations

from pathlib import Path

from cxray.exceptions import SourceError
from cxray.ingest._canonical import CanonicalSource
from cxray.ingest._source import Source

__all__ = ["SOURCES", "detect_source", "get_source", "register_source"]

SOURCES: dict[str, Source] = {}


def register_source(source: Source) -> Source:
    """Add a source to the registry (vendor modules call this at import)."""
    SOURCES[source.name] = source
    return source


def get_source(name: str) -> Source:
    _load_vendors()
    try:
        return SOURCES[name.strip().lower()]
    except KeyError:
        raise SourceError(
            f"unknown source {name!r}; known sources: {', '.join(sorted(SOURCES))}"
        ) from None


def detect_source(path: Path, table: str) -> Source:
    """Pick the vendor source whose sniffer claims the file, else the canonical one."""
    _load_vendors()
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return SOURCES["canonical"]
    for source in SOURCES.values():
        if source.name != "canonical" and table in source.tables and source.sniff(path, head):
            return source
    return SOURCES["canonical"]


def _load_vendors() -> None:
    # Vendor modules register themselves on import; importing here keeps the
    # registry complete without a circular import at package load.
    from cxray.ingest import vendors  # noqa: F401


register_source(CanonicalSource())
