"""Layer 1, the data contract: the six canonical tables and their rules."""

from cxray.schema._contract import (
    CONTRACT,
    CONTRACT_VERSION,
    ColumnSpec,
    LogicalType,
    TableSpec,
    table_spec,
)
from cxray.schema._names import normalize_column_name

__all__ = [
    "CONTRACT",
    "CONTRACT_VERSION",
    "ColumnSpec",
    "LogicalType",
    "TableSpec",
    "normalize_column_name",
    "table_spec",
]
