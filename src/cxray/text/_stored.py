"""Taxonomy themes kept in the store, so reports and drill-downs do not re-match every text.

Matching a million texts against the taxonomy takes a minute of Python; a
theme report, a page or an API call should not pay that each time. The
``text_themes`` table holds each document's themes (one row per row of
``responses``, ``cases`` and ``mentions`` that has text):

* ``doc_hash``: MD5 of the document's fields as stored (for cases: subject and
  description joined by a unit separator), so a changed text is re-matched;
* ``scheme``: ``taxonomy-`` + a digest of the taxonomy it was matched with, so
  editing ``[themes.*]`` re-matches everything;
* ``themes``: the theme ids in taxonomy order between bars (``|delivery|support|``;
  ``||``: no theme), so a drill-down filters on ``|id|`` in SQL.

:func:`assign_store_themes` refreshes it like sentiment enrichment: only rows
without a current assignment, optionally only those one import wrote; ``cxray
text enrich``, the API's enrichment and every import (with ``[text]
enrich_on_import``) run it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from cxray.config import ProgramConfig
from cxray.exceptions import ModelError
from cxray.store import Store
from cxray.text._enrich import TEXT_FIELDS, _batches, _has_text, _in_transaction, _lit, text_md5
from cxray.text._taxonomy import Taxonomy

__all__ = [
    "THEMES_TABLE",
    "assign_store_themes",
    "doc_hash",
    "documents_text",
    "stored_themes",
    "taxonomy_scheme",
    "themes_matrix",
]

ProgressFn = Callable[[str, int, int], None]
THEMES_TABLE = "text_themes"
THEMES_SCHEMA = ibis.schema(
    {
        "table_name": "string",
        "row_key": "string",
        "doc_hash": "string",
        "scheme": "string",
        "themes": "string",
    }
)
_SEP = "\x1f"


def taxonomy_scheme(config: ProgramConfig) -> str:
    """The id of the taxonomy in ``config``: changes whenever any theme or keyword does."""
    body = json.dumps(
        {k: v.model_dump(mode="json") for k, v in config.themes.items()}, sort_keys=True
    )
    return "taxonomy-" + hashlib.sha1(body.encode("utf-8")).hexdigest()[:12]


def doc_hash(t: ibis.Table, table: str) -> ibis.Value:
    """MD5 of a document's fields as stored, in the store (portable SQL)."""
    _, fields = TEXT_FIELDS[table]
    if len(fields) == 1:
        return text_md5(t[fields[0]])
    parts: ibis.Value = t[fields[0]].fill_null("")
    for name in fields[1:]:
        parts = parts.concat(_SEP, t[name].fill_null(""))
    return text_md5(parts)


def _any_text(t: ibis.Table, table: str) -> ibis.Value:
    _, fields = TEXT_FIELDS[table]
    cond = _has_text(t[fields[0]])
    for name in fields[1:]:
        cond = cond | _has_text(t[name])
    return cond


def documents_text(columns: Sequence[Sequence[str | None]]) -> list[str]:
    """A document per row from its fields: each stripped, joined by ``". "``."""
    out = []
    for parts in zip(*columns, strict=True):
        pieces = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
        out.append(". ".join(pieces).strip(". "))
    return out


def _ensure(store: Store) -> None:
    b = store.backend
    if THEMES_TABLE not in b.list_tables():
        b.create_table(THEMES_TABLE, schema=THEMES_SCHEMA)


def assign_store_themes(
    store: Store,
    config: ProgramConfig,
    *,
    tables: Sequence[str] | None = None,
    import_ids: Sequence[int] | None = None,
    batch_size: int = 50_000,
    progress: ProgressFn | None = None,
) -> dict[str, dict[str, int]]:
    """Match the documents that have no current assignment; per table: matched, removed."""
    if store.read_only:
        raise ModelError(f"{store.url} is open read-only; theme assignment writes to it")
    unknown = [t for t in tables or () if t not in TEXT_FIELDS]
    if unknown:
        raise ModelError(f"no texts in {', '.join(map(repr, unknown))}")
    _ensure(store)
    tx = Taxonomy.from_config(config)
    scheme = taxonomy_scheme(config)
    scope = None if import_ids is None else sorted({int(i) for i in import_ids})
    b = store.backend
    stage = f"_cx_{THEMES_TABLE}_stage"
    out: dict[str, dict[str, int]] = {}
    for table, (key, fields) in TEXT_FIELDS.items():
        if tables is not None and table not in tables:
            continue
        t = store.table(table)
        if scope is not None:
            t = t.filter(t._import_id.isin(scope))
        cur = t.filter(_any_text(t, table)).select(
            *[t[f] for f in fields], row_key=t[key].cast("string"), h=doc_hash(t, table)
        )
        s = b.table(THEMES_TABLE)
        s = s.filter(s.table_name == table).select(
            s_key=s.row_key, s_hash=s.doc_hash, s_sch=s.scheme
        )
        j = cur.left_join(s, cur.row_key == s.s_key)
        todo = j.filter(j.s_key.isnull() | (j.s_hash != j.h) | (j.s_sch != scheme))
        todo = todo.select("row_key", "h", *fields)
        n = todo.count().to_pyarrow().as_py()
        matched = 0
        b.create_table(stage, schema=THEMES_SCHEMA, overwrite=True)
        try:
            # read before writing: a write on the same connection ends a streamed result
            for batch in list(_batches(todo, batch_size)) if n else []:
                docs = documents_text([batch.column(f).to_pylist() for f in fields])
                assigned = _assign_distinct(tx, docs)
                size = len(docs)
                b.insert(
                    stage,
                    pa.table(
                        {
                            "table_name": pa.array([table] * size, pa.string()),
                            "row_key": batch.column("row_key"),
                            "doc_hash": batch.column("h"),
                            "scheme": pa.array([scheme] * size, pa.string()),
                            "themes": pa.array(assigned, pa.string()),
                        }
                    ),
                )
                matched += size
                if progress:
                    progress(f"matching themes of {table}", matched, n)
            removed = _merge(store, stage, table, key, fields, scope)
        finally:
            b.drop_table(stage, force=True)
        out[table] = {"matched": matched, "removed": removed}
    return out


def _assign_distinct(tx: Taxonomy, docs: list[str]) -> list[str]:
    """``|id|id|`` per document; each distinct text matched once."""
    distinct = list(dict.fromkeys(docs))
    got = {
        d: ("|" + "|".join(ids) + "|" if ids else "||")
        for d, ids in zip(distinct, tx.assign(distinct), strict=True)
    }
    return [got[d] for d in docs]


def _merge(
    store: Store,
    stage: str,
    table: str,
    key: str,
    fields: tuple[str, ...],
    scope: list[int] | None,
) -> int:
    b = store.backend
    tn = _lit(table)
    statements = [
        f"DELETE FROM {THEMES_TABLE} WHERE table_name = {tn} AND "
        f"row_key IN (SELECT row_key FROM {stage})",
        f"INSERT INTO {THEMES_TABLE} SELECT * FROM {stage}",
    ]
    t = store.table(table)
    if scope is not None:
        t = t.filter(t._import_id.isin(scope))
    live = t.filter(_any_text(t, table)).select(k=t[key].cast("string"))
    s = b.table(THEMES_TABLE)
    mine = s.filter(s.table_name == table)
    if scope is None:
        removed = mine.filter(~mine.row_key.isin(live.k)).count().to_pyarrow().as_py()
        where = "NOT IN"
        rows = f"SELECT CAST({key} AS VARCHAR) FROM {table} WHERE {_sql_any_text(fields)}"
    else:
        gone = t.filter(~_any_text(t, table)).select(k=t[key].cast("string"))
        removed = mine.filter(mine.row_key.isin(gone.k)).count().to_pyarrow().as_py()
        where = "IN"
        ids = ", ".join(str(i) for i in scope)
        rows = (
            f"SELECT CAST({key} AS VARCHAR) FROM {table} WHERE _import_id IN ({ids}) "
            f"AND NOT ({_sql_any_text(fields)})"
        )
    if removed:
        statements.append(
            f"DELETE FROM {THEMES_TABLE} WHERE table_name = {tn} AND row_key {where} ({rows})"
        )
    _in_transaction(b, statements)
    return int(removed)


def _sql_any_text(fields: tuple[str, ...]) -> str:
    return " OR ".join(f"({f} IS NOT NULL AND length(trim({f})) > 0)" for f in fields)


def stored_themes(store: Any, config: ProgramConfig, table: str, *, arrow: bool = False) -> Any:
    """``(k, themes)`` of the current assignments of ``table`` (a pandas frame, or an Arrow
    table with ``arrow``), or None."""
    b = store.backend
    if THEMES_TABLE not in b.list_tables():
        return None
    key, _ = TEXT_FIELDS[table]
    t = store.table(table)
    cur = t.select(k=t[key].cast("string"), h=doc_hash(t, table))
    s = b.table(THEMES_TABLE)
    s = s.filter((s.table_name == table) & (s.scheme == taxonomy_scheme(config)))
    j = cur.join(s, (cur.k == s.row_key) & (cur.h == s.doc_hash))
    out = j.select(k=j.k, themes=j.themes)
    return out.to_pyarrow() if arrow else out.to_pandas()


def themes_matrix(assigned: Sequence[str], ids: Sequence[str]) -> np.ndarray:
    """A boolean matrix (document x theme) from ``|id|id|`` strings."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(assigned, dtype=object), sort=False)
    table = np.array([[f"|{i}|" in u for i in ids] for u in uniques], dtype=bool)
    if not len(uniques):
        return np.zeros((len(assigned), len(ids)), dtype=bool)
    return table[codes]
