"""Signing secrets kept outside the store: a key file beside it, or the environment.

A DuckDB store ``shop.duckdb`` keeps its secrets in ``shop.duckdb.secrets`` (JSON, mode
0600)::

    {"invitations": [{"id": "k1", "key": "<64 hex>", "created": "2026-12-03T15:00:00+00:00"}]}

``CXRAY_SECRETS_FILE`` names another file (the only file a PostgreSQL store has), and
``CXRAY_SECRET_<NAME>`` (e.g. ``CXRAY_SECRET_INVITATIONS``) gives the key itself, which wins
for signing: either one key (64 hex digits, or any text of 16+ bytes) or ``id=key`` entries
separated by commas, the last one signing. Each name holds a ring of keys: the newest signs,
all verify, so rotation does not break what the older keys signed. docs/security.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cxray.exceptions import StoreError

__all__ = ["ENV_PREFIX", "FILE_ENV", "SECRETS", "KeyFile", "KeyRing", "SigningKey", "env_keys"]

ENV_PREFIX = "CXRAY_SECRET_"
FILE_ENV = "CXRAY_SECRETS_FILE"
#: the signing secrets cxray keeps, and what each one signs or keys
SECRETS: dict[str, str] = {
    "invitations": "invitation links",
    "webhooks": "webhook payloads",
    "forms": "survey pages' form tokens",
    "erasures": "the erasure records' customer digests",
    "audit": "the audit log's customer digests",
}
_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class SigningKey:
    id: str
    key: bytes
    created: str | None = None


@dataclass(frozen=True)
class KeyRing:
    """The keys of one secret name: the last one signs, every one verifies."""

    name: str
    keys: tuple[SigningKey, ...]
    #: where the signing key comes from: "env", a file path or "memory"
    source: str

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    def get(self, key_id: str) -> SigningKey | None:
        for k in self.keys:
            if k.id == key_id:
                return k
        return None

    @property
    def ids(self) -> list[str]:
        return [k.id for k in self.keys]


def new_key(key_id: str) -> SigningKey:
    return SigningKey(key_id, secrets.token_bytes(32), dt.datetime.now(dt.UTC).isoformat())


def next_id(keys: list[SigningKey] | tuple[SigningKey, ...]) -> str:
    n = [int(k.id[1:]) for k in keys if re.fullmatch(r"k\d+", k.id)]
    return f"k{max(n, default=0) + 1}"


def _key_bytes(text: str, where: str) -> bytes:
    text = text.strip()
    key = bytes.fromhex(text) if _HEX.match(text) and len(text) % 2 == 0 else text.encode()
    if len(key) < 16:
        raise StoreError(f"{where}: a signing key must have at least 16 bytes (128 bits)")
    return key


def env_keys(name: str) -> list[SigningKey] | None:
    """The keys ``CXRAY_SECRET_<NAME>`` gives, or None when it is not set."""
    var = ENV_PREFIX + name.upper()
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    entries = [e.strip() for e in value.split(",") if e.strip()]
    out = []
    for i, entry in enumerate(entries):
        key_id, sep, key = entry.partition("=")
        if not sep:
            key_id, key = ("env" if len(entries) == 1 else f"env{i + 1}"), entry
        if not _ID.match(key_id):
            raise StoreError(f"{var}: key id {key_id!r} is not letters, digits, - or _")
        out.append(SigningKey(key_id, _key_bytes(key, var)))
    return out


class KeyFile:
    """The JSON key file: read, and replaced whole (written beside, then renamed; 0600)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> dict[str, list[SigningKey]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read the key file {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
            return {
                name: [
                    SigningKey(str(k["id"]), bytes.fromhex(k["key"]), k.get("created"))
                    for k in keys
                ]
                for name, keys in data.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(
                f"the key file {self.path} is not valid ({exc}); restore it from a backup"
            ) from None

    def write(self, data: dict[str, list[SigningKey]]) -> None:
        doc = {
            name: [{"id": k.id, "key": k.key.hex(), "created": k.created} for k in keys]
            for name, keys in data.items()
        }
        folder = self.path.parent
        if not folder.is_dir():
            raise StoreError(f"the folder of the key file {self.path} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=folder)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself is durable once the folder is
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
