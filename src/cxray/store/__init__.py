"""Layer 3, the store: canonical tables behind Ibis, migrations, the import log."""

from cxray.store._migrations import (
    API_KEYS,
    IMPORT_LOG,
    INVITATIONS,
    MIGRATIONS,
    SUBMISSIONS,
    SURVEYS,
    SYSTEM_COLUMNS,
)
from cxray.store._store import ImportRecord, Store, TableStatus, WriteResult

__all__ = [
    "API_KEYS",
    "IMPORT_LOG",
    "INVITATIONS",
    "MIGRATIONS",
    "SUBMISSIONS",
    "SURVEYS",
    "SYSTEM_COLUMNS",
    "ImportRecord",
    "Store",
    "TableStatus",
    "WriteResult",
]
