"""Sentence embeddings (the ``cxray[text]`` extra): offline model, discovery, the message without it.

The tests that need the extra are skipped when it is not installed, except when
``CXRAY_TEST_EMBEDDINGS`` is set: ``.ci/run`` runs this module a second time in a virtualenv
with the extra and that variable, where a missing extra is a failure. (The extra is kept out
of the main test environment: it brings httpx2, which changes Starlette's TestClient.)
"""

from __future__ import annotations

import json
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


@needs_extra
def test_auto_discovery_embeds_english_texts_with_the_extra(tmp_path):
    from cxray.text import discovery_method, theme_report
    from cxray.workspace import Workspace

    texts, _ = _texts()
    assert discovery_method(texts) == "embeddings"
    with Workspace.open(tmp_path / "w.duckdb", tmp_path / "cxray.toml") as ws:
        ws.load_demo(seed=3, customers=300, months=2)
        report = theme_report(ws.store, ws.config, source="discover", n_themes=3)
    assert report.method == "embeddings" and len(report.themes) == 3


def test_without_the_extra_the_message_names_it(monkeypatch):
    from cxray.text import _embed

    monkeypatch.setattr(_embed, "embeddings_available", lambda: False)
    _embed._model.cache_clear()
    texts, _ = _texts()
    with pytest.raises(ModelError, match=r"pip install 'cxray\[text\]'"):
        discover_embedded_themes(texts, n_themes=3)
    _embed._model.cache_clear()


# ---------------------------------------------------------------- the embedding sentiment head


def _head_data(seed: int = 3):
    """Texts, labels, groups and stand-in embeddings whose direction carries the class."""
    rng = np.random.default_rng(seed)
    words = {
        "negative": ["awful", "delayed again", "terrible support", "broken"],
        "neutral": ["the order number is 12", "how do I reset my pin", "it is a shirt"],
        "positive": ["great", "lovely staff", "works perfectly", "thank you so much"],
    }
    axis = {c: rng.normal(size=384) for c in words}
    texts, labels, groups, vec = [], [], [], []
    for g in ("a", "b"):
        for c, ws in words.items():
            for i in range(40):
                texts.append(f"{ws[i % len(ws)]} {g}{i}")
                labels.append(c)
                groups.append(g)
                vec.append(axis[c] + rng.normal(scale=3.0, size=384))
    v = np.asarray(vec, dtype=np.float32)
    return texts, labels, groups, v / np.linalg.norm(v, axis=1, keepdims=True)


def test_head_training_is_deterministic_and_round_trips_without_pickle(tmp_path):
    from cxray.text import EmbeddingSentiment

    texts, labels, groups, v = _head_data()
    a = EmbeddingSentiment.train(texts, labels, groups=groups, embeddings=v, C=0.5)
    b = EmbeddingSentiment.train(texts, labels, groups=groups, embeddings=v, C=0.5)
    # the same data and parameters: the same arrays and header (the zip's own timestamps aside)
    assert a.header == b.header
    for k in ("coef", "intercept"):
        assert np.array_equal(a._state()[k], b._state()[k])
    path = a.save(tmp_path / "head.npz")
    with np.load(path, allow_pickle=False) as z:  # nothing in it needs unpickling
        assert {"header", "coef", "intercept"} <= set(z.files)
    c = EmbeddingSentiment.load(path)
    p = c.predict_proba(texts, embeddings=v)
    np.testing.assert_allclose(p, a.predict_proba(texts, embeddings=v))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # it learned the classes: well above the 1/3 of chance on its training texts
    assert np.mean(c.predict(texts, embeddings=v) == np.array(labels)) > 0.9
    _, scores = c.score_texts(texts, embeddings=v)
    np.testing.assert_allclose(scores, p[:, 2] - p[:, 0])
    assert c.model_id == "embed-v1" and c.header["params"]["C"] == 0.5


def test_head_bad_inputs_are_clear_errors(tmp_path):
    from cxray.text import EmbeddingSentiment

    texts, labels, groups, v = _head_data()
    with pytest.raises(ModelError, match=r"expected \(240, 384\)"):
        EmbeddingSentiment.train(texts, labels, groups=groups, embeddings=v[:, :100])
    with pytest.raises(ModelError, match="labels must be"):
        EmbeddingSentiment.train(texts, ["bad"] * len(texts), embeddings=v)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a cxray embedding sentiment model"):
        EmbeddingSentiment.load(bad)


def test_shipped_head_lists_clearly_licensed_training_sets_only():
    from cxray.text import EMBED_MODEL
    from cxray.text._train_general import ALLOWED

    with np.load(EMBED_MODEL, allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
        assert z["coef"].shape == (3, 384 + 16)
    sets = {t["name"]: t for t in header["training_sets"]}
    assert set(sets) == set(ALLOWED)
    assert all(t["license"] not in ("", "not stated", "unknown") for t in sets.values())
    assert header["encoder"] == "all-MiniLM-L6-v2" and header["selection"]["folds"]


def test_resolve_embeddings_without_the_extra_names_it(monkeypatch):
    from cxray.text import _embed, resolve_model

    monkeypatch.setattr(_embed, "embeddings_available", lambda: False)
    with pytest.raises(ModelError, match=r"pip install 'cxray\[text\]'"):
        resolve_model("embeddings", None)


@needs_extra
def test_shipped_head_scores_service_complaints_and_praise():
    from cxray.text import EmbeddingSentiment, resolve_model

    head, model_id = resolve_model("embeddings", None)
    assert isinstance(head, EmbeddingSentiment) and model_id == "embed-v1"
    texts = [
        "@united my flight was cancelled, I waited 3 hours on hold and still no refund",
        "Absolutely love this dress, the fabric is gorgeous and it fits perfectly!",
        "How do I change the PIN of my card?",
    ]
    p = head.predict_proba(texts)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    labels, scores = head.score_texts(texts)
    assert list(labels[:2]) == ["negative", "positive"]
    assert scores[0] < -0.5 and scores[1] > 0.5
    # the same texts again, and inside a larger batch: the same numbers
    np.testing.assert_allclose(head.predict_proba(texts * 2)[3:], p, atol=1e-5)


@needs_extra
def test_cli_score_with_the_embedding_head(tmp_path, monkeypatch):
    import csv
    import io

    from typer.testing import CliRunner

    from cxray.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text(
        'id,comment\n1,"Terrible service, the parcel never arrived and nobody answers"\n'
        '2,"Great staff, lovely room, would stay again"\n3,\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        app,
        [
            *("--db", str(tmp_path / "t.duckdb"), "text", "score", "c.csv", "-c", "comment"),
            *("--model", "embeddings", "-o", "out.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "with embed-v1" in res.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [r["sentiment_label"] for r in rows] == ["negative", "positive", ""]
    assert float(rows[0]["sentiment_score"]) < 0 < float(rows[1]["sentiment_score"])
