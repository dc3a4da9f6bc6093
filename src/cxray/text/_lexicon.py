"""The out-of-the-box sentiment scorer: the VADER lexicon, applied to whole batches at once.

VADER (Hutto & Gilbert, ICWSM 2014) scores a text by summing the valence of its
lexicon words, adjusted by rules: a negation in the three words before a word
flips and damps it, degree adverbs ("very", "slightly") strengthen or weaken
it, a word in capitals among lower-case ones is emphasised, the clause after
"but" weighs more than the clause before it, and exclamation marks add
intensity. The sum is squashed to -1..1 (``s / sqrt(s^2 + 15)``).

The reference implementation walks every word of every text in Python (about
3,000 texts/s on two cores). :class:`LexiconSentiment` applies the same lexicon
and the same rules to a batch as flat NumPy arrays: one regular-expression pass
per text finds the tokens, one dictionary lookup per token finds its entry,
and every rule is an array operation over all tokens of the batch. Its scores
follow VADER's closely but not to the last digit (multi-word idioms and a few
special cases are left out); it needs no training and is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path

import numpy as np

from cxray.text._labels import LABELS, label_scores

__all__ = ["CX_PHRASES", "CX_VALENCE", "LexiconSentiment", "compound", "token_valence"]

_ALPHA = 15.0  # VADER's normalization constant
_N_SCALAR = -0.74  # a negated word flips and keeps 74% of its strength
_C_INCR = 0.733  # emphasis of a word in capitals
_B_INCR = 0.293  # a degree adverb's effect
_EXCLAIM = 0.292  # per "!" (at most 4)
_QUESTION = 0.18  # per "?" when there are 2 or 3; 0.96 for more
_WINDOW = (1.0, 0.95, 0.9)  # weight of a modifier 1, 2 and 3 words before

_NEGATORS = (  # noqa: SIM905
    "aint arent cannot cant couldnt darent didnt doesnt dont hadnt hasnt havent isnt mightnt "
    "mustnt neither neednt never none nope nor not nothing nowhere oughtnt shant shouldnt "
    "uhuh wasnt werent without wont wouldnt rarely seldom despite n't no"
).split()
_BOOST_UP = (  # noqa: SIM905
    "absolutely amazingly awfully completely considerable considerably decidedly deeply "
    "effing enormous enormously entirely especially exceptional exceptionally extreme "
    "extremely fabulously flipping flippin frackin fracking fricking frickin frigging friggin "
    "fully fuckin fucking fuggin fugging greatly hella highly hugely incredible incredibly "
    "intensely major majorly more most particularly purely quite really remarkably so "
    "substantially thoroughly total totally tremendous tremendously uber unbelievably "
    "unusually utter utterly very"
).split()
_BOOST_DOWN = (  # noqa: SIM905
    "almost barely hardly kinda kindof less little marginal marginally occasional "
    "occasionally partly scarce scarcely slight slightly somewhat sorta sortof"
).split()


def _split(words: str) -> list[str]:
    return words.split()


# Customer-service language for the general model (cxray.text.GeneralSentiment), not used by
# LexiconSentiment, which stays VADER. Valences on VADER's -4..4 scale, chosen by hand.
CX_VALENCE: dict[str, float] = {
    # words VADER lacks or under-scores, that in feedback nearly always report a problem
    **dict.fromkeys(_split("delayed delays cancelled canceled overbooked stranded"), -1.8),
    **dict.fromkeys(_split("delay cancellation cancellations overcharged mishandled"), -1.6),
    **dict.fromkeys(_split("unhelpful unprofessional understaffed downgraded filthy"), -1.8),
    **dict.fromkeys(_split("crashed crashes crashing buggy laggy glitchy unresponsive"), -1.6),
    **dict.fromkeys(_split("glitch glitches bug bugs freezes freezing overpriced"), -1.2),
    **dict.fromkeys(_split("cramped smelly stale nightmare hassle rip-off ripoff"), -1.6),
    **dict.fromkeys(_split("waited waiting queue queues late later missed missing"), -0.8),
    **dict.fromkeys(_split("refund refunds reimbursement compensation complaint"), -0.8),
    **dict.fromkeys(_split("lost stuck diverted misplaced damaged broken"), -1.5),
    **dict.fromkeys(_split("slow slower worse"), -1.4),
    **dict.fromkeys(_split("declined failing compromised"), -1.4),
    **dict.fromkeys(_split("swallowed reverted unrecognised unrecognized unauthorised"), -1.2),
    **dict.fromkeys(_split("unauthorized pending overdue incorrect"), -0.8),
    # VADER words that in customer service are not praise: names ("United", "Spirit"),
    # "customer care", "please help", "I would like a refund", "pretty" as an adverb
    **dict.fromkeys(_split("united care please help like pretty spirit want yes party"), 0.0),
}
#: two-token phrases: the valence goes to the second token ("n't" is a token of its own)
CX_PHRASES: dict[tuple[str, str], float] = {
    **dict.fromkeys(
        [
            ("on", "hold"),
            ("still", "waiting"),
            ("still", "waited"),
            ("never", "arrived"),
            ("never", "received"),
            ("never", "got"),
            ("never", "came"),
            ("n't", "arrived"),
            ("n't", "arrive"),
            ("n't", "received"),
            ("n't", "receive"),
            ("n't", "work"),
            ("n't", "working"),
            ("n't", "works"),
            ("not", "working"),
            ("not", "work"),
            ("n't", "answer"),
            ("no", "answer"),
            ("no", "response"),
            ("no", "reply"),
            ("no", "one"),
            ("nobody", "answered"),
            ("hung", "up"),
            ("charged", "twice"),
            ("double", "charged"),
            ("lost", "luggage"),
            ("lost", "bag"),
            ("lost", "baggage"),
            ("missed", "connection"),
            ("n't", "load"),
            ("n't", "open"),
            ("keeps", "crashing"),
            ("still", "no"),
            ("n't", "fixed"),
            ("n't", "refund"),
            ("no", "refund"),
            ("sent", "back"),
            ("send", "back"),
            ("returned", "it"),
            ("return", "it"),
        ],
        -1.8,
    ),
}
#: hand-made examples of CX sentences that VADER reads wrongly (documentation and tests)
CX_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("@united flight delayed 3 hours and no one at the desk", "negative"),
    ("@SouthwestAir what time does the gate open?", "neutral"),
    ("thanks @JetBlue, great crew!", "positive"),
)

# words ending in n't are split so that "n't" is a token of its own ("didn't" -> "did", "n't");
# emoticons from the lexicon are kept whole; "!" and "?" are tokens.
_TOKEN = re.compile(
    r"[A-Za-z]+(?=n't)|n't|[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]"
    r"|[:;=8xX][\-o\*']?[\)\]\(\[dDpP/\\|@3]|<3|!|\?"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'"})

_NEG, _BOOST, _BUT, _EXCL, _QUEST = 1, 2, 3, 4, 5  # token kinds besides plain words


def _lexicon_path() -> Path:
    import vaderSentiment.vaderSentiment as vader

    return Path(vader.__file__).with_name("vader_lexicon.txt")


@lru_cache(maxsize=1)
def vader_valence() -> dict[str, float]:
    """The VADER lexicon: lower-case token -> mean valence (-4..4)."""
    valence: dict[str, float] = {}
    for line in _lexicon_path().read_text(encoding="utf-8").splitlines():
        word, _, rest = line.partition("\t")
        if word and rest:
            valence[word.lower()] = float(rest.split("\t", 1)[0])
    return valence


def rule_kinds() -> tuple[dict[str, int], dict[str, float]]:
    """Token -> kind (negator, degree adverb, "but", "!", "?"), and degree adverb -> effect."""
    kinds = {w: _NEG for w in _NEGATORS}
    boosts = dict.fromkeys(_BOOST_UP, _B_INCR) | dict.fromkeys(_BOOST_DOWN, -_B_INCR)
    kinds |= dict.fromkeys(boosts, _BOOST)
    kinds |= {"but": _BUT, "!": _EXCL, "?": _QUEST}
    return kinds, boosts


def build_tables(
    words: Sequence[str], valence: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per id (``words[i]`` has id ``i + 1``; id 0 is unknown): valence, kind, booster value."""
    kinds, boosts = rule_kinds()
    val = np.zeros(len(words) + 1)
    kind = np.zeros(len(words) + 1, dtype=np.int8)
    boost = np.zeros(len(words) + 1)
    for i, w in enumerate(words, start=1):
        if kinds.get(w) == _BOOST:  # a degree adverb is a modifier, not a sentiment word
            kind[i], boost[i] = _BOOST, boosts[w]
        elif w in kinds:
            kind[i] = kinds[w]
            # a negator's own valence ("no" is -1.2 in the lexicon) is kept, as VADER does
            val[i] = valence.get(w, 0.0) if kinds[w] == _NEG else 0.0
        else:
            val[i] = valence.get(w, 0.0)
    return val, kind, boost


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Token -> id, and per id: valence, kind, booster value. Id 0 is "not in the lexicon"."""
    valence = vader_valence()
    words = sorted(set(valence) | set(rule_kinds()[0]))
    ids = {w: i + 1 for i, w in enumerate(words)}
    return (ids, *build_tables(words, valence))


class LexiconSentiment:
    """Rule-based sentiment from the VADER lexicon, vectorized; needs no training.

    ``predict_score`` gives a compound score in -1..1 per text, ``predict`` the
    label (``threshold`` as VADER's: 0.05). ``fit`` exists for the estimator
    contract and learns nothing.

    >>> LexiconSentiment().predict(["I love it", "This is terrible", "It is a shirt"])
    array(['positive', 'negative', 'neutral'], dtype=object)
    """

    classes_ = np.array(LABELS, dtype=object)

    def __init__(self, *, threshold: float = 0.05, batch_size: int = 50_000):
        self.threshold = threshold
        self.batch_size = batch_size

    def fit(self, texts: Iterable[str] | None = None, labels: object = None) -> LexiconSentiment:
        return self

    def predict_score(self, texts: Sequence[str | None]) -> np.ndarray:
        texts = list(texts)
        parts = [
            _score_batch(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def score_texts(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Labels and scores in one pass."""
        s = self.predict_score(texts)
        return label_scores(s, threshold=self.threshold), s

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        return label_scores(self.predict_score(texts), threshold=self.threshold)

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """A soft 3-class reading of the score (not calibrated): columns follow ``LABELS``."""
        s = self.predict_score(texts)
        pos, neg = np.clip(s, 0, 1), np.clip(-s, 0, 1)
        return np.column_stack([neg, 1 - pos - neg, pos])

    def score(self, texts: Sequence[str | None], labels: Sequence[str]) -> float:
        """Macro-F1 of the labels against ``labels``."""
        from sklearn.metrics import f1_score

        return float(f1_score(list(labels), self.predict(texts), average="macro", labels=LABELS))


def _score_batch(texts: list[str | None]) -> np.ndarray:
    ids_of, valence, kind, boost = _tables()
    n = len(texts)
    findall = _TOKEN.findall
    tokens = [findall(t.translate(_APOSTROPHES)) if isinstance(t, str) else [] for t in texts]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(tokens))
    if not flat:
        return np.zeros(n)
    lower = list(map(str.lower, flat))
    ids = np.fromiter(map(ids_of.get, lower, repeat(0)), dtype=np.int64, count=len(flat))
    doc = np.repeat(np.arange(n), lengths)
    start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(len(flat)) - start  # position of each token in its text
    upper = np.fromiter(map(str.isupper, flat), dtype=bool, count=len(flat))
    v, word, k, _ = token_valence(ids, doc, pos, upper, n, valence, kind, boost)
    return compound(v, word, k, doc, n)


def token_valence(
    ids: np.ndarray,
    doc: np.ndarray,
    pos: np.ndarray,
    upper: np.ndarray,
    n: int,
    valence: np.ndarray,
    kind: np.ndarray,
    boost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """VADER's rules over the flat tokens of a batch.

    ``ids`` index the per-id tables ``valence``, ``kind`` and ``boost``; ``doc`` is the
    text of each token, ``pos`` its position in it, ``upper`` whether it is written in
    capitals. Returns each token's adjusted valence, whether it is a word (not "!" or
    "?"), its kind, and whether a negator stood in the three tokens before it.
    """
    m = len(ids)
    v = valence[ids]
    k = kind[ids]
    word = (k != _EXCL) & (k != _QUEST)
    # the rules only change sentiment words: work on those (about a tenth of the tokens)
    s = np.flatnonzero(v != 0)
    vs = v[s]
    sign = np.sign(vs)
    ps, ds = pos[s], doc[s]

    # capitals: an upper-case word among lower-case ones (not a shouting text) is emphasised
    upper = upper & word
    n_upper = np.bincount(doc, weights=upper, minlength=n)
    n_words = np.bincount(doc, weights=word, minlength=n)
    mixed = (n_upper > 0) & (n_upper < n_words)
    vs += np.where(upper[s] & mixed[ds], sign * _C_INCR, 0.0)

    # modifiers 1..3 words before a sentiment word, inside the same text
    neg_s = np.zeros(len(s), dtype=bool)
    for lag, weight in enumerate(_WINDOW, start=1):
        ok = ps >= lag
        prev = np.where(ok, ids[np.maximum(s - lag, 0)], 0)
        b = boost[prev]
        vs += np.where(b != 0, sign * b * weight, 0.0)
        neg_s |= (kind[prev] == _NEG) & ok
    vs = np.where(neg_s, vs * _N_SCALAR, vs)

    # "but": the clause before it counts half, the clause after it one and a half
    is_but = k == _BUT
    first_but = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_but, doc[is_but], pos[is_but])
    fb = first_but[ds]
    has_but = fb < np.iinfo(np.int64).max
    vs = np.where(has_but & (ps < fb), vs * 0.5, np.where(has_but & (ps > fb), vs * 1.5, vs))
    v = np.zeros(m)
    v[s] = vs
    negated = np.zeros(m, dtype=bool)
    negated[s] = neg_s
    return v, word, k, negated


def compound(v: np.ndarray, word: np.ndarray, k: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    """VADER's compound score per text from the adjusted valences of its tokens."""
    total = np.bincount(doc, weights=np.where(word, v, 0.0), minlength=n)
    # punctuation adds intensity in the direction of the text
    excl = np.minimum(np.bincount(doc, weights=k == _EXCL, minlength=n), 4) * _EXCLAIM
    quest = np.bincount(doc, weights=k == _QUEST, minlength=n)
    quest = np.where(quest > 3, 0.96, np.where(quest > 1, quest * _QUESTION, 0.0))
    emph = excl + quest
    total = np.where(total > 0, total + emph, np.where(total < 0, total - emph, 0.0))
    return np.clip(total / np.sqrt(total * total + _ALPHA), -1.0, 1.0)
