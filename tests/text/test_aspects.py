"""Aspect-based sentiment: clauses, their themes, and a theme's sentiment from its clauses."""

from __future__ import annotations

import numpy as np
import pytest

from cxray.config import ProgramConfig
from cxray.exceptions import ModelError
from cxray.text import LexiconSentiment, Taxonomy
from cxray.text._aspects import aspect_sentiment, split_clauses, terms_taxonomy


class _Words:
    """A scorer with known answers: +1 per "great"/"lovely", −1 per "dirty"/"rude", clipped."""

    def score_texts(self, texts):
        scores = []
        for t in texts:
            low = t.lower()
            s = low.count("great") + low.count("lovely") - low.count("dirty") - low.count("rude")
            scores.append(float(np.clip(s, -1, 1)))
        labels = ["positive" if s > 0 else "negative" if s < 0 else "neutral" for s in scores]
        return np.array(labels, dtype=object), np.array(scores)


def test_clauses_split_at_sentence_ends_and_contrast_words():
    clauses, doc = split_clauses(
        [
            "Great staff but a dirty room.",
            None,
            "Lovely hotel; however the bar was loud!",
            "O produto chegou rápido, mas veio quebrado",
            "...",
        ]
    )
    assert clauses == [
        "Great staff",
        "a dirty room",
        "Lovely hotel",
        "the bar was loud",
        "O produto chegou rápido",
        "veio quebrado",
    ]
    assert doc.tolist() == [0, 0, 2, 2, 3, 3]


def test_commas_split_two_evaluations_but_not_lists():
    texts = [
        "Great staff, dirty room.",
        "Lovely crew, terrible food, uncomfortable seats",
        "The flag was red, white and blue.",
        "Friendly, helpful staff",
        "The food was great, which surprised us",
        "Check-in was fast, the staff were friendly, the room was dirty",
        "1,000 points, great",
    ]
    clauses, doc = split_clauses(texts)
    assert clauses == [
        "Great staff",
        "dirty room",
        "Lovely crew",
        "terrible food",
        "uncomfortable seats",
        "The flag was red, white and blue",
        "Friendly, helpful staff",
        "The food was great, which surprised us",
        # "fast" is no opinion word of the lexicon: only the second comma separates two
        "Check-in was fast, the staff were friendly",
        "the room was dirty",
        "1,000 points, great",
    ]
    assert doc.tolist() == [0, 0, 1, 1, 1, 2, 3, 4, 5, 5, 6]
    # the comma case of "great staff but a dirty room": staff +, cleanliness -
    tx = Taxonomy.from_config(ProgramConfig())
    texts = ["Great staff, dirty room."]
    got = {
        a.theme: a.sentiment.estimate
        for a in aspect_sentiment(texts, tx.matrix(texts), tx, LexiconSentiment(), min_n=1)
    }
    assert got["staff"] > 0.3 and got["cleanliness"] < -0.3


def test_great_staff_but_a_dirty_room():
    tx = Taxonomy.from_config(ProgramConfig())
    texts = ["Great staff but a dirty room."]
    has = tx.matrix(texts)
    assert set(tx.assign(texts)[0]) >= {"staff", "cleanliness"}
    whole = LexiconSentiment().score_texts(texts)[1]
    got = {a.theme: a for a in aspect_sentiment(texts, has, tx, LexiconSentiment(), min_n=1)}
    assert got["staff"].sentiment.estimate > 0.3 and got["staff"].clauses == 1
    assert got["cleanliness"].sentiment.estimate < -0.3
    # the whole text says neither
    assert abs(whole[0]) < abs(got["staff"].sentiment.estimate)
    assert got["staff"].negative.estimate == 0.0 and got["cleanliness"].negative.estimate == 1.0
    assert got["food"].sentiment.n == 0 and got["food"].clauses == 0


def test_aspect_means_are_over_texts_with_whole_text_fallback():
    tx = Taxonomy.from_mapping(
        {
            "staff": {"label": "Staff", "keywords": ["staff"]},
            "room": {"label": "Room", "keywords": ["room"]},
        }
    )
    texts = [
        "The staff were great. The staff were rude. The room was great",  # staff 0, room +1
        "Rude staff",  # staff -1
        "great room but dirty room",  # room: (+1 - 1) / 2 = 0
        "nothing about either",
    ]
    has = tx.matrix(texts)
    has[3, 0] = True  # a text given the theme without a clause of it: whole-text score 0.5
    whole = np.array([0.0, -1.0, 0.0, 0.5])
    got = aspect_sentiment(texts, has, tx, _Words(), whole_score=whole, min_n=1)
    staff, room = got
    assert staff.sentiment.n == 3 and staff.clauses == 3
    assert staff.sentiment.estimate == pytest.approx((0.0 - 1.0 + 0.5) / 3)
    assert room.sentiment.n == 2 and room.sentiment.estimate == pytest.approx(0.5)
    assert room.clauses == 3
    assert staff.negative.estimate == pytest.approx(1 / 3)
    assert staff.sentiment.ci_low <= staff.sentiment.estimate <= staff.sentiment.ci_high
    # the same with a sample cap that keeps every text
    again = aspect_sentiment(texts, has, tx, _Words(), whole_score=whole, min_n=1, max_texts=10)
    assert [a.sentiment.estimate for a in again] == [a.sentiment.estimate for a in got]


def test_discovered_terms_become_clause_keywords_and_bad_shapes_are_refused():
    tx = terms_taxonomy([("t-1", ("lost luggage", "baggage")), ("t-2", ("crew", "smile"))])
    texts = ["They lost luggage rudely but the crew had a great smile"]
    assert tx.assign(texts) == [("t-1", "t-2")]
    got = aspect_sentiment(texts, tx.matrix(texts), tx, _Words(), min_n=1)
    assert [a.sentiment.estimate for a in got] == [-1.0, 1.0]
    # a clause about a theme that says nothing (score 0) leaves the theme its whole-text
    # score: here "great" of the other clause, (0 + 1) clipped -> 1
    texts = ["They lost luggage but the crew had a great smile"]
    got = aspect_sentiment(texts, tx.matrix(texts), tx, _Words(), min_n=1)
    assert [a.sentiment.estimate for a in got] == [1.0, 1.0]
    with pytest.raises(ModelError, match="texts x themes"):
        aspect_sentiment(texts, np.zeros((2, 2), dtype=bool), tx, _Words())
