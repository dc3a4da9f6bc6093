"""What ``cxray status`` reads, fast: a DuckDB store is read with the plain ``duckdb`` module.

``cxray status`` is the command people run to see where they are, so it should answer at
once. Opening a :class:`cxray.Workspace` imports Ibis, pandas and the analysis layers
(about two seconds); a status needs none of them. For a DuckDB file this module reads the
same figures with the ``duckdb`` module alone (row counts, first and last times,
attribute columns, the latest imports), in the store's own shapes (``TableStatus``,
``ImportRecord`` and how they are made, from ``cxray.schema._status``, which imports no
Ibis), so the output is identical.
Anything unusual (another store, a store of another schema version, a file another
process holds, a store that is not a cxray store yet) takes the workspace's path, which
also gives the same error messages as every other command.

Unlike the workspace, this path does not read ``cxray.toml``: a status reports the store.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cxray
from cxray.schema import CONTRACT
from cxray.schema._status import TableStatus, attribute_columns, import_record

__all__ = ["read_status"]

_META = "_cx_meta"  # cxray.store.META
_IMPORT_LOG = "_cx_imports"  # cxray.store.IMPORT_LOG
_SYSTEM_COLUMNS = ("_import_id",)  # cxray.store.SYSTEM_COLUMNS


@dataclass(frozen=True)
class _Status:  # the fields of cxray.workspace.WorkspaceStatus
    store: str
    schema_version: int
    tables: list[Any] = field(default_factory=list)
    imports: list[Any] = field(default_factory=list)


def read_status(obj: dict[str, Any], imports: int = 5) -> Any:
    """The store's status (``Workspace.status()``'s fields) for the root options ``obj``."""
    db = obj.get("db")
    fast = _duckdb_status(str(db if db is not None else "cxray.duckdb"), imports)
    if fast is not None:
        return fast
    from cxray.workspace import Workspace

    with Workspace.open(db, obj.get("config"), read_only=True) as ws:
        return ws.status(imports=imports)


@cache
def latest_schema_version() -> int:
    """The newest migration's version, read from ``cxray.store._migrations`` without
    importing it (it imports Ibis): the first argument of each ``Migration(...)`` in
    ``MIGRATIONS``."""
    path = Path(cxray.__file__).parent / "store" / "_migrations.py"
    if not path.is_file():
        return -1
    tree = ast.parse(path.read_text(encoding="utf-8"))
    versions = [-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id == "MIGRATIONS" for t in targets):
                continue
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "Migration"
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                    and isinstance(call.args[0].value, int)
                ):
                    versions.append(call.args[0].value)
    return max(versions)


def _duckdb_status(db: str, imports: int) -> _Status | None:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", db) or db in ("", ":memory:"):
        return None
    if not Path(db).is_file():
        return None
    import duckdb

    try:
        con = duckdb.connect(db, read_only=True)
    except duckdb.Error:  # held by another process, not a DuckDB file, ...
        return None
    try:
        con.execute("SET TimeZone = 'UTC'")
        return _read(con, db, imports)
    except (duckdb.Error, TypeError, ValueError, KeyError):  # a shape this path does not know
        return None
    finally:
        con.close()


def _read(con: Any, db: str, imports: int) -> _Status | None:
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if _META not in names or _IMPORT_LOG not in names:
        return None
    row = con.execute(f"SELECT value FROM {_META} WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version < 1 or version != latest_schema_version():
        return None  # the workspace's path says what to do about it
    specs = list(CONTRACT.values())
    if any(spec.name not in names for spec in specs):
        return None
    # one query for every table's count and time range, one for their columns
    figures = con.execute(
        " UNION ALL ".join(
            f"SELECT {i} AS i, count(*), min({_ident(spec.time_column)}), "
            f"max({_ident(spec.time_column)}) FROM {_ident(spec.name)}"
            for i, spec in enumerate(specs)
        )
    ).fetchall()
    columns: dict[str, list[str]] = {spec.name: [] for spec in specs}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = "
        "current_schema() ORDER BY table_name, column_index"
    ).fetchall():
        if table in columns:
            columns[table].append(column)
    tables = []
    for i, rows, first, last in sorted(figures):
        spec = specs[i]
        attributes = attribute_columns(spec, columns[spec.name], _SYSTEM_COLUMNS)
        tables.append(TableStatus(spec.name, int(rows), first, last, attributes))
    cur = con.execute(f"SELECT * FROM {_IMPORT_LOG} ORDER BY import_id DESC LIMIT {int(imports)}")
    cols = [d[0] for d in cur.description]
    log = [import_record(dict(zip(cols, values, strict=True))) for values in cur.fetchall()]
    return _Status(store=db, schema_version=version, tables=tables, imports=log)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
