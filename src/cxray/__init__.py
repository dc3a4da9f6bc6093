"""cxray: customer experience analytics.

Collect what customers say, unify it per customer, measure it with honest
statistics, explain it and act on it. The library is the product; the CLI,
REST API and dashboard are thin shells over :class:`cxray.Workspace`.
"""

from cxray.exceptions import CXError, ImportValidationError, SourceError, StoreError
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
