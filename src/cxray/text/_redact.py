"""Personal data in free text: e-mail addresses, phone and payment card numbers.

The patterns and the policy of who sees what live in one place, :mod:`cxray.privacy`
(``docs/privacy.md``); this module keeps the names text analytics has always used.
Theme quotes, examples and case-trend examples are redacted for every reader (a report is
computed once and shared) unless ``[privacy] redact = false``.
"""

from __future__ import annotations

from cxray.privacy._mask import luhn_valid, redact, redactor

__all__ = ["luhn_valid", "redact", "redactor"]
