"""Layer 4, privacy: personal data by design.

One masking policy for every output (:class:`Masking`, ``_mask.py``): a caller without the
``pii`` permission sees personal columns as ``[personal]`` and free text with e-mail
addresses, phone and card numbers redacted, in API rows, timelines, exports, dashboard
pages, alerts and notifications (``docs/privacy.md``).

>>> from cxray.privacy import Masking
>>> Masking.for_caller(ws.config, pii=False).rows("customers", rows)  # doctest: +SKIP

``cxray.text`` imports ``_mask`` (its redaction patterns live here): a module of this
package that needs ``cxray.text`` imports it inside its functions, never at the top.
"""

from cxray.privacy._mask import (
    MASK,
    UNMASKED,
    Masking,
    column_kind,
    luhn_valid,
    redact,
    redactor,
)

__all__ = [
    "MASK",
    "UNMASKED",
    "ErasureReport",
    "Masking",
    "Privacy",
    "RetentionReport",
    "column_kind",
    "luhn_valid",
    "redact",
    "redactor",
]

# erasure and retention (``_erase.py``, ``_retention.py``): loaded on first use, as they
# bring the store (Ibis, DuckDB) that masking does without
_LAZY = {"ErasureReport": "_erase", "Privacy": "_erase", "RetentionReport": "_retention"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"cxray.privacy.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'cxray.privacy' has no attribute {name!r}")
