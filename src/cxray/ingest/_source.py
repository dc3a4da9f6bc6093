"""What a source is: something that stages one input file as raw rows.

A *source* knows one file format or vendor export (canonical CSV, a Qualtrics
responses CSV, a Zendesk incremental export, ...). It does one thing: read a
file into a DuckDB temporary table whose columns carry the canonical names
where it knows them (``response_id``, ``nps``, ...) and the source's own names
for everything else, plus an integer ``_row`` column: the position of the row
as a user would find it in the file (spreadsheet row for CSV, line for JSON
Lines, item number for JSON arrays). A source may instead stage a view in file
order without ``_row`` and set :attr:`StageContext.row_base` (the canonical
CSV reader does, to avoid copying the file's text once more).

Everything after staging — user column mapping, name normalization, type
conversion, validation, key derivation and de-duplication — is common to all
sources and lives in :mod:`cxray.ingest._pipeline`, so every source gets the
same rules and the same error messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import duckdb

from cxray.schema import TableSpec

__all__ = ["ROW_COLUMN", "Source", "StageContext"]

#: the name of the row-position column every staged table carries
ROW_COLUMN = "_row"


@dataclass
class StageContext:
    """What a source may use while staging one file."""

    con: duckdb.DuckDBPyConnection
    #: the canonical table the file is imported into
    table: TableSpec
    #: user's column mapping, canonical name -> source column name
    mapping: dict[str, str] = field(default_factory=dict)
    #: the file kind a named source declares (``csv``, ``tsv``, ``parquet``, ``jsonl``), for
    #: a plain file whose name does not say it; None: from the name
    format: str | None = None
    #: set by a source that staged a *view* without ``_row`` (the fast CSV path): the
    #: row number of the view's first row. The pipeline then numbers rows itself.
    row_base: int | None = None
    #: records of the file the source left out on purpose (e.g. calls of another type,
    #: superseded versions of a ticket), and why: reported to the user and logged
    skipped: int = 0
    skipped_reason: str = ""
    #: rating questions a survey export carries (staged column -> detected scale, e.g.
    #: ``"1-5"``): kept as question columns; they let a file without nps/csat/ces/comment in
    questions: dict[str, str] = field(default_factory=dict)


class Source(ABC):
    """A readable kind of input file. Subclasses are stateless singletons."""

    #: short name used on the command line (``--source qualtrics``)
    name: ClassVar[str]
    #: one line shown in ``cxray import --help`` and the docs
    description: ClassVar[str]
    #: canonical tables this source can feed
    tables: ClassVar[frozenset[str]]
    #: file name endings this source reads (lower case, with the dot)
    suffixes: ClassVar[tuple[str, ...]]

    @abstractmethod
    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        """Create temporary table ``target`` in ``ctx.con`` holding the file's rows.

        Must raise :class:`cxray.exceptions.SourceError` naming the file (and
        the line, where known) when the file is not of this source's format.
        """

    def sniff(self, path: Path, head: bytes) -> bool:
        """Return True if ``head`` (the file's first 64 KiB) looks like this source.

        Used to pick a vendor source automatically; the canonical source never
        claims a file this way.
        """
        return False
