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
    assert fast[:600] == [int(tx.masks([t])[0]) for t in texts[:600]]
    assert fast == [int(m) for m in tx.masks(texts)]
    assert any(fast)


def test_require_and_exclude_rules_act_within_a_clause():
    tx = Taxonomy.from_mapping(
        {
            "support": {
                "label": "Support",
                "keywords": ["hold", "agent*", "reply"],
                "require": ["call*", "agent*", "chat"],
                "exclude": ["hold luggage"],
            },
            "wait": {"label": "Waiting", "keywords": ["wait*"], "exclude": ["can't wait"]},
        }
    )
    got = tx.assign(
        [
            "I was on hold for an hour when I called",  # hold + called in one clause
            "Put the bag on hold. Then I called",  # context in another clause: no
            "The agent never replied",  # agent is its own context
            "no reply yet",  # reply without context
            "We had to hold luggage at the agent desk",  # vetoed in this clause
            "Can't wait to wear it",
            "Can't wait to wear it, but I waited two weeks for it",  # the veto is one clause only
        ]
    )
    assert got == [("support",), (), ("support",), (), (), (), ("wait",)]
    assert tx.matches("on hold while the agent called back") == {"support": ["hold", "agent*"]}


def test_default_support_needs_contact_context():
    tx = Taxonomy.from_config(ProgramConfig())
    hotel = [
        "The staff were very helpful and friendly",
        "Room service was quick and the breakfast was good",
        "Thanks for the help with our bags",
    ]
    assert all("support" not in g for g in tx.assign(hotel))
    assert tx.assign(["The staff were very helpful and friendly"]) == [("staff",)]
    contact = [
        "I called customer service and waited on hold for an hour",
        "The chat agent never answered my question",
        "Opened a ticket three times and nobody replied",
    ]
    assert all("support" in g for g in tx.assign(contact))
    assert tx.assign(["I can't wait to wear this dress"]) == [()]
    assert "returns_refunds" not in tx.assign(["The return flight was delayed"])[0]


def test_match_report_numbers_add_up():
    tx = Taxonomy.from_mapping(THEMES)
    texts = [
        "My parcel was delivered late",
        "parcel delivered, refund pending",
        "They charged me twice",
        "the app crashed when I tried to log in",
        "lovely colours",
        "",
        None,
        "nice",
    ] + ["parcel"] * 4
    r = tx.match_report(texts, n_examples=2)
    assert r.n_texts == 10  # texts with a word
    by = {t["id"]: t for t in r.themes}
    m = tx.matrix([t for t in texts if t])
    assert [by[i]["matched"] for i in tx.ids] == m.sum(axis=0).tolist() == [6, 2, 1]
    assert by["delivery"]["rate"] == pytest.approx(0.6)
    assert r.unmatched == 2 and r.unmatched_rate == pytest.approx(0.2)
    assert r.unmatched + int(m.any(axis=1).sum()) == r.n_texts
    assert r.overlap == 1 and r.pairs == [("delivery", "billing", 1)]
    assert by["delivery"]["keywords"][0] == {"keyword": "parcel", "texts": 6}
    assert {"keyword": "deliver*", "texts": 2} in by["delivery"]["keywords"]
    assert r.unmatched_examples == ["lovely colours", "nice"]
    assert len(by["delivery"]["examples"]) == 2
    assert any("delivery: matches 60%" in w for w in r.warnings)
    assert not any(w.startswith("app") for w in r.warnings)
    empty = Taxonomy.from_mapping({"x": {"label": "X", "keywords": ["zebra"]}}).match_report(
        ["a b"]
    )
    assert empty.warnings == ["x: matches no text"] and empty.unmatched == 1


def test_taxonomy_command(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import cxray.cli._text_taxonomy  # noqa: F401  (registers `cxray text taxonomy`)
    from cxray.cli import app
    from cxray.workspace import Workspace

    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "t.duckdb")
    Workspace.open(db).close()
    (tmp_path / "f.csv").write_text(
        "id,text\n1,My parcel arrived two weeks late\n2,the agent on the phone was rude\n3,ok\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    res = runner.invoke(
        app, ["--db", db, "text", "taxonomy", "--file", "f.csv", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    rates = {t["id"]: t["matched"] for t in d["themes"]}
    assert d["n_texts"] == 3 and d["unmatched"] == 1 and rates["delivery"] == 1
    assert rates["support"] == 1 and rates["staff"] == 1
    res = runner.invoke(
        app, ["--db", db, "text", "taxonomy", "--file", "f.csv"], env={"COLUMNS": "80"}
    )
    assert res.exit_code == 0 and "without a theme" in res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "│ delivery" in res.stdout and "│ (none)" not in res.stdout
    res = runner.invoke(app, ["--db", db, "text", "taxonomy", "--file", "f.csv", "--format", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("id,label,matched,rate")
    res = runner.invoke(app, ["--db", db, "text", "taxonomy", "--table", "nope"])
    assert res.exit_code != 0 and "no texts in 'nope'" in str(res.exception)
