"""Layer 5, access control: API keys with roles, login sessions, a failed-login limiter.

>>> from cxray.access import ApiKeys
>>> info, key = ApiKeys(workspace.store).create("viewer", name="wallboard")  # doctest: +SKIP

Roles, least to most privileged: ``viewer`` reads; ``analyst`` also imports;
``admin`` also manages keys (and, as cxray grows, erases data and changes
config). Interfaces check roles with :func:`role_allows`. The ``pii`` permission
(admins, and keys created with it) sees personal data unmasked.
"""

from cxray.access._audit import (
    ACTIONS,
    AuditEvent,
    AuditLog,
    audit_call,
    customer_ref,
    digest_scheme,
    legacy_customer_ref,
    local_actor,
    note_call,
)
from cxray.access._keys import (
    KEY_PREFIX,
    PERMISSIONS,
    ROLES,
    ApiKey,
    ApiKeys,
    Role,
    check_permissions,
    check_role,
    hash_key,
    role_allows,
    role_permissions,
)
from cxray.access._limiter import LoginLimiter
from cxray.access._login import log_in
from cxray.access._sessions import Session, SessionSigner

__all__ = [
    "ACTIONS",
    "KEY_PREFIX",
    "PERMISSIONS",
    "ROLES",
    "ApiKey",
    "ApiKeys",
    "AuditEvent",
    "AuditLog",
    "LoginLimiter",
    "Role",
    "Session",
    "SessionSigner",
    "audit_call",
    "check_permissions",
    "check_role",
    "customer_ref",
    "digest_scheme",
    "hash_key",
    "legacy_customer_ref",
    "local_actor",
    "log_in",
    "note_call",
    "role_allows",
    "role_permissions",
]
