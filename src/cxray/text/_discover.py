"""Discovered themes: recurring experiences found without a taxonomy, with stable ids.

Method (all seeded, nothing downloaded):

1. **cleaning** (:func:`clean_for_themes`): @handles, URLs, e-mail addresses, the
   ``[email]``/``[phone]``/``[card]`` placeholders of redaction, a retweet's ``RT``,
   the hashtags that end a post (tags, not content), reference numbers with their
   label ("ref 4839201", "case #58213", "ticket no. 12", "account ending 4421"),
   other numbers and the ``#`` of hashtags inside a sentence are removed, so a theme
   cannot be a handle, a link, a tag or an order number, and a retweeted text becomes
   one distinct text;
2. the distinct cleaned texts are sorted, so the row order of the store does not
   matter (texts that differ only by what cleaning removed, such as retweets, count
   once); above ``max_fit`` of them a seeded sample is taken for fitting;
3. **names out** (:func:`proper_nouns`): a word written with a capital inside a
   sentence in more than half of at least three such occurrences is a name (a
   city, hotel, brand or product) and is not a term; so are the stop words of
   the corpus's languages (:func:`corpus_stop_words`: the languages of at least
   10 % of a sample of texts, detected by :func:`cxray.text._language.detect_languages`;
   English stop words always) and the courtesies and contraction pieces of
   :data:`FILLER` ("thanks", "please", "didn"), except the negations and time
   words of :data:`KEEP` ("não", "never", "still", "antes"), which carry what a
   complaint is about but never start or end a label; with ``groups`` (the author of
   each text: a mention's author, a response's customer), a term found in at least
   three texts of which more than half come from one group is out too
   (:func:`concentrated_terms`: one customer's hotel, product or pet name);
4. words of two or more letters, unigrams and bigrams, sublinear TF-IDF,
   terms in at least ``min_df`` texts and at most half of them;
5. non-negative matrix factorization (NMF, ``nndsvda`` start, seeded) into
   ``n_themes`` topics, then **near-duplicates merged** (:func:`merge_topics`): two
   topics whose term vectors have a cosine above :data:`MERGE_COSINE` (0.35), or that
   share their heaviest term, become one theme (weights added), so "thanks" or
   "refund" cannot be split in two; every text goes to the theme it weighs most on,
   each theme's term vector scaled to unit length (a text with no known term goes to
   none);
6. a theme's **label** is its most distinctive phrase: the heaviest bigram or
   trigram weighing at least 30 % of the theme's heaviest term, written as it
   most often reads in the theme's texts ("waited on hold", "lost luggage");
   without one, its two heaviest words; no two themes share a label. Its **terms**
   are the ten heaviest terms;
7. its **quotes** (exemplars) are central and readable: texts of 8 to 60 words,
   not written in capitals, mostly words rather than handles or links,
   de-duplicated, ranked by the text's weight on the theme (relative to its
   strongest) times the cosine between the text and the theme's term vector;
   shorter or noisier texts only fill up when too few qualify.

**Stable ids.** A theme's id is ``t-`` + the first 8 hex digits of the SHA-1 of
its five heaviest terms, sorted and joined with ``|``. It depends on what the
theme is about, not on the position NMF gave it, so the same data and seed give
the same ids, in any row order; a re-run on slightly changed data keeps the id
of every theme whose top five terms did not change.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxray.exceptions import ModelError

__all__ = [
    "FILLER",
    "KEEP",
    "MERGE_COSINE",
    "DiscoveredTheme",
    "clean_for_themes",
    "concentrated_terms",
    "corpus_stop_words",
    "discover_themes",
    "proper_nouns",
    "theme_id",
]

_TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"
#: two topics whose term vectors have a cosine above this are one theme
MERGE_COSINE = 0.35
#: courtesies, chat filler and the pieces tokenization leaves of English contractions
FILLER = frozenset(
    [
        "thanks",
        "thank",
        "thx",
        "ty",
        "pls",
        "plz",
        "please",
        "hi",
        "hello",
        "hey",
        "dear",
        "lol",
        "omg",
        "amp",
        "rt",
        "dm",
        "pm",
        "ok",
        "okay",
        "yes",
        "yeah",
        "just",
        "really",
        "got",
        "get",
        "gets",
        "getting",
        "im",
        "ive",
        "id",
        "ill",
        "youre",
        "dont",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "weren",
        "aren",
        "couldn",
        "wouldn",
        "shouldn",
        "won",
        "haven",
        "hasn",
        "hadn",
        "ll",
        "ve",
        "re",
        "cant",
        "wont",
    ]
)
#: words that some stop-word lists hold but that carry what a complaint is about: negations
#: and time ("não recebi", "still waiting", "before the deadline"); they stay terms, but a
#: label never starts or ends with one (a negation may start a phrase)
KEEP = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "without",
        "before",
        "after",
        "still",
        "again",
        "late",
        "early",
        "não",
        "nao",
        "nunca",
        "nada",
        "sem",
        "nem",
        "antes",
        "depois",
        "ainda",
        "já",
        "ja",
        "recebi",
        "chegou",
        "dia",
        "dias",
        "prazo",
        "nunca",
        "sin",
        "todavía",
        "después",
        "pas",
        "jamais",
        "sans",
        "avant",
        "après",
        "encore",
        "nicht",
        "kein",
        "keine",
        "nie",
        "ohne",
        "noch",
    ]
)
NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "não",
        "nao",
        "nunca",
        "sem",
        "nem",
        "sin",
        "pas",
        "jamais",
        "nicht",
        "kein",
        "keine",
    ]
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_PLACEHOLDER = re.compile(r"\[(?:email|phone|card|name|url)\]", re.IGNORECASE)
_RT = re.compile(r"(?<!\w)RT\b:?")
_NUMBER = re.compile(r"\b\w*\d[\w.,:/-]*")
#: a reference number with its label: "ref 4839201", "case #58213", "ticket no. 12",
#: "booking reference AB12CD", "account ending 4421", "card ending in 12"
_REFERENCE = re.compile(
    r"\b(?:(?:ref|reference|case|ticket|booking|confirmation|pnr|conf)\b\.?"
    r"(?:\s*(?:no\b\.?|number|num\b|nr\b\.?|code|id))?|ending(?:\s+in)?|no\b\.?|nr\b\.?|num\b\.?)"
    r"\s*[:#]?\s*(?=\w*\d)\w+",
    re.IGNORECASE,
)
#: hashtags that end a post (after its last word that is not one): tags, not content
_TRAILING_TAGS = re.compile(r"(?:\s*#\w+)+\W*$")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_][\w'-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"(]\s*)$")


def theme_id(terms: Sequence[str]) -> str:
    """The stable id of a theme from its heaviest terms (the first five are used)."""
    key = "|".join(sorted(terms[:5]))
    return "t-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class DiscoveredTheme:
    id: str
    label: str
    terms: tuple[str, ...]
    #: index of the texts (in the caller's order) that represent it, best first
    exemplars: tuple[int, ...] = field(default=())


def clean_for_themes(text: str | None) -> str:
    """A text without handles, links, e-mail addresses, placeholders, ``RT``, trailing
    hashtags, reference numbers and their label, numbers, ``#``."""
    if not isinstance(text, str):
        return ""
    t = _URL.sub(" ", text)
    t = _EMAIL.sub(" ", t)
    t = _HANDLE.sub(" ", t)
    t = _PLACEHOLDER.sub(" ", t)
    t = _RT.sub(" ", t)
    t = _TRAILING_TAGS.sub(" ", t)
    t = _REFERENCE.sub(" ", t)
    t = _NUMBER.sub(" ", t)
    t = t.replace("#", " ").replace("&amp;", "&")
    return _SPACES.sub(" ", t).strip()


def proper_nouns(texts: Sequence[str], *, min_count: int = 3) -> frozenset[str]:
    """Words (lower-cased) written with a capital inside a sentence in most of their uses.

    Only uses that do not start a sentence count; a word needs ``min_count`` of them;
    all-capital words (shouting, acronyms) count as neither. Place, brand, hotel and
    product names come out; ordinary words written in capitals at a sentence's start
    do not.
    """
    seen: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for t in texts:
        for m in _WORD.finditer(t):
            w = m.group(0)
            if w.isupper() and len(w) > 1:
                continue
            if _SENTENCE_START.search(t[max(0, m.start() - 3) : m.start()]):
                continue
            low = w.lower()
            seen[low] += 1
            if w[0].isupper():
                capital[low] += 1
    return frozenset(w for w, n in seen.items() if n >= min_count and capital[w] * 2 > n)


def corpus_stop_words(texts: Sequence[str], *, sample: int = 2_000, min_share: float = 0.1):
    """Stop words of the languages of at least ``min_share`` of (a sample of) the texts.

    English stop words always (scikit-learn's list), with :data:`FILLER`; other languages'
    from :func:`cxray.text._language.stopwords`. Returns ``(words, language codes)``.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = set(ENGLISH_STOP_WORDS) | FILLER
    codes: list[str] = []
    try:
        from cxray.text._language import detect_languages, stopwords
    except ImportError:  # pragma: no cover - the language module ships with cxray
        return frozenset(words), ["en"]
    step = max(1, len(texts) // sample)
    got = Counter(str(c) for c in detect_languages(list(texts[::step])) if c and c != "und")
    total = sum(got.values())
    for code, n in got.most_common():
        if total and n / total >= min_share:
            codes.append(code)
            words |= {w.lower() for w in stopwords(code)}
            # accents are often left out in feedback ("nao", "voce")
            words |= {_strip_accents(w.lower()) for w in stopwords(code)}
    return frozenset(words), codes or ["en"]


def _strip_accents(word: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def concentrated_terms(x: Any, groups: Sequence[Any], *, min_texts: int = 3) -> np.ndarray:
    """Columns of ``x`` (texts x terms) whose texts come more than half from one group.

    Only terms in at least ``min_texts`` texts are judged; texts without a group count
    as groups of their own. With fewer than five groups nothing is concentrated.
    """
    import pandas as pd
    from scipy import sparse

    codes, uniques = pd.factorize(pd.Series(list(groups), dtype=object), use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if len(uniques) < 5:
        return np.zeros(x.shape[1], dtype=bool)
    alone = np.flatnonzero(codes < 0)
    codes[alone] = len(uniques) + np.arange(alone.size)
    present = (x > 0).astype(np.int64).tocsr()
    g = sparse.csr_matrix(
        (np.ones(len(codes), dtype=np.int64), (codes, np.arange(len(codes)))),
        shape=(int(codes.max()) + 1, len(codes)),
    )
    per_group = (g @ present).tocsc()
    total = np.asarray(present.sum(axis=0)).ravel()
    top = np.asarray(per_group.max(axis=0).todense()).ravel()
    return (total >= min_texts) & (top * 2 > total)


def distinct_texts(texts: Sequence[str | None], n_themes: int) -> tuple[list[str], list[str]]:
    """The texts stripped (``""`` for none) and their distinct non-empty values, sorted."""
    clean = [t.strip() if isinstance(t, str) else "" for t in texts]
    distinct = sorted({t for t in clean if t})
    if len(distinct) < max(2 * n_themes, 10):
        raise ModelError(
            f"{len(distinct)} distinct texts are too few to discover {n_themes} themes; "
            "use the taxonomy (--source taxonomy)"
        )
    return clean, distinct


def fit_sample(n: int, max_fit: int, random_state: int) -> np.ndarray:
    """Indices (sorted) of the distinct texts a model is fitted on: all, or a seeded sample."""
    if n <= max_fit:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=max_fit, replace=False))


def themes_and_rows(
    clean: list[str],
    distinct: list[str],
    found: list[tuple[tuple[str, ...], np.ndarray]],
    best: np.ndarray,
    labels: Sequence[str] | None = None,
) -> tuple[list[DiscoveredTheme], list[tuple[str, ...]]]:
    """Themes from ``(terms, exemplar indices into distinct)`` and each row's theme.

    ``best[i]`` is the theme index of ``distinct[i]`` (negative: none). Ids come
    from the terms (:func:`theme_id`); two themes with the same top terms are
    kept apart by an ``x`` suffix. Without ``labels``, a label is the three
    heaviest terms.
    """
    ids, seen = [], set()
    for terms, _ in found:
        tid = theme_id(terms) if terms else theme_id((f"theme {len(ids)}",))
        while tid in seen:
            tid += "x"
        seen.add(tid)
        ids.append(tid)
    index = {t: i for i, t in enumerate(distinct)}
    per_distinct = [(ids[b],) if b >= 0 else () for b in best]
    assigned = [per_distinct[index[t]] if t else () for t in clean]
    first_row: dict[str, int] = {}
    for i, t in enumerate(clean):
        if t and t not in first_row:
            first_row[t] = i
    out = [
        DiscoveredTheme(
            tid,
            (labels[j] if labels else " / ".join(terms[:3])) if terms else tid,
            terms,
            tuple(first_row[distinct[i]] for i in top),
        )
        for j, (tid, (terms, top)) in enumerate(zip(ids, found, strict=True))
    ]
    return out, assigned


def theme_vectorizer(texts: Sequence[str], stop: frozenset[str], *, min_df: int) -> Any:
    """The TF-IDF vectorizer of discovery: words and bigrams without ``stop``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        token_pattern=_TOKENS,
        # stop words as the tokenizer cuts them ("don't" -> "don")
        stop_words=sorted({t for w in stop for t in re.findall(_TOKENS, w.lower())}),
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min(min_df, max(1, len(texts) // 100)),
        max_df=0.5,
        max_features=30_000,
        dtype=np.float64,
    )


def merge_topics(components: np.ndarray, n_themes: int) -> list[list[int]]:
    """Groups of topic indexes, merged greedily by the cosine of their term vectors.

    The most alike pair merges (term weights added) while more than ``n_themes``
    groups remain, or two groups have a cosine above :data:`MERGE_COSINE`, or share
    their heaviest term. Groups come out in order of their first topic.
    """
    groups = [[j] for j in range(len(components))]
    vecs = [components[j].astype(float) for j in range(len(components))]
    while len(groups) > 1:
        unit = np.vstack([v / max(np.linalg.norm(v), 1e-12) for v in vecs])
        sim = unit @ unit.T
        np.fill_diagonal(sim, -1.0)
        tops = np.array([int(v.argmax()) for v in vecs])
        same_top = tops[:, None] == tops[None, :]
        np.fill_diagonal(same_top, False)
        a, b = np.unravel_index(int(sim.argmax()), sim.shape)
        if same_top.any():
            a, b = (int(x) for x in np.argwhere(same_top)[0])
        elif len(groups) <= n_themes and sim[a, b] <= MERGE_COSINE:
            break
        a, b = min(a, b), max(a, b)
        groups[a] += groups.pop(b)
        vecs[a] = vecs[a] + vecs.pop(b)
    return groups


def surface_form(phrase: str, texts: Sequence[str], stop: frozenset[str]) -> str:
    """How a phrase of non-stop words most often reads in ``texts`` ("waited hold" →
    "waited on hold"): the words in order with at most two stop words between them."""
    parts = phrase.split()
    gap = r"(?:\s+[^\W\d_]+){0,2}?\s+"
    pattern = re.compile(
        r"\b" + gap.join(re.escape(p) for p in parts) + r"\b", re.IGNORECASE | re.UNICODE
    )
    seen: Counter[str] = Counter()
    for t in texts:
        for m in pattern.finditer(t):
            form = _SPACES.sub(" ", m.group(0).lower())
            inner = [w for w in form.split() if w not in parts]
            if all(w in stop for w in inner):
                seen[form] += 1
    if not seen:
        return phrase
    return min(seen.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0]


def _labelable(term: str, stop: frozenset[str]) -> bool:
    """A term that can name a theme: not a stop word; a phrase neither starting (but for a
    negation) nor ending with one."""
    words = term.split()
    if words[-1] in stop or words[-1] in KEEP:
        return False
    return words[0] not in stop or words[0] in NEGATIONS or len(words) == 1


def _label(
    weights: np.ndarray, vocab: np.ndarray, texts: Sequence[str], stop: frozenset[str], used: set
) -> str:
    order = np.lexsort((vocab, -weights))
    top = float(weights[order[0]]) if len(order) else 0.0
    for i in order[:40]:
        term = str(vocab[i])
        if weights[i] < 0.3 * top or weights[i] <= 0:
            break
        if " " in term and _labelable(term, stop):
            label = surface_form(term, texts, stop)
            if label not in used and not any(label in u or u in label for u in used):
                return label
    words = [
        str(vocab[i])
        for i in order[:20]
        if " " not in str(vocab[i]) and weights[i] > 0 and _labelable(str(vocab[i]), stop)
    ]
    label = " / ".join(words[:2]) if words else ""
    while label in used and words:
        words = words[1:]
        label = " / ".join(words[:2])
    return label


def readable(text: str) -> bool:
    """8 to 60 words, not written in capitals, mostly words rather than handles or links."""
    toks = text.split()
    if not 8 <= len(toks) <= 60:
        return False
    letters = "".join(filter(str.isalpha, text))
    if letters and sum(map(str.isupper, letters)) > 0.6 * len(letters):
        return False
    noise = sum(1 for t in toks if t.startswith(("@", "#", "http", "www")))
    return noise <= 0.25 * len(toks)


def pick_quotes(
    candidates: np.ndarray, score: np.ndarray, texts: Sequence[str], n: int
) -> np.ndarray:
    """Up to ``n`` of ``candidates`` (indexes into ``texts``), highest ``score`` first, readable
    ones before the rest, no two alike once lower-cased and cleaned."""
    order = candidates[np.lexsort((candidates, -score))]
    good = [i for i in order if readable(texts[i])]
    rest = [i for i in order if not readable(texts[i])]
    rest.sort(key=lambda i: -min(len(texts[i].split()), 8))  # stable: longer, up to 8 words
    out, keys = [], set()
    for i in good + rest:
        key = _SPACES.sub(" ", clean_for_themes(texts[i]).lower())
        if key in keys:
            continue
        keys.add(key)
        out.append(int(i))
        if len(out) >= n:
            break
    return np.asarray(out, dtype=np.int64)


def discover_themes(
    texts: Sequence[str | None],
    *,
    n_themes: int = 8,
    random_state: int = 0,
    max_fit: int = 20_000,
    min_df: int = 3,
    n_exemplars: int = 5,
    groups: Sequence[Any] | None = None,
) -> tuple[list[DiscoveredTheme], list[tuple[str, ...]]]:
    """Find up to ``n_themes`` recurring themes; return them and each text's theme (or none).

    ``groups``: the author of each text (same length as ``texts``), to leave out terms
    that mostly one author uses.
    """
    from sklearn.decomposition import NMF
    from sklearn.preprocessing import normalize

    clean, distinct = distinct_texts(texts, n_themes)
    cleaned = [clean_for_themes(t) for t in distinct]
    # texts that differ only by handles, links or numbers (retweets) are fitted once
    ukeys = sorted({c for c in cleaned if c})
    if len(ukeys) < max(2 * n_themes, 10):
        raise ModelError(
            f"{len(ukeys)} distinct texts (without handles, links and numbers) are too few to "
            f"discover {n_themes} themes; use the taxonomy (--source taxonomy)"
        )
    where = {c: i for i, c in enumerate(ukeys)}
    to_u = np.array([where.get(c, -1) for c in cleaned], dtype=np.int64)
    fit_idx = fit_sample(len(ukeys), max_fit, random_state)
    fit_on = [ukeys[i] for i in fit_idx]
    stop, _ = corpus_stop_words(fit_on)
    stop = stop | proper_nouns(fit_on)
    vec = theme_vectorizer(fit_on, stop - KEEP, min_df=min_df)
    x_fit = vec.fit_transform(fit_on)
    keep = None
    if groups is not None:
        if len(groups) != len(texts):
            raise ModelError(f"groups has {len(groups)} values for {len(texts)} texts")
        cleaned_of = dict(zip(distinct, cleaned, strict=True))
        first: dict[str, Any] = {}
        for t, g in zip(clean, groups, strict=True):
            key = cleaned_of.get(t) if t else None
            if key and key not in first:
                first[key] = g
        drop = concentrated_terms(x_fit, [first[k] for k in fit_on])
        if drop.any():
            keep = (~drop).astype(np.float64)
            x_fit = normalize(x_fit.multiply(keep).tocsr())
    if x_fit.shape[1] < n_themes:
        raise ModelError(f"only {x_fit.shape[1]} distinct terms; too few for {n_themes} themes")
    k = min(n_themes, x_fit.shape[1], x_fit.shape[0])
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=400)
    nmf.fit(x_fit)
    vocab = vec.get_feature_names_out()
    merged = merge_topics(nmf.components_, n_themes)
    comps = np.vstack([nmf.components_[g].sum(axis=0) for g in merged])
    # every distinct cleaned text once, then mapped back to the texts and the caller's rows
    x = vec.transform(ukeys)
    if keep is not None:
        x = normalize(x.multiply(keep).tocsr())
    w_raw = nmf.transform(x)
    # a text's weight on a theme, with the theme's term vector scaled to unit length (NMF
    # leaves the scale between the two factors free)
    w_raw = w_raw * np.linalg.norm(nmf.components_, axis=1)
    w = np.column_stack([w_raw[:, g].sum(axis=1) for g in merged])
    best_u = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    best = np.where(to_u >= 0, best_u[np.maximum(to_u, 0)], -1)
    # centrality: the text's weight on its theme relative to its strongest, times the cosine
    # of the text's TF-IDF vector (unit length) with the theme's term vector
    unit = comps / np.maximum(np.linalg.norm(comps, axis=1, keepdims=True), 1e-12)
    cos = np.asarray(x @ unit.T)
    rel = w / np.maximum(w.max(axis=1, keepdims=True), 1e-12)
    found, labels, used = [], [], set()
    for j, comp in enumerate(comps):
        order = np.lexsort((vocab, -comp))  # heaviest first, ties by term
        terms = tuple(str(vocab[i]) for i in order[:10] if comp[i] > 0)
        mine = np.flatnonzero(best == j)
        u = to_u[mine]
        quotes = pick_quotes(mine, rel[u, j] * cos[u, j], distinct, n_exemplars)
        found.append((terms, quotes))
        theirs = np.flatnonzero(best_u == j)[:500]
        label = _label(comp, vocab, [ukeys[i] for i in theirs], stop, used)
        used.add(label)
        labels.append(label)
    return themes_and_rows(clean, distinct, found, best, labels)
