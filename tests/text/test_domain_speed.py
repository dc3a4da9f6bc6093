"""The domain model's fast scoring computes exactly the features it was defined with.

``DomainSentiment`` counts its word and ``char_wb`` n-grams itself (once per distinct word
of a batch) and scores from the counts without building the normalized matrix; these
tests hold it to scikit-learn's analyzers and to the plain TF-IDF formula, and check that
it is faster than scikit-learn's analyzers on real reviews.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from cxray.text import DomainSentiment
from cxray.text._domain import _TOKENS, _CharCounter, _WordCounter, _Words

TRICKY = [
    "Runs SMALL, sent it back!  Runs small.",
    "",
    "   ",
    "a",
    "I  am\tok\nthanks\r\nit's the dogs' toys",
    "well-made (really) well-made... 'quoted' l'été",
    "ÉCOLE ça déçu 😀 emoji İstanbul ǅemal ß",
    "O produto chegou rápido, recomendo!! o produto",
    "x y z x y z x y z",
    "under_score snake_case 123 4.5 a1b2",
    "don't don't don't stop",
]


def _vocab(cv: CountVectorizer) -> np.ndarray:
    vocab = np.empty(len(cv.vocabulary_), dtype=object)
    for term, j in cv.vocabulary_.items():
        vocab[j] = term
    return vocab


@pytest.mark.parametrize("ngrams", [(1, 2), (1, 1), (2, 2), (1, 3)])
def test_word_counts_match_scikit_learn(ngrams):
    cv = CountVectorizer(token_pattern=_TOKENS, ngram_range=ngrams).fit(TRICKY[:7])
    mine = _WordCounter(_vocab(cv), ngrams).transform(TRICKY * 2)
    want = cv.transform(TRICKY * 2)
    assert mine.shape == want.shape and want.sum() > 20
    assert abs(mine - want).sum() == 0


@pytest.mark.parametrize("ngrams", [(2, 5), (1, 3), (3, 3)])
def test_char_counts_match_scikit_learn_and_share_words(ngrams):
    cv = CountVectorizer(analyzer="char_wb", ngram_range=ngrams).fit(TRICKY[:8])
    counter = _CharCounter(_vocab(cv), ngrams)
    words = _Words(TRICKY * 2)
    # each distinct word once: "runs" of two texts and both "x" of text 9 are one row
    assert len(words.distinct) == len(set(" ".join(TRICKY).lower().split()))
    assert len(words.row) == sum(len(t.split()) for t in TRICKY) * 2
    mine = counter.transform(words)
    assert abs(mine - cv.transform(TRICKY * 2)).sum() == 0
    which, per_word = counter.factors(words)
    assert which.shape == (len(TRICKY) * 2, len(words.distinct))
    assert abs((which @ per_word) - mine).sum() == 0


def _reference_logits(m: DomainSentiment, texts: list[str]) -> np.ndarray:
    """Normalized sublinear TF-IDF of scikit-learn's counts, times the coefficients."""
    blocks = []
    for kind, extra in (
        ("word", {"ngram_range": tuple(m.word_ngrams), "token_pattern": _TOKENS}),
        ("char", {"analyzer": "char_wb", "ngram_range": tuple(m.char_ngrams)}),
    ):
        vocab = getattr(m, f"{kind}_vocab_")
        cv = CountVectorizer(vocabulary={t: j for j, t in enumerate(vocab)}, **extra)
        x = cv.transform(texts).astype(np.float64).toarray()
        x[x > 0] = 1.0 + np.log(x[x > 0])
        x *= getattr(m, f"{kind}_idf_")
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        blocks.append(x / np.where(norm == 0, 1.0, norm))
    return np.hstack(blocks) @ m.coef_.astype(np.float64).T + m.intercept_


def _small_model() -> tuple[DomainSentiment, list[str]]:
    rng = np.random.default_rng(5)
    good = ["great", "lovely", "perfect", "comfy", "soft", "happy"]
    bad = ["awful", "ripped", "itchy", "small", "returned", "broken"]
    meh = ["okay", "fine", "average", "plain"]
    filler = ["the", "dress", "shirt", "fit", "fabric", "color", "it", "is", "was", "and", "but"]
    texts, labels = [], []
    for _ in range(300):
        label = rng.choice(["positive", "negative", "neutral"])
        pool = {"positive": good, "negative": bad, "neutral": meh}[label]
        words = list(rng.choice(filler, 6)) + list(rng.choice(pool, 2)) * int(rng.integers(1, 3))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "", "!!"]))
        labels.append(label)
    return DomainSentiment(random_state=0).fit(texts, labels), texts


def test_scores_equal_the_tf_idf_formula_in_any_batch_size(tmp_path):
    m, texts = _small_model()
    probe = texts[:40] + TRICKY + ["great great great GREAT", "awful, awful; awful"]
    want = _reference_logits(m, probe)
    got = m.decision_function(probe)
    assert np.abs(got - want).max() < 1e-9
    # repeated words (counts of 2 and more) take the sublinear path: they are in here
    counts = _CharCounter(m.char_vocab_, m.char_ngrams).transform(probe)
    assert counts.max() >= 3
    small = DomainSentiment.load(m.save(tmp_path / "m.npz"))
    small.batch_size = 7
    assert np.abs(small.decision_function(probe) - want).max() < 1e-9
    assert small.decision_function([]).shape == (0, len(m.classes_))
    # the training features are the same formula, block by block
    x = m._features(probe).toarray()
    n_words = len(m.word_vocab_)
    assert np.allclose(np.linalg.norm(x[:40, :n_words], axis=1), 1.0)
    assert np.abs(x @ m.coef_.astype(np.float64).T + m.intercept_ - want).max() < 1e-9


def test_an_empty_or_unknown_text_scores_the_intercept():
    m, _ = _small_model()
    z = m.decision_function(["", "   ", None, "qqqq zzzz"])
    assert np.allclose(z[:3], m.intercept_)
    assert np.abs(z[3] - _reference_logits(m, ["qqqq zzzz"])[0]).max() < 1e-9


def test_scoring_is_several_times_faster_than_scikit_learns_analyzers():
    from benchmarks.text_sentiment import REVIEWS, load_reviews

    if not REVIEWS.exists():
        pytest.skip(f"needs the shared review data at {REVIEWS} (absent here)")
    texts, labels = load_reviews()
    m = DomainSentiment(random_state=0, calibration_size=0.0).fit(texts[:400], labels[:400])
    probe = texts[1000:3000]
    m.decision_function(probe[:10])  # tables are built on first use

    def cpu(fn) -> float:
        t0 = time.process_time()
        fn()
        return time.process_time() - t0

    ours = min(cpu(lambda: m.decision_function(probe)) for _ in range(2))
    theirs = cpu(lambda: _sklearn_counts(m, probe))
    assert np.abs(m.decision_function(probe[:200]) - _reference_logits(m, probe[:200])).max() < 1e-9
    # scikit-learn's counting alone (no TF-IDF, no product) takes several times longer
    assert theirs > 3 * ours, (ours, theirs)


def _sklearn_counts(m: DomainSentiment, texts: list[str]) -> list[sp.csr_matrix]:
    out = []
    for kind, extra in (
        ("word", {"ngram_range": tuple(m.word_ngrams), "token_pattern": _TOKENS}),
        ("char", {"analyzer": "char_wb", "ngram_range": tuple(m.char_ngrams)}),
    ):
        vocab = getattr(m, f"{kind}_vocab_")
        cv = CountVectorizer(vocabulary={t: j for j, t in enumerate(vocab)}, **extra)
        out.append(cv.transform(texts))
    return out
