"""Case categorization: learns categories, deterministic, saves without pickle."""

from __future__ import annotations

import numpy as np
import pytest

from cxray.exceptions import ModelError
from cxray.text import CaseCategorizer

TOPICS = {
    "card_arrival": ["when will my card arrive", "card still not delivered", "new card not here"],
    "refund": ["I want a refund", "refund not showing up", "how do I get my money back"],
    "pin": ["forgot my pin", "reset pin code", "my PIN is blocked"],
}


def _data(reps: int = 10) -> tuple[list[str], list[str]]:
    texts, cats = [], []
    for i in range(reps):
        for cat, examples in TOPICS.items():
            texts.append(f"{examples[i % 3]} please {i}")
            cats.append(cat)
    return texts, cats


def test_categorizer_learns_is_deterministic_and_round_trips(tmp_path):
    texts, cats = _data()
    a = CaseCategorizer(random_state=1, n_features=2**12).fit(texts, cats)
    b = CaseCategorizer(random_state=1, n_features=2**12).fit(texts, cats)
    assert a.score(texts, cats) == 1.0
    assert a.predict(["my card did not arrive", "refund please"]).tolist() == [
        "card_arrival",
        "refund",
    ]
    assert np.array_equal(a.decision_function(texts), b.decision_function(texts))
    back = CaseCategorizer.load(a.save(tmp_path / "c.npz"))
    assert np.array_equal(back.decision_function(texts), a.decision_function(texts))


def test_categorizer_errors(tmp_path):
    with pytest.raises(ModelError, match="not fitted"):
        CaseCategorizer().predict(["x"])
    with pytest.raises(ModelError, match="two categories"):
        CaseCategorizer().fit(["a", "b"], ["x", "x"])
    (tmp_path / "bad.npz").write_text("nope")
    with pytest.raises(ModelError, match="not a cxray categorizer"):
        CaseCategorizer.load(tmp_path / "bad.npz")
