"""GeneralSentiment: the shipped out-of-the-box model, its rules, its file, its training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cxray.exceptions import ModelError
from cxray.text import GENERAL_MODEL, LABELS, GeneralSentiment
from cxray.text._general import _features, _tokenize
from cxray.text._lexicon import CX_EXAMPLES
from cxray.text._train_general import ALLOWED, EVAL_ONLY, LICENSES, NOT_STATED

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "sentiment_train").is_dir(), reason=f"needs the shared data at {DATA} (absent here)"
)


@pytest.fixture(scope="module")
def model() -> GeneralSentiment:
    return GeneralSentiment()


def test_shipped_file_is_small_and_says_what_it_was_trained_on(model):
    assert GENERAL_MODEL.is_file()
    assert GENERAL_MODEL.stat().st_size < 5_000_000
    h = model.header
    assert h["model_id"] == model.model_id == "general-v2"
    names = [t["name"] for t in h["training_sets"]]
    assert set(names) == set(ALLOWED)  # the clearly licensed sets, nothing else
    assert not set(names) & set(EVAL_ONLY + NOT_STATED)
    for t in h["training_sets"]:
        assert t["rows"] > 500 and t["license"] == LICENSES[t["name"]]
    assert h["params"]["random_state"] == 0 and h["cxray_version"]


@pytest.mark.parametrize(("text", "label"), CX_EXAMPLES)
def test_hand_made_service_posts(model, text, label):
    assert model.predict([text])[0] == label


def test_more_service_posts(model):
    texts = [
        "My flight was cancelled and I'm still waiting for a refund",
        "been on hold for 2 hours, nobody answered",
        "I love this dress, fits perfectly",
        "Where can I find my booking reference?",
    ]
    assert list(model.predict(texts)) == ["negative", "negative", "positive", "neutral"]


def test_handles_urls_and_hashtag_signs_do_not_move_the_score(model):
    plain = ["great flight", "the flight was delayed", "what time is boarding"]
    noisy = [
        "@united great flight https://t.co/abc123",
        "@AmericanAir the flight was delayed www.example.com/x",
        "what time is #boarding @SouthwestAir",
    ]
    np.testing.assert_allclose(model.predict_proba(plain), model.predict_proba(noisy))


def test_capitalised_names_inside_a_sentence_carry_no_lexicon_valence():
    st = GeneralSentiment()._state()
    texts = ["I asked Joy at the desk", "I felt joy at the desk", "Joy at the desk"]
    _, _, dense = _features(st, _tokenize(texts), len(texts))[1:]
    compound = dense[:, 0]
    assert compound[0] == 0.0  # "Joy" mid-sentence: a name
    assert compound[1] > 0.3  # the word "joy"
    assert compound[2] > 0.3  # at the start of a sentence it stays a word
    # "united" is a name in customer service wherever it stands
    _, _, dense = _features(st, _tokenize(["united", "I flew United"]), 2)[1:]
    assert list(dense[:, 0]) == [0.0, 0.0]


def test_service_words_and_phrases_count_as_problems():
    st = GeneralSentiment()._state()
    texts = ["the flight was delayed", "I was on hold", "I was on the phone", "bag never arrived"]
    _, _, dense = _features(st, _tokenize(texts), len(texts))[1:]
    assert list(dense[:, 10] > 0) == [True, True, False, True]  # service_problems
    assert dense[2, 0] == 0.0 and dense[0, 0] < -0.3


def test_estimator_contract(model):
    texts = ["I love it", "This is terrible", "", None, "The order number is 1234."]
    assert model.fit() is model and model.fit(texts, ["x"] * 5) is model
    assert list(model.classes_) == list(LABELS) and model.languages_ == ("en",)
    p = model.predict_proba(texts)
    assert p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    labels, scores = model.score_texts(texts)
    assert list(labels) == list(model.predict(texts))
    np.testing.assert_allclose(scores, p[:, 2] - p[:, 0])
    assert labels[0] == "positive" and labels[1] == "negative"
    assert labels[2] == labels[3] == "neutral"  # no text: no sentiment
    assert model.score(texts[:2], ["positive", "negative"]) == 1.0
    assert model.predict([]).shape == (0,)
    # batches do not change the result
    small = GeneralSentiment(batch_size=2)
    np.testing.assert_allclose(small.predict_proba(texts), p)


def test_save_load_round_trip_and_no_pickle(model, tmp_path):
    path = model.save(tmp_path / "g.npz")
    back = GeneralSentiment.load(path)
    texts = [t for t, _ in CX_EXAMPLES] + ["fine, I guess"]
    np.testing.assert_array_equal(back.predict_proba(texts), model.predict_proba(texts))
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["header"]))["format"] == "cxray.text.GeneralSentiment"


def test_bad_files_are_refused_with_the_path(tmp_path):
    with pytest.raises(ModelError, match="no general sentiment model at"):
        GeneralSentiment.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match="bad.npz is not a cxray general sentiment model"):
        GeneralSentiment.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, header=np.array(json.dumps({"format": "something else"})), vocab=np.zeros(1))
    with pytest.raises(ModelError, match="other.npz is not a cxray general sentiment model"):
        GeneralSentiment.load(other)


def _toy() -> tuple[list[str], list[str], list[str]]:
    pos = ["great service, thank you", "love it", "excellent and friendly staff", "works well"]
    neg = ["terrible, delayed again", "rude staff", "never arrived, want a refund", "broken"]
    neu = ["what time do you open?", "where is my order number", "how do I reset it", "ok"]
    texts = (pos + neg + neu) * 5
    labels = (["positive"] * 4 + ["negative"] * 4 + ["neutral"] * 4) * 5
    groups = ["a"] * 12 + ["b"] * 12 + ["a"] * 12 + ["b"] * 12 + ["a"] * 12  # every text in both
    return texts, labels, groups


def test_training_is_deterministic_and_learns(tmp_path):
    texts, labels, groups = _toy()
    a = GeneralSentiment.train(texts, labels, groups=groups, min_df=1, random_state=3)
    b = GeneralSentiment.train(texts, labels, groups=groups, min_df=1, random_state=3)
    assert a.to_bytes() == b.to_bytes()
    assert a.score(texts, labels) == 1.0
    assert a.header["params"]["random_state"] == 3 and a.header["n_train"] == 60


def test_training_refuses_bad_labels():
    texts, labels, _ = _toy()
    with pytest.raises(ModelError, match="labels must be"):
        GeneralSentiment.train(texts, ["good"] * len(texts))
    with pytest.raises(ModelError, match="needs all of"):
        GeneralSentiment.train(texts[:8], labels[:8])
    with pytest.raises(ModelError, match="60 texts, 59 labels"):
        GeneralSentiment.train(texts, labels[:-1])


def test_a_word_of_one_training_set_only_is_not_learned():
    texts, labels, groups = _toy()
    texts = [t + " zebra" if g == "a" else t for t, g in zip(texts, groups, strict=True)]
    jargon = GeneralSentiment.train(texts, labels, groups=groups, min_df=1, min_groups=1)
    shared = GeneralSentiment.train(texts, labels, groups=groups, min_df=1, min_groups=2)
    for m, learned in ((jargon, True), (shared, False)):
        st = m._state()
        assert bool(np.any(st["coef_text"][:, st["ids"]["zebra"]] != 0)) is learned
        assert np.any(st["coef_text"][:, st["ids"]["love"]] != 0)  # in both groups
    # one group: min_groups is capped by the number of groups
    one = GeneralSentiment.train(texts, labels, min_df=1, min_groups=2)
    assert np.any(one._state()["coef_text"][:, one._state()["ids"]["zebra"]] != 0)
    with pytest.raises(ModelError, match="min_groups must be 1 or more"):
        GeneralSentiment.train(texts, labels, groups=groups, min_groups=0)


def test_class_balance_evens_out_sets_that_lack_a_class():
    # group "b" has no positive texts: without class balance the prior leans away from it
    texts, labels, groups = _toy()
    keep = [
        i
        for i, (lab, g) in enumerate(zip(labels, groups, strict=True))
        if not (g == "b" and lab == "positive")
    ]
    args = ([texts[i] for i in keep], [labels[i] for i in keep])
    kw = {"groups": [groups[i] for i in keep], "min_df": 1, "min_groups": 1}
    tilted = GeneralSentiment.train(*args, **kw)  # the default: sets weigh the same
    even = GeneralSentiment.train(*args, class_balance=True, **kw)
    p_t = tilted.predict_proba(["zzz"])[0]  # no known word: the prior speaks
    p_e = even.predict_proba(["zzz"])[0]
    assert p_e[2] > p_t[2]


def _domains():
    from cxray.text._train_general import Domain

    texts, labels, _ = _toy()
    out = {}
    for k, name in enumerate(("one", "two", "three")):
        idx = range(k, len(texts), 3)
        out[name] = Domain(name, [f"{texts[i]} {name}" for i in idx], [labels[i] for i in idx])
    return out


def test_neutral_rules_are_chosen_on_the_training_sets_left_out_in_turn():
    from cxray.text._train_general import RULE_GRID, choose_rules, train_general

    domains = _domains()
    rules = choose_rules(domains, min_df=1)
    assert rules == choose_rules(domains, min_df=1)  # deterministic
    assert rules["left_out"] == ["one", "two", "three"] and len(rules["macro_f1"]) == 3
    assert rules["neutral_boost"] in RULE_GRID["neutral_boost"]
    assert rules["min_confidence"] in RULE_GRID["min_confidence"]
    assert rules["mean_macro_f1"] == pytest.approx(np.mean(rules["macro_f1"]), abs=1e-4)
    m = train_general(domains, min_df=1)
    p = m.header["params"]
    assert (p["neutral_boost"], p["min_confidence"]) == (
        rules["neutral_boost"],
        rules["min_confidence"],
    )
    assert m.header["rule_selection"] == rules
    # given rules are kept as given
    fixed = train_general(domains, min_df=1, neutral_boost=1.0, min_confidence=0.5)
    assert (fixed.header["params"]["neutral_boost"], fixed.header["params"]["min_confidence"]) == (
        1.0,
        0.5,
    )
    # a set is left out only when the others still have all three classes
    domains["one"].labels = ["positive"] * len(domains["one"].labels)
    partial = choose_rules({"one": domains["one"], "two": domains["two"]}, min_df=1)
    assert partial["left_out"] == ["one"]
    with pytest.raises(ModelError, match="no training set can be left out"):
        choose_rules({"two": domains["two"]}, min_df=1)


def test_financial_phrasebank_can_never_be_trained_on():
    from cxray.text._train_general import Domain, train_general

    d = Domain("financial_phrasebank", ["profit rose"], ["positive"])
    with pytest.raises(ModelError, match="evaluation only"):
        train_general({"financial_phrasebank": d})


@needs_data
def test_beats_vader_on_airline_reviews_it_never_saw(model):
    """British Airways reviews are not in the shipped model's training (license not stated)."""
    from benchmarks.text_sentiment import _boot, vader_labels

    from cxray.text._train_general import load_domain

    d = load_domain("british_airways", DATA)
    take = np.sort(np.random.default_rng(42).permutation(len(d))[:800])
    x = [d.texts[i] for i in take]
    y = np.array([d.labels[i] for i in take], dtype=object)
    (vader, general), boot = _boot([vader_labels(x), model.predict(x)], y, n_boot=200, seed=42)
    assert general - vader >= 0.05, (vader, general)
    assert np.quantile(boot[1] - boot[0], 0.025) > 0  # and the interval says so
