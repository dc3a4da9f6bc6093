"""Taxonomy themes: every text to the themes whose keywords it contains. Deterministic.

A taxonomy is the ``[themes.*]`` section of ``cxray.toml`` (or the built-in
default): a theme id, a label, keywords and optional context rules. Matching
rules, in full:

* a text is split into **clauses** at sentence ends (``.``, ``!``, ``?``), ``;``,
  line breaks and the contrast words of :data:`CONTRAST` ("but", "however",
  "although", "though", "yet", "whereas" and their Portuguese, Spanish, French
  and German counterparts); a clause into words: runs of letters, digits and
  apostrophes, lower-cased (``’`` counts as ``'``);
* every word and every keyword word is reduced by the same light stemmer
  (:func:`stem`: plural ``-s``/``-es``/``-ies``, ``-ing``, ``-ed``, a final ``-e``,
  a doubled final consonant), so "charge", "charges", "charged" and
  "charging" are one word;
* a keyword of one word matches that word anywhere in a clause; a phrase matches
  its words consecutively within a clause; a keyword ending in ``*`` matches any
  word that starts with it (before stemming: "deliver*" matches "delivery",
  "delivered");
* a theme with ``require`` words matches a clause only when the clause also holds
  one of them (context: "hold" counts for support only next to "call", "line",
  "agent", ...); a theme with ``exclude`` words never matches a clause that holds
  one of them ("customer service was lovely" is not a complaint about waiting);
  both lists take words, phrases and ``*`` prefixes like keywords do;
* a text belongs to every theme that matches one of its clauses (multi-label),
  listed in taxonomy order.

Nothing depends on the order of the texts or on earlier calls: the same text
and taxonomy always give the same themes. :meth:`Taxonomy.match_report` says how
often each theme matches a set of texts, with which keywords, and shows examples,
to tune a taxonomy (``cxray text taxonomy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from cxray.config import ProgramConfig
from cxray.exceptions import ModelError

__all__ = ["CONTRAST", "MatchReport", "Taxonomy", "TaxonomyTheme", "split_clauses", "stem", "words"]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_WORD_OR_SEP = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\x00|[.!?;\n]+")
_KEEP_DOUBLE = frozenset("lsz")


def words(text: str | None) -> list[str]:
    """The lower-cased words of a text (letters and digits; inner apostrophes kept)."""
    if not text:
        return []
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def stem(word: str) -> str:
    """A light, deterministic English stemmer (the same on texts and keywords)."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "'s")):
        w = w[:-1]
    elif w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ing", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)]
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in _KEEP_DOUBLE and w[-1].isalpha():
                w = w[:-1]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


#: contrast words that start a new clause ("great staff | a dirty room"), per language
CONTRAST = frozenset(
    {
        # English
        "but", "however", "although", "though", "yet", "whereas",
        # Portuguese
        "mas", "porém", "porem", "entretanto", "contudo", "embora", "todavia",
        # Spanish
        "pero", "aunque", "sin embargo", "sino",
        # French
        "mais", "cependant", "pourtant", "toutefois",
        # German
        "aber", "jedoch", "obwohl", "trotzdem",
    }
)  # fmt: skip
_ONE_WORD_CONTRAST = frozenset(c for c in CONTRAST if " " not in c)
_CLAUSE_SPLIT = re.compile(
    r"[.!?;\n]+(?:\s|$)|\s*\b(?:"
    + "|".join(sorted((re.escape(c) for c in CONTRAST), key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


_OPENERS_TEXT = """the a an my our your their his her its it they we i he she you this that
these those there everything nothing everyone service staff"""
_LIST_TEXT = """and or nor plus also very so too quite really rather extremely a an the but with
was were is are be been being has had have seemed looked felt
cold hot warm tasty bland small tiny big large spacious cramped noisy quiet loud fast
quick slow late early expensive cheap old new modern broken stale fresh tidy basic
red white blue green black yellow"""
_CONTINUES_TEXT = """which who whom whose where when whilst while as because since so that than
to if until unless including especially like such"""
#: words that open a clause of its own after a comma ("great staff, the room was dirty")
CLAUSE_OPENERS = frozenset(_OPENERS_TEXT.split())
#: words that describe without naming an aspect: with only these (and opinion words) after a
#: comma, the words continue a list ("clean, spacious and quiet"), not a clause of their own
_LIST_WORDS = frozenset(_LIST_TEXT.split())
#: words that, after a comma, continue the clause before it ("..., which was cold", "..., as
#: was the crew")
_CONTINUES = frozenset(_CONTINUES_TEXT.split())
_COMMA = re.compile(r",\s+")


@lru_cache(maxsize=1)
def _opinion_words() -> frozenset[str]:
    """Words with a sentiment of their own: VADER's lexicon (|valence| ≥ 0.5) and cxray's CX
    words ("delayed", "overpriced")."""
    from cxray.text._lexicon import CX_VALENCE, vader_valence

    return frozenset(w for w, v in vader_valence().items() if abs(v) >= 0.5) | frozenset(CX_VALENCE)


def _opens_clause(piece: str) -> bool:
    """Does the text after a comma start a clause of its own?

    Yes when it has at least two words, does not start with a word that continues the
    clause before (:data:`_CONTINUES`: "which", "as", "because"), and either starts with a
    subject word
    (:data:`CLAUSE_OPENERS`: "the", "it", "staff"...) or holds an opinion word and a
    word that names something ("dirty room": "dirty" and "room"), not only describing
    words (:data:`_LIST_WORDS`: "spacious and quiet" continues a list).
    """
    ws = words(piece)
    if len(ws) < 2 or ws[0] in _CONTINUES:
        return False
    if ws[0] in CLAUSE_OPENERS:
        return True
    opinion = _opinion_words()
    has_opinion = any(w in opinion for w in ws)
    names = any(w not in opinion and w not in _LIST_WORDS and len(w) > 2 for w in ws)
    return has_opinion and names


def _comma_clauses(part: str) -> list[str]:
    """``part`` split at the commas that separate two evaluations: the text before the comma
    has two words or more and an opinion word ("great staff"), the text after it opens a
    clause of its own (:func:`_opens_clause`: "dirty room"). "Friendly, helpful staff",
    "red, white and blue" and "after all this trouble, we..." stay one clause."""
    pieces = _COMMA.split(part)
    if len(pieces) == 1:
        return pieces
    out = [pieces[0]]
    opinion = _opinion_words()
    for prev, piece in pairwise(pieces):
        before = words(prev)
        if len(before) >= 2 and any(w in opinion for w in before) and _opens_clause(piece):
            out.append(piece)
        else:
            out[-1] = out[-1] + ", " + piece
    return out


def split_clauses(texts: Sequence[str | None]) -> tuple[list[str], np.ndarray]:
    """The clauses of every text and the index of the text each comes from.

    Clause boundaries: sentence ends, ``;``, line breaks, the contrast words of
    :data:`CONTRAST` (dropped from the clauses), and a comma between two evaluations
    ("great staff, dirty room"; not "red, white and blue": :func:`_comma_clauses`).
    Clauses without a letter or digit are left out, so a text may have none.
    """
    out: list[str] = []
    doc: list[int] = []
    has_word = re.compile(r"[^\W_]")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t:
            continue
        for part in _CLAUSE_SPLIT.split(t):
            for clause in _comma_clauses(part.strip(" ,:-")):
                clause = clause.strip(" ,:-")
                if clause and has_word.search(clause):
                    out.append(clause)
                    doc.append(i)
    return out, np.asarray(doc, dtype=np.int64)


class _Keywords:
    """Lists of keywords matched per clause, as a boolean matrix (clause x list)."""

    def __init__(self, lists: Sequence[tuple[str, Sequence[str]]]):
        self.n = len(lists)
        self._exact: dict[str, list[int]] = {}
        self._prefix: list[tuple[str, int]] = []
        # (list index, stems of a phrase's first words, its last word, last is a prefix)
        self._phrases: list[tuple[int, tuple[str, ...], str, bool]] = []
        for i, (where, kws) in enumerate(lists):
            for kw in kws:
                prefix = kw.strip().endswith("*")
                toks = words(kw.strip().rstrip("*"))
                if not toks:
                    raise ModelError(f"{where}: keyword {kw!r} has no words")
                if prefix and len(toks) == 1:
                    self._prefix.append((toks[0], i))
                elif len(toks) == 1:
                    self._exact.setdefault(stem(toks[0]), []).append(i)
                else:
                    last = toks[-1] if prefix else stem(toks[-1])
                    self._phrases.append((i, tuple(stem(t) for t in toks[:-1]), last, prefix))
        # prefixes by length: a word is looked up once per length, not once per prefix
        self._by_length: dict[int, dict[str, list[int]]] = {}
        for prefix, i in self._prefix:
            self._by_length.setdefault(len(prefix), {}).setdefault(prefix, []).append(i)
        self._cache: dict[str, list[int]] = {}
        self._bits: dict[str, int] = {}

    def _lists(self, word: str) -> list[int]:
        """The lists a single word matches by itself."""
        hit = self._cache.get(word)
        if hit is None:
            hit = list(self._exact.get(stem(word), ()))
            for length, prefixes in self._by_length.items():
                hit += prefixes.get(word[:length], ()) if len(word) >= length else ()
            self._cache[word] = hit
        return hit

    def _word(self, word: str) -> np.ndarray:
        """The lists (as a boolean row) a single word matches by itself."""
        row = np.zeros(self.n, dtype=bool)
        row[self._lists(word)] = True
        return row

    def _mask(self, word: str) -> int:
        got = self._bits.get(word)
        if got is None:
            got = self._bits[word] = sum({1 << i for i in self._lists(word)})
        return got

    def match(self, tokens: _Tokens) -> np.ndarray:
        """Clause x list: whether a keyword of the list occurs in the clause."""
        out = np.zeros((tokens.n_clauses, self.n), dtype=bool)
        if not tokens.codes.size or not self.n:
            return out
        if self.n <= 62:  # a bit mask per word, OR-ed over each clause's run of words
            bits = np.left_shift(np.int64(1), np.arange(self.n, dtype=np.int64))
            umask = np.fromiter(
                (self._mask(u) for u in tokens.uniques),
                dtype=np.int64,
                count=len(tokens.uniques),
            )
            cmask = np.bitwise_or.reduceat(umask[tokens.codes], tokens.clause_start)
            out |= (cmask[:, None] & bits) != 0
        else:
            urows = np.vstack([self._word(u) for u in tokens.uniques])
            rows = urows[tokens.codes]
            hit = np.flatnonzero(rows.any(axis=1))
            if hit.size:
                r, c = np.nonzero(rows[hit])
                out[tokens.clause[hit[r]], c] = True
        if self._phrases:
            ids = tokens.stem_ids
            tstem = tokens.tstem
            m = tstem.size
            for i, body, last, prefix in self._phrases:
                if any(b not in ids for b in body):
                    continue
                pos = np.flatnonzero(tstem == ids[body[0]])
                for k, b in enumerate(body[1:], start=1):
                    pos = pos[pos + k < m]
                    j = pos + k
                    pos = pos[(tokens.clause[j] == tokens.clause[pos]) & (tstem[j] == ids[b])]
                pos = pos[pos + len(body) < m]
                j = pos + len(body)
                if prefix:
                    ok_u = np.array([st.startswith(last) for st in tokens.ustems], dtype=bool)
                    last_ok = ok_u[tokens.codes[j]]
                else:
                    last_ok = tstem[j] == ids.get(last, -1)
                pos = pos[(tokens.clause[j] == tokens.clause[pos]) & last_ok]
                out[tokens.clause[pos], i] = True
        return out


class _Tokens:
    """The words of a batch of texts with the clause and text of each (vectorized)."""

    def __init__(self, texts: Sequence[str | None]):
        import pandas as pd

        clean = (t.replace("\x00", " ") if isinstance(t, str) else "" for t in texts)
        big = "\x00".join(clean).lower().replace("\u2019", "'")
        toks = _WORD_OR_SEP.findall(big)
        codes, uniques = pd.factorize(np.array(toks, dtype=object)) if toks else ([], [])
        codes = np.asarray(codes, dtype=np.int64)
        is_doc = np.array([u == "\x00" for u in uniques], dtype=bool)
        is_break = np.array(
            [u == "\x00" or u in _ONE_WORD_CONTRAST or not u[0].isalnum() for u in uniques],
            dtype=bool,
        )
        sep = is_break[codes] if codes.size else np.zeros(0, dtype=bool)
        doc = np.cumsum(is_doc[codes])[~sep] if codes.size else codes
        raw_clause = np.cumsum(sep)[~sep] if codes.size else codes
        self.codes = codes[~sep] if codes.size else codes
        # clauses numbered 0.. in order, only those with words
        self.clause_start = np.flatnonzero(np.r_[True, raw_clause[1:] != raw_clause[:-1]])
        if not self.codes.size:
            self.clause_start = np.zeros(0, dtype=np.int64)
        self.clause = np.cumsum(np.r_[False, raw_clause[1:] != raw_clause[:-1]]).astype(np.int64)[
            : self.codes.size
        ]
        self.n_clauses = int(self.clause_start.size)
        self.clause_doc = doc[self.clause_start] if self.codes.size else np.zeros(0, np.int64)
        self.n_texts = len(texts)
        self.uniques = [str(u) for u in uniques]
        self.ustems = [stem(u) if not is_break[k] else "" for k, u in enumerate(self.uniques)]
        self.stem_ids: dict[str, int] = {}
        ustem_id = np.fromiter(
            (self.stem_ids.setdefault(st, len(self.stem_ids)) for st in self.ustems),
            dtype=np.int64,
            count=len(self.ustems),
        )
        self.tstem = ustem_id[self.codes] if self.codes.size else self.codes

    def per_text(self, clause_matrix: np.ndarray) -> np.ndarray:
        """Text x column: any of its clauses."""
        out = np.zeros((self.n_texts, clause_matrix.shape[1]), dtype=bool)
        if self.n_clauses:  # clauses come in the order of their texts
            d = self.clause_doc
            starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
            out[d[starts]] = np.logical_or.reduceat(clause_matrix, starts, axis=0)
        return out


@dataclass(frozen=True)
class TaxonomyTheme:
    id: str
    label: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()
    #: words or phrases that veto a match in the same clause
    exclude: tuple[str, ...] = ()
    #: context: a keyword counts only with one of these in the same clause
    require: tuple[str, ...] = ()


@dataclass
class MatchReport:
    """How a taxonomy matches a set of texts (:meth:`Taxonomy.match_report`)."""

    n_texts: int
    #: per theme: id, label, matched, rate, top keywords [(keyword, texts)], examples
    themes: list[dict[str, Any]]
    unmatched: int
    unmatched_rate: float
    #: texts with two themes or more
    overlap: int
    overlap_rate: float
    #: the theme pairs that share most texts: (id, id, texts)
    pairs: list[tuple[str, str, int]]
    unmatched_examples: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_texts": self.n_texts,
            "unmatched": self.unmatched,
            "unmatched_rate": self.unmatched_rate,
            "overlap": self.overlap,
            "overlap_rate": self.overlap_rate,
            "pairs": [{"a": a, "b": b, "texts": n} for a, b, n in self.pairs],
            "themes": self.themes,
            "unmatched_examples": self.unmatched_examples,
            "warnings": self.warnings,
        }


#: a theme matching more than this share of texts sweeps too much to tell anything
TOO_BROAD = 0.4


class Taxonomy:
    """Keyword themes that assign texts deterministically (see the module docstring).

    >>> tx = Taxonomy.from_config(ProgramConfig())        # doctest: +SKIP
    >>> tx.assign(["My parcel arrived late and the app crashed"])  # doctest: +SKIP
    [('delivery', 'digital')]
    """

    def __init__(self, themes: Sequence[TaxonomyTheme]):
        if not themes:
            raise ModelError("a taxonomy needs at least one theme")
        ids = [t.id for t in themes]
        if len(set(ids)) != len(ids):
            raise ModelError(f"theme ids repeat: {ids}")
        self.themes = tuple(themes)
        self.ids = tuple(ids)
        self._keywords = _Keywords([(f"theme {t.id!r}", t.keywords) for t in self.themes])
        self._excluded = [i for i, t in enumerate(self.themes) if t.exclude]
        self._required = [i for i, t in enumerate(self.themes) if t.require]
        self._exclude = _Keywords(
            [(f"theme {self.ids[i]!r} exclude", self.themes[i].exclude) for i in self._excluded]
        )
        self._require = _Keywords(
            [(f"theme {self.ids[i]!r} require", self.themes[i].require) for i in self._required]
        )

    @classmethod
    def from_config(cls, config: ProgramConfig) -> Taxonomy:
        return cls.from_mapping(config.themes)

    @classmethod
    def from_mapping(cls, themes: Mapping[str, object]) -> Taxonomy:
        """From ``{id: ThemeConfig}`` or ``{id: {"label": ..., "keywords": [...]}}``."""
        out = []
        for key, value in themes.items():
            get = (
                value.get
                if isinstance(value, Mapping)
                else lambda k, d=None, v=value: getattr(v, k, d)
            )
            out.append(
                TaxonomyTheme(
                    key,
                    str(get("label", key)),
                    tuple(get("keywords", ())),
                    tuple(get("examples", ()) or ()),
                    tuple(get("exclude", ()) or ()),
                    tuple(get("require", ()) or ()),
                )
            )
        return cls(out)

    # ---------------------------------------------------------------- matching

    def _clause_matrix(self, tokens: _Tokens) -> np.ndarray:
        """Clause x theme after the exclude and require rules."""
        m = self._keywords.match(tokens)
        if self._excluded:
            m[:, self._excluded] &= ~self._exclude.match(tokens)
        if self._required:
            m[:, self._required] &= self._require.match(tokens)
        return m

    def clause_themes(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Per clause (as split by the matcher): the text it comes from, and clause x theme."""
        tokens = _Tokens(list(texts))
        return tokens.clause_doc, self._clause_matrix(tokens)

    def matrix(self, texts: Sequence[str | None], *, batch: int = 20_000) -> np.ndarray:
        """Text x theme: whether each text has each theme (boolean)."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.themes)), dtype=bool)
        for start in range(0, len(texts), batch):
            tokens = _Tokens(texts[start : start + batch])
            out[start : start + batch] = tokens.per_text(self._clause_matrix(tokens))
        return out

    def _indexes(self, text: str | None) -> set[int]:
        return {int(i) for i in np.flatnonzero(self.matrix([text])[0])}

    def assign(self, texts: Iterable[str | None]) -> list[tuple[str, ...]]:
        """The theme ids of every text, in taxonomy order (empty tuple: no theme)."""
        m = self.matrix(list(texts))
        if not len(m):
            return []
        rows, inverse = np.unique(m, axis=0, return_inverse=True)
        got = [tuple(self.ids[j] for j in np.flatnonzero(r)) for r in rows]
        return [got[k] for k in np.asarray(inverse).ravel()]

    def masks(self, texts: Sequence[str | None], *, batch: int = 20_000) -> Sequence[int]:
        """Each text's themes as a bit mask (bit i: theme i), for many texts at once.

        One regular-expression pass over a batch's texts joined by a separator,
        each distinct word looked up once, every keyword, phrase and rule
        checked as array operations over the words.
        """
        m = self.matrix(texts, batch=batch)
        if len(self.themes) > 62:  # beyond an int64: Python integers
            return [sum(1 << int(j) for j in np.flatnonzero(r)) for r in m]
        weights = np.left_shift(np.int64(1), np.arange(len(self.themes), dtype=np.int64))
        return (m.astype(np.int64) * weights).sum(axis=1) if len(m) else np.zeros(0, np.int64)

    def matches(self, text: str | None) -> dict[str, list[str]]:
        """Which keywords of which themes a text matches (to explain an assignment)."""
        out: dict[str, list[str]] = {}
        tokens = _Tokens([text])
        if not tokens.n_clauses:
            return out
        themes = self._clause_matrix(tokens)
        for j, theme in enumerate(self.themes):
            if not themes[:, j].any():
                continue
            kws = _Keywords([(theme.id, (kw,)) for kw in theme.keywords]).match(tokens)
            hit = (kws & themes[:, [j]]).any(axis=0)
            out[theme.id] = [kw for kw, h in zip(theme.keywords, hit, strict=True) if h]
        return out

    def match_report(
        self, texts: Sequence[str | None], *, n_examples: int = 3, n_keywords: int = 5
    ) -> MatchReport:
        """Each theme's match rate, top keywords and examples; the unmatched rate; overlap.

        Rates are over the texts with any word. A theme matching more than
        :data:`TOO_BROAD` of them, or none, gets a warning. Examples are the
        first texts (in the order given) of 8 to 60 words, else the first ones.
        """
        texts = [t for t in texts if isinstance(t, str) and _WORD.search(t)]
        n = len(texts)
        flat = [(j, kw) for j, t in enumerate(self.themes) for kw in t.keywords]
        each = _Keywords([(self.ids[j], (kw,)) for j, kw in flat])
        per_text = np.zeros((n, len(self.themes)), dtype=bool)
        kw_text = np.zeros(len(flat), dtype=np.int64)
        for start in range(0, n, 5_000):
            tokens = _Tokens(texts[start : start + 5_000])
            clause_themes = self._clause_matrix(tokens)
            per_text[start : start + 5_000] = tokens.per_text(clause_themes)
            kw_clause = each.match(tokens) & clause_themes[:, [j for j, _ in flat]]
            kw_text += tokens.per_text(kw_clause).sum(axis=0)
        n_words = np.array([len(t.split()) for t in texts], dtype=np.int64)
        readable = (n_words >= 8) & (n_words <= 60)

        def examples(rows: np.ndarray) -> list[str]:
            good = rows[readable[rows]][:n_examples]
            if good.size < n_examples:
                good = np.r_[good, rows[~readable[rows]][: n_examples - good.size]]
            return [texts[i] for i in good]

        out, warnings = [], []
        for j, theme in enumerate(self.themes):
            rows = np.flatnonzero(per_text[:, j])
            rate = rows.size / n if n else 0.0
            kws = sorted(
                ((kw, int(kw_text[k])) for k, (jj, kw) in enumerate(flat) if jj == j),
                key=lambda x: -x[1],
            )
            out.append(
                {
                    "id": theme.id,
                    "label": theme.label,
                    "matched": int(rows.size),
                    "rate": rate,
                    "keywords": [{"keyword": k, "texts": c} for k, c in kws[:n_keywords] if c],
                    "examples": examples(rows),
                }
            )
            if n and rate > TOO_BROAD:
                warnings.append(
                    f"{theme.id}: matches {rate:.0%} of texts (more than {TOO_BROAD:.0%}): "
                    "its keywords are too generic; add require/exclude words or phrases"
                )
            elif n and not rows.size:
                warnings.append(f"{theme.id}: matches no text")
        count = per_text.sum(axis=1)
        unmatched = np.flatnonzero(count == 0)
        co = per_text.T.astype(np.int64) @ per_text.astype(np.int64)
        pairs = sorted(
            (
                (self.ids[a], self.ids[b], int(co[a, b]))
                for a in range(len(self.ids))
                for b in range(a + 1, len(self.ids))
                if co[a, b]
            ),
            key=lambda x: (-x[2], x[0], x[1]),
        )[:5]
        return MatchReport(
            n,
            out,
            int(unmatched.size),
            unmatched.size / n if n else 0.0,
            int((count >= 2).sum()),
            float((count >= 2).sum() / n) if n else 0.0,
            pairs,
            examples(unmatched),
            warnings,
        )

    def unmatched_examples(self) -> dict[str, list[str]]:
        """Examples of each theme that its own keywords do not match."""
        out: dict[str, list[str]] = {}
        for i, theme in enumerate(self.themes):
            missed = [e for e in theme.examples if i not in self._indexes(e)]
            if missed:
                out[theme.id] = missed
        return out

    def label(self, theme_id: str) -> str:
        return self.themes[self.ids.index(theme_id)].label
