"""Layer 3, the store: canonical tables behind Ibis, migrations, the import log."""

from cxray.store._migrations import (
    ALERTS,
    API_KEYS,
    AUDIT,
    FOLLOWUP_EVENTS,
    FOLLOWUPS,
    IMPORT_LOG,
    INVITATIONS,
    LOOP_STATE,
    MIGRATIONS,
    MODELS,
    OUTBOX,
    SUBMISSIONS,
    SURVEYS,
    SYSTEM_COLUMNS,
)
from cxray.store._served import (
    LOCAL_TOKEN_HEADER,
    ServedStore,
    announce,
    find_server,
    serve_file,
    withdraw,
)
from cxray.store._store import ImportRecord, Store, TableStatus, WriteResult

__all__ = [
    "ALERTS",
    "API_KEYS",
    "AUDIT",
    "FOLLOWUPS",
    "FOLLOWUP_EVENTS",
    "IMPORT_LOG",
    "INVITATIONS",
    "LOCAL_TOKEN_HEADER",
    "LOOP_STATE",
    "MIGRATIONS",
    "MODELS",
    "OUTBOX",
    "SUBMISSIONS",
    "SURVEYS",
    "SYSTEM_COLUMNS",
    "ImportRecord",
    "ServedStore",
    "Store",
    "TableStatus",
    "WriteResult",
    "announce",
    "find_server",
    "serve_file",
    "withdraw",
]
