"""Saved views: checked, kept in ``_cx_views`` as JSON, listed per caller, role defaults.

Who may do what (``docs/security.md``): any key saves *private* views (its own, seen by
no one else); a *shared* view needs the analyst role; a view is changed by its owner
only; it is deleted by its owner, or by an admin when it is shared; role defaults are
set by an admin and must name a shared view. The store's local owner (the CLI on the
machine that holds the store) acts as an admin that sees every view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cxray.access import ROLES, check_role, role_allows
from cxray.exceptions import ConflictError, NotFoundError, PermissionDeniedError, QueryError
from cxray.store import Store

__all__ = [
    "LOCAL_CALLER",
    "MULTI_KEYS",
    "PAGES",
    "PERIODS",
    "PRESETS",
    "VISIBILITIES",
    "Caller",
    "SavedView",
    "SavedViews",
    "check_query",
    "slug_for",
]

VIEWS_TABLE = "_cx_views"
DEFAULTS_TABLE = "_cx_view_defaults"

#: the dashboard's pages a view may open, and their paths (``{table}``: the query's table)
PAGES: dict[str, str] = {
    "overview": "/",
    "trends": "/trends",
    "segments": "/segments",
    "rows": "/rows/{table}",
    "text": "/text",
    "drivers": "/drivers",
    "journeys": "/journeys",
    "churn_value": "/churn",
    "inbox": "/inbox",
    "alerts": "/alerts",
}
#: periods and date presets a query may name (the dashboard's own: ``cxray.web``)
PERIODS = ("day", "week", "month", "quarter")
PRESETS = ("7d", "30d", "90d", "quarter")
VISIBILITIES = ("private", "shared")
#: query keys that may repeat (``filter=region:West&filter=plan:Pro``); others hold one value
MULTI_KEYS = frozenset({"filter", "has", "sort"})
#: slugs a view may not take: they are routes of their own (``/api/views/defaults``)
RESERVED = frozenset({"defaults", "new"})

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # and lone surrogates (not UTF-8)
MAX_NAME = 80
MAX_SLUG = 60
MAX_KEYS = 30
MAX_VALUE = 300


@dataclass(frozen=True)
class Caller:
    """Who asks: the key's id, its name and role (``key_id`` 0: the store's local owner)."""

    key_id: int
    name: str
    role: str

    @property
    def local(self) -> bool:
        return self.key_id == 0


#: the store's owner on this machine (the CLI): an admin that sees every view
LOCAL_CALLER = Caller(0, "local", "admin")


@dataclass(frozen=True)
class SavedView:
    """One saved view. ``query`` maps a query key to its value (a list for
    :data:`MULTI_KEYS`); :meth:`params` gives the URL's pairs."""

    slug: str
    name: str
    page: str
    query: dict[str, Any]
    owner_key_id: int
    owner_name: str
    visibility: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def link(self) -> str:
        """The share link: the dashboard opens the page with these filters."""
        return f"/v/{self.slug}"

    def params(self) -> list[tuple[str, str]]:
        """The query string's pairs (the page's path carries ``table`` for rows)."""
        out: list[tuple[str, str]] = []
        for key, value in self.query.items():
            if self.page == "rows" and key == "table":
                continue
            for v in value if isinstance(value, list) else [value]:
                out.append((key, v))
        return out

    def path(self) -> str:
        """The page's path (NotFoundError for a page the dashboard no longer has)."""
        template = PAGES.get(self.page)
        if template is None:
            raise NotFoundError(
                f"saved view {self.slug!r} opens the page {self.page!r}, which the dashboard "
                f"no longer has (pages: {', '.join(PAGES)})"
            )
        return template.format(table=self.query.get("table", ""))

    def filters(self) -> list[tuple[str, str]]:
        """The ``(attribute, value)`` pairs of its ``filter`` entries."""
        out = []
        for raw in self.query.get("filter", []):
            attr, _, value = raw.partition(":")
            out.append((attr.strip(), value))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "page": self.page,
            "query": self.query,
            "owner": {"key_id": self.owner_key_id, "name": self.owner_name},
            "visibility": self.visibility,
            "link": self.link,
            "created_at": self.created_at.isoformat() + "Z",
            "updated_at": self.updated_at.isoformat() + "Z",
        }


def slug_for(name: str) -> str:
    """The link's slug of a view name: lower-case letters and digits joined by ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_SLUG].strip("-")
    if not slug:
        raise QueryError(f"view name {name!r} needs at least one letter or digit (a-z, 0-9)")
    if slug in RESERVED:
        raise QueryError(f"view name {name!r}: {slug!r} is reserved; choose another name")
    return slug


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise QueryError("view name: must be text")
    name = name.strip()
    if not name:
        raise QueryError("view name: empty; give the view a name, e.g. 'Weekly exec'")
    if len(name) > MAX_NAME:
        raise QueryError(f"view name: {len(name)} characters; at most {MAX_NAME}")
    if _CONTROL.search(name):
        raise QueryError(f"view name {name!r}: control characters are not allowed")
    return name


def _check_page(page: Any) -> str:
    if page not in PAGES:
        raise QueryError(f"page {page!r}: unknown; one of {', '.join(PAGES)}")
    return page


def _check_visibility(visibility: Any) -> str:
    if visibility not in VISIBILITIES:
        raise QueryError(f"visibility {visibility!r}: use private or shared")
    return visibility


def check_query(page: str, query: Mapping[str, Any] | None) -> dict[str, Any]:
    """The page's query, checked and normalised: keys are names, values text (a list
    for :data:`MULTI_KEYS`); ``period``, ``from``/``to``, ``preset`` and ``filter`` as the
    dashboard reads them. A preset wins over dates (it is re-read on every open: "the
    last 30 days" move with the data). Raises QueryError naming the entry."""
    if query is None:
        query = {}
    if not isinstance(query, Mapping):
        raise QueryError("query: must be an object of query keys and values")
    if len(query) > MAX_KEYS:
        raise QueryError(f"query: {len(query)} keys; at most {MAX_KEYS}")
    out: dict[str, Any] = {}
    for key, raw in query.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise QueryError(f"query key {key!r}: use lower-case letters, digits and '_'")
        values = raw if isinstance(raw, list | tuple) else [raw]
        if key not in MULTI_KEYS and len(values) != 1:
            raise QueryError(f"query.{key}: one value expected, got {len(values)}")
        checked = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise QueryError(f"query.{key} = {v!r}: must be text")
            v = str(v)
            if len(v) > MAX_VALUE:
                raise QueryError(f"query.{key}: {len(v)} characters; at most {MAX_VALUE}")
            if _CONTROL.search(v):
                raise QueryError(f"query.{key} = {v!r}: control characters are not allowed")
            checked.append(v)
        checked = [v for v in checked if v != "" or key == "filter"]
        if not checked:
            continue
        out[key] = checked if key in MULTI_KEYS else checked[0]
    if (period := out.get("period")) is not None and period not in PERIODS:
        raise QueryError(f"query.period = {period!r}: one of {', '.join(PERIODS)}")
    if (preset := out.get("preset")) is not None and preset not in PRESETS:
        raise QueryError(f"query.preset = {preset!r}: one of {', '.join(PRESETS)}")
    dates = {}
    for key in ("from", "to"):
        if key in out:
            try:
                dates[key] = dt.date.fromisoformat(out[key])
            except ValueError:
                raise QueryError(f"query.{key} = {out[key]!r}: not a date (YYYY-MM-DD)") from None
    if len(dates) == 2 and dates["from"] > dates["to"]:
        raise QueryError(f"query: from {out['from']} is after to {out['to']}")
    if preset is not None:
        out.pop("from", None)
        out.pop("to", None)
    for raw in out.get("filter", []):
        attr, sep, _ = raw.partition(":")
        if not sep or not attr.strip():
            raise QueryError(f"query.filter = {raw!r}: write ATTRIBUTE:VALUE, e.g. region:West")
    if page == "rows":
        table = out.get("table")
        if table is None or not _TABLE.match(table):
            raise QueryError("query.table: the rows page needs a table, e.g. responses")
    return out


class SavedViews:
    """The store's saved views (``ws.views``); writes hold the workspace's write lock."""

    def __init__(
        self,
        store: Store,
        defaults: Mapping[str, str] | None = None,
        *,
        lock: threading.RLock | None = None,
    ):
        self.store = store
        self.config_defaults = dict(defaults or {})
        self.lock = lock or threading.RLock()

    # ------------------------------------------------------------ reading

    def list(self, caller: Caller = LOCAL_CALLER) -> list[SavedView]:
        """The views ``caller`` may see: their own and the shared ones (the local owner:
        every view), by name."""
        views = [v for v in self._all() if self._visible(v, caller)]
        return sorted(views, key=lambda v: (v.name.lower(), v.slug))

    def get(self, slug: str, caller: Caller = LOCAL_CALLER) -> SavedView:
        """One view; NotFoundError when there is none of that slug or it is someone
        else's private view (the answer does not tell which)."""
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise NotFoundError(f"no saved view {slug!r}")
        for v in self._all(slug):
            if self._visible(v, caller):
                return v
        raise NotFoundError(f"no saved view {slug!r} (cxray views list shows those you may see)")

    def defaults(self) -> dict[str, dict[str, Any]]:
        """Each role's default view: its slug, where it is set (``store``: by an admin over
        the API; ``config``: ``[views] default.ROLE``) and whether that shared view exists."""
        stored = self._stored_defaults()
        shared = {v.slug for v in self._all() if v.visibility == "shared"}
        out: dict[str, dict[str, Any]] = {}
        for role in ROLES:
            if role in stored:
                slug, source = stored[role], "store"
            elif role in self.config_defaults:
                slug, source = self.config_defaults[role], "config"
            else:
                continue
            out[role] = {"slug": slug, "source": source, "exists": slug in shared}
        return out

    def default_for(self, role: str) -> SavedView | None:
        """The shared view a role opens the overview with, or None (none set, or the view
        it names is gone or private)."""
        found = self.defaults().get(role)
        if not found or not found["exists"]:
            return None
        return next((v for v in self._all(found["slug"]) if v.visibility == "shared"), None)

    # ------------------------------------------------------------ writing

    def save(
        self,
        name: str,
        page: str,
        query: Mapping[str, Any] | None = None,
        *,
        visibility: str = "private",
        caller: Caller = LOCAL_CALLER,
    ) -> SavedView:
        """Keep a new view; ConflictError when its slug is taken."""
        name = _check_name(name)
        page = _check_page(page)
        visibility = _check_visibility(visibility)
        checked = check_query(page, query)
        self._may_share(visibility, caller)
        slug = slug_for(name)
        now = _now()
        view = SavedView(
            slug, name, page, checked, caller.key_id, caller.name, visibility, now, now
        )
        with self.lock:
            if self._all(slug):
                raise ConflictError(
                    f"a saved view {slug!r} exists already; choose another name (the name "
                    "gives the link: /v/" + slug + ")"
                )
            self._write([self._insert(view)])
        return view

    def update(
        self,
        slug: str,
        *,
        name: str | None = None,
        page: str | None = None,
        query: Mapping[str, Any] | None = None,
        visibility: str | None = None,
        caller: Caller = LOCAL_CALLER,
    ) -> SavedView:
        """Change a view (its owner only; the slug, and so its link, stays)."""
        with self.lock:
            old = self.get(slug, caller)
            if not caller.local and old.owner_key_id != caller.key_id:
                raise PermissionDeniedError(
                    f"saved view {slug!r} belongs to {old.owner_name or 'another key'}; only "
                    "its owner may change it (save a copy under another name)"
                )
            new_page = _check_page(page) if page is not None else old.page
            new_vis = _check_visibility(visibility) if visibility is not None else old.visibility
            self._may_share(new_vis, caller)
            new_query = check_query(new_page, query if query is not None else old.query)
            view = SavedView(
                old.slug, _check_name(name) if name is not None else old.name, new_page,
                new_query, old.owner_key_id, old.owner_name, new_vis, old.created_at, _now(),
            )  # fmt: skip
            statements = [f"DELETE FROM {VIEWS_TABLE} WHERE slug = {_lit(slug)}"]
            if new_vis == "private":  # a private view is no role's default
                statements.append(f"DELETE FROM {DEFAULTS_TABLE} WHERE slug = {_lit(slug)}")
            self._write([*statements, self._insert(view)])
        return view

    def delete(self, slug: str, caller: Caller = LOCAL_CALLER) -> SavedView:
        """Delete a view (its owner; an admin for a shared one) and the role defaults set
        to it over the API."""
        with self.lock:
            view = self.get(slug, caller)
            mine = caller.local or view.owner_key_id == caller.key_id
            if not mine and not (view.visibility == "shared" and caller.role == "admin"):
                raise PermissionDeniedError(
                    f"saved view {slug!r} belongs to {view.owner_name or 'another key'}; only "
                    "its owner (or an admin, for a shared view) may delete it"
                )
            self._write(
                [
                    f"DELETE FROM {VIEWS_TABLE} WHERE slug = {_lit(slug)}",
                    f"DELETE FROM {DEFAULTS_TABLE} WHERE slug = {_lit(slug)}",
                ]
            )
        return view

    def set_defaults(
        self, defaults: Mapping[str, str | None], caller: Caller = LOCAL_CALLER
    ) -> dict[str, dict[str, Any]]:
        """Set (a slug) or clear (None: back to ``[views]`` in the config) role defaults,
        all or nothing; admins only; each must name a shared view."""
        if caller.role != "admin":
            raise PermissionDeniedError(
                f"a {caller.role} key may not set the role defaults; it needs the admin role"
            )
        statements = []
        with self.lock:
            shared = {v.slug for v in self._all() if v.visibility == "shared"}
            for role, slug in defaults.items():
                check_role(role)
                statements.append(f"DELETE FROM {DEFAULTS_TABLE} WHERE role = {_lit(role)}")
                if slug is None:
                    continue
                if slug not in shared:
                    raise QueryError(
                        f"default for {role}: {slug!r} is not a shared view (a default must be "
                        "a view every key may open; save or update it as shared first)"
                    )
                statements.append(
                    f"INSERT INTO {DEFAULTS_TABLE} (role, slug, set_by, set_at) VALUES "
                    f"({_lit(role)}, {_lit(slug)}, {_lit(caller.name)}, {_ts(_now())})"
                )
            if statements:
                self._write(statements)
            return self.defaults()

    # ------------------------------------------------------------ the tables

    def _may_share(self, visibility: str, caller: Caller) -> None:
        if visibility == "shared" and not role_allows(caller.role, "analyst"):
            raise PermissionDeniedError(
                f"a {caller.role} key may save private views only; sharing a view needs the "
                "analyst role or higher"
            )

    @staticmethod
    def _visible(view: SavedView, caller: Caller) -> bool:
        return caller.local or view.visibility == "shared" or view.owner_key_id == caller.key_id

    def _exists(self, table: str) -> bool:
        return table in self.store.backend.list_tables()

    def _all(self, slug: str | None = None) -> list[SavedView]:
        with self.lock:
            if not self._exists(VIEWS_TABLE):
                return []
            t = self.store.backend.table(VIEWS_TABLE)
            if slug is not None:
                t = t.filter(t.slug == slug)
            rows = t.to_pyarrow().to_pylist()
        return [_from_row(r) for r in rows]

    def _stored_defaults(self) -> dict[str, str]:
        with self.lock:
            if not self._exists(DEFAULTS_TABLE):
                return {}
            rows = self.store.backend.table(DEFAULTS_TABLE).to_pyarrow().to_pylist()
        return {r["role"]: r["slug"] for r in rows}

    @staticmethod
    def _insert(v: SavedView) -> str:
        query = json.dumps(v.query, separators=(",", ":"), ensure_ascii=False)
        values = ", ".join(
            [
                _lit(v.slug), _lit(v.name), _lit(v.page), _lit(query), str(int(v.owner_key_id)),
                _lit(v.owner_name), _lit(v.visibility), _ts(v.created_at), _ts(v.updated_at),
            ]
        )  # fmt: skip
        return (
            f"INSERT INTO {VIEWS_TABLE} (slug, name, page, query, owner_key_id, owner_name, "
            f"visibility, created_at, updated_at) VALUES ({values})"
        )

    def _write(self, statements: list[str]) -> None:
        """Create the tables if need be, then run ``statements`` in one transaction."""
        if self.store.read_only:
            raise PermissionDeniedError(
                f"{self.store.url} is open read-only; saving views writes to it"
            )
        create = [
            f"CREATE TABLE IF NOT EXISTS {VIEWS_TABLE} (slug VARCHAR PRIMARY KEY, "
            "name VARCHAR NOT NULL, page VARCHAR NOT NULL, query VARCHAR NOT NULL, "
            "owner_key_id BIGINT NOT NULL, owner_name VARCHAR NOT NULL, "
            "visibility VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, "
            "updated_at TIMESTAMP NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {DEFAULTS_TABLE} (role VARCHAR PRIMARY KEY, "
            "slug VARCHAR NOT NULL, set_by VARCHAR NOT NULL, set_at TIMESTAMP NOT NULL)",
        ]
        with self.lock, self._transaction() as run:
            for sql in create + statements:
                run(sql)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self.store.is_duckdb:
            con = self.store.backend.con
            con.execute("BEGIN TRANSACTION")
            try:
                yield con.execute
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            return
        backend = self.store.backend
        con = getattr(backend, "con", None)
        tx = con.transaction() if hasattr(con, "transaction") else contextlib.nullcontext()
        with tx:
            yield backend.raw_sql


def _from_row(r: dict[str, Any]) -> SavedView:
    return SavedView(
        r["slug"], r["name"], r["page"], json.loads(r["query"]), int(r["owner_key_id"]),
        r["owner_name"], r["visibility"], r["created_at"], r["updated_at"],
    )  # fmt: skip


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _lit(value: str) -> str:
    """A SQL string literal (the values were checked: no control characters)."""
    return "'" + str(value).replace("'", "''") + "'"


def _ts(value: dt.datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
