"""User column mappings: ``TARGET=EXPRESSION`` pairs (``--map nps=Q1``).

The grammar lives with the named sources of ``cxray.toml`` (:mod:`cxray.config._sources`),
which are checked when the config is read; this module is its face inside ingest.
"""

from __future__ import annotations

from cxray.config._sources import (
    DROP,
    SQL_FUNCTIONS,
    MapExpr,
    check_sql,
    parse_expression,
    parse_mapping,
    referenced_columns,
    source_of,
)

__all__ = [
    "DROP",
    "SQL_FUNCTIONS",
    "MapExpr",
    "check_sql",
    "parse_expression",
    "parse_mapping",
    "referenced_columns",
    "source_of",
]
