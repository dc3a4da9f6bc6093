"""Sentence embeddings (the ``cxray[text]`` extra): offline model, discovery, the message without it.

The tests that need the extra are skipped when it is not installed, except when
``CXRAY_TEST_EMBEDDINGS`` is set: ``.ci/run`` runs this module a second time in a virtualenv
with the extra and that variable, where a missing extra is a failure. (The extra is kept out
of the main test environment: it brings httpx2, which changes Starlette's TestClient.)
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from cxray.exceptions import ModelError
from cxray.text import discover_embedded_themes, embeddings_available

needs_extra = pytest.mark.skipif(
    not embeddings_available() and not os.environ.get("CXRAY_TEST_EMBEDDINGS"),
    reason="the text extra is not installed (pip install 'cxray[text]')",
)

TOPICS = {
    "delivery": [
        "the parcel arrived late",
        "courier lost my package",
        "delivery took two weeks",
        "shipping was very slow",
        "my order never arrived",
    ],
    "billing": [
        "I was charged twice",
        "the invoice amount is wrong",
        "refund still not on my card",
        "billing error on my account",
        "you took the payment two times",
    ],
    "fit": [
        "the dress runs small",
        "sleeves are too long for me",
        "fits perfectly, true to size",
        "had to size up in these jeans",
        "the waist is too tight",
    ],
}


def _texts(seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, truth = [], []
    for topic, phrases in TOPICS.items():
        for _ in range(40):
            texts.append(f"{rng.choice(phrases)} {rng.choice(['', 'again', 'sadly', 'today'])}")
            truth.append(topic)
    return texts, truth


@needs_extra
def test_embeddings_are_unit_length_and_put_like_texts_close():
    assert embeddings_available(), "CXRAY_TEST_EMBEDDINGS is set but cxray[text] is missing"
    from cxray.text._embed import embed

    v = embed(["The parcel arrived late", "Delivery was slow", "Lovely dress, fits well"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[0, 1] > sim[1, 2] + 0.2


@needs_extra
def test_embedded_themes_find_the_planted_topics_with_stable_ids():
    texts, truth = _texts()
    themes, assigned = discover_embedded_themes(texts, n_themes=3, random_state=0, max_fit=60)
    assert len(themes) == 3 and all(a for a in assigned)
    # each discovered theme is (almost) one planted topic
    for th in themes:
        mine = [t for a, t in zip(assigned, truth, strict=True) if a == (th.id,)]
        top = max(mine.count(x) for x in TOPICS)
        assert top / len(mine) >= 0.9, (th.label, len(mine))
        assert th.terms and th.exemplars
    # the same texts in another order: the same themes and the same assignment per text
    order = list(range(len(texts)))
    random.Random(5).shuffle(order)
    themes2, assigned2 = discover_embedded_themes(
        [texts[i] for i in order], n_themes=3, random_state=0, max_fit=60
    )
    assert {t.id for t in themes2} == {t.id for t in themes}
    assert [assigned2[j] for j in np.argsort(order)] == assigned


def test_without_the_extra_the_message_names_it(monkeypatch):
    from cxray.text import _embed

    monkeypatch.setattr(_embed, "embeddings_available", lambda: False)
    _embed._model.cache_clear()
    texts, _ = _texts()
    with pytest.raises(ModelError, match=r"pip install 'cxray\[text\]'"):
        discover_embedded_themes(texts, n_themes=3)
    _embed._model.cache_clear()
