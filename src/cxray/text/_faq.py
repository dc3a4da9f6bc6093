"""Self-service gaps: the questions customers keep asking, grouped into FAQ candidates.

**Which texts are questions** (:func:`question_mask`, vectorized: one RE2 pass of
Arrow over all texts per rule set). A text asks something when it has

* a question mark (``?``, also ``¿``);
* an interrogative opening at the start of the text or of a sentence: *how,
  what, where, when, why, which, who, can/could/would/will/should I|you|we,
  is/are/do/does/did there|it|my|I|you, is it possible*;
* request phrasing anywhere: *I need to, I want to, I'd / I would like to,
  please help, help me, unable to, not able to, can't / cannot find, how to,
  is there a way, trying to*.

Portuguese, Spanish, German and French have their own openings and request
phrases (*como, onde, por que, preciso, não consigo*; *cómo, dónde, necesito,
no puedo*; *wie, wo, warum, ich möchte, kann ich*; *comment, où, pourquoi,
je voudrais, impossible de*), applied to the texts detected in that language
(the language enrichment stored with each text's sentiment, else
:func:`cxray.text._language.detect_languages`); every text gets the English rules and
the question mark.

**Grouping** (:func:`group_questions`): a case is its subject and the question
sentences of its description; other texts their question sentences (the whole
text when the question is not a sentence of its own). Handles, URLs, e-mail
addresses and numbers are removed; words of two or more letters, lightly stemmed
(``arrives``/``arrived`` -> ``arriv``; labels show the commonest spelling), unigrams
and bigrams, sublinear TF-IDF, the stop words of every language present
(:func:`cxray.text._language.stopwords`) and words of asking (:data:`FILLER`:
*know, need, want, please, help, thanks...*). The distinct texts are sorted; above
``max_fit`` a seeded sample is fitted. Latent semantic analysis (truncated SVD,
seeded, 150 dimensions) and average-linkage agglomerative clustering on cosine
distance with a distance threshold (0.5) find many small groups, one per
intent; every other text goes to its nearest group centroid when its cosine
similarity is at least ``1 − threshold``. Groups whose mean TF-IDF vectors have a
cosine of at least ``merge_at`` (0.5) are merged (near-duplicate intents). Groups
of fewer than ``min_size`` texts (rows, not distinct texts) are dropped.

A group's **label** is its most distinctive phrase as its texts write it
(:func:`phrase_label`): a run of up to four words of its texts, neither starting nor
ending with a stop word, a word of asking or a contraction's piece ("forgot my
password", "change my pin"), scored by the share of the group's texts that hold it
times the share of its uses inside the group; a single word (four letters or more)
only when no phrase qualifies and half of its texts are in the group; else the
representative question, shortened. Labels are distinct. Its **id** is ``q-`` + the
first 8 hex digits of the SHA-1 of its five heaviest terms, sorted (stable like a
discovered theme's id). Its **examples** are the readable texts (20–240 characters)
nearest its centroid.

**Measures** (:func:`faq_candidates`): volume (question texts in the group),
share of all question texts with a Wilson interval, volume per period (months
or ISO weeks, program time zone), the change of share from the period before
the last to the last (two-proportion z test, Benjamini–Hochberg across the
candidates); *rising* is a significant rise. With a knowledge base
(:mod:`cxray.text._kb`) each candidate gets its best article and whether it is
covered. Candidates are sorted **gaps first**: not covered, then rising, then
by volume.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxray import stats
from cxray.config import ProgramConfig
from cxray.exceptions import QueryError
from cxray.store import Store
from cxray.text._enrich import TEXT_FIELDS
from cxray.text._kb import COVERED_AT, Coverage, kb_articles, kb_version, match_articles
from cxray.text._redact import redactor

__all__ = [
    "FAQ_TABLES",
    "FaqCandidate",
    "FaqGroups",
    "FaqReport",
    "cached_faq",
    "faq_candidates",
    "group_questions",
    "question_mask",
]

Period = Literal["week", "month"]
FAQ_TABLES = ("cases", "mentions", "responses")
_TIME = {"responses": "submitted_at", "cases": "opened_at", "mentions": "posted_at"}
_TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"

_EN_OPEN = (
    r"how|what|where|when|why|which|who|whom|whose|"
    r"(?:can|could|would|will|should|may|might|shall)\s+(?:i|you|we|u|someone|anyone|my)|"
    r"(?:is|are|do|does|did|has|have|was|were)\s+(?:there|it|this|that|my|i|you|we|they)|"
    r"is\s+it\s+possible|any\s+(?:idea|way)"
)
_EN_ASK = (
    r"\bi\s+need\s+to\b|\bi\s+want\s+to\b|\bi'?d\s+like\s+to\b|\bi\s+would\s+like\s+to\b|"
    r"\bplease\s+help\b|\bhelp\s+me\b|\bunable\s+to\b|\bnot\s+able\s+to\b|"
    r"\b(?:can'?t|cannot|can\s+not|couldn'?t)\s+(?:find|figure|work\s+out|see)\b|"
    r"\bhow\s+to\b|\bis\s+there\s+a\s+way\b|\btrying\s+to\b"
)
#: per language: (interrogative openings, request phrasing)
_RULES: dict[str, tuple[str, str]] = {
    "en": (_EN_OPEN, _EN_ASK),
    "pt": (
        r"como|onde|quando|por\s*que|porque|qual|quais|quanto|é\s+possível|posso|pode|podem",
        r"\bpreciso\b|\bgostaria\s+de\b|\bquero\b|\bnão\s+consigo\b|\bajud[ae]\b|\bcomo\s+faço\b",
    ),
    "es": (
        r"cómo|como|dónde|donde|cuándo|por\s*qué|cuál|cuánto|es\s+posible|puedo|pueden",
        r"\bnecesito\b|\bquisiera\b|\bquiero\b|\bno\s+puedo\b|\bayuda\b|\bno\s+encuentro\b",
    ),
    "de": (
        r"wie|wo|wann|warum|wieso|welche[rsnm]?|was|kann\s+ich|können\s+sie|ist\s+es\s+möglich|gibt\s+es",
        r"\bich\s+möchte\b|\bich\s+brauche\b|\bbitte\s+helfen\b|\bhilfe\b|\bnicht\s+finden\b|"
        r"\bkann\s+nicht\b",
    ),
    "fr": (
        r"comment|où|quand|pourquoi|quel|quelle|quels|quelles|est-ce\s+que|puis-je|pouvez-vous",
        r"\bje\s+voudrais\b|\bj'ai\s+besoin\b|\bje\s+veux\b|\bimpossible\s+de\b|\baide[zr]?\b|"
        r"\bje\s+ne\s+trouve\s+pas\b",
    ),
}
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+\.\S+|@\w+|#\w+|\d+", flags=re.IGNORECASE | re.UNICODE
)
#: words of asking, not of what is asked: left out of grouping and labels
FILLER = frozenset(
    {
        "know",
        "need",
        "needs",
        "want",
        "wants",
        "like",
        "would",
        "help",
        "please",
        "thanks",
        "thank",
        "thx",
        "hi",
        "hello",
        "hey",
        "dear",
        "let",
        "tell",
        "couldn",
        "could",
        "possible",
        "way",
        "trying",
        "try",
        "able",
        "unable",
        "wondering",
        "wonder",
        "question",
        "advance",
        "cheers",
        "regards",
        "just",
        "ok",
        "okay",
        "sort",
        "asap",
        "urgent",
        "urgently",
        "kindly",
        "guys",
        "team",
        "anybody",
        "someone",
        "anyone",
        "somebody",
        "assist",
        "assistance",
        "info",
        "information",
        "explain",
    }
)
_SENTENCES = re.compile(r"(?<=[.!?¿¡])\s+|\n+")


def _rule(code: str) -> str:
    opening, ask = _RULES[code]
    return rf"\?|¿|(?:^|[.!?¡]\s+|\n)\W*(?:{opening})\b|{ask}"


def question_mask(
    texts: Sequence[str | None], languages: Sequence[str] | np.ndarray | None = None
) -> np.ndarray:
    """Which texts ask something (see the module for the rules); one bool per text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array([t if isinstance(t, str) else "" for t in texts], pa.string())
    out = pc.match_substring_regex(arr, _rule("en"), ignore_case=True).to_numpy(
        zero_copy_only=False
    )
    if languages is not None:
        langs = np.asarray(languages, dtype=object)
        for code in _RULES:
            if code == "en":
                continue
            idx = np.flatnonzero(langs == code)
            if idx.size:
                hit = pc.match_substring_regex(
                    arr.take(pa.array(idx)), _rule(code), ignore_case=True
                )
                out[idx] |= hit.to_numpy(zero_copy_only=False)
    return np.asarray(out, dtype=bool)


def question_focus(text: str, language: str = "en") -> str:
    """The question sentences of a text (all of it when no sentence asks on its own)."""
    return questions_of([text], [language])[0]


def questions_of(texts: Sequence[str], languages: Sequence[str]) -> list[str]:
    """:func:`question_focus` of many texts: every sentence of every text in one pass."""
    parts: list[str] = []
    owner: list[int] = []
    langs: list[str] = []
    for i, (t, lang) in enumerate(zip(texts, languages, strict=True)):
        for p in _SENTENCES.split(t):
            if p.strip():
                parts.append(p)
                owner.append(i)
                langs.append(lang)
    asks = question_mask(parts, langs) if parts else np.zeros(0, dtype=bool)
    kept: list[list[str]] = [[] for _ in texts]
    count = np.bincount(np.asarray(owner, dtype=int), minlength=len(texts))
    for p, i, q in zip(parts, owner, asks, strict=True):
        if q:
            kept[i].append(p)
    return [
        " ".join(k) if k and count[i] > 1 else t
        for i, (t, k) in enumerate(zip(texts, kept, strict=True))
    ]


def _clean(text: str) -> str:
    return _NOISE.sub(" ", text.lower())


# ---------------------------------------------------------------- grouping


@dataclass(frozen=True)
class FaqGroups:
    """Groups of texts: their ids, labels, terms, each text's group and the exemplars."""

    ids: list[str]
    labels: list[str]
    terms: list[tuple[str, ...]]
    #: group index per text (-1: none)
    assigned: np.ndarray
    #: per group, indices of texts nearest its centroid, nearest first
    nearest: list[np.ndarray]


def group_questions(
    texts: Sequence[str],
    *,
    random_state: int = 0,
    max_fit: int = 3_000,
    threshold: float = 0.5,
    n_components: int = 150,
    min_size: int = 3,
    merge_at: float = 0.5,
    stop_words: frozenset[str] | None = None,
) -> FaqGroups:
    """Group texts into recurring intents (see the module for the method)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    n = len(texts)
    empty = FaqGroups([], [], [], np.full(n, -1), [])
    clean = [_clean(t) if isinstance(t, str) else "" for t in texts]
    distinct = sorted({c.strip() for c in clean if c.strip()})
    if len(distinct) < max(2 * min_size, 4):
        return empty
    if stop_words is None:
        from cxray.text._language import stopwords

        stop_words = stopwords("en") | FILLER
    rng = np.random.default_rng(random_state)
    fit_idx = (
        np.arange(len(distinct))
        if len(distinct) <= max_fit
        else np.sort(rng.choice(len(distinct), size=max_fit, replace=False))
    )
    fit_on = [distinct[i] for i in fit_idx]
    analyzer = _Analyzer(_tokenized(stop_words))
    vec = TfidfVectorizer(
        analyzer=analyzer,
        sublinear_tf=True,
        min_df=2 if len(fit_on) >= 50 else 1,
        max_df=0.5,
        max_features=30_000,
        dtype=np.float64,
    )
    try:
        x_fit = vec.fit_transform(fit_on)
    except ValueError:  # no term left
        return empty
    vocab = vec.get_feature_names_out()
    k = min(n_components, x_fit.shape[1] - 1, len(fit_on) - 1)
    if k < 2:
        return empty
    svd = TruncatedSVD(n_components=k, random_state=random_state).fit(x_fit)
    z_fit = normalize(svd.transform(x_fit))
    ok = np.linalg.norm(z_fit, axis=1) > 0
    if ok.sum() < 2 * min_size:
        return empty
    labels = np.full(len(fit_on), -1)
    labels[ok] = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    ).fit_predict(z_fit[ok])
    labels = _merge_near(labels, x_fit, merge_at)
    # a group's size counts rows, not distinct texts: a question asked 9 times word for
    # word is a recurring question
    rows_of = pd.Series(clean).str.strip().value_counts()
    weight = rows_of.reindex(fit_on).fillna(0).to_numpy()
    found = [c for c in np.unique(labels) if c >= 0 and weight[labels == c].sum() >= min_size]
    if not found:
        return empty
    centroids = normalize(np.vstack([z_fit[labels == c].mean(axis=0) for c in found]))
    # every distinct text (fitted or not) to its nearest centroid, when near enough
    x_all = vec.transform(distinct)
    z_all = normalize(svd.transform(x_all))
    sims = z_all @ centroids.T
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(len(distinct)), best]
    best = np.where(best_sim >= 1.0 - threshold, best, -1)
    index = {t: i for i, t in enumerate(distinct)}
    per_text = np.array([best[index[c.strip()]] if c.strip() else -1 for c in clean], dtype=int)
    ids: list[str] = []
    names: list[str] = []
    terms_out: list[tuple[str, ...]] = []
    nearest: list[np.ndarray] = []
    keep: list[int] = []
    seen: set[str] = set()
    text_sim = np.array(
        [best_sim[index[c.strip()]] if c.strip() else -1.0 for c in clean], dtype=float
    )
    background = _phrase_counts(fit_on, stop_words)
    for j in range(len(found)):
        members = np.flatnonzero(best == j)
        if members.size < 1:
            continue
        weights = np.asarray(x_all[members].mean(axis=0)).ravel()
        order = np.lexsort((vocab, -weights))
        top = [str(vocab[i]) for i in order[:10] if weights[i] > 0]
        if not top:
            continue
        top = [analyzer.readable(t) for t in top]
        rows_j = np.flatnonzero(per_text == j)
        rows_j = rows_j[np.lexsort((rows_j, -text_sim[rows_j]))]
        label = phrase_label(
            [clean[i] for i in rows_j[:300]], background, stop_words, used=set(names)
        ) or _label(top, weights[order[: len(top)]])
        gid = "q-" + hashlib.sha1("|".join(sorted(top[:5])).encode("utf-8")).hexdigest()[:8]
        while gid in seen:
            gid += "x"
        seen.add(gid)
        rows = np.flatnonzero(per_text == j)
        rows = rows[np.lexsort((rows, -text_sim[rows]))]
        ids.append(gid)
        names.append(label)
        terms_out.append(tuple(top))
        nearest.append(rows)
        keep.append(j)
    remap = np.full(len(found) + 1, -1)
    for new, old in enumerate(keep):
        remap[old] = new
    assigned = np.where(per_text >= 0, remap[per_text], -1)
    return FaqGroups(ids, names, terms_out, assigned, nearest)


def _merge_near(labels: np.ndarray, x: Any, merge_at: float) -> np.ndarray:
    """Merge groups whose mean TF-IDF vectors have a cosine of ``merge_at`` or more
    (average linkage): near-duplicate intents ("refund" / "refund arrives") become one."""
    import scipy.sparse as sp
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.preprocessing import normalize

    ids = np.unique(labels[labels >= 0])
    if ids.size < 2:
        return labels
    # the groups' mean vectors stay sparse: their cosine distances as one sparse product
    # (dense rows over the whole vocabulary cost seconds per thousand groups)
    rows = np.flatnonzero(labels >= 0)
    pos = np.searchsorted(ids, labels[rows])
    member = sp.csr_matrix((np.ones(rows.size), (pos, rows)), shape=(ids.size, len(labels)))
    member = sp.diags(1.0 / np.asarray(member.sum(axis=1)).ravel()) @ member
    cent = normalize(sp.csr_matrix(member @ x))
    dist = 1.0 - (cent @ cent.T).toarray()
    np.fill_diagonal(dist, 0.0)
    dist = np.clip((dist + dist.T) / 2.0, 0.0, 2.0)
    merged = AgglomerativeClustering(
        n_clusters=None, distance_threshold=1.0 - merge_at, metric="precomputed", linkage="average"
    ).fit_predict(dist)
    out = labels.copy()
    for c, m in zip(ids, merged, strict=True):
        out[labels == c] = m
    return out


class _Analyzer:
    """Words (two or more letters, stop words out), lightly stemmed, and their bigrams.

    Remembers the commonest spelling of each stem, so that labels read as written.
    """

    def __init__(self, stop: set[str]):
        from collections import Counter, defaultdict

        from cxray.text._taxonomy import stem

        self.stop = stop
        self.stem = stem
        self.seen: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def __call__(self, doc: str) -> list[str]:
        stems = []
        for w in re.findall(_TOKENS, doc):
            if w in self.stop:
                continue
            s = self.stem(w)
            self.seen[s][w] += 1
            stems.append(s)
        return stems + [f"{a} {b}" for a, b in pairwise(stems)]

    def readable(self, term: str) -> str:
        return " ".join(
            self.seen[s].most_common(1)[0][0] if s in self.seen else s for s in term.split()
        )


def _tokenized(words: frozenset[str]) -> set[str]:
    """Stop words as the tokenizer sees them (``don't`` -> ``don``), so none slips through."""
    out = set()
    for w in words:
        out.update(re.findall(_TOKENS, w.lower()))
    return out


#: the longest label phrase, in words
MAX_LABEL_WORDS = 4
#: a single word names a group only when at least this share of its uses (members counted
#: twice) fall in the group: half of its texts ("passcode", not "make")
SINGLE_SPECIFIC = 0.25


#: what tokenization leaves of English contractions ("hasn't" -> "hasn"): never at a label's
#: start or end
_PIECES = "hasn doesn didn isn isnt wasn weren aren won wont don dont couldn wouldn shouldn"
CONTRACTION_PIECES = frozenset(_PIECES.split()) | {"haven", "hadn", "ve", "ll", "re", "cant"}


def _phrases(text: str, stop: frozenset[str] | set[str]) -> set[str]:
    """The phrases of a (cleaned, lower-case) text that can name a group: runs of one to
    :data:`MAX_LABEL_WORDS` consecutive words that neither start nor end with a stop word
    or a word of asking (a phrase may hold them inside: "cancel my order"); a single word
    needs four letters or more."""
    toks = re.findall(_TOKENS, text)
    out = set()
    for i, first in enumerate(toks):
        if first in stop or first in FILLER or first in CONTRACTION_PIECES:
            continue
        for n in range(1, MAX_LABEL_WORDS + 1):
            if i + n > len(toks):
                break
            last = toks[i + n - 1]
            if last in stop or last in FILLER or last in CONTRACTION_PIECES:
                continue
            if n == 1 and len(first) < 4:
                continue
            out.add(" ".join(toks[i : i + n]))
    return out


def _phrase_counts(texts: Sequence[str], stop: frozenset[str] | set[str]) -> dict[str, int]:
    """In how many of ``texts`` each phrase (:func:`_phrases`) occurs."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(_phrases(t, stop))
    return dict(counts)


def phrase_label(
    members: Sequence[str],
    background: dict[str, int],
    stop: frozenset[str] | set[str],
    *,
    used: set[str] | None = None,
) -> str:
    """A group's most distinctive phrase, as its texts write it.

    ``members``: the group's (cleaned) texts, nearest its centroid first; ``background``:
    the phrase counts of the texts grouping was fitted on (:func:`_phrase_counts`). A
    phrase's score is its share of the members that hold it (coverage) times the share
    of its uses that fall in the group (specificity; members count once more on top of
    the background), times 1.25 per word beyond the second up to three. Phrases of two
    or more words in at least a fifth of the members (and two) come first ("reset
    password", "cancel my order"); a single word (four letters or more) in at least a
    third of them only when there is none, and only when half of its texts are in the
    group (:data:`SINGLE_SPECIFIC`: "passcode", not "make"). No label in ``used``. Without
    a candidate: the nearest member from its first content word, at most
    :data:`MAX_LABEL_WORDS` words (the representative question, shortened); ``""`` when no
    member has a content word.
    """
    used = used or set()
    n = len(members)
    if not n:
        return ""
    from collections import Counter

    inside: Counter[str] = Counter()
    for t in members:
        inside.update(_phrases(t, stop))
    for single, share in ((False, 5), (True, 3)):
        need = max(2, int(np.ceil(n / share)))
        best, best_score = "", 0.0
        for phrase, k in sorted(inside.items()):
            words = phrase.count(" ") + 1
            if k < need or phrase in used or (words == 1) != single:
                continue
            specific = k / (k + background.get(phrase, 0))
            if single and specific < SINGLE_SPECIFIC:
                continue
            score = (k / n) * specific * 1.25 ** (min(words, 3) - 2)
            if score > best_score:
                best, best_score = phrase, score
        if best:
            return best
    for t in members:
        toks = re.findall(_TOKENS, t)
        start = next(
            (
                i
                for i, w in enumerate(toks)
                if w not in stop and w not in FILLER and w not in CONTRACTION_PIECES
            ),
            None,
        )
        if start is None:
            continue
        words_ = toks[start : start + MAX_LABEL_WORDS]
        while words_ and (
            words_[-1] in stop or words_[-1] in FILLER or words_[-1] in CONTRACTION_PIECES
        ):
            words_.pop()
        label = " ".join(words_)
        if label and label not in used and (" " in label or len(label) >= 4):
            return label
    return ""


def _label(top: list[str], weights: np.ndarray) -> str:
    """The heaviest bigram when it weighs at least half the heaviest term, else two terms."""
    for t, w in zip(top, weights, strict=True):
        if " " in t and w >= 0.5 * weights[0]:
            return t
    singles = [t for t in top if " " not in t][:2]
    return " / ".join(singles) if singles else top[0]


# ---------------------------------------------------------------- the report


@dataclass
class FaqCandidate:
    id: str
    label: str
    terms: tuple[str, ...]
    volume: int
    share: stats.Estimate
    by_table: dict[str, int]
    periods: list[dict[str, Any]]
    change: stats.Comparison | None
    change_q: float | None
    rising: bool
    examples: list[dict[str, str]]
    coverage: Coverage | None
    #: a significant fall (after Benjamini-Hochberg)
    falling: bool = False

    @property
    def gap(self) -> bool:
        """Not covered by any article (always, without a knowledge base)."""
        return self.coverage is None or not self.coverage.covered

    @property
    def trend(self) -> str:
        """up / down (a significant change), flat, or ``-`` (not testable)."""
        if self.change is None or self.change.estimate is None or self.change_q is None:
            return "-"
        if not np.isfinite(self.change.estimate):
            return "-"
        if self.rising:
            return "up"
        return "down" if self.falling else "flat"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "terms": list(self.terms),
            "volume": self.volume,
            "share": self.share.to_dict(),
            "by_table": self.by_table,
            "trend": {
                "periods": self.periods,
                "change": None if self.change is None else self.change.to_dict(),
                "q_value": self.change_q,
                "rising": self.rising,
                "direction": self.trend,
            },
            "examples": self.examples,
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
            "gap": self.gap,
        }


@dataclass
class FaqReport:
    tables: list[str]
    period: str
    n: int  # texts read
    n_questions: int
    n_grouped: int
    periods: list[str]
    candidates: list[FaqCandidate] = field(default_factory=list)
    n_candidates: int = 0
    kb_articles: int = 0
    seed: int = 0
    since: str | None = None
    until: str | None = None

    @property
    def method(self) -> str:
        return (
            "questions by question marks, interrogative openings and request phrasing; "
            "TF-IDF (1-2-grams) + LSA + agglomerative (cosine, average, threshold 0.5); "
            "share: Wilson; change: two-proportion z, Benjamini-Hochberg; "
            f"coverage: TF-IDF cosine >= {COVERED_AT}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "period": self.period,
            "since": self.since,
            "until": self.until,
            "n": self.n,
            "n_questions": self.n_questions,
            "n_grouped": self.n_grouped,
            "n_candidates": self.n_candidates,
            "kb_articles": self.kb_articles,
            "seed": self.seed,
            "method": self.method,
            "periods": self.periods,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass
class _Texts:
    table: list[str]
    key: list[str]
    text: list[str]
    focus: list[str]
    when: pd.Series


def _read(
    store: Store,
    config: ProgramConfig,
    tables: Sequence[str],
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
) -> _Texts:
    import pyarrow as pa
    import pyarrow.compute as pc

    out_t: list[str] = []
    out_k: list[str] = []
    out_x: list[str] = []
    subjects: list[str] = []
    times: list[pd.Series] = []
    for table in tables:
        key, fields = TEXT_FIELDS[table]
        t = store.table(table)
        data = t.select(key, _TIME[table], *fields).to_pyarrow()
        parts = [
            pc.utf8_trim_whitespace(pc.fill_null(data[f].cast(pa.string()), "")) for f in fields
        ]
        if len(parts) > 1:  # a case: "subject. description" (no dot after a "?")
            text = pa.array(
                [
                    _join(a, b)
                    for a, b in zip(parts[0].to_pylist(), parts[1].to_pylist(), strict=True)
                ],
                pa.string(),
            )
        else:
            text = parts[0]
        keep = pc.greater(pc.utf8_length(text), 0)
        data, text = data.filter(keep), text.filter(keep)
        subj = parts[0].filter(keep) if len(parts) > 1 else None
        when = pd.to_datetime(data[_TIME[table]].to_pandas())
        if when.dt.tz is None:
            when = when.dt.tz_localize("UTC")
        when = when.dt.tz_convert(config.program.timezone).reset_index(drop=True)
        mask = np.ones(len(when), dtype=bool)
        if since is not None:
            mask &= (when >= since).to_numpy()
        if until is not None:
            mask &= (when < until).to_numpy()
        idx = np.flatnonzero(mask)
        keys = data[key].cast(pa.string()).to_pylist()
        texts = text.to_pylist()
        subs = subj.to_pylist() if subj is not None else [""] * len(texts)
        out_t += [table] * idx.size
        out_k += [keys[i] for i in idx]
        out_x += [texts[i] for i in idx]
        subjects += [subs[i] for i in idx]
        times.append(when.iloc[idx])
    when = (
        pd.concat(times, ignore_index=True) if times else pd.Series([], dtype="datetime64[ns, UTC]")
    )
    return _Texts(out_t, out_k, out_x, subjects, when)


def _languages(store: Store, got: _Texts, detect: Callable[[Any], np.ndarray]) -> np.ndarray:
    """Each text's language: as enrichment stored it with its sentiment (``language`` of
    ``text_sentiment``; a case: its first field with a determined language), detected
    for texts not scored yet."""
    from cxray.text._enrich import SENTIMENT_TABLE

    out = np.full(len(got.text), None, dtype=object)
    b = store.backend
    if got.text and SENTIMENT_TABLE in b.list_tables():
        s = b.table(SENTIMENT_TABLE)
        if "language" in s.columns:
            import pyarrow as pa
            import pyarrow.compute as pc

            tables = np.asarray(got.table, dtype=object)
            for table in sorted(set(got.table)):
                rows = (
                    s.filter((s.table_name == table) & s.language.notnull())
                    .select("row_key", "field", "language")
                    .to_pyarrow()
                )
                if not rows.num_rows:
                    continue
                # per row, its first field with a determined language (else "und"): sorted
                # and picked in Arrow (pandas on a million string keys costs seconds)
                rows = rows.append_column("und", pc.equal(rows["language"], "und"))
                rows = rows.sort_by([("row_key", "ascending"), ("und", "ascending"),
                                     ("field", "ascending")])  # fmt: skip
                key = rows["row_key"].combine_chunks()
                first = np.ones(len(key), dtype=bool)
                if len(key) > 1:
                    first[1:] = pc.not_equal(key[1:], key[:-1]).to_numpy(zero_copy_only=False)
                keys_first = key.filter(pa.array(first))
                lang_first = rows["language"].combine_chunks().filter(pa.array(first))
                mine = np.flatnonzero(tables == table)
                at = pc.index_in(
                    pa.array([got.key[i] for i in mine], pa.string()), value_set=keys_first
                )
                ok = pc.is_valid(at).to_numpy(zero_copy_only=False)
                out[mine[ok]] = np.asarray(lang_first.take(at.filter(ok)).to_pylist(), dtype=object)
    todo = np.flatnonzero(pd.isna(out))
    if todo.size:
        out[todo] = detect([got.text[i] for i in todo])
    return out


def _join(subject: str, description: str) -> str:
    if not subject or not description:
        return subject or description
    return f"{subject} {description}" if subject[-1] in ".!?…" else f"{subject}. {description}"


def _local(value: str | None, tz: str, what: str) -> pd.Timestamp | None:
    if value in (None, ""):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise QueryError(f"{what}={value!r}: use a date (2026-01-31) or a time") from None
    return ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)


def _period_start(local: pd.Series, period: Period) -> pd.Series:
    naive = local.dt.tz_localize(None)
    if period == "week":
        day = naive.dt.normalize()
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return naive.dt.to_period("M").dt.to_timestamp()


def faq_candidates(
    store: Store,
    config: ProgramConfig,
    *,
    tables: Sequence[str] | str = FAQ_TABLES,
    since: str | None = None,
    until: str | None = None,
    period: Period = "month",
    limit: int = 20,
    seed: int = 0,
    min_size: int = 3,
    n_examples: int = 3,
) -> FaqReport:
    """FAQ candidates of the store's texts (see the module); gaps first, at most ``limit``."""
    from cxray.text._language import detect_languages, stopwords

    if isinstance(tables, str):
        tables = FAQ_TABLES if tables == "all" else (tables,)
    bad = [t for t in tables if t not in FAQ_TABLES]
    if bad or not tables:
        raise QueryError(
            f"table {', '.join(map(repr, bad)) or '(none)'}: use {', '.join(FAQ_TABLES)} or all"
        )
    if period not in ("week", "month"):
        raise QueryError(f"period={period!r}: use week or month")
    if limit < 1:
        raise QueryError(f"limit={limit}: use 1 or more")
    tz = config.program.timezone
    lo, hi = _local(since, tz, "since"), _local(until, tz, "until")
    got = _read(store, config, list(tables), lo, hi)
    langs = _languages(store, got, detect_languages)
    is_q = question_mask(got.text, langs)
    qi = np.flatnonzero(is_q)
    codes = sorted({str(c) for c in langs[qi]} - {"und"})
    stop = frozenset().union(stopwords("en"), FILLER, *(stopwords(c) for c in codes))
    focus = questions_of([got.text[i] for i in qi], [str(langs[i]) for i in qi])
    for k, i in enumerate(qi):
        if got.table[i] == "cases" and got.focus[i] and got.focus[i] not in focus[k]:
            focus[k] = _join(got.focus[i], focus[k])
    groups = group_questions(focus, random_state=seed, min_size=min_size, stop_words=stop)
    report = FaqReport(
        list(tables),
        period,
        len(got.text),
        int(qi.size),
        int((groups.assigned >= 0).sum()),
        [],
        seed=seed,
        since=None if lo is None else lo.isoformat(),
        until=None if hi is None else hi.isoformat(),
    )
    if not qi.size:
        return report
    m = config.measurement
    opts = {"confidence": m.confidence, "min_n": m.min_n}
    start = _period_start(got.when.iloc[qi].reset_index(drop=True), period)
    freq = "W-MON" if period == "week" else "MS"
    grid = pd.date_range(start.min(), start.max(), freq=freq)
    report.periods = [
        d.strftime("%Y-%m-%d") if period == "week" else d.strftime("%Y-%m") for d in grid
    ]
    slot = grid.get_indexer(start)
    totals = np.bincount(slot, minlength=len(grid))
    articles = kb_articles(store)
    report.kb_articles = len(articles)
    redact = redactor(config)
    cands: list[FaqCandidate] = []
    for j, gid in enumerate(groups.ids):
        mine = np.flatnonzero(groups.assigned == j)
        if mine.size < min_size:
            continue
        per = np.bincount(slot[mine], minlength=len(grid))
        periods = [
            {"period": p, "volume": int(v), "questions": int(t)}
            for p, v, t in zip(report.periods, per, totals, strict=True)
        ]
        change = None
        if len(grid) >= 2 and totals[-1] and totals[-2]:
            change = stats.proportion_diff(
                (int(per[-1]), int(totals[-1])), (int(per[-2]), int(totals[-2])), **opts
            )
        by_table = {t: 0 for t in tables}
        for r in mine:
            by_table[got.table[qi[r]]] += 1
        examples = _examples(got, qi, groups.nearest[j], n_examples, redact)
        cands.append(
            FaqCandidate(
                gid,
                groups.labels[j],
                groups.terms[j],
                int(mine.size),
                stats.proportion(int(mine.size), int(qi.size), **opts),
                by_table,
                periods,
                change,
                None,
                False,
                examples,
                None,
            )
        )
    tested = [
        c
        for c in cands
        if c.change is not None and c.change.p_value is not None and np.isfinite(c.change.p_value)
    ]
    if tested:
        fdr = stats.benjamini_hochberg([c.change.p_value for c in tested], alpha=m.fdr)
        for c, q in zip(tested, fdr.q_values, strict=True):
            c.change_q = float(q)
            moved = q <= m.fdr and c.change.estimate is not None
            c.rising = bool(moved and c.change.estimate > 0)
            c.falling = bool(moved and c.change.estimate < 0)
    if articles:
        texts_of = [[focus[r] for r in groups.nearest[groups.ids.index(c.id)][:200]] for c in cands]
        for c, cov in zip(cands, match_articles(texts_of, articles, stop_words=stop), strict=True):
            c.coverage = cov
    cands.sort(key=lambda c: (not c.gap, not c.rising, -c.volume, c.id))
    report.n_candidates = len(cands)
    report.candidates = cands[:limit]
    return report


def _examples(
    got: _Texts,
    qi: np.ndarray,
    nearest: np.ndarray,
    n: int,
    redact: Callable[[str | None], str | None],
) -> list[dict[str, str]]:
    """Readable texts (20-240 characters) nearest the centroid first, then any."""
    rows = [qi[r] for r in nearest]
    readable = [i for i in rows if 20 <= len(got.text[i]) <= 240]
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i in [*readable, *rows]:
        text = redact(got.text[i]) or ""
        if text in seen:
            continue
        seen.add(text)
        out.append({"table": got.table[i], "key": got.key[i], "text": text})
        if len(out) >= n:
            break
    return out


def cached_faq(
    store: Store,
    config: ProgramConfig,
    *,
    tables: Sequence[str] | str = FAQ_TABLES,
    since: str | None = None,
    until: str | None = None,
    period: Period = "month",
    limit: int = 20,
    seed: int = 0,
    keep: bool = False,
    reports: Any = None,
) -> dict[str, Any]:
    """:func:`faq_candidates` as a dict, computed once per state of the data and the KB.

    Kept in :data:`cxray.text.REPORTS` (the API and the Text page share it); one kept in
    the store's ``_cx_text_reports`` at this version is read instead of computed, and
    ``keep`` marks a computed one to be written there (:meth:`TextReports.precompute`).
    ``reports``: another :class:`~cxray.text.TextReports` than :data:`~cxray.text.REPORTS`.
    """
    from cxray.text._reports import REPORTS as SHARED

    REPORTS = reports if reports is not None else SHARED

    names = (
        FAQ_TABLES
        if tables in ("all", None)
        else (tables,)
        if isinstance(tables, str)
        else tuple(tables)
    )
    key = (
        "faq",
        store.url,
        REPORTS._config_key(config),
        tuple(names),
        since,
        until,
        period,
        limit,
        seed,
    )
    version = (
        *(REPORTS.data_version(store, t) for t in names if t in FAQ_TABLES),
        kb_version(store),
    )
    return REPORTS._get(
        key,
        version,
        lambda: faq_candidates(
            store,
            config,
            tables=names,
            since=since,
            until=until,
            period=period,
            limit=limit,
            seed=seed,
        ).to_dict(),
        store=store,
        keep=keep,
    )
