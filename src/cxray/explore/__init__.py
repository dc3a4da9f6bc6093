"""Layer 4, explore: the rows behind any figure, one customer's whole story, exports.

Plain functions over an Ibis backend and the contract, with no web framework in
them, so that every interface (the REST API, the dashboard, notebooks through
:class:`cxray.Workspace`) offers the same drill-down, timeline and exports.
"""

from cxray.explore._query import (
    FREE_TEXT,
    TIMELINE_TABLES,
    RowSelection,
    csv_chunks,
    csv_expr,
    customer_timeline,
    decode_cursor,
    encode_cursor,
    export_expr,
    page_rows,
    parquet_chunks,
    parse_time,
    redact_batches,
    redact_rows,
)

__all__ = [
    "FREE_TEXT",
    "TIMELINE_TABLES",
    "RowSelection",
    "csv_chunks",
    "csv_expr",
    "customer_timeline",
    "decode_cursor",
    "encode_cursor",
    "export_expr",
    "page_rows",
    "parquet_chunks",
    "parse_time",
    "redact_batches",
    "redact_rows",
]
