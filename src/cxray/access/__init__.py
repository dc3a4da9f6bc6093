"""Layer 5, access control: API keys with roles, login sessions, a failed-login limiter.

>>> from cxray.access import ApiKeys
>>> info, key = ApiKeys(workspace.store).create("viewer", name="wallboard")  # doctest: +SKIP

Roles, least to most privileged: ``viewer`` reads; ``analyst`` also imports;
``admin`` also manages keys (and, as cxray grows, erases data and changes
config). Interfaces check roles with :func:`role_allows`.
"""

from cxray.access._keys import (
    KEY_PREFIX,
    ROLES,
    ApiKey,
    ApiKeys,
    Role,
    check_role,
    hash_key,
    role_allows,
)
from cxray.access._limiter import LoginLimiter
from cxray.access._login import log_in
from cxray.access._sessions import Session, SessionSigner

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "ApiKey",
    "ApiKeys",
    "LoginLimiter",
    "Role",
    "Session",
    "SessionSigner",
    "check_role",
    "hash_key",
    "log_in",
    "role_allows",
]
