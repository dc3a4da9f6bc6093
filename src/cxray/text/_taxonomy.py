"""Taxonomy themes: every text to the themes whose keywords it contains. Deterministic.

A taxonomy is the ``[themes.*]`` section of ``cxray.toml`` (or the built-in
default): a theme id, a label and keywords. Matching rules, in full:

* a text is split into words: runs of letters, digits and apostrophes, lower-cased
  (``’`` counts as ``'``);
* every word and every keyword word is reduced by the same light stemmer
  (:func:`stem`: plural ``-s``/``-es``/``-ies``, ``-ing``, ``-ed``, a final ``-e``,
  a doubled final consonant), so "charge", "charges", "charged" and
  "charging" are one word;
* a keyword of one word matches that word anywhere in the text; a phrase matches
  its words consecutively; a keyword ending in ``*`` matches any word that
  starts with it (before stemming: "deliver*" matches "delivery", "delivered");
* a text belongs to every theme with at least one matching keyword (multi-label),
  listed in taxonomy order.

Nothing depends on the order of the texts or on earlier calls: the same text
and taxonomy always give the same themes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cxray.config import ProgramConfig
from cxray.exceptions import ModelError

__all__ = ["Taxonomy", "TaxonomyTheme", "stem", "words"]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_WORD_OR_SEP = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\x00")
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


@dataclass(frozen=True)
class TaxonomyTheme:
    id: str
    label: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()


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
        # one-word keywords: stem -> theme indexes; prefixes: (prefix, theme index)
        self._exact: dict[str, set[int]] = {}
        self._prefix: list[tuple[str, int]] = []
        phrases: dict[int, list[str]] = {}
        # (theme index, stems of a phrase's first words, its last word, last is a prefix)
        self._phrase_specs: list[tuple[int, tuple[str, ...], str, bool]] = []
        for i, theme in enumerate(self.themes):
            for kw in theme.keywords:
                prefix = kw.strip().endswith("*")
                toks = words(kw.strip().rstrip("*"))
                if not toks:
                    raise ModelError(f"theme {theme.id!r}: keyword {kw!r} has no words")
                if prefix and len(toks) == 1:
                    self._prefix.append((toks[0], i))
                elif len(toks) == 1:
                    self._exact.setdefault(stem(toks[0]), set()).add(i)
                else:
                    body = " ".join(stem(t) for t in toks[:-1])
                    last = toks[-1] if prefix else stem(toks[-1])
                    pattern = re.escape(f" {body} {last}") + (r"\S*" if prefix else "") + " "
                    phrases.setdefault(i, []).append(pattern)
                    self._phrase_specs.append((i, tuple(stem(t) for t in toks[:-1]), last, prefix))
        self._phrases = {
            i: re.compile("|".join(f"(?:{p})" for p in pats)) for i, pats in phrases.items()
        }
        # a phrase can only match a text holding the stem of its first word
        self._phrase_starts = {
            i: frozenset(
                stem(words(kw.strip().rstrip("*"))[0])
                for kw in self.themes[i].keywords
                if len(words(kw.strip().rstrip("*"))) > 1
            )
            for i in phrases
        }
        self._all_starts = frozenset().union(*self._phrase_starts.values())
        self._cache: dict[str, int] = {}  # word -> bit mask of its themes
        self._info: dict[str, tuple[int, str]] = {}  # word -> (bit mask, stem)
        self._stems: dict[str, str] = {}

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
                )
            )
        return cls(out)

    # ---------------------------------------------------------------- matching

    def _word_themes(self, word: str) -> int:
        hit = self._cache.get(word)
        if hit is None:
            s = self._stem(word)
            mask = 0
            for i in self._exact.get(s, ()):
                mask |= 1 << i
            for prefix, i in self._prefix:
                if word.startswith(prefix):
                    mask |= 1 << i
            hit = self._cache[word] = mask
        return hit

    def _stem(self, word: str) -> str:
        s = self._stems.get(word)
        if s is None:
            s = self._stems[word] = stem(word)
        return s

    def _mask(self, text: str | None) -> int:
        """The themes of a text as a bit mask (bit i: theme i)."""
        toks = words(text)
        info = self._info
        try:
            entries = [info[w] for w in toks]
        except KeyError:
            for w in toks:
                if w not in info:
                    info[w] = (self._word_themes(w), self._stem(w))
            entries = [info[w] for w in toks]
        mask = 0
        for m, _ in entries:
            mask |= m
        if self._phrases and len(toks) > 1:
            present = {st for _, st in entries}
            if present.isdisjoint(self._all_starts):
                return mask
            joined = None
            for i, pattern in self._phrases.items():
                if mask >> i & 1 or present.isdisjoint(self._phrase_starts[i]):
                    continue
                if joined is None:
                    joined = " " + " ".join([st for _, st in entries]) + " "
                if pattern.search(joined):
                    mask |= 1 << i
        return mask

    def _indexes(self, text: str | None) -> set[int]:
        mask = self._mask(text)
        return {i for i in range(len(self.themes)) if mask >> i & 1}

    def assign(self, texts: Iterable[str | None]) -> list[tuple[str, ...]]:
        """The theme ids of every text, in taxonomy order (empty tuple: no theme)."""
        ids = self.ids
        seen: dict[int, tuple[str, ...]] = {}
        out = []
        for mask in self.masks(list(texts)):
            mask = int(mask)
            got = seen.get(mask)
            if got is None:
                got = seen[mask] = tuple(ids[i] for i in range(len(ids)) if mask >> i & 1)
            out.append(got)
        return out

    def masks(self, texts: Sequence[str | None], *, batch: int = 20_000) -> Sequence[int]:
        """Each text's themes as a bit mask (bit i: theme i), for many texts at once.

        The same matching as text by text, done over all words of a batch: one
        regular-expression pass over the batch's texts joined by a separator,
        each distinct word looked up once, every keyword and phrase checked
        as array operations over the words.
        """
        if len(self.themes) > 62:  # beyond an int64: text by text, Python integers
            return [self._mask(t) for t in texts]
        out = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), batch):
            out[start : start + batch] = self._masks(texts[start : start + batch])
        return out

    def _masks(self, texts: Sequence[str | None]) -> np.ndarray:
        import pandas as pd

        n = len(texts)
        out = np.zeros(n, dtype=np.int64)
        clean = (t.replace("\x00", " ") if isinstance(t, str) else "" for t in texts)
        big = "\x00".join(clean).lower().replace("\u2019", "'")
        toks = _WORD_OR_SEP.findall(big)
        if not toks:
            return out
        codes, uniques = pd.factorize(np.array(toks, dtype=object))
        is_sep = np.array([u == "\x00" for u in uniques], dtype=bool)[codes]
        doc = np.cumsum(is_sep)[~is_sep]  # the text each word belongs to
        codes = codes[~is_sep]
        if not codes.size:
            return out
        umask = np.fromiter(
            (0 if u == "\x00" else self._word_themes(u) for u in uniques),
            dtype=np.int64,
            count=len(uniques),
        )
        tmask = umask[codes]
        starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        out[doc[starts]] = np.bitwise_or.reduceat(tmask, starts)
        if self._phrase_specs:
            ustems = ["" if u == "\x00" else self._stem(u) for u in uniques]
            ids: dict[str, int] = {}
            ustem_id = np.fromiter(
                (ids.setdefault(st, len(ids)) for st in ustems), dtype=np.int64, count=len(ustems)
            )
            tstem = ustem_id[codes]
            m = tstem.size
            for i, body, last, prefix in self._phrase_specs:
                bit = np.int64(1) << np.int64(i)
                if any(b not in ids for b in body):
                    continue
                pos = np.flatnonzero(tstem == ids[body[0]])
                for k, b in enumerate(body[1:], start=1):
                    j = pos + k
                    pos = pos[(j < m)]
                    j = pos + k
                    pos = pos[(doc[j] == doc[pos]) & (tstem[j] == ids[b])]
                j = pos + len(body)
                pos = pos[j < m]
                j = pos + len(body)
                if prefix:
                    ok_u = np.array([st.startswith(last) for st in ustems], dtype=bool)
                    last_ok = ok_u[codes[j]]
                else:
                    last_ok = tstem[j] == ids.get(last, -1)
                pos = pos[(doc[j] == doc[pos]) & last_ok]
                out[np.unique(doc[pos])] |= bit
        return out

    def matches(self, text: str | None) -> dict[str, list[str]]:
        """Which keywords of which themes a text matches (to explain an assignment)."""
        out: dict[str, list[str]] = {}
        for theme in self.themes:
            for kw in theme.keywords:
                if Taxonomy([TaxonomyTheme(theme.id, theme.label, (kw,))])._indexes(text):
                    out.setdefault(theme.id, []).append(kw)
        return out

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
