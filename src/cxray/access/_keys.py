"""API keys: created with a role, stored hashed, listed, revoked and verified.

A key is ``cx_`` followed by 43 URL-safe characters from :mod:`secrets` (256
random bits). Only its SHA-256 is stored: a key that random cannot be guessed
or recovered from its hash by brute force, so a slow password hash (bcrypt,
argon2) would add latency to every request and no security. The first
characters of the key (its *prefix*) are kept in clear so a person can tell
their keys apart in ``cxray keys list``.

Beyond its role a key may hold *permissions*: ``pii`` lets it see personal data
unmasked (customer e-mails and names, free text as written; ``cxray.privacy``).
An admin has every permission; a viewer or analyst key has ``pii`` only when it
was created with it. Keys made before permissions existed have none beyond
their role.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import ibis

from cxray.exceptions import AuthenticationError, NotFoundError, QueryError
from cxray.store import API_KEYS, Store

__all__ = [
    "KEY_PREFIX",
    "PERMISSIONS",
    "ROLES",
    "ApiKey",
    "ApiKeys",
    "Role",
    "check_permissions",
    "check_role",
    "hash_key",
    "role_allows",
    "role_permissions",
]

Role = Literal["admin", "analyst", "viewer"]
#: roles from least to most privileged; each may do what the ones before it may
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")
KEY_PREFIX = "cx_"
#: permissions a key may hold beyond its role; ``pii``: personal data shown unmasked
PERMISSIONS: tuple[str, ...] = ("pii",)
_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "analyst": frozenset(),
    "admin": frozenset(PERMISSIONS),
}
_SHOWN = len(KEY_PREFIX) + 6  # characters of a key kept in clear


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what needs ``needed`` (viewer < analyst < admin)."""
    return ROLES.index(role) >= ROLES.index(needed)  # type: ignore[arg-type]


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise QueryError(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def role_permissions(role: str) -> frozenset[str]:
    """The permissions a role has without asking (admin: all of them)."""
    return _ROLE_PERMISSIONS.get(role, frozenset())


def check_permissions(permissions: object) -> frozenset[str]:
    """Known permission names, or a QueryError naming the unknown one."""
    found = frozenset(str(p).strip().lower() for p in (permissions or ()) if str(p).strip())
    if unknown := sorted(found - set(PERMISSIONS)):
        raise QueryError(
            f"unknown permission {unknown[0]!r}; the permissions are: {', '.join(PERMISSIONS)}"
        )
    return found


def _parse_permissions(stored: str | None) -> frozenset[str]:
    return frozenset(p for p in (stored or "").split(",") if p in PERMISSIONS)


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key, never the key itself."""

    key_id: int
    name: str
    role: Role
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    #: what it was granted beyond its role (see :attr:`permissions`)
    granted: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def permissions(self) -> frozenset[str]:
        """Everything the key may do beyond reading by role: its role's and its own."""
        return role_permissions(self.role) | self.granted

    @property
    def pii(self) -> bool:
        """Whether the key sees personal data unmasked."""
        return "pii" in self.permissions

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.key_id,
            "name": self.name,
            "role": self.role,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat() + "Z",
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat() + "Z",
            "active": self.active,
            "permissions": sorted(self.permissions),
        }


_COLUMNS = "key_id, name, role, prefix, created_at, revoked_at, permissions"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ApiKeys:
    """The API keys of one store.

    On DuckDB every call runs on its own cursor of the store's connection, so a
    server can verify keys from many threads while an import is being written.

    >>> keys = ApiKeys(store)                          # doctest: +SKIP
    >>> info, key = keys.create("analyst", name="ci")  # doctest: +SKIP
    >>> keys.verify(key).role                          # doctest: +SKIP
    'analyst'
    """

    def __init__(self, store: Store):
        self.store = store

    # ------------------------------------------------------------ queries

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        con = self.store.duckdb_connection
        if con is None:
            yield None
            return
        cur = con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _select(self, where: str = "", params: list[Any] | None = None) -> list[ApiKey]:
        with self._cursor() as cur:
            if cur is not None:
                sql = f"SELECT {_COLUMNS} FROM {API_KEYS} {where} ORDER BY key_id"
                rows = cur.execute(sql, params or []).fetchall()
                return [ApiKey(*r[:-1], granted=_parse_permissions(r[-1])) for r in rows]
        # any other Ibis backend: the same query as an expression
        t = self.store.backend.table(API_KEYS)
        if where:
            column, value = where.split()[1], (params or [None])[0]
            t = t.filter(t[column] == value)
        t = t.select(*_COLUMNS.split(", ")).order_by("key_id")
        out = []
        for r in t.to_pyarrow().to_pylist():
            granted = _parse_permissions(r.pop("permissions"))
            out.append(ApiKey(**r, granted=granted))
        return out

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        keys = self._select()
        return keys if include_revoked else [k for k in keys if k.active]

    def get(self, key_id: int) -> ApiKey:
        found = self._select("WHERE key_id = ?", [int(key_id)])
        if not found:
            raise NotFoundError(f"no API key with id {key_id}; `cxray keys list` shows them")
        return found[0]

    def get_active(self, key_id: int) -> ApiKey:
        """The key with this id if it exists and is not revoked; AuthenticationError otherwise."""
        found = self._select("WHERE key_id = ?", [int(key_id)])
        if not found or not found[0].active:
            raise AuthenticationError(f"API key #{key_id} has been revoked; log in again")
        return found[0]

    def verify(self, key: str) -> ApiKey:
        """The key's record if it is known and not revoked; AuthenticationError otherwise.

        The lookup is by hash, so comparing keys never touches the key itself.
        """
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
            raise AuthenticationError("not a cxray API key (they start with 'cx_')")
        found = self._select("WHERE key_hash = ?", [hash_key(key)])
        if not found:
            raise AuthenticationError("unknown API key")
        if not found[0].active:
            raise AuthenticationError(f"API key #{found[0].key_id} has been revoked")
        return found[0]

    # ------------------------------------------------------------ changes

    def create(
        self, role: str, *, name: str | None = None, permissions: object = ()
    ) -> tuple[ApiKey, str]:
        """A new key with ``role``: its record and the key, which is never shown again.

        ``permissions`` grants more than the role has (``("pii",)``: personal data unmasked).
        """
        role = check_role(role)
        granted = ",".join(sorted(check_permissions(permissions))) or None
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        created = _now()
        row = {
            "name": (name or "").strip() or f"{role} key",
            "role": role,
            "prefix": key[:_SHOWN],
            "key_hash": hash_key(key),
            "created_at": created,
            "revoked_at": None,
            "permissions": granted,
        }
        with self._cursor() as cur:
            if cur is not None:
                # one statement: the id is taken and the row written atomically
                (key_id,) = cur.execute(
                    f"INSERT INTO {API_KEYS} (key_id, name, role, prefix, key_hash, created_at, "
                    f"revoked_at, permissions) SELECT coalesce(max(key_id), 0) + 1, ?, ?, ?, ?, ?, "
                    f"CAST(NULL AS TIMESTAMP), ? FROM {API_KEYS} RETURNING key_id",
                    [row["name"], role, row["prefix"], row["key_hash"], created, granted],
                ).fetchone()
            else:
                t = self.store.backend.table(API_KEYS)
                key_id = (t.key_id.max().to_pyarrow().as_py() or 0) + 1
                self.store.backend.insert(
                    API_KEYS,
                    ibis.memtable([{"key_id": key_id, **row}], schema=t.schema()),
                )
        return self.get(key_id), key

    def revoke(self, key_id: int) -> ApiKey:
        """Revoke a key (and every session made from it); revoking twice is harmless."""
        current = self.get(key_id)
        if not current.active:
            return current
        with self._cursor() as cur:
            if cur is not None:
                cur.execute(
                    f"UPDATE {API_KEYS} SET revoked_at = ? WHERE key_id = ?", [_now(), int(key_id)]
                )
            else:
                stamp = _now().isoformat(sep=" ")
                self.store.backend.raw_sql(
                    f"UPDATE {API_KEYS} SET revoked_at = TIMESTAMP '{stamp}' "
                    f"WHERE key_id = {int(key_id)}"
                )
        return self.get(key_id)
