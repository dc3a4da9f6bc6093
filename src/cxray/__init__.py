"""cxray: customer experience analytics.

Collect what customers say, unify it per customer, measure it with honest
statistics, explain it and act on it. The library is the product; the CLI,
REST API and dashboard are thin shells over :class:`cxray.Workspace`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxray.exceptions import CXError, ImportValidationError, SourceError, StoreError

if TYPE_CHECKING:
    from cxray.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "CXError",
    "ImportValidationError",
    "SourceError",
    "StoreError",
    "Workspace",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # `from cxray import Workspace` imports the workspace (and with it Ibis, pandas,
    # SciPy) only when asked for, so `import cxray.cli` and `cxray --help` start fast
    if name == "Workspace":
        from cxray.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'cxray' has no attribute {name!r}")
