"""Layer 5, saved views: a named page with its filters, kept in the store and shared by link.

A saved view is a name, one of the dashboard's pages (:data:`PAGES`), the page's query
(filters, dates or a date preset, period, KPI, slice...), an owner (the key that saved it)
and a visibility: ``private`` (its owner only) or ``shared`` (every key). It is kept in
``_cx_views`` as JSON; role defaults set over the API in ``_cx_view_defaults``
(``[views] default.ROLE`` in ``cxray.toml`` is the fallback).

>>> views = workspace.views                                   # doctest: +SKIP
>>> views.save("Weekly exec", "overview", {"preset": "30d"}, visibility="shared",
...            caller=Caller(3, "lead", "analyst"))          # doctest: +SKIP

``docs/dashboard.md`` (Saved views) describes them.
"""

from cxray.views._saved import (
    LOCAL_CALLER,
    MULTI_KEYS,
    PAGES,
    PERIODS,
    PRESETS,
    VISIBILITIES,
    Caller,
    SavedView,
    SavedViews,
    check_query,
    slug_for,
)

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
