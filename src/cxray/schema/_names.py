"""Column-name rules: matched case-insensitively after trimming, snake_case canonical."""

from __future__ import annotations

import re

__all__ = ["normalize_column_name"]

#: a word boundary inside camelCase: before an upper case letter that follows a lower case
#: letter or digit ("submittedAt"), or that starts a word after an acronym ("IPAddress")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def normalize_column_name(name: str) -> str:
    """Turn a source column header into a snake_case identifier.

    ``" Customer ID "`` → ``customer_id``; ``"submittedAt"`` → ``submitted_at``;
    ``"IPAddress"`` → ``ip_address``;
    ``"Q3 - How easy?"`` → ``q3_how_easy``. A header that has no letters or
    digits becomes ``column``; one starting with a digit gets a ``c_`` prefix
    so that it is a valid identifier on every backend.
    """
    s = _CAMEL.sub("_", name.strip())
    s = _NON_WORD.sub("_", s).strip("_").lower()
    if not s:
        return "column"
    if s[0].isdigit():
        s = "c_" + s
    return s
