"""Where surveys are defined: ``cxray.toml`` (kept in version control) or the store (the API).

A survey named in the config cannot be replaced through the API (the file
is the truth for it); one created through the API is stored as JSON in
``_cx_surveys`` and can be replaced there. Saving a survey adds the
attribute columns its questions fill to ``responses``, so answers are
sliceable at once; a question whose column exists with another type is
refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import ibis
from pydantic import ValidationError

from cxray.config import ProgramConfig, SurveyDefinition, check_survey_name
from cxray.exceptions import NotFoundError, QueryError
from cxray.store import SURVEYS, Store
from cxray.surveys._answers import column_types

__all__ = ["SurveyRegistry", "ensure_columns"]

#: columns every collected response fills besides the contract's
COLLECTION_COLUMNS = {"completed": "BOOLEAN", "language": "VARCHAR", "invitation_id": "VARCHAR"}
_COMPATIBLE = {
    "BIGINT": ("int64", "int32", "int16"),
    "VARCHAR": ("string",),
    "BOOLEAN": ("boolean",),
}


def _sql(store: Store, sql: str) -> None:
    if store.is_duckdb:
        store.backend.con.execute(sql)
    else:
        store.backend.raw_sql(sql)


def ensure_columns(store: Store, survey: SurveyDefinition, *, name: str) -> None:
    """Add the ``responses`` columns a survey fills; refuse a clash of types."""
    have = store.columns("responses")
    wanted = {**COLLECTION_COLUMNS, **column_types(survey)}
    for col, sql_type in wanted.items():
        if col in have:
            stored = have[col].lower().removesuffix("!")
            if stored not in _COMPATIBLE[sql_type]:
                raise QueryError(
                    f"survey {name!r}: column {col!r} of responses holds {stored}, but the "
                    f"question needs {'text' if sql_type == 'VARCHAR' else sql_type.lower()}; "
                    "rename the question"
                )
            continue
        pg_type = {"BIGINT": "BIGINT", "VARCHAR": "TEXT", "BOOLEAN": "BOOLEAN"}[sql_type]
        _sql(store, f'ALTER TABLE responses ADD COLUMN "{col}" '
                    f'{sql_type if store.is_duckdb else pg_type}')  # fmt: skip


class SurveyRegistry:
    """The surveys of one workspace: those in its config and those in its store."""

    def __init__(self, store: Store, config: ProgramConfig):
        self.store = store
        self.config = config
        self._stored: dict[str, SurveyDefinition] | None = None
        self._lock = threading.Lock()
        self._ensured: set[str] = set()

    def _load(self) -> dict[str, SurveyDefinition]:
        with self._lock:
            if self._stored is None:
                rows = self.store.backend.table(SURVEYS).to_pyarrow().to_pylist()
                self._stored = {
                    r["name"]: SurveyDefinition.model_validate_json(r["definition"]) for r in rows
                }
            return self._stored

    def refresh(self) -> None:
        """Forget stored definitions read earlier (another process may have changed them)."""
        with self._lock:
            self._stored = None

    def names(self) -> list[str]:
        return sorted(set(self.config.surveys.define) | set(self._load()))

    def _unknown(self, name: str) -> NotFoundError:
        return NotFoundError(
            f"no survey named {name!r} (surveys: {', '.join(self.names()) or 'none'})"
        )

    def source(self, name: str) -> str:
        if name in self.config.surveys.define:
            return "config"
        if name in self._load():
            return "api"
        raise self._unknown(name)

    def get(self, name: str) -> SurveyDefinition:
        if name in self.config.surveys.define:
            return self.config.surveys.define[name]
        stored = self._load()
        if name not in stored:
            self.refresh()
            stored = self._load()
        if name not in stored:
            raise self._unknown(name)
        return stored[name]

    def prepared(self, name: str) -> SurveyDefinition:
        """The definition, with its ``responses`` columns in place (checked once per process)."""
        survey = self.get(name)
        if name not in self._ensured:
            ensure_columns(self.store, survey, name=name)
            self._ensured.add(name)
        return survey

    def save(self, name: str, definition: SurveyDefinition | dict[str, Any]) -> SurveyDefinition:
        """Create or replace a survey defined through the API (not one of the config's)."""
        try:
            check_survey_name(name)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if name in self.config.surveys.define:
            raise QueryError(
                f"survey {name!r} is defined in {self.config.path or 'cxray.toml'}; change it there"
            )
        if not isinstance(definition, SurveyDefinition):
            try:
                definition = SurveyDefinition.model_validate(definition)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(x) for x in first["loc"]) or "definition"
                msg = first["msg"].removeprefix("Value error, ")
                raise QueryError(f"survey {name!r}: {loc}: {msg}") from None
        ensure_columns(self.store, definition, name=name)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        b = self.store.backend
        t = b.table(SURVEYS)
        existing = t.filter(t.name == name).to_pyarrow().to_pylist()
        created = existing[0]["created_at"] if existing else now
        row = {
            "name": [name],
            "definition": [definition.model_dump_json(exclude_defaults=True)],
            "created_at": [created],
            "updated_at": [now],
        }
        if self.store.is_duckdb:
            b.con.execute(
                f"INSERT OR REPLACE INTO {SURVEYS} VALUES (?, ?, ?, ?)",
                [name, row["definition"][0], created, now],
            )
        else:
            b.raw_sql(f"DELETE FROM {SURVEYS} WHERE name = '{name}'")  # name checked above
            b.insert(SURVEYS, ibis.memtable(row))
        self.refresh()
        self._ensured.add(name)
        return definition

    def describe(self, name: str) -> dict[str, Any]:
        """The definition as JSON, with where it comes from."""
        survey = self.get(name)
        return {
            "name": name,
            "source": self.source(name),
            "definition": json.loads(survey.model_dump_json()),
        }
