"""The domain sentiment model: learned from a team's own comments and the scores beside them.

Features are word unigrams and bigrams, hashed into a fixed number of columns
(so there is no vocabulary to store or to grow), weighted by sublinear TF-IDF
and normalized; a linear classifier (logistic loss, trained by seeded
stochastic gradient descent, classes weighted to count equally) maps them to
negative / neutral / positive.

The learned state is nothing but arrays (IDF weights, coefficients,
intercepts, class names), so a model is saved as one NumPy ``.npz`` file read
back with ``allow_pickle=False``: loading a model file never runs code from
it. The worst a tampered file can do is give wrong scores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from cxray.exceptions import ModelError
from cxray.text._labels import LABELS

__all__ = ["DomainSentiment"]

FORMAT = "cxray.text.DomainSentiment"
FORMAT_VERSION = 1
_TOKENS = r"(?u)\b\w[\w']*\b"


class DomainSentiment:
    """A 3-class sentiment classifier learned from labelled texts.

    >>> m = DomainSentiment(random_state=0).fit(texts, labels)   # doctest: +SKIP
    >>> m.predict(["runs small, sent it back"])                  # doctest: +SKIP
    array(['negative'], dtype=object)

    Parameters are keyword-only; the learned state (``classes_``, ``idf_``,
    ``coef_``, ``intercept_``) ends in ``_``. The same data and the same
    ``random_state`` give the same model.
    """

    def __init__(
        self,
        *,
        n_features: int = 2**18,
        ngram_range: tuple[int, int] = (1, 2),
        alpha: float = 3e-5,
        max_iter: int = 100,
        random_state: int = 0,
        batch_size: int = 20_000,
    ):
        self.n_features = n_features
        self.ngram_range = ngram_range
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state
        self.batch_size = batch_size

    # ------------------------------------------------------------ learning

    def fit(self, texts: Sequence[str | None], labels: Sequence[str]) -> DomainSentiment:
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import SGDClassifier

        texts, labels = list(texts), [str(x) for x in labels]
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
        counts = _hashing(self).transform(_clean(texts))
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        clf = SGDClassifier(
            loss="log_loss",
            alpha=self.alpha,
            class_weight="balanced",
            max_iter=self.max_iter,
            tol=1e-4,
            random_state=self.random_state,
        ).fit(tfidf.transform(counts), labels)
        self.classes_ = np.array(clf.classes_, dtype=object)
        self.idf_ = tfidf.idf_.astype(np.float64)
        coef = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_, clf.coef_])
        icpt = clf.intercept_ if len(present) > 2 else np.array([-1, 1]) * clf.intercept_
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(icpt, dtype=np.float64)
        self.n_train_ = len(texts)
        return self

    # ------------------------------------------------------------ using

    def decision_function(self, texts: Sequence[str | None]) -> np.ndarray:
        self._check_fitted()
        texts = list(texts)
        h = _hashing(self)
        parts = []
        for i in range(0, len(texts), self.batch_size):
            x = h.transform(_clean(texts[i : i + self.batch_size]))
            x.data = np.log(x.data) + 1.0  # sublinear term frequency
            x = x.multiply(self.idf_).tocsr()
            norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            parts.append((x @ self.coef_.T) / norms[:, None] + self.intercept_)
        return np.vstack(parts) if parts else np.zeros((0, len(self.classes_)))

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Probabilities, one column per class of ``classes_`` (one-vs-rest, normalized)."""
        p = expit(self.decision_function(texts))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        d = self.decision_function(texts)
        return self.classes_[np.argmax(d, axis=1)]

    def predict_score(self, texts: Sequence[str | None]) -> np.ndarray:
        """A score in -1..1: P(positive) - P(negative)."""
        return self.score_texts(texts)[1]

    def score_texts(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most likely class) and scores (P(positive) - P(negative)) in one pass."""
        d = self.decision_function(texts)
        p = expit(d)
        p /= p.sum(axis=1, keepdims=True)
        col = {c: i for i, c in enumerate(self.classes_)}
        pos = p[:, col[LABELS[2]]] if LABELS[2] in col else 0.0
        neg = p[:, col[LABELS[0]]] if LABELS[0] in col else 0.0
        return self.classes_[np.argmax(d, axis=1)], np.clip(pos - neg, -1.0, 1.0)

    def score(self, texts: Sequence[str | None], labels: Sequence[str]) -> float:
        """Macro-F1 over the three classes."""
        from sklearn.metrics import f1_score

        return float(f1_score(list(labels), self.predict(texts), average="macro", labels=LABELS))

    # ------------------------------------------------------------ persistence

    def get_params(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "ngram_range": list(self.ngram_range),
            "alpha": self.alpha,
            "max_iter": self.max_iter,
            "random_state": self.random_state,
            "batch_size": self.batch_size,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays and a JSON header; no pickle)."""
        self._check_fitted()
        path = Path(path)
        with path.open("wb") as f:
            f.write(self.to_bytes())
        return path

    def to_bytes(self) -> bytes:
        import io

        self._check_fitted()
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "n_train": int(self.n_train_),
        }
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.array(json.dumps(header)),
            idf=self.idf_,
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
        import io
        import zipfile

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                arrays = {k: z[k] for k in ("idf", "coef", "intercept")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{name} is not a cxray sentiment model: {exc}") from exc
        if header.get("format") != FORMAT:
            raise ModelError(f"{name} is not a cxray sentiment model")
        if header.get("version", 0) > FORMAT_VERSION:
            raise ModelError(f"{name} was written by a newer cxray; upgrade cxray to read it")
        params = header["params"]
        params["ngram_range"] = tuple(params["ngram_range"])
        m = cls(**params)
        m.classes_ = np.array(header["classes"], dtype=object)
        m.idf_, m.coef_, m.intercept_ = arrays["idf"], arrays["coef"], arrays["intercept"]
        m.n_train_ = header.get("n_train", 0)
        if m.coef_.shape != (len(m.classes_), m.n_features) or m.idf_.shape != (m.n_features,):
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


def _hashing(m: DomainSentiment) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        ngram_range=tuple(m.ngram_range),
        n_features=m.n_features,
        alternate_sign=False,
        norm=None,
        token_pattern=_TOKENS,
        dtype=np.float64,
    )
