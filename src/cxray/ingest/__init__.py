"""Layer 2, ingest: read canonical files and vendor exports, validate them against the contract.

>>> from cxray.ingest import read_batch
>>> batch = read_batch("responses", ["responses.csv"])   # doctest: +SKIP

A :class:`Batch` holds validated, typed rows; :mod:`cxray.store` writes it.
"""

from cxray.ingest._mapping import parse_mapping
from cxray.ingest._pipeline import (
    BAD_COLUMN,
    Batch,
    FileInfo,
    ProgressFn,
    read_batch,
    read_frame,
)
from cxray.ingest._readers import (
    quote_ident,
    stage_arrow,
    stage_csv,
    stage_json_lines,
    stage_parquet,
    stage_records,
)
from cxray.ingest._registry import SOURCES, detect_source, get_source, register_source
from cxray.ingest._source import ROW_COLUMN, Source, StageContext

__all__ = [
    "BAD_COLUMN",
    "ROW_COLUMN",
    "SOURCES",
    "Batch",
    "FileInfo",
    "ProgressFn",
    "Source",
    "StageContext",
    "detect_source",
    "get_source",
    "parse_mapping",
    "quote_ident",
    "read_batch",
    "read_frame",
    "register_source",
    "stage_arrow",
    "stage_csv",
    "stage_json_lines",
    "stage_parquet",
    "stage_records",
]
