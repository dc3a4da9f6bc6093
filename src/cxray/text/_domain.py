"""The domain sentiment model: learned from a team's own comments and the scores beside them.

Features are TF-IDF weights of two vocabularies learned from the training
texts: words and word pairs (1-2-grams) and characters within words
(``char_wb`` 2-5-grams, which catch misspellings, inflections and the words
of any language written with spaces). Each block is weighted by sublinear
TF-IDF and normalized on its own; terms seen in only one training text are
dropped. A multinomial logistic regression (classes weighted to count equally,
so *neutral* is not drowned by the majority) maps them to negative / neutral /
positive.

Probabilities are calibrated by temperature scaling: the model is first fitted
on a seeded stratified 80 % of the training texts, the one temperature that
minimizes the log-loss on the other 20 % is kept, and the model is then fitted
on every training text (starting from the first fit). The temperature changes
confidence, never which class is most likely.

Scoring computes exactly these features without scikit-learn's per-character
analyzers: the texts of a batch are split into words once, each *distinct* word's
character n-grams and tokens are found once (texts share most of their words), a text's
counts are the sum of its words' (a sparse product), and the logits come from the
counts directly: the parts linear in the counts go through the small words x n-grams
matrix and only counts of 2 or more get the sublinear-TF correction. Tens of thousands
of texts per CPU-second (``python -m benchmarks.text_domain_speed``).

The learned state is nothing but arrays (the two vocabularies as UTF-8 bytes,
IDF weights, coefficients, intercepts), so a model is saved as one NumPy
``.npz`` file read back with ``allow_pickle=False``: loading a model file never
runs code from it. The worst a tampered file can do is give wrong scores.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cxray.exceptions import ModelError
from cxray.text._labels import LABELS

__all__ = ["MIN_LANGUAGE_TEXTS", "DomainSentiment"]

FORMAT = "cxray.text.DomainSentiment"
FORMAT_VERSION = 2
_TOKENS = r"(?u)\b\w[\w']*\b"
_ARRAYS = (
    "word_vocab",
    "word_idf",
    "char_vocab",
    "char_idf",
    "coef",
    "intercept",
)
#: a language counts as one the model was trained on with at least this many training texts
MIN_LANGUAGE_TEXTS = 50


class DomainSentiment:
    """A 3-class sentiment classifier learned from labelled texts, in any language.

    >>> m = DomainSentiment(random_state=0).fit(texts, labels)   # doctest: +SKIP
    >>> m.predict(["runs small, sent it back"])                  # doctest: +SKIP
    array(['negative'], dtype=object)

    Parameters are keyword-only; the learned state (``classes_``, ``coef_``,
    ``intercept_``, ``temperature_``, ``languages_``, ...) ends in ``_``. The
    same data and the same ``random_state`` give the same model.

    ``languages_`` are the languages (ISO 639-1 codes) of the training texts
    with at least :data:`MIN_LANGUAGE_TEXTS` texts each (when none has, the
    most common one): the languages the model can be trusted with.
    """

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] = (2, 5),
        min_df: int = 2,
        C: float = 1.0,
        max_iter: int = 1000,
        calibration_size: float = 0.2,
        random_state: int = 0,
        batch_size: int = 20_000,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.C = C
        self.max_iter = max_iter
        self.calibration_size = calibration_size
        self.random_state = random_state
        self.batch_size = batch_size

    # ------------------------------------------------------------ learning

    def fit(self, texts: Sequence[str | None], labels: Sequence[str]) -> DomainSentiment:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts, labels = _clean(texts), [str(x) for x in labels]
        if len(texts) != len(labels):
            raise ModelError(f"{len(texts)} texts but {len(labels)} labels")
        unknown = sorted(set(labels) - set(LABELS))
        if unknown:
            raise ModelError(f"labels must be {', '.join(LABELS)}; got {unknown[:3]}")
        present = sorted(set(labels), key=LABELS.index)
        if len(present) < 2:
            raise ModelError(
                f"a domain model needs texts of at least two classes; all {len(labels)} are "
                f"{present[0] if present else 'missing'}"
            )
        if not 0.0 <= self.calibration_size < 1.0:
            raise ModelError(f"calibration_size must be in [0, 1); got {self.calibration_size}")
        blocks = []
        for kind in ("word", "char"):
            for min_df in dict.fromkeys((self.min_df, 1)):
                vec = TfidfVectorizer(**_analyzer(self, kind), sublinear_tf=True, min_df=min_df)
                try:
                    vec.fit(texts)
                except ValueError:  # too few texts for min_df (or no words at all)
                    continue
                break
            else:
                raise ModelError("no words to learn from: the training texts are all empty")
            vocab = np.empty(len(vec.vocabulary_), dtype=object)
            for term, j in vec.vocabulary_.items():
                vocab[j] = term
            setattr(self, f"{kind}_vocab_", vocab)
            setattr(self, f"{kind}_idf_", vec.idf_.astype(np.float64))
            blocks.append(vec)
        self._cache = None
        x = self._features(texts)
        y = np.asarray(labels, dtype=object)
        self.temperature_ = 1.0
        warm = None
        fold = _calibration_split(y, self.calibration_size, self.random_state)
        if fold is not None:
            tr, cal = fold
            first = self._classifier().fit(x[tr], y[tr])
            self.temperature_ = _temperature(first.decision_function(x[cal]), y[cal], first)
            warm = first
        clf = self._classifier(warm_start=warm is not None)
        if warm is not None:
            clf.coef_, clf.intercept_ = warm.coef_.copy(), warm.intercept_.copy()
            clf.classes_ = warm.classes_
        clf.fit(x, y)
        self.classes_ = np.array(clf.classes_, dtype=object)
        coef, icpt = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # two classes: one logit, split so that softmax gives sigmoid
            coef, icpt = np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
        # float32 is the precision kept in the file: fitting and loading predict the same
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(icpt, dtype=np.float64)
        self.n_train_ = len(texts)
        self.class_counts_ = {c: int(n) for c, n in Counter(labels).items()}
        self.languages_ = _training_languages(texts)
        return self

    def _classifier(self, *, warm_start: bool = False) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.C,
            class_weight="balanced",
            max_iter=self.max_iter,
            tol=1e-4,
            warm_start=warm_start,
            random_state=self.random_state,
        )

    # ------------------------------------------------------------ using

    def _counters(self) -> tuple[_WordCounter, _CharCounter]:
        if getattr(self, "_cache", None) is None:
            self._scoring = None
            self._cache = (
                _WordCounter(self.word_vocab_, tuple(self.word_ngrams)),
                _CharCounter(self.char_vocab_, tuple(self.char_ngrams)),
            )
        return self._cache

    def _blocks(self, texts: list[str]) -> list[tuple[sp.csr_matrix, np.ndarray]]:
        """Per block (words, characters): sublinear TF-IDF (not yet normalized) and the
        L2 norm of each text's row (1 for a text with none of the block's terms)."""
        out = []
        words = _Words(texts)
        for kind, counter in zip(("word", "char"), self._counters(), strict=True):
            x = counter.transform(words).astype(np.float64)
            np.log(x.data, out=x.data)
            x.data += 1.0
            x.data *= getattr(self, f"{kind}_idf_")[x.indices]
            norms = np.ones(x.shape[0])
            filled = np.flatnonzero(np.diff(x.indptr))
            if len(filled):
                norms[filled] = np.sqrt(np.add.reduceat(x.data * x.data, x.indptr[filled]))
            out.append((x, norms))
        return out

    def _features(self, texts: list[str]) -> sp.csr_matrix:
        """Sublinear TF-IDF of each block, each block L2-normalized, side by side."""
        return sp.hstack(
            [sp.diags(1.0 / norms) @ x for x, norms in self._blocks(texts)], format="csr"
        )

    def _tables(self) -> tuple[np.ndarray, ...]:
        """Per block, the coefficients times the IDF (terms x classes) and the IDF squared."""
        if getattr(self, "_scoring", None) is None:
            n_words = len(self.word_vocab_)
            coef = self.coef_.astype(np.float64)
            w = np.ascontiguousarray(coef[:, :n_words].T) * self.word_idf_[:, None]
            c = np.ascontiguousarray(coef[:, n_words:].T) * self.char_idf_[:, None]
            self._scoring = (w, self.word_idf_**2, c, self.char_idf_**2)
        return self._scoring

    def decision_function(self, texts: Sequence[str | None]) -> np.ndarray:
        """Uncalibrated logits, one column per class of ``classes_``."""
        self._check_fitted()
        texts = _clean(texts)
        words_counter, chars_counter = self._counters()
        w_weights, w_idf2, c_weights, c_idf2 = self._tables()
        parts = []
        for i in range(0, len(texts), self.batch_size):
            words = _Words(texts[i : i + self.batch_size])
            x = words_counter.transform(words)
            z = _sublinear_logits(x, x @ w_weights, x @ w_idf2, w_weights, w_idf2)
            # characters: counts = (texts x words) @ (words x n-grams), and the parts linear
            # in the counts are computed through the small words x n-grams matrix
            which, per_word = chars_counter.factors(words)
            x = which @ per_word
            lin = which @ (per_word @ c_weights)
            z += _sublinear_logits(x, lin, which @ (per_word @ c_idf2), c_weights, c_idf2)
            parts.append(z + self.intercept_)
        return np.vstack(parts) if parts else np.zeros((0, len(self.classes_)))

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Calibrated probabilities, one column per class of ``classes_``."""
        return _softmax(self.decision_function(texts) / self.temperature_)

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        d = self.decision_function(texts)
        return self.classes_[np.argmax(d, axis=1)]

    def predict_score(self, texts: Sequence[str | None]) -> np.ndarray:
        """A score in -1..1: P(positive) - P(negative)."""
        return self.score_texts(texts)[1]

    def score_texts(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most likely class) and scores (P(positive) - P(negative)) in one pass."""
        p = self.predict_proba(texts)
        col = {c: i for i, c in enumerate(self.classes_)}
        pos = p[:, col[LABELS[2]]] if LABELS[2] in col else 0.0
        neg = p[:, col[LABELS[0]]] if LABELS[0] in col else 0.0
        return self.classes_[np.argmax(p, axis=1)], np.clip(pos - neg, -1.0, 1.0)

    def score(self, texts: Sequence[str | None], labels: Sequence[str]) -> float:
        """Macro-F1 over the three classes."""
        from sklearn.metrics import f1_score

        return float(f1_score(list(labels), self.predict(texts), average="macro", labels=LABELS))

    # ------------------------------------------------------------ persistence

    def get_params(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams),
            "min_df": self.min_df,
            "C": self.C,
            "max_iter": self.max_iter,
            "calibration_size": self.calibration_size,
            "random_state": self.random_state,
            "batch_size": self.batch_size,
        }

    def header(self) -> dict[str, Any]:
        """What the model is (the JSON header of its file)."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "n_train": int(self.n_train_),
            "class_counts": self.class_counts_,
            "temperature": float(self.temperature_),
            "languages": list(self.languages_),
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays and a JSON header; no pickle)."""
        self._check_fitted()
        path = Path(path)
        with path.open("wb") as f:
            f.write(self.to_bytes())
        return path

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.array(json.dumps(self.header())),
            word_vocab=_pack(self.word_vocab_),
            word_idf=self.word_idf_,
            char_vocab=_pack(self.char_vocab_),
            char_idf=self.char_idf_,
            coef=self.coef_,
            intercept=self.intercept_,
        )
        return buf.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> DomainSentiment:
        """Read a model written by :meth:`save`; never unpickles anything."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"no model file at {path}")
        return cls.from_bytes(path.read_bytes(), name=str(path))

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "<bytes>") -> DomainSentiment:
        import zipfile

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                version = header.get("version", 0) if isinstance(header, dict) else 0
                if isinstance(header, dict) and header.get("format") == FORMAT and version == 1:
                    raise ModelError(
                        f"{name} is a domain model of an older cxray (version 1, hashed "
                        "features), which this cxray no longer reads; learn it again with "
                        "`cxray text train`"
                    )
                arrays = {k: z[k] for k in _ARRAYS if k in z.files}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{name} is not a cxray sentiment model: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelError(f"{name} is not a cxray sentiment model")
        if header.get("version", 0) > FORMAT_VERSION:
            raise ModelError(f"{name} was written by a newer cxray; upgrade cxray to read it")
        missing = [k for k in _ARRAYS if k not in arrays]
        if missing:
            raise ModelError(f"{name} is not a complete model: no {', '.join(missing)}")
        try:
            params = dict(header["params"])
            for k in ("word_ngrams", "char_ngrams"):
                params[k] = tuple(params[k])
            m = cls(**params)
            m.classes_ = np.array(header["classes"], dtype=object)
            m.n_train_ = int(header.get("n_train", 0))
            m.class_counts_ = dict(header.get("class_counts", {}))
            m.temperature_ = float(header.get("temperature", 1.0))
            m.languages_ = tuple(header.get("languages", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{name}: its header is not one cxray wrote ({exc})") from exc
        m.word_vocab_, m.char_vocab_ = _unpack(arrays["word_vocab"]), _unpack(arrays["char_vocab"])
        m.word_idf_, m.char_idf_ = arrays["word_idf"], arrays["char_idf"]
        m.coef_, m.intercept_ = arrays["coef"], arrays["intercept"]
        m._cache = None
        n_features = len(m.word_vocab_) + len(m.char_vocab_)
        if (
            m.coef_.shape != (len(m.classes_), n_features)
            or m.intercept_.shape != (len(m.classes_),)
            or m.word_idf_.shape != (len(m.word_vocab_),)
            or m.char_idf_.shape != (len(m.char_vocab_),)
            or not m.temperature_ > 0
        ):
            raise ModelError(f"{name}: model arrays do not match its header")
        return m

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ModelError("this DomainSentiment is not fitted yet; call fit(texts, labels)")

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_train_:,} texts" if hasattr(self, "n_train_") else ""
        return f"DomainSentiment(random_state={self.random_state}{fitted})"


def _clean(texts: Sequence[str | None]) -> list[str]:
    return [t if isinstance(t, str) else "" for t in texts]


def _analyzer(m: DomainSentiment, kind: str) -> dict[str, Any]:
    if kind == "word":
        return {"ngram_range": tuple(m.word_ngrams), "token_pattern": _TOKENS}
    return {"analyzer": "char_wb", "ngram_range": tuple(m.char_ngrams)}


def _pack(terms: np.ndarray) -> np.ndarray:
    """Terms as one UTF-8 byte array, newline-separated (no term holds a newline)."""
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def _unpack(data: np.ndarray) -> np.ndarray:
    raw = data.tobytes().decode("utf-8")
    return np.array(raw.split("\n") if raw else [], dtype=object)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _calibration_split(
    y: np.ndarray, size: float, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """A stratified (fit, calibrate) split, or ``None`` when a class is too small for one."""
    from sklearn.model_selection import train_test_split

    counts = Counter(y.tolist())
    if size <= 0 or min(counts.values()) < 4 or len(y) * size < 2 * len(counts):
        return None
    idx = np.arange(len(y))
    tr, cal = train_test_split(idx, test_size=size, stratify=y, random_state=seed)
    return np.sort(tr), np.sort(cal)


def _temperature(logits: np.ndarray, y: np.ndarray, clf: Any) -> float:
    """The temperature minimizing the log-loss of ``softmax(logits / T)`` on ``y``."""
    from scipy.optimize import minimize_scalar

    if logits.ndim == 1:  # two classes
        logits = np.column_stack([-logits / 2, logits / 2])
    col = {c: i for i, c in enumerate(clf.classes_)}
    rows = np.arange(len(y))
    truth = np.array([col[c] for c in y])

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[rows, truth] - np.log(np.exp(z).sum(axis=1))).mean())

    best = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(best.x))


def _training_languages(texts: list[str]) -> tuple[str, ...]:
    from cxray.text._language import UNDETERMINED, detect_languages

    tally = Counter(str(c) for c in detect_languages(texts) if c != UNDETERMINED)
    common = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = tuple(c for c, n in common if n >= MIN_LANGUAGE_TEXTS)
    return kept or tuple(c for c, _ in common[:1])


_BASE = np.uint64(1_000_003)


class _Words:
    """The whitespace-separated words of a batch of lower-cased texts, each distinct one once.

    ``distinct`` holds every distinct word of the batch; ``row`` the index in ``distinct``
    of each word of each text, text after text; ``lengths`` the number of words per text.
    Texts of one batch share most of their words, so whatever is computed per word
    (its character n-grams, its tokens) is computed once per distinct word.
    """

    def __init__(self, texts: list[str]):
        words = [t.lower().split() for t in texts]
        self.n = len(texts)
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.distinct = list(dict.fromkeys(chain.from_iterable(words)))
        index = dict(zip(self.distinct, range(len(self.distinct)), strict=True))
        self.row = np.fromiter(
            map(index.__getitem__, chain.from_iterable(words)),
            dtype=np.int64,
            count=int(self.lengths.sum()),
        )

    def matrix(self) -> sp.csr_matrix:
        """(texts x distinct words) counts."""
        indptr = np.concatenate([[0], np.cumsum(self.lengths)])
        # a word twice in a text is two entries: products and sums count both; counts are
        # small integers, exact in float32 (half the memory traffic of the products)
        return sp.csr_matrix(
            (np.ones(len(self.row), dtype=np.float32), self.row, indptr),
            shape=(self.n, len(self.distinct)),
        )


class _WordCounter:
    """Counts of the word n-grams of a fixed vocabulary, vectorized with NumPy.

    The same counts as scikit-learn's ``CountVectorizer`` with cxray's token pattern
    (lower-cased text; an n-gram is ``n`` consecutive tokens of one text joined by a
    space). A token never spans whitespace, so a text's tokens are those of its
    whitespace-separated words in turn: each distinct word of a batch is tokenized once
    and its tokens mapped to integer ids (the words of the vocabulary's n-grams; 0 for
    any other). An n-gram is the number ``((id_1 * B + id_2) * B + ...)`` with ``B`` one
    more than the largest id, looked up in the sorted numbers of the vocabulary: exact
    (no collisions) while ``B ** n`` stays below 2**64, i.e. for 1-3-grams of any
    realistic vocabulary.
    """

    def __init__(self, vocab: np.ndarray, ngrams: tuple[int, int]):
        import re

        self.lo, self.hi = ngrams
        self.n_terms = len(vocab)
        self.findall = re.compile(_TOKENS).findall
        grams = [str(t).split(" ") for t in vocab]
        ids: dict[str, int] = {}
        for g in grams:
            for w in g:
                if w not in ids:
                    ids[w] = len(ids) + 1
        self.ids = ids
        self.base = np.uint64(len(ids) + 1)
        # unigrams: a column per id (-1: none); longer n-grams: sorted numbers
        self.unigram = np.full(len(ids) + 1, -1, dtype=np.int64)
        longer = [j for j, g in enumerate(grams) if len(g) > 1]
        for j, g in enumerate(grams):
            if len(g) == 1:
                self.unigram[ids[g[0]]] = j
        keys = np.array([self._key([ids[w] for w in grams[j]]) for j in longer], dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        self.keys, self.cols = keys[order], np.asarray(longer, dtype=np.int64)[order]

    def _key(self, gram_ids: list[int]) -> int:
        h, b = 0, int(self.base)
        for i in gram_ids:
            h = (h * b + i) & 0xFFFFFFFFFFFFFFFF
        return h

    def transform(self, texts: list[str] | _Words) -> sp.csr_matrix:
        words = texts if isinstance(texts, _Words) else _Words(texts)
        shape = (words.n, self.n_terms)
        # the token ids of each distinct word, end to end, and where each word's begin
        tokens = list(map(self.findall, words.distinct))
        per_word = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        word_ids = np.fromiter(
            map(self.ids.get, chain.from_iterable(tokens), repeat(0)),
            dtype=np.uint64,
            count=int(per_word.sum()),
        )
        first = np.cumsum(per_word) - per_word
        # the tokens of every text, text after text
        count = per_word[words.row]
        m = int(count.sum())
        if m == 0 or not self.n_terms:
            return sp.csr_matrix(shape, dtype=np.float64)
        at = np.repeat(first[words.row] - (np.cumsum(count) - count), count) + np.arange(m)
        ids = word_ids[at]
        text_of_word = np.repeat(np.arange(words.n), words.lengths)
        lengths = np.bincount(text_of_word, weights=count, minlength=words.n).astype(np.int64)
        doc = np.repeat(np.arange(words.n), lengths)
        # tokens left in a token's text, itself included
        left = np.repeat(np.cumsum(lengths), lengths) - np.arange(m)
        h = np.zeros(m, dtype=np.uint64)
        known = np.ones(m, dtype=bool)
        docs, cols = [], []
        for n in range(1, self.hi + 1):
            # h[p]: the number of tokens p .. p + n - 1; known[p]: all of them are known
            nxt = np.zeros(m, dtype=np.uint64)
            nxt[: m - n + 1] = ids[n - 1 :]
            h = h * self.base + nxt
            known &= nxt > 0
            if n < self.lo:
                continue
            if n == 1:
                col = self.unigram[ids.astype(np.int64)]
                docs.append(doc[col >= 0])
                cols.append(col[col >= 0])
                continue
            ok = known & (left >= n)
            _lookup(self.keys, self.cols, h[ok], doc[ok], docs, cols)
        return _count_matrix(docs, cols, shape)


class _CharCounter:
    """Counts of the ``char_wb`` n-grams of a fixed vocabulary, vectorized with NumPy.

    The same counts as scikit-learn's ``CountVectorizer(analyzer="char_wb")`` (lower-cased
    text, each whitespace-separated word padded with one space on each side, every
    n-gram inside a padded word; a padded word shorter than the smallest n counts once
    whole). A text's counts are the sum of its words' counts, so the n-grams of each
    *distinct* word of a batch are counted once (each n-gram a 64-bit polynomial hash of
    its code points, looked up in the sorted hashes of the vocabulary), and the counts of
    the texts are the product of the (texts x distinct words) counts with those.
    """

    def __init__(self, vocab: np.ndarray, ngrams: tuple[int, int]):
        self.lo, self.hi = ngrams
        self.n_terms = len(vocab)
        hashes = np.array([_hash_term(str(t)) for t in vocab], dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.cols = hashes[order], order.astype(np.int64)

    def transform(self, texts: list[str] | _Words) -> sp.csr_matrix:
        which, per_word = self.factors(texts if isinstance(texts, _Words) else _Words(texts))
        return (which @ per_word).tocsr()

    def factors(self, words: _Words) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(texts x distinct words) and (distinct words x n-grams) counts: their product
        is the (texts x n-grams) counts."""
        return words.matrix(), self.word_counts(words.distinct)

    def word_counts(self, words: list[str]) -> sp.csr_matrix:
        """The n-gram counts of each word (lower-cased, without whitespace), one row each."""
        shape = (len(words), self.n_terms)
        if not words:
            return sp.csr_matrix(shape, dtype=np.float64)
        joined = " " + "  ".join(words) + " "
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        length = np.array([len(w) + 2 for w in words], dtype=np.int64)
        end = np.cumsum(length)
        word_of = np.repeat(np.arange(len(words)), length)
        end_of = end[word_of]
        docs, cols = [], []
        h = np.zeros(len(cp), dtype=np.uint64)
        pos = np.arange(len(cp))
        for n in range(1, self.hi + 1):
            # h[p]: hash of cp[p : p + n]; defined where the window stays inside its word
            nxt = np.zeros(len(cp), dtype=np.uint64)
            nxt[: len(cp) - n + 1] = cp[n - 1 :]
            h = h * _BASE + nxt
            if n < self.lo:
                continue
            ok = pos + n <= end_of
            _lookup(self.hashes, self.cols, h[ok] ^ np.uint64(n), word_of[ok], docs, cols)
        if self.lo > 1:  # padded words shorter than the smallest n count once, whole
            short = np.flatnonzero(length < self.lo)
            if len(short):
                start = end[short] - length[short]
                hw = np.array(
                    [_hash_term(joined[a:b]) for a, b in zip(start, end[short], strict=True)],
                    dtype=np.uint64,
                )
                _lookup(self.hashes, self.cols, hw, short, docs, cols)
        return _count_matrix(docs, cols, shape, summed=False, dtype=np.float32)


def _lookup(
    keys: np.ndarray, key_cols: np.ndarray, h: np.ndarray, doc: np.ndarray, docs: list, cols: list
) -> None:
    """Append the rows and columns of the keys ``h`` found in the sorted ``keys``."""
    if not len(keys) or not len(h):
        return
    i = np.searchsorted(keys, h)
    i[i == len(keys)] = 0
    found = keys[i] == h
    docs.append(doc[found])
    cols.append(key_cols[i[found]])


def _sublinear_logits(
    x: sp.csr_matrix, lin: np.ndarray, lin2: np.ndarray, weights: np.ndarray, idf2: np.ndarray
) -> np.ndarray:
    """``normalize(tf(x) * idf) @ coef`` with ``tf(c) = 1 + log(c)``, from the parts linear
    in the counts: ``lin = x @ weights`` (weights = IDF x coefficients) and
    ``lin2 = x @ idf2``.

    ``tf(c) = c`` for a count of 1, which most counts are, so only the counts of 2 or more
    need a correction: of the logits ``(c - tf(c)) * weights`` and of the squared norms
    ``(c - tf(c)**2) * idf**2``.
    """
    n = x.shape[0]
    lin = np.array(lin, dtype=np.float64).reshape(n, -1)
    norm2 = np.array(lin2, dtype=np.float64).reshape(n)
    many = np.flatnonzero(x.data >= 2)
    if len(many):
        c, col = x.data[many].astype(np.float64), x.indices[many]
        tf = 1.0 + np.log(c)
        # ``many`` is sorted: each text's counts are one run of it, summed at once
        at = np.searchsorted(many, x.indptr)
        rows = np.flatnonzero(np.diff(at))
        lin[rows] -= np.add.reduceat((c - tf)[:, None] * weights[col], at[rows], axis=0)
        norm2[rows] -= np.add.reduceat((c - tf * tf) * idf2[col], at[rows])
    norm = np.sqrt(np.clip(norm2, 0.0, None))
    norm[norm == 0] = 1.0
    return lin / norm[:, None]


def _count_matrix(
    docs: list, cols: list, shape: tuple[int, int], *, summed: bool = True, dtype: Any = float
) -> sp.csr_matrix:
    """One entry per (row, column) found; ``summed``: repeated ones added up into one."""
    if not docs:
        return sp.csr_matrix(shape, dtype=dtype)
    d, c = np.concatenate(docs), np.concatenate(cols)
    m = sp.coo_matrix((np.ones(len(d), dtype=dtype), (d, c)), shape=shape).tocsr()
    if summed:
        m.sum_duplicates()
    return m


def _hash_term(term: str) -> int:
    """The hash :class:`_CharCounter` gives the n-gram ``term`` (64-bit, wrapping)."""
    h = 0
    for ch in term:
        h = (h * 1_000_003 + ord(ch)) & 0xFFFFFFFFFFFFFFFF
    return h ^ len(term)
