"""Taxonomy themes: exact, deterministic keyword matching; the config section."""

from __future__ import annotations

import pytest

from cxray.config import ProgramConfig, load_program_config
from cxray.exceptions import ConfigError
from cxray.text import Taxonomy, stem

THEMES = {
    "delivery": {"label": "Delivery", "keywords": ["deliver*", "parcel", "where is my order"]},
    "billing": {"label": "Billing", "keywords": ["charge", "refund*"]},
    "app": {"label": "App", "keywords": ["app", "log in"], "examples": ["The app froze"]},
}


def test_stemmer_joins_word_forms():
    assert {stem(w) for w in ("charge", "charges", "charged", "charging")} == {"charg"}
    assert stem("deliveries") == stem("delivery") and stem("stopped") == "stop"
    assert stem("parcels") == "parcel" and stem("glass") == "glass"


def test_assignment_exact_on_hand_made_texts():
    tx = Taxonomy.from_mapping(THEMES)
    texts = [
        "My PARCELS were delivered late",  # plural + prefix on a different word
        "They charged me twice, I want a refund.",
        "Where is my order? The app won't let me log in",
        "Where is the order?",  # phrase broken: no match
        "application crashed",  # 'app' is a whole word, not a prefix
        "I couldn't log into the site",  # phrase 'log in' needs 'in' exactly
        "",
        None,
        "Refunded, but the parcel was charged twice",
    ]
    assert tx.assign(texts) == [
        ("delivery",),
        ("billing",),
        ("delivery", "app"),
        (),
        (),
        (),
        (),
        (),
        ("delivery", "billing"),
    ]
    assert tx.matches("the parcel was delivered") == {"delivery": ["deliver*", "parcel"]}
    assert tx.unmatched_examples() == {}
    # independent of order and of earlier calls
    assert tx.assign(texts[::-1]) == tx.assign(texts)[::-1]


def test_unmatched_examples_are_reported():
    tx = Taxonomy.from_mapping(
        {"app": {"label": "App", "keywords": ["app"], "examples": ["the app froze", "site down"]}}
    )
    assert tx.unmatched_examples() == {"app": ["site down"]}


def test_default_taxonomy_covers_cx_topics():
    tx = Taxonomy.from_config(ProgramConfig())
    assert {"delivery", "price_billing", "product_quality", "support", "digital"} <= set(tx.ids)
    got = tx.assign(
        [
            "My parcel arrived a week late",
            "I was charged twice for one order",
            "The battery died after two days, it is faulty",
            "The agent was rude and never replied to my email",
            "The app keeps crashing at checkout",
            "I sent it back three weeks ago and still no refund",
        ]
    )
    assert [g[0] if g else None for g in got] == [
        "delivery",
        "price_billing",
        "product_quality",
        "support",
        "digital",
        "returns_refunds",
    ]


def test_config_section_replaces_the_default(write):
    p = write(
        "cxray.toml",
        '[themes.noise]\nlabel = "Noise"\nkeywords = ["loud", "noisy"]\nexamples = ["so loud"]\n',
    )
    c = load_program_config(p)
    assert list(c.themes) == ["noise"] and c.themes["noise"].keywords == ("loud", "noisy")
    assert Taxonomy.from_config(c).assign(["a noisy fan"]) == [("noise",)]
    bad = write("bad.toml", '[themes.x]\nlabel = "X"\nkeywords = []\n')
    with pytest.raises(ConfigError, match="keywords"):
        load_program_config(bad)
    bad = write("bad2.toml", '[themes."Big Theme"]\nlabel = "X"\nkeywords = ["a"]\n')
    with pytest.raises(ConfigError, match="theme id"):
        load_program_config(bad)


def test_batch_matching_equals_text_by_text():
    import csv
    import random

    from cxray.config import ProgramConfig
    from cxray.text import Taxonomy
    from tests.conftest import SHARED

    texts = [
        "where is my order??",
        "",
        None,
        "Wrong COLOUR sent",
        "wrong colors",
        "Order stuck\x00 in transit",
        "log in failed",
        "LOG\nIN",
        "it’s on hold",
        "how do I set up",
        "sent it back",
        "set_up under_scores",
    ]
    reviews = SHARED / "data/womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv"
    if reviews.exists():
        with reviews.open(encoding="utf-8", newline="") as f:
            texts += [r["Review Text"] or None for r in csv.DictReader(f)][:5000]
    random.Random(0).shuffle(texts)
    tx = Taxonomy.from_config(ProgramConfig())
    fast = [int(m) for m in tx.masks(texts, batch=700)]
    assert fast == [int(tx.masks([t])[0]) for t in texts]
    assert any(fast)
