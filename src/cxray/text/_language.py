"""Which language each text is in, fast enough to run on every text of a store.

Sentiment lexicons and models are language-specific: an English scorer given a
Portuguese review answers with confidence and means nothing. cxray therefore
detects the language of every text and leaves texts of languages without a
model unscored, with a warning that says what to do (:func:`language_gaps`).

Method (documented in docs/text-analytics.md):

* **Script first.** Texts written mostly in a non-Latin script are assigned by
  the script: Cyrillic (Russian; Ukrainian when its own letters і ї є ґ occur),
  Greek, Arabic (Persian when پ چ ژ گ occur), Hebrew, Devanagari (Hindi), Thai,
  Hangul (Korean), kana (Japanese), Han without kana (Chinese).
* **Function words for Latin script.** Each of 17 languages has a short list of
  its most frequent function words (articles, pronouns, prepositions,
  auxiliaries; for Portuguese and Spanish also "bought" and "received", which
  open so many short reviews). A text's first 40 words are looked up in all
  lists at once (one sparse matrix product for a whole batch); a word found in k lists counts 1/k
  for each. Letters that only one language uses (ã õ for Portuguese, ñ ¿ ¡ for
  Spanish, ß for German, ł ż ś for Polish...) add to their language.
* **Undetermined.** A text is ``"und"`` when it is empty, has fewer than two
  function words, or its best language does not lead the second by half again.
  Short texts ("ok", "thanks!!") are undetermined rather than guessed.
* **Context.** Among texts detected together (an import, an enrichment batch), when
  20 or more are determined and one Latin-script language holds 80 % of them, an
  undetermined text of two words or more takes that language unless its own words
  point to another one. A short Portuguese review among Portuguese reviews is then
  flagged as Portuguese instead of being scored by an English model.

On real data (tests/text/test_language.py): English reviews, support questions
and news sentences are ≥ 97 % ``en`` with < 1 % another language; Portuguese
e-commerce reviews are Portuguese or undetermined (very short ones), never
English.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat

import numpy as np

__all__ = [
    "LANGUAGE_NAMES",
    "UNDETERMINED",
    "LanguageCount",
    "LanguageGap",
    "detect_languages",
    "language_counts",
    "language_gaps",
    "language_name",
    "stopwords",
]

UNDETERMINED = "und"
_MAX_CHARS = 240  # the first ~40 words decide
_MIN_HITS = 2  # function words (or language-only letters) in a text
_MIN_SCORE = 0.5  # their weight for the best language
_LEAD = 1.5
_CONTEXT_MIN = 20  # determined texts in a batch before its main language is a prior
_CONTEXT_SHARE = 0.8  # the main language's share of them

# The most frequent function words of each language (common knowledge of each
# language's grammar; short on purpose: a word is distinctive only with few others).
_FUNCTION_WORDS: dict[str, str] = {
    "en": "the and is was are were this that with for not you have has had it's i'm don't "
    "my our your they them their but would could should been be of to in on at it a an "
    "there what which when where how very just also from will can because do does did "
    "i me we us he she him her his its by as or if so all about up out get got am i've "
    "i'd i'll you're we're they're who into than then why can't isn't doesn't didn't",
    "es": "el la los las de del que y en un una por con para es no se lo le su al como "
    "pero más muy está son fue ya mi me nos este esta todo también hay porque "
    "sin hasta todavía bien antes después cuando pero compré recibí",
    "pt": "o a os as de do da dos das que e em um uma por com para não no na nos nas se é "
    "foi mas mais muito já meu minha ao pelo pela eu ele ela você isso este esta está tem "
    "tudo sem até ainda bem antes depois quando também ou essa esse comprei recebi",
    "fr": "le la les de des du et est un une pour pas que qui dans en sur avec ce cette "
    "il elle je nous vous ne au aux sont mais très été ont plus mon ma mes",
    "de": "der die das und ist nicht ein eine zu den mit von für auf im dem es ich sie wir "
    "auch sich war sehr aber wie noch nur bei ist's des einen einem oder wurde",
    "it": "il lo la i gli le di che e è un una per non con del della dei sono ma più molto "
    "anche ho mi ci questo questa nel alla al come ha era",
    "nl": "de het een en van is niet dat die op te met voor zijn ik je we maar ook heb "
    "was om bij er naar dan nog wel geen hij zij deze dit",
    "sv": "och att det som en är på av för med inte den till jag har var om men de ett "
    "så vi kan från eller hade mycket också",
    "da": "og at det er en til på af for med ikke den jeg har var som de et så vi kan "
    "fra eller havde meget også men",
    "no": "og at det er en til på av for med ikke den jeg har var som de et så vi kan fra "
    "eller hadde mye også men ble",
    "fi": "ja on ei se että oli mutta kun niin myös hän ovat olla tai mitä ole jo vain "
    "kuin tämä mikä minä sinä me te he",
    "pl": "i w nie na się z do to że jest jak ale o co po tak za od jestem był była są "
    "przez dla już bardzo mi mnie jego",
    "tr": "ve bir bu da de için çok ile ne var ama gibi daha olarak ben sen o biz mi mı "
    "değil olan kadar sonra",
    "id": "dan yang di ini itu dengan untuk tidak dari ke ada saya akan juga pada sudah "
    "bisa karena atau kami mereka sangat",
    "ro": "și în de la nu este că cu pe un o mai din pentru se sunt am care foarte dar "
    "ce sau fost acest această",
    "cs": "a je v se na to že s z do jsem není jak ale by o pro tak jsou už byl bylo "
    "velmi také jen",
    "hu": "a az és hogy nem is egy van meg de csak már el volt ez azt ki mint nagyon vagy lesz ha",
}

# letters that one language uses and the others of the list do not
_LETTERS: dict[str, str] = {
    "pt": "ãõ",
    "es": "ñ¿¡",
    "de": "ß",
    "pl": "łżźśćńąę",
    "tr": "ğşı",
    "hu": "őű",
    "cs": "řůě",
    "ro": "țșă",
    "fr": "œ",
}

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "nl": "Dutch",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "pl": "Polish",
    "tr": "Turkish",
    "id": "Indonesian",
    "ro": "Romanian",
    "cs": "Czech",
    "hu": "Hungarian",
    "ru": "Russian",
    "uk": "Ukrainian",
    "el": "Greek",
    "ar": "Arabic",
    "fa": "Persian",
    "he": "Hebrew",
    "hi": "Hindi",
    "th": "Thai",
    "ko": "Korean",
    "ja": "Japanese",
    "zh": "Chinese",
    UNDETERMINED: "undetermined",
}

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("kana", re.compile(r"[\u3040-\u30ff]")),
    ("han", re.compile(r"[\u4e00-\u9fff]")),
)
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
# links, @handles and #hashtags say nothing of the language
_NOT_WORDS = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+")
# punctuation, digits and symbols become spaces, so that str.split finds the words
_SEPARATORS = str.maketrans(
    {c: " " for c in '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~0123456789\u2026\u201c\u201d\u00bf\u00a1'}
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, int], np.ndarray, tuple[str, ...]]:
    """Word -> row, the word-by-language weight matrix, and the languages (its columns)."""
    langs = tuple(_FUNCTION_WORDS)
    owners: dict[str, list[int]] = {}
    for j, lang in enumerate(langs):
        for w in set(_FUNCTION_WORDS[lang].split()):
            owners.setdefault(w, []).append(j)
    rows = {w: i + 1 for i, w in enumerate(sorted(owners))}  # row 0: not a function word
    weights = np.zeros((len(rows) + 1, len(langs)))
    for w, cols in owners.items():
        weights[rows[w], cols] = 1.0 / len(cols)
    return rows, weights, langs


def detect_languages(texts: Sequence[str | None], *, context: bool = True) -> np.ndarray:
    """An ISO 639-1 code per text, or ``"und"`` (empty, too short or unclear).

    With ``context`` (the default), a short text without a language of its own takes the
    main language of the texts around it, when they have one (:func:`_from_context`).

    >>> texts = ["The parcel was late and nobody answered", "O produto chegou antes do prazo", "ok"]
    >>> detect_languages(texts).tolist()
    ['en', 'pt', 'und']
    """
    from scipy import sparse

    rows, weights, langs = _tables()
    n = len(texts)
    out = np.full(n, UNDETERMINED, dtype=object)
    if n == 0:
        return out
    strip = _NOT_WORDS.sub
    heads = [
        strip(" ", t[:_MAX_CHARS]).translate(_APOSTROPHES).lower() if isinstance(t, str) else ""
        for t in texts
    ]
    # non-Latin scripts decide by themselves
    latin_rows = []
    for i, h in enumerate(heads):
        if not h or h.isascii():
            latin_rows.append(i)
            continue
        script = _script(h)
        if script is None:
            latin_rows.append(i)
        else:
            out[i] = script
    if not latin_rows:
        return out
    words = [heads[i].translate(_SEPARATORS).split() for i in latin_rows]
    ids = np.fromiter(map(rows.get, chain.from_iterable(words), repeat(0)), dtype=np.int64)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    # row 0 of the weights (not a function word) is all zeros
    counts = sparse.csr_matrix(
        (np.ones(len(ids)), ids, indptr), shape=(len(words), weights.shape[0])
    )
    doc = np.repeat(np.arange(len(words)), lengths)
    hits = np.bincount(doc[ids > 0], minlength=len(words))
    scores = np.asarray(counts @ weights)
    letter_cols = [(langs.index(lang), letters) for lang, letters in _LETTERS.items()]
    for k, i in enumerate(latin_rows):
        h = heads[i]
        if not h.isascii():
            for j, letters in letter_cols:
                n_letters = sum(map(h.count, letters))
                if n_letters:
                    scores[k, j] += min(n_letters, 3)
                    hits[k] += min(n_letters, 3)
    order = np.argsort(-scores, axis=1)
    best = scores[np.arange(len(words)), order[:, 0]]
    second = scores[np.arange(len(words)), order[:, 1]]
    ok = (hits >= _MIN_HITS) & (best >= _MIN_SCORE) & (best >= _LEAD * second)
    codes = np.array(langs, dtype=object)[order[:, 0]]
    latin = np.asarray(latin_rows)
    out[latin[ok]] = codes[ok]
    if context:
        _from_context(out, latin, ok, scores, langs, words)
    return out


def _from_context(
    out: np.ndarray,
    latin: np.ndarray,
    ok: np.ndarray,
    scores: np.ndarray,
    langs: tuple[str, ...],
    words: list[list[str]],
) -> None:
    """Short texts of a collection that speaks one language take that language.

    When at least ``_CONTEXT_MIN`` texts of the batch are determined and one Latin-script
    language holds ``_CONTEXT_SHARE`` of them, an undetermined text of two words or more
    whose evidence does not point elsewhere (its score for that language is at least its
    score for any other, ties at none included) is taken to be in it: "produto entregue no
    prazo" among Portuguese reviews is Portuguese, not an English text to score."""
    determined = Counter(str(c) for c in out if c != UNDETERMINED)
    total = sum(determined.values())
    if total < _CONTEXT_MIN:
        return
    lang, count = determined.most_common(1)[0]
    if count < _CONTEXT_SHARE * total or lang not in langs:
        return
    j = langs.index(lang)
    pending = np.flatnonzero(~ok)
    if not len(pending):
        return
    sub = scores[pending]
    fits = (sub[:, j] >= sub.max(axis=1)) & np.fromiter(
        (len(words[k]) >= 2 for k in pending), dtype=bool, count=len(pending)
    )
    out[latin[pending[fits]]] = lang


def _script(head: str) -> str | None:
    """The language of a text written mostly in a non-Latin script, or None."""
    latin = len(_LATIN.findall(head))
    found = [(len(p.findall(head)), name) for name, p in _SCRIPTS]
    count, name = max(found)
    if count == 0 or count < latin:
        return None
    if name == "cyrillic":
        return "uk" if re.search(r"[іїєґ]", head) else "ru"
    if name == "arabic":
        return "fa" if re.search(r"[پچژگ]", head) else "ar"
    if name in ("kana", "han"):
        return "ja" if found[-2][0] else "zh"
    return name


def language_name(code: str) -> str:
    """The English name of a language code (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, code)


@lru_cache(maxsize=64)
def stopwords(code: str) -> frozenset[str]:
    """Stop words for theme discovery, lower-case; empty for unknown codes.

    English: scikit-learn's list (the one discovery always used) plus the
    function words above; others: the stopwords-iso list of the language plus
    its function words.
    """
    if code == "en":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS) | frozenset(_FUNCTION_WORDS["en"].split())
    if code not in LANGUAGE_NAMES or code == UNDETERMINED:
        return frozenset()
    import stopwordsiso

    words = set(stopwordsiso.stopwords(code)) if stopwordsiso.has_lang(code) else set()
    return frozenset(w.lower() for w in words) | frozenset(_FUNCTION_WORDS.get(code, "").split())


@dataclass(frozen=True)
class LanguageCount:
    """How many texts are in one language, and whether sentiment can score them."""

    code: str
    name: str
    n: int
    share: float
    supported: bool


@dataclass(frozen=True)
class LanguageGap:
    """A language with texts but no sentiment model: what to tell the user."""

    code: str
    name: str
    n: int
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "n": self.n, "message": self.message}


def language_counts(
    codes: Sequence[str] | np.ndarray, supported: Collection[str]
) -> list[LanguageCount]:
    """Texts per language, most first; ``und`` counts as supported (scored as usual)."""
    tally = Counter(str(c) for c in codes)
    total = sum(tally.values()) or 1
    ok = set(supported) | {UNDETERMINED}
    return [
        LanguageCount(code, language_name(code), n, n / total, code in ok)
        for code, n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def language_gaps(
    codes: Sequence[str] | np.ndarray, supported: Collection[str]
) -> list[LanguageGap]:
    """One gap per language without a sentiment model, most texts first."""
    return [
        LanguageGap(
            c.code,
            c.name,
            c.n,
            f"{c.name}: {c.n:,} text{'' if c.n == 1 else 's'}; "
            "sentiment needs a trained model: `cxray text train`",
        )
        for c in language_counts(codes, supported)
        if not c.supported
    ]
