"""The Workspace: the one core object every interface is a thin shell over.

It holds the store and the program config, and offers what a CX team does:
import data, look at what is there, build the demo world, (and, as cxray
grows, measure, explain and act). The CLI, the REST API and the dashboard call
these methods and add nothing but presentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis

from cxray.config import ProgramConfig, Settings, load_program_config
from cxray.exceptions import StoreError
from cxray.ingest import Batch, FileInfo, ProgressFn, read_batch, read_frame
from cxray.store import ImportRecord, Store, TableStatus, WriteResult

__all__ = ["ImportReport", "Workspace", "WorkspaceStatus"]


@dataclass(frozen=True)
class ImportReport:
    """The outcome of one import (or dry run)."""

    table: str
    files: list[FileInfo]
    result: WriteResult
    attributes: list[str]

    @property
    def dry_run(self) -> bool:
        return self.result.dry_run

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "table": self.table,
            "files": [f.__dict__ for f in self.files],
            "rows_in": r.rows_in,
            "added": r.added,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "import_id": r.import_id,
            "dry_run": r.dry_run,
            "attributes": self.attributes,
            "new_attributes": r.new_attributes,
        }


@dataclass(frozen=True)
class WorkspaceStatus:
    store: str
    schema_version: int
    tables: list[TableStatus]
    imports: list[ImportRecord] = field(default_factory=list)


class Workspace:
    """A store plus the program config that says how to read it.

    >>> ws = Workspace.open()                                  # doctest: +SKIP
    >>> ws.import_files("responses", ["responses.csv"])        # doctest: +SKIP
    """

    def __init__(self, store: Store, config: ProgramConfig):
        self.store = store
        self.config = config

    @classmethod
    def open(
        cls,
        db: str | Path | None = None,
        config: str | Path | None = None,
        *,
        read_only: bool = False,
        create: bool = True,
    ) -> Workspace:
        """Open the store at ``db`` (default ``CXRAY_DB`` or ``./cxray.duckdb``)."""
        settings = Settings()
        program = load_program_config(config if config is not None else settings.config)
        store = Store(db if db is not None else settings.db, read_only=read_only, create=create)
        return cls(store, program)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ data in

    def import_files(
        self,
        table: str,
        paths: Sequence[str | Path],
        *,
        source: str | None = None,
        mapping: dict[str, str] | None = None,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Validate files and upsert them into ``table``, all or nothing."""
        batch = read_batch(
            table,
            paths,
            config=self.config,
            source=source,
            mapping=mapping,
            progress=progress,
            con=self.store.duckdb_connection,
        )
        return self._write(batch, dry_run=dry_run, progress=progress)

    def import_frame(
        self,
        table: str,
        data: Any,
        *,
        name: str = "<frame>",
        dry_run: bool = False,
        mapping: dict[str, str] | None = None,
    ) -> ImportReport:
        """Validate an in-memory table (pandas or Arrow) and upsert it into ``table``."""
        batch = read_frame(
            table,
            data,
            name=name,
            config=self.config,
            mapping=mapping,
            con=self.store.duckdb_connection,
        )
        return self._write(batch, dry_run=dry_run)

    def _write(
        self, batch: Batch, *, dry_run: bool, progress: ProgressFn | None = None
    ) -> ImportReport:
        steps = 2 * len(batch.files) + 2
        if progress:
            progress("writing" if not dry_run else "comparing", steps - 1, steps)
        with batch:
            (result,) = self.store.write(batch, dry_run=dry_run)
        if progress:
            progress("done", steps, steps)
        return ImportReport(batch.table.name, batch.files, result, list(batch.attributes))

    # ------------------------------------------------------------ looking

    def table(self, name: str) -> ibis.Table:
        """An Ibis expression over a canonical table."""
        return self.store.table(name)

    def status(self, *, imports: int = 5) -> WorkspaceStatus:
        return WorkspaceStatus(
            store=self.store.url,
            schema_version=self.store.schema_version,
            tables=self.store.status(),
            imports=self.store.imports(imports),
        )

    def is_empty(self) -> bool:
        return all(t.rows == 0 for t in self.store.status())

    def require_rows(self, table: str) -> None:
        if self.store.table(table).count().to_pyarrow().as_py() == 0:
            raise StoreError(f"the {table} table is empty; import data or run `cxray demo`")
