"""Personal data in free text: e-mail addresses, phone numbers and payment card numbers.

Used wherever texts leave the store for people to read (dashboard, exports).
The patterns lean towards privacy: a card number is any 13-19 digit run (spaces
or dashes allowed) that passes the Luhn check; a phone number is a run of 7-15
digits with phone-like separators (``+``, spaces, dots, dashes, brackets) that
is not a date. Some other long numbers (order numbers with separators) may be
masked as phones; that is the intended side to err on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["luhn_valid", "redact", "redactor"]

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+.\-/])(?:\+|\b)\d(?:[ .\-/]?\(?\d\)?){6,14}(?!\w|[.\-/]\d)"
    r"|\(\d{2,5}\)[ .\-]?\d(?:[ .\-]?\d){4,11}(?!\w|[.\-/]\d)"
)
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum (card numbers do)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(
    text: str | None,
    *,
    emails: bool = True,
    phones: bool = True,
    cards: bool = True,
    email_mask: str = "[email]",
    phone_mask: str = "[phone]",
    card_mask: str = "[card]",
) -> str | None:
    """The text with personal data replaced by masks; ``None`` stays ``None``.

    >>> redact("Mail jo@example.com or call +44 20 7946 0958")
    'Mail [email] or call [phone]'
    >>> redact("card 4111 1111 1111 1111, order 1234567890123456")
    'card [card], order 1234567890123456'
    """
    if not text:
        return text
    if cards:

        def card(m: re.Match[str]) -> str:
            digits = re.sub(r"\D", "", m.group())
            return card_mask if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group()

        text = _CARD.sub(card, text)
    if emails:
        text = _EMAIL.sub(email_mask, text)
    if phones:

        def phone(m: re.Match[str]) -> str:
            s = m.group()
            digits = sum(ch.isdigit() for ch in s)
            if not 7 <= digits <= 15 or _DATE.fullmatch(s.strip()):
                return s
            # a bare run of digits is a phone only when it is as long as one (10-12 digits)
            if s.isdigit() and not 10 <= len(s) <= 12:
                return s
            return phone_mask

        text = _PHONE.sub(phone, text)
    return text


def redactor(config: object) -> Callable[[str | None], str | None]:
    """:func:`redact`, or no change when the program config turns redaction off.

    ``[privacy] redact = false`` in ``cxray.toml`` shows texts as stored; the
    default (and any config without the switch) masks personal data.
    """
    privacy = getattr(config, "privacy", None)
    if privacy is not None and getattr(privacy, "redact", True) is False:
        return _as_is
    return redact


def _as_is(text: str | None) -> str | None:
    return text
