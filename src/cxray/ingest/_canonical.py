"""The canonical source: files laid out exactly as the data contract says."""

from __future__ import annotations

from pathlib import Path

from cxray.exceptions import SourceError
from cxray.ingest._readers import stage_csv, stage_json_lines, stage_parquet
from cxray.ingest._source import Source, StageContext
from cxray.schema import CONTRACT

__all__ = ["CanonicalSource"]


class CanonicalSource(Source):
    name = "canonical"
    description = "CSV, Parquet or JSON Lines with the contract's column names"
    tables = frozenset(CONTRACT)
    suffixes = (
        ".csv",
        ".tsv",
        ".csv.gz",
        ".tsv.gz",
        ".parquet",
        ".pq",
        ".jsonl",
        ".ndjson",
        ".jsonl.gz",
        ".ndjson.gz",
    )

    def stage(self, path: Path, target: str, ctx: StageContext) -> None:
        kind = "csv" if ctx.format == "tsv" else ctx.format or file_kind(path)
        if kind == "csv" and _legacy_qualtrics(path):
            from cxray.ingest.vendors.qualtrics import legacy_message

            raise SourceError(legacy_message(path.name))
        if kind == "csv":
            tsv = ctx.format == "tsv" or (ctx.format is None and ".tsv" in path.name.lower())
            delim = "\t" if tsv else None
            ctx.row_base = stage_csv(ctx.con, path, target, delimiter=delim, lazy=True)
        elif kind == "parquet":
            stage_parquet(ctx.con, path, target)
        else:
            stage_json_lines(ctx.con, path, target)


def file_kind(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name, or a clear error."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise SourceError(
        f"{path.name}: unknown file type; use .csv, .tsv, .parquet or .jsonl "
        "(or name a vendor source with --source)"
    )


def _legacy_qualtrics(path: Path) -> bool:
    """A legacy Qualtrics export read as a plain CSV file (its header would not fit)."""
    from cxray.ingest.vendors.qualtrics import sniff_legacy

    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return sniff_legacy(head)
