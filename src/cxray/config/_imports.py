"""``[imports]``: how much one import may hold before it is refused (``docs/importing.md``).

The limits are checked while a file is read, before DuckDB parses it: the
header line is read with a bounded read, the lines are scanned in fixed-size
chunks (a line longer than the limit is refused at the first chunk that shows
it), and the file's size and cells (rows × columns) are counted on the way.
A refused file writes nothing. The defaults let any ordinary export through
(a 2,000-column survey export, a free-text answer of a few pages, a billion
cells) and stop a file built to exhaust the server: a million columns, one
50 MB line.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ImportLimits", "ImportsConfig"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImportLimits(_Model):
    """``[imports.limits]``: the most one imported file may hold; 0 turns a limit off."""

    #: columns of one file (the header's cells; a JSON file's distinct fields; Parquet's)
    max_columns: int = Field(default=2_000, ge=0)
    #: bytes of one line of a CSV or JSON Lines file, in KiB (1024: 1 MiB)
    max_line_kb: int = Field(default=1_024, ge=0)
    #: rows × columns of one file
    max_cells: int = Field(default=1_000_000_000, ge=0)
    #: bytes of one file in MiB (of its text, for a .gz file)
    max_file_mb: int = Field(default=8_192, ge=0)

    @property
    def max_line_bytes(self) -> int:
        return self.max_line_kb * 1024

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


class ImportsConfig(_Model):
    """``[imports]``: settings of every import (CLI, API, library)."""

    limits: ImportLimits = ImportLimits()
