"""Personal data in texts: e-mails, phones and (Luhn-valid) card numbers are masked."""

from __future__ import annotations

import pytest

from cxray.text import luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jo.smith+cx@example.co.uk today", "write to [email] today"),
        ("Mail JO@EXAMPLE.COM!", "Mail [email]!"),
        ("call +44 20 7946 0958 please", "call [phone] please"),
        ("call (555) 123-4567 now", "call [phone] now"),
        ("phone 555.123.4567", "phone [phone]"),
        ("my number is 0612345678.", "my number is [phone]."),
        ("+1 (415) 555-2671", "[phone]"),
        ("card 4111 1111 1111 1111 expired", "card [card] expired"),
        ("5500-0000-0000-0004", "[card]"),
        ("378282246310005 amex", "[card] amex"),
        # not personal data: Luhn fails, dates, prices, short numbers
        ("order 4111-1111-1111-1112 shipped", "order 4111-1111-1111-1112 shipped"),
        ("order 1234567890123456", "order 1234567890123456"),
        ("on 2024-01-15 I paid 1,299.00", "on 2024-01-15 I paid 1,299.00"),
        ("on 15/01/2024 at 10:30", "on 15/01/2024 at 10:30"),
        ("ref 12345, size 8, 3 weeks", "ref 12345, size 8, 3 weeks"),
        ("", ""),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_redact_none_options_and_masks():
    assert redact(None) is None
    text = "jo@example.com 4111111111111111 +44 20 7946 0958"
    assert redact(text, emails=False) == "jo@example.com [card] [phone]"
    assert redact(text, cards=False, phones=False) == "[email] 4111111111111111 +44 20 7946 0958"
    assert redact(text, email_mask="<e>", card_mask="<c>", phone_mask="<p>") == "<e> <c> <p>"


def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("12a4")
