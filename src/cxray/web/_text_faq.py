"""The Text page's "Questions customers keep asking" section: FAQ candidates and their articles.

Its numbers are :func:`cxray.text.cached_faq`'s, the report ``GET /api/text/faq``
answers, computed once per state of the data and of the knowledge base (and kept in
the store by ``cxray text enrich`` and ``cxray serve``), so a page load serves it.
Example texts are masked for readers without ``pii``.
"""

from __future__ import annotations

from typing import Any

from cxray import text
from cxray.config import ProgramConfig
from cxray.store import Store

__all__ = ["ARROWS", "faq_section"]

#: the trend of a candidate as an arrow, and words for screen readers
ARROWS = {
    "up": ("↑", "rising significantly"),
    "down": ("↓", "falling significantly"),
    "flat": ("→", "no significant change"),
    "-": ("·", "not enough periods to tell"),
}
ROWS = 10


def faq_section(
    store: Store, config: ProgramConfig, *, keep: bool = False, limit: int = ROWS
) -> dict[str, Any]:
    """What the section shows: the report's first ``limit`` candidates, each with its arrow.

    ``config`` is the reader's (masked for readers without ``pii``).
    """
    report = text.cached_faq(store, config, keep=keep)
    rows = []
    for c in report["candidates"][:limit]:
        arrow, words = ARROWS[c["trend"]["direction"]]
        rows.append({"c": c, "arrow": arrow, "arrow_words": words})
    return {"report": report, "rows": rows}
