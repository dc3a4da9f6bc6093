"""Interfaces: the REST API (FastAPI), a thin shell over :class:`cxray.Workspace`.

>>> from cxray.api import create_app
>>> app = create_app("cxray.duckdb")      # doctest: +SKIP

``cxray serve`` runs it with uvicorn; ``docs/api.md`` describes the endpoints.
"""

from cxray.api._app import create_app
from cxray.api._settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
