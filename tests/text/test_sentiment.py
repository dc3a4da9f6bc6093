"""Sentiment: the out-of-the-box scorer, the domain model, their evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from cxray.exceptions import ModelError
from cxray.text import (
    LABELS,
    DomainSentiment,
    LexiconSentiment,
    evaluate_sentiment,
    holdout_split,
    labels_from_nps,
    labels_from_scale,
)

CLEAR = {
    "I love this dress, it is beautiful and fits perfectly!": "positive",
    "Great quality, excellent service, very happy.": "positive",
    "Terrible quality. The fabric ripped and I hate it.": "negative",
    "This is not good at all, awful fit and horrible color.": "negative",
    "The package arrived on Tuesday.": "neutral",
    "It is a blue shirt with buttons.": "neutral",
}


def test_lexicon_labels_clear_examples():
    got = LexiconSentiment().predict(list(CLEAR))
    assert list(got) == list(CLEAR.values())


def test_lexicon_rules_negation_booster_but_caps():
    s = LexiconSentiment().predict_score
    good, not_good, very_good = s(["it is good", "it is not good", "it is very good"])
    assert not_good < 0 < good < very_good
    assert s(["it is GOOD sadly"])[0] > s(["it is good sadly"])[0]
    before, after = s(["good but bad", "bad but good"])
    assert before < 0 < after
    assert s(["I didn't like it"])[0] < 0 < s(["I like it"])[0]
    assert s(["good!!!"])[0] > s(["good"])[0]


def test_lexicon_scores_in_range_and_empty_inputs():
    texts = ["", None, "   ", "!!!", "GREAT GREAT GREAT AMAZING BEST LOVE " * 20, ":)", "bad " * 50]
    scores = LexiconSentiment().predict_score(texts)
    assert scores.shape == (len(texts),)
    assert np.all((scores >= -1) & (scores <= 1))
    assert list(scores[:4]) == [0.0, 0.0, 0.0, 0.0]
    assert LexiconSentiment().predict_score([]).shape == (0,)
    proba = LexiconSentiment().predict_proba(texts)
    assert np.allclose(proba.sum(axis=1), 1) and (proba >= 0).all()


def test_lexicon_batches_agree_with_one_pass():
    texts = [
        f"item {i} is {'good' if i % 3 else 'not bad'} but {'slow' * (i % 2)}" for i in range(50)
    ]
    one = LexiconSentiment().predict_score(texts)
    many = LexiconSentiment(batch_size=7).predict_score(texts)
    assert np.array_equal(one, many)


def test_lexicon_follows_vader_closely():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = [*CLEAR, "Not the best, but okay.", "I am SO disappointed :(", "Fine. Just fine."]
    vader = [SentimentIntensityAnalyzer().polarity_scores(t)["compound"] for t in texts]
    ours = LexiconSentiment().predict_score(texts)
    assert np.corrcoef(vader, ours)[0, 1] > 0.9


def test_label_mappings():
    assert list(labels_from_nps([0, 6, 7, 8, 9, 10, None])) == [
        "negative", "negative", "neutral", "neutral", "positive", "positive", None
    ]  # fmt: skip
    assert list(labels_from_scale([1, 2, 3, 4, 5], low=1, high=5)) == [
        "negative", "negative", "neutral", "positive", "positive"
    ]  # fmt: skip
    assert list(labels_from_scale([1, 3, 4, 5, 7], low=1, high=7)) == [
        "negative", "negative", "neutral", "positive", "positive"
    ]  # fmt: skip


def _toy(n: int = 300, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    words = {
        "negative": ["broken", "late", "refund", "rude", "never again", "ripped"],
        "neutral": ["okay", "average", "fine I guess", "runs small", "as expected"],
        "positive": ["lovely", "perfect fit", "fast delivery", "great", "will buy again"],
    }
    filler = ["the", "dress", "order", "it", "was", "and", "shipping", "color"]
    texts, labels = [], []
    for i in range(n):
        label = LABELS[i % 3]
        parts = list(rng.choice(filler, 4)) + list(rng.choice(words[label], 2))
        rng.shuffle(parts)
        texts.append(" ".join(parts))
        labels.append(label)
    return texts, labels


def test_domain_model_learns_and_is_deterministic():
    texts, labels = _toy()
    a = DomainSentiment(random_state=3).fit(texts, labels)
    b = DomainSentiment(random_state=3).fit(texts, labels)
    assert a.score(texts, labels) > 0.9
    assert np.array_equal(a.predict_proba(texts), b.predict_proba(texts))
    assert list(a.classes_) == list(LABELS)
    proba = a.predict_proba(texts[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1)
    scores = a.predict_score(texts)
    assert ((scores >= -1) & (scores <= 1)).all()
    assert a.predict(["it was broken and ripped"])[0] == "negative"


def test_domain_model_save_load_round_trip(tmp_path):
    texts, labels = _toy()
    m = DomainSentiment(random_state=1, min_df=1).fit(texts, labels)
    path = m.save(tmp_path / "model.npz")
    back = DomainSentiment.load(path)
    assert back.get_params() == m.get_params()
    assert np.array_equal(back.predict_proba(texts), m.predict_proba(texts))
    assert back.temperature_ == m.temperature_ and back.languages_ == m.languages_
    assert list(back.word_vocab_) == list(m.word_vocab_)
    # the file is arrays only (vocabularies as UTF-8 bytes): it loads with pickling disabled
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {
            "header", "word_vocab", "word_idf", "char_vocab", "char_idf", "coef", "intercept"
        }  # fmt: skip
        assert z["word_vocab"].dtype == np.uint8


def test_domain_model_refuses_version_1_files_with_what_to_do(tmp_path):
    import io
    import json

    buf = io.BytesIO()
    header = {"format": "cxray.text.DomainSentiment", "version": 1, "params": {}}
    np.savez(buf, header=np.array(json.dumps(header)), idf=np.ones(4))
    old = tmp_path / "old.npz"
    old.write_bytes(buf.getvalue())
    with pytest.raises(ModelError, match="older cxray.*cxray text train"):
        DomainSentiment.load(old)


def test_domain_model_probabilities_are_calibrated_and_neutral_is_predicted():
    texts, labels = _toy(900, seed=2)
    noisy = list(labels)
    rng = np.random.default_rng(0)
    flip = rng.random(len(noisy)) < 0.25  # a quarter of the labels are wrong
    noisy = [LABELS[rng.integers(3)] if f else y for y, f in zip(noisy, flip, strict=True)]
    m = DomainSentiment(random_state=0).fit(texts[:600], noisy[:600])
    assert m.temperature_ != 1.0  # a temperature was fitted on the internal fold
    proba = m.predict_proba(texts[600:])
    conf = proba.max(axis=1)
    right = m.classes_[proba.argmax(axis=1)] == np.array(noisy[600:], dtype=object)
    # calibrated: the mean confidence is close to the accuracy on noisy labels
    assert abs(conf.mean() - right.mean()) < 0.08
    assert (m.predict(texts[600:]) == "neutral").mean() > 0.2


def test_domain_model_languages_are_those_it_was_trained_on():
    pt = [
        "O produto chegou muito rápido e a qualidade é ótima, recomendo a todos",
        "Não recebi o pedido até agora e ninguém responde as minhas mensagens",
        "O produto é bom mas a entrega demorou mais do que o prazo",
    ]
    en = ["The dress arrived quickly and the quality is great, I recommend it"]
    texts = pt * 30 + en * 10
    labels = ["positive", "negative", "neutral"] * 30 + ["positive"] * 10
    m = DomainSentiment(random_state=0).fit(texts, labels)
    assert m.languages_ == ("pt",)
    assert m.header()["languages"] == ["pt"]
    assert m.predict([pt[1]])[0] == "negative"


def test_bootstrap_f1_matches_sklearn_and_pairs_the_difference():
    from sklearn.metrics import f1_score

    from cxray.text import f1_difference, macro_f1_estimate

    rng = np.random.default_rng(1)
    lab = np.array(LABELS, dtype=object)
    y = lab[rng.integers(0, 3, 400)]
    good = np.where(rng.random(400) < 0.7, y, lab[rng.integers(0, 3, 400)])
    bad = lab[rng.integers(0, 3, 400)]
    e = macro_f1_estimate(y, good, seed=3)
    assert e.estimate == pytest.approx(f1_score(y, good, average="macro"), abs=1e-12)
    assert e.ci_low < e.estimate < e.ci_high and e.n == 400 and "bootstrap" in e.method
    assert macro_f1_estimate(y, good, seed=3) == e  # seeded
    d = f1_difference(y, good, bad, seed=3)
    assert d.estimate == pytest.approx(
        f1_score(y, good, average="macro") - f1_score(y, bad, average="macro"), abs=1e-12
    )
    assert d.ci_low > 0.3
    same = f1_difference(y, good, good, seed=3)
    assert same.ci_low == same.ci_high == 0.0  # paired: identical scorers never differ
    with pytest.raises(ModelError, match="labels must be"):
        macro_f1_estimate(["good"], ["positive"])


def test_domain_model_bad_inputs(tmp_path):
    with pytest.raises(ModelError, match="not fitted"):
        DomainSentiment().predict(["x"])
    with pytest.raises(ModelError, match="at least two classes"):
        DomainSentiment().fit(["a", "b"], ["positive", "positive"])
    with pytest.raises(ModelError, match="labels must be"):
        DomainSentiment().fit(["a", "b"], ["good", "bad"])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a cxray sentiment model"):
        DomainSentiment.load(bad)
    with pytest.raises(ModelError, match="no model file"):
        DomainSentiment.load(tmp_path / "missing.npz")


def test_evaluation_uses_a_fixed_split():
    texts, labels = _toy(600)
    tr1, te1 = holdout_split(labels, random_state=5)
    _tr2, te2 = holdout_split(labels, random_state=5)
    assert np.array_equal(te1, te2) and not set(tr1) & set(te1)
    ev = evaluate_sentiment(texts, labels, random_state=5)
    assert ev.n_test == len(te1) and ev.n_train == len(tr1)
    assert ev.f1_domain > ev.f1_default and ev.beats_baseline
    assert ev.difference.estimate == pytest.approx(ev.gain)
    assert ev.domain_f1.ci_low <= ev.f1_domain <= ev.domain_f1.ci_high
    assert ev.per_class["domain"]["neutral"] > 0.5 and 0 <= ev.brier < 1
    assert ev.to_dict()["gain"] == pytest.approx(ev.gain, abs=1e-4)
    with pytest.raises(ModelError, match="too little labelled text"):
        evaluate_sentiment(texts[:10], labels[:10])


def test_char_ngram_counts_match_scikit_learns_char_wb():
    from sklearn.feature_extraction.text import CountVectorizer

    from cxray.text._domain import _CharCounter

    texts = [
        "Runs SMALL, sent it back!",
        "",
        "a",
        "I  am\tok\nthanks",
        "ÉCOLE ça déçu 😀 emoji",
        "O produto chegou rápido",
        "x y z",
    ] * 3
    cv = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit(texts[:5])
    vocab = np.empty(len(cv.vocabulary_), dtype=object)
    for term, j in cv.vocabulary_.items():
        vocab[j] = term
    mine = _CharCounter(vocab, (2, 5)).transform(texts)
    assert abs(mine - cv.transform(texts)).sum() == 0
    three = CountVectorizer(analyzer="char_wb", ngram_range=(4, 5)).fit(texts)
    vocab = np.empty(len(three.vocabulary_), dtype=object)
    for term, j in three.vocabulary_.items():
        vocab[j] = term
    short = _CharCounter(vocab, (4, 5)).transform(texts)  # " a " counts once, whole
    assert abs(short - three.transform(texts)).sum() == 0
