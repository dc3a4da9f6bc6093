"""The general sentiment model: shipped in the package, trained on public labelled feedback.

:class:`GeneralSentiment` needs no labels of the user's. It reads a small model file
shipped with cxray (``cxray/text/models/general-v2.npz``) and scores a batch in one
tokenizing pass:

* **Cleaning.** @handles, URLs and the ``#`` of hashtags are removed before anything
  else, so "@united" or a link can never move a score. A capitalised word inside a
  sentence (not at its start, in a text that is not written in title case) is read as a
  name: "flying United" or "Spirit" carry no valence.
* **Lexicon and rules as features.** VADER's lexicon and rules (negation, degree
  adverbs, capitals, "but", "!") plus cxray's customer-service lexicon
  (:data:`cxray.text._lexicon.CX_VALENCE`: delayed, cancelled, refund, waited, stuck,
  ...; :data:`~cxray.text._lexicon.CX_PHRASES`: "on hold", "still waiting", "never
  arrived", "charged twice", ...) give each text a compound score, its bin, the sums of
  positive and negative valence, the number of service-problem hits, negated positive
  words, whether it has no sentiment word at all and whether it is a question. These
  are features: the model learns how much each is worth.
* **Words.** Unigrams of a fixed vocabulary and bigrams hashed from the unigram ids,
  weighted by IDF and normalized by the text's length.
* **A linear model** (multinomial logistic regression, every training set weighted
  as one domain and its classes equally) maps them to negative / neutral / positive
  probabilities.

Scoring is array arithmetic over the flat tokens of a batch (no sparse matrices),
so it runs at tens of thousands of texts per second. The file is a NumPy ``.npz`` of
arrays and a JSON header (training sets, row counts, licenses, seed, cxray version),
read with ``allow_pickle=False``. ``python -m cxray.text._train_general`` rebuilds it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from cxray.exceptions import ModelError
from cxray.text._labels import LABELS
from cxray.text._lexicon import (
    _APOSTROPHES,
    _EXCL,
    _QUEST,
    _TOKEN,
    CX_PHRASES,
    CX_VALENCE,
    build_tables,
    compound,
    rule_kinds,
    token_valence,
    vader_valence,
)

__all__ = ["GENERAL_MODEL", "GeneralSentiment"]

FORMAT = "cxray.text.GeneralSentiment"
FORMAT_VERSION = 1
MODEL_ID = "general-v2"
#: the model file shipped in the package
GENERAL_MODEL = Path(__file__).with_name("models") / f"{MODEL_ID}.npz"

_CLEAN = re.compile(r"https?://\S+|www\.\S+|@\w+|&amp;|#")
_TOKENS = re.compile(_TOKEN.pattern + r"|[.;]")
_BIGRAM_PRIME = 1_000_003
_BINS = np.array([-0.6, -0.3, -0.05, 0.05, 0.3, 0.6])
_QUESTION_WORDS = frozenset(
    str.split(
        "how what when where why who which can could do does did is are was will would should "
        "may any anyone"
    )
)
_SENTENCE_END = frozenset(".!?;")
N_DENSE = 17
DENSE_NAMES = (
    "compound",
    *(f"compound_bin_{i}" for i in range(7)),
    "positive_sum",
    "negative_sum",
    "service_problems",
    "no_sentiment_words",
    "question_mark",
    "question_word_first",
    "negated_positive",
    "exclamations",
    "bias_like",
)


class ShippedModel:
    """What a sentiment model shipped in the package shares: its classes, its file's state
    read once (the file named by ``path``, else the shipped one), its id and header, and a
    ``fit`` that learns nothing. Subclasses name their id, file and reader."""

    classes_ = np.array(LABELS, dtype=object)
    languages_ = ("en",)
    _model_id: str
    _model_file: Path
    path: str | Path | None

    @staticmethod
    def _read(path: str) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------ the model's state

    @property
    def model_id(self) -> str:
        return str(self._state()["header"].get("model_id", self._model_id))

    @property
    def header(self) -> dict[str, Any]:
        """The JSON header of the model file: training sets, parameters, seed, version."""
        return dict(self._state()["header"])

    def _state(self) -> dict[str, Any]:
        state = getattr(self, "_fitted", None)
        if state is None:
            path = Path(self.path) if self.path is not None else self._model_file
            state = self._read(str(path.resolve()))
            self._fitted = state
        return state

    # ------------------------------------------------------------ the estimator contract

    def fit(self, texts: Iterable[str] | None = None, labels: object = None) -> Any:
        """Learns nothing: the model is the shipped file."""
        return self


class GeneralSentiment(ShippedModel):
    """Out-of-the-box 3-class sentiment from the model shipped in cxray; needs no training.

    >>> m = GeneralSentiment()
    >>> m.predict(["@united flight delayed 3 hours and no one at the desk"])
    array(['negative'], dtype=object)

    ``fit`` exists for the estimator contract and learns nothing; :meth:`train` builds a
    new model from labelled texts (what ``python -m cxray.text._train_general`` runs).
    ``path`` reads another model file written by :meth:`save`.
    """

    _model_id = MODEL_ID
    _model_file = GENERAL_MODEL

    def __init__(self, *, path: str | Path | None = None, batch_size: int = 20_000):
        self.path = path
        self.batch_size = batch_size

    @staticmethod
    def _read(path: str) -> dict[str, Any]:
        return _load(path)

    def decision_function(self, texts: Sequence[str | None]) -> np.ndarray:
        """Logits, one column per class of ``classes_``."""
        logits, no_sentiment = self._raw_logits(texts)
        boost = float(self._state()["header"]["params"].get("neutral_boost", 0.0))
        logits[:, 1] += boost * no_sentiment
        return logits

    def _raw_logits(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Logits before the neutral rule, and whether each text has no sentiment word and
        no service problem (the texts the rule moves towards neutral)."""
        st = self._state()
        texts = list(texts)
        parts = [
            _logits(st, texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        if not parts:
            return np.zeros((0, len(LABELS))), np.zeros(0, dtype=bool)
        return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Probabilities, columns in ``classes_`` (= ``LABELS``) order."""
        return _softmax(self.decision_function(texts))

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        return self.score_texts(texts)[0]

    def predict_score(self, texts: Sequence[str | None]) -> np.ndarray:
        """A score in -1..1: P(positive) - P(negative)."""
        return self.score_texts(texts)[1]

    def score_texts(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most likely class) and scores (P(positive) - P(negative)) in one pass."""
        p = self.predict_proba(texts)
        tau = float(self._state()["header"]["params"].get("min_confidence", 0.0))
        return decide(p, tau), np.clip(p[:, 2] - p[:, 0], -1.0, 1.0)

    def score(self, texts: Sequence[str | None], labels: Sequence[str]) -> float:
        """Macro-F1 over the classes present in ``labels`` (binary sets: the two of them)."""
        from sklearn.metrics import f1_score

        labels = [str(x) for x in labels]
        present = [c for c in LABELS if c in set(labels)]
        return float(f1_score(labels, self.predict(texts), average="macro", labels=present))

    # ------------------------------------------------------------ training

    @classmethod
    def train(
        cls,
        texts: Sequence[str | None],
        labels: Sequence[str],
        *,
        groups: Sequence[str] | None = None,
        C: float = 1.0,
        min_df: int = 3,
        n_buckets: int = 2**17,
        dense_scale: float = 1.0,
        random_state: int = 0,
        max_iter: int = 200,
        neutral_boost: float = 3.0,
        min_confidence: float = 0.6,
        class_balance: bool = False,
        min_groups: int = 1,
    ) -> GeneralSentiment:
        """Learn a model from labelled texts; ``groups`` names each text's training set.

        Every group weighs the same in total and, inside a group, every class present
        weighs the same, so a large set of one kind of text does not drown the others.
        The same data and parameters give the same model.

        With ``class_balance`` every class weighs the same in total too (sets that lack a
        class, such as binary reviews or support queries, tilt the prior to the classes they
        have). With ``min_groups`` above 1 a word or hashed bigram is learned only when at
        least two texts of each of ``min_groups`` groups have it (at most the number of
        groups). Both are off in the shipped model: on the leave-one-domain-out evaluation
        they gained on the short binary sentence sets and lost more on the review sets.

        Two rules apply when scoring, not when learning: a text without any sentiment
        word or service problem gets ``neutral_boost`` added to its neutral logit (the
        training reviews almost never show text without sentiment, questions and
        statements of fact do), and a text whose most likely class has a probability
        below ``min_confidence`` is labelled neutral.
        """
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        texts = [t if isinstance(t, str) else "" for t in texts]
        labels = [str(x) for x in labels]
        groups = ["all"] * len(texts) if groups is None else [str(g) for g in groups]
        if not len(texts) == len(labels) == len(groups):
            raise ModelError(f"{len(texts)} texts, {len(labels)} labels, {len(groups)} groups")
        if min_groups < 1:
            raise ModelError(f"min_groups must be 1 or more, got {min_groups}")
        min_groups = min(min_groups, len(set(groups)))
        unknown = sorted(set(labels) - set(LABELS))
        if unknown:
            raise ModelError(f"labels must be {', '.join(LABELS)}; got {unknown[:3]}")
        if set(labels) != set(LABELS):
            raise ModelError(f"the general model needs all of {', '.join(LABELS)} in training")

        # vocabulary: the lexicons' words, the rule words, and words in >= min_df texts
        tok = _tokenize(texts)
        index: dict[str, int] = {}
        inverse = np.fromiter(
            (index.setdefault(w, len(index)) for w in tok["lower"]),
            dtype=np.int64,
            count=len(tok["lower"]),
        )
        names = list(index)
        doc_word = np.unique(tok["doc"] * np.int64(len(names)) + inverse)
        dfc = np.bincount(doc_word % len(names), minlength=len(names))
        vocab = sorted(
            _vocab_seed() | {str(w) for w, c in zip(names, dfc, strict=True) if c >= min_df}
        )
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model_id": MODEL_ID,
            "classes": list(LABELS),
            "params": {
                "C": C,
                "min_df": min_df,
                "n_buckets": n_buckets,
                "dense_scale": dense_scale,
                "random_state": random_state,
                "max_iter": max_iter,
                "neutral_boost": neutral_boost,
                "min_confidence": min_confidence,
                "class_balance": class_balance,
                "min_groups": min_groups,
            },
            "n_train": len(texts),
        }
        state = _make_state(header, vocab, None, None, None)
        n_cols = state["n_text"]
        cols, doc, _, dense = _features(state, tok, len(texts))
        # IDF over the training texts
        dpairs = np.unique(doc * np.int64(n_cols) + cols)
        dfreq = np.bincount(dpairs % n_cols, minlength=n_cols)
        idf = np.log((1 + len(texts)) / (1 + dfreq)) + 1.0
        state["idf"] = idf
        x_text = _text_matrix(state, cols, doc, len(texts))
        x = sparse.hstack([x_text, sparse.csr_matrix(dense * dense_scale)], format="csr")

        y = np.array(labels, dtype=object)
        g = np.array(groups, dtype=object)
        w = np.zeros(len(texts))
        for name in np.unique(g):
            in_g = g == name
            present = np.unique(y[in_g])
            for c in present:
                m = in_g & (y == c)
                w[m] = 1.0 / (m.sum() * len(present))
        if class_balance:
            # sets that lack a class (binary reviews, support queries) would tilt the prior
            # to the classes they have: every class weighs the same in total
            for c in LABELS:
                w[y == c] /= w[y == c].sum()
        w *= len(texts) / w.sum()
        # only columns seen in >= min_df training texts are learned (the rest keep weight 0)
        learned = dfreq >= min_df
        if min_groups > 1:
            # a word or bigram used by one training set only is that set's jargon ("runs
            # small", "the plot"): learned only when >= 2 texts of min_groups sets have it
            gcode = {name: i for i, name in enumerate(np.unique(g))}
            gdoc = np.array([gcode[x] for x in g], dtype=np.int64)[dpairs // n_cols]
            gpairs, gcount = np.unique(
                gdoc * np.int64(n_cols) + dpairs % n_cols, return_counts=True
            )
            n_groups = np.bincount(gpairs[gcount >= 2] % n_cols, minlength=n_cols)
            learned &= n_groups >= min_groups
        active = np.concatenate([learned, np.ones(N_DENSE, dtype=bool)])
        clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-3, random_state=random_state)
        clf.fit(x[:, np.flatnonzero(active)], y, sample_weight=w)
        if [str(c) for c in clf.classes_] != list(LABELS):
            raise ModelError(f"unexpected classes {list(clf.classes_)}")
        coef = np.zeros((len(LABELS), len(active)))
        coef[:, active] = clf.coef_
        state["coef_text"] = coef[:, :n_cols].astype(np.float32)
        state["coef_dense"] = coef[:, n_cols:] * dense_scale
        state["intercept"] = np.asarray(clf.intercept_, dtype=np.float64)
        _finish_state(state)
        m = cls()
        m._fitted = state
        return m

    # ------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays and a JSON header; no pickle)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path

    def to_bytes(self) -> bytes:
        import cxray

        st = self._state()
        header = dict(st["header"])
        header["cxray_version"] = cxray.__version__
        if getattr(self, "training_sets_", None) is not None:
            header["training_sets"] = self.training_sets_
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.array(json.dumps(header)),
            vocab=np.frombuffer("\n".join(st["vocab"]).encode("utf-8"), dtype=np.uint8),
            idf=st["idf"].astype(np.float32),
            coef_text=st["coef_text"],
            coef_dense=st["coef_dense"],
            intercept=st["intercept"],
        )
        return buf.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> GeneralSentiment:
        """Read a model written by :meth:`save`; never unpickles anything."""
        m = cls(path=path)
        m._state()
        return m

    def __repr__(self) -> str:
        return f"GeneralSentiment(path={self.path!r})"


# ---------------------------------------------------------------- loading


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"no general sentiment model at {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            vocab = bytes(z["vocab"]).decode("utf-8").split("\n")
            arrays = {k: z[k] for k in ("idf", "coef_text", "coef_dense", "intercept")}
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{p} is not a cxray general sentiment model: {exc}") from exc
    if header.get("format") != FORMAT:
        raise ModelError(f"{p} is not a cxray general sentiment model")
    if header.get("version", 0) > FORMAT_VERSION:
        raise ModelError(f"{p} was written by a newer cxray; upgrade cxray to read it")
    state = _make_state(
        header, vocab, arrays["coef_text"], arrays["coef_dense"], arrays["intercept"]
    )
    state["idf"] = arrays["idf"].astype(np.float64)
    if (
        state["coef_text"].shape != (len(LABELS), state["n_text"])
        or state["idf"].shape != (state["n_text"],)
        or state["coef_dense"].shape != (len(LABELS), N_DENSE)
    ):
        raise ModelError(f"{p}: model arrays do not match its header")
    _finish_state(state)
    return state


def _vocab_seed() -> set[str]:
    kinds, _ = rule_kinds()
    words = set(vader_valence()) | set(CX_VALENCE) | set(kinds) | {".", ";"}
    words |= {w for pair in CX_PHRASES for w in pair}
    return words


def _make_state(
    header: dict[str, Any],
    vocab: list[str],
    coef_text: np.ndarray | None,
    coef_dense: np.ndarray | None,
    intercept: np.ndarray | None,
) -> dict[str, Any]:
    n_buckets = int(header["params"]["n_buckets"])
    ids = {w: i + 1 for i, w in enumerate(vocab)}
    # cxray's service words add to VADER's lexicon; where both know a problem word, the
    # stronger valence is kept, and the words cxray marks 0.0 lose theirs
    valence = dict(vader_valence())
    for w, v in CX_VALENCE.items():
        valence[w] = v if v == 0 or w not in valence else min(v, valence[w])
    val, kind, boost = build_tables(vocab, valence)
    cx_problem = np.zeros(len(vocab) + 1, dtype=bool)
    for w, v in CX_VALENCE.items():
        if v < 0 and w in ids:
            cx_problem[ids[w]] = True
    v_size = len(vocab) + 1
    phrase_keys = []
    phrase_vals = []
    for (a, b), v in CX_PHRASES.items():
        if a in ids and b in ids:
            phrase_keys.append(ids[a] * v_size + ids[b])
            phrase_vals.append(v)
    order = np.argsort(phrase_keys)
    sentence_end = np.zeros(v_size, dtype=bool)
    for w in _SENTENCE_END:
        if w in ids:
            sentence_end[ids[w]] = True
    qwords = np.zeros(v_size, dtype=bool)
    for w in _QUESTION_WORDS:
        if w in ids:
            qwords[ids[w]] = True
    return {
        "header": header,
        "vocab": vocab,
        "ids": ids,
        "valence": val,
        "kind": kind,
        "boost": boost,
        "cx_problem": cx_problem,
        "qwords": qwords,
        "sentence_end": sentence_end,
        "phrase_keys": np.asarray(phrase_keys, dtype=np.int64)[order],
        "phrase_vals": np.asarray(phrase_vals, dtype=np.float64)[order],
        "v_size": v_size,
        "n_buckets": n_buckets,
        "n_text": v_size + n_buckets,
        "coef_text": coef_text,
        "coef_dense": coef_dense,
        "intercept": intercept,
    }


def _finish_state(state: dict[str, Any]) -> None:
    """Fold the IDF into the coefficients: one product per token at scoring time."""
    idf = state["idf"]
    state["w_idf"] = state["coef_text"].astype(np.float64) * idf  # (3, n_text)
    state["idf2"] = idf * idf


# ---------------------------------------------------------------- features


def _tokenize(texts: Sequence[str | None]) -> dict[str, Any]:
    findall = _TOKENS.findall
    sub = _CLEAN.sub
    tokens = [
        findall(sub(" ", t.translate(_APOSTROPHES))) if isinstance(t, str) else [] for t in texts
    ]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = list(chain.from_iterable(tokens))
    strs = [t if isinstance(t, str) else "" for t in texts]
    return {
        "flat": flat,
        "lower": list(map(str.lower, flat)),
        "lengths": lengths,
        "doc": np.repeat(np.arange(len(tokens)), lengths),
        "shout": np.fromiter(map(str.isupper, strs), dtype=bool, count=len(strs)),
        "title": np.fromiter(map(str.istitle, strs), dtype=bool, count=len(strs)),
    }


def _features(
    st: dict[str, Any], tok: dict[str, Any], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Text-feature columns of every token (unigrams, then bigrams), their text, and the
    dense lexicon features of each text."""
    flat, lower, lengths, doc = tok["flat"], tok["lower"], tok["lengths"], tok["doc"]
    m = len(flat)
    dense = np.zeros((n, N_DENSE))
    if m == 0:
        dense[:, 11] = 1.0
        dense[:, 4] = 1.0  # compound bin of 0
        dense[:, 16] = 1.0
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), dense
    ids = np.fromiter(map(st["ids"].get, lower, repeat(0)), dtype=np.int64, count=m)
    start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(m) - start
    kind, valence = st["kind"], st["valence"]
    prev = np.empty(m, dtype=np.int64)
    prev[0] = 0
    prev[1:] = ids[:-1]
    prev[pos == 0] = 0

    # capitals are looked at on sentiment words only (a tenth of the tokens): a word in
    # capitals is emphasised unless the whole text is; a capitalised word inside a
    # sentence, in a text not written in title case, is a name and carries no valence
    cand = np.flatnonzero((valence[ids] != 0) & (kind[ids] == 0))
    words_c = [flat[i] for i in cand]
    shout = tok["shout"][doc[cand]]
    upper = np.zeros(m, dtype=bool)
    upper[cand] = np.fromiter(map(str.isupper, words_c), dtype=bool, count=len(cand)) & ~shout
    title_c = np.fromiter(map(str.istitle, words_c), dtype=bool, count=len(cand))
    cp = cand[(pos[cand] > 0) & title_c & ~upper[cand] & ~tok["title"][doc[cand]]]
    cp = cp[~st["sentence_end"][ids[cp - 1]]]
    vids = ids.copy()
    vids[cp] = 0

    v, word, k, negated = token_valence(vids, doc, pos, upper, n, valence, kind, st["boost"])
    # service phrases add their valence on their second token
    key = prev * st["v_size"] + ids
    pk = st["phrase_keys"]
    hit = np.zeros(m, dtype=bool)
    extra = np.zeros(m)
    if len(pk):
        j = np.clip(np.searchsorted(pk, key), 0, len(pk) - 1)
        hit = (pk[j] == key) & (pos > 0)
        extra = np.where(hit, st["phrase_vals"][j], 0.0)
    v = v + extra
    comp = compound(v, word, k, doc, n)

    wv = np.where(word, v, 0.0)
    problems = st["cx_problem"][vids] | hit
    dense[:, 0] = comp
    dense[np.arange(n), 1 + np.searchsorted(_BINS, comp)] = 1.0
    dense[:, 8] = np.log1p(np.bincount(doc, weights=np.clip(wv, 0, None), minlength=n))
    dense[:, 9] = np.log1p(np.bincount(doc, weights=np.clip(-wv, 0, None), minlength=n))
    dense[:, 10] = np.log1p(np.bincount(doc, weights=problems, minlength=n))
    has_sent = np.bincount(doc, weights=(wv != 0), minlength=n) > 0
    dense[:, 11] = ~has_sent
    dense[:, 12] = np.bincount(doc, weights=(k == _QUEST), minlength=n) > 0
    first_q = st["qwords"][ids] & (pos == 0)
    dense[:, 13] = np.bincount(doc, weights=first_q, minlength=n) > 0
    neg_pos = negated & (valence[vids] > 0)
    dense[:, 14] = np.log1p(np.bincount(doc, weights=neg_pos, minlength=n))
    dense[:, 15] = np.log1p(np.bincount(doc, weights=(k == _EXCL), minlength=n))
    dense[:, 16] = 1.0

    # text columns: unigram ids (known words) and hashed bigrams of consecutive ids
    uni = ids
    bi = st["v_size"] + (prev * _BIGRAM_PRIME + ids) % st["n_buckets"]
    keep_uni = uni > 0
    keep_bi = pos > 0
    cols = np.concatenate([uni[keep_uni], bi[keep_bi]])
    cdoc = np.concatenate([doc[keep_uni], doc[keep_bi]])
    return cols, cdoc, np.zeros(0), dense


def _text_norms(st: dict[str, Any], cols: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    norm = np.sqrt(np.bincount(doc, weights=st["idf2"][cols], minlength=n))
    norm[norm == 0] = 1.0
    return norm


def _text_matrix(st: dict[str, Any], cols: np.ndarray, doc: np.ndarray, n: int) -> Any:
    from scipy import sparse

    st["idf2"] = st["idf"] * st["idf"]
    norm = _text_norms(st, cols, doc, n)
    data = st["idf"][cols] / norm[doc]
    x = sparse.coo_matrix((data, (doc, cols)), shape=(n, st["n_text"])).tocsr()
    x.sum_duplicates()
    return x


def _logits(st: dict[str, Any], texts: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """The linear model's logits (no neutral rule) and the no-sentiment flag of each text."""
    n = len(texts)
    tok = _tokenize(texts)
    cols, doc, _, dense = _features(st, tok, n)
    norm = _text_norms(st, cols, doc, n)
    out = dense @ st["coef_dense"].T + st["intercept"]
    no_sentiment = (dense[:, 11] > 0) & (dense[:, 10] == 0)
    for c, w in enumerate(st["w_idf"]):
        out[:, c] += np.bincount(doc, weights=w.take(cols), minlength=n) / norm
    return out, no_sentiment


def decide(p: np.ndarray, min_confidence: float) -> np.ndarray:
    """Labels from probabilities: the most likely class, or neutral when its probability is
    below ``min_confidence`` (an unsure call is no call)."""
    labels = np.array(LABELS, dtype=object)[np.argmax(p, axis=1)]
    labels[p.max(axis=1) < min_confidence] = LABELS[1]
    return labels


def _softmax(d: np.ndarray) -> np.ndarray:
    e = np.exp(d - d.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
