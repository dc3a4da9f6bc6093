"""Case categorization: support texts -> a team's own categories, learned from labelled history.

Features are hashed word unigrams and bigrams plus character 2-5-grams within
words (robust to typos and word forms: "refund", "refunded", "refnd"), each
weighted by sublinear TF-IDF and normalized; a linear support-vector machine
(one-vs-rest, seeded) picks the category. Like the domain sentiment model, the
learned state is arrays only and is saved as a ``.npz`` read without pickle.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cxray.exceptions import ModelError

__all__ = ["CaseCategorizer"]

FORMAT = "cxray.text.CaseCategorizer"
FORMAT_VERSION = 1


class CaseCategorizer:
    """Assign each text one of the categories seen in training.

    >>> m = CaseCategorizer(random_state=0).fit(texts, categories)   # doctest: +SKIP
    >>> m.predict(["my card has not arrived yet"])                    # doctest: +SKIP
    array(['card_arrival'], dtype=object)
    """

    def __init__(
        self,
        *,
        n_features: int = 2**15,
        C: float = 0.5,
        random_state: int = 0,
        batch_size: int = 20_000,
    ):
        self.n_features = n_features
        self.C = C
        self.random_state = random_state
        self.batch_size = batch_size

    def fit(self, texts: Sequence[str | None], categories: Sequence[str]) -> CaseCategorizer:
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.svm import LinearSVC

        texts, categories = _clean(texts), [str(c) for c in categories]
        if len(texts) != len(categories):
            raise ModelError(f"{len(texts)} texts but {len(categories)} categories")
        if len(set(categories)) < 2:
            raise ModelError("a categorizer needs texts of at least two categories")
        parts, idfs = [], []
        for h in _vectorizers(self.n_features):
            counts = h.transform(texts)
            tf = TfidfTransformer(sublinear_tf=True).fit(counts)
            idfs.append(tf.idf_)
            parts.append(tf.transform(counts))
        x = sp.hstack(parts).tocsr()
        clf = LinearSVC(C=self.C, random_state=self.random_state).fit(x, categories)
        self.classes_ = np.array(clf.classes_, dtype=object)
        self.idf_ = np.vstack(idfs)
        coef = clf.coef_ if len(self.classes_) > 2 else np.vstack([-clf.coef_, clf.coef_])
        icpt = clf.intercept_ if len(self.classes_) > 2 else np.array([-1, 1]) * clf.intercept_
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(icpt, dtype=np.float64)
        return self

    def decision_function(self, texts: Sequence[str | None]) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ModelError("this CaseCategorizer is not fitted yet; call fit(texts, categories)")
        texts = _clean(texts)
        out = []
        for i in range(0, len(texts), self.batch_size):
            chunk = texts[i : i + self.batch_size]
            parts = []
            for h, idf in zip(_vectorizers(self.n_features), self.idf_, strict=True):
                x = h.transform(chunk)
                x.data = np.log(x.data) + 1.0
                x = x.multiply(idf).tocsr()
                norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
                norms[norms == 0] = 1.0
                parts.append(sp.diags(1.0 / norms) @ x)
            out.append(sp.hstack(parts).tocsr() @ self.coef_.T + self.intercept_)
        return np.vstack(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, texts: Sequence[str | None]) -> np.ndarray:
        d = self.decision_function(texts)
        return self.classes_[np.argmax(d, axis=1)]

    def score(self, texts: Sequence[str | None], categories: Sequence[str]) -> float:
        """Accuracy: the share of texts given their true category."""
        return float(np.mean(self.predict(texts) == np.asarray(categories, dtype=object)))

    def get_params(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "C": self.C,
            "random_state": self.random_state,
            "batch_size": self.batch_size,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays and a JSON header; no pickle)."""
        self.decision_function([])  # raises when not fitted
        header = {"format": FORMAT, "version": FORMAT_VERSION, "params": self.get_params()}
        header["classes"] = [str(c) for c in self.classes_]
        path = Path(path)
        with path.open("wb") as f:
            np.savez_compressed(
                f,
                header=np.array(json.dumps(header)),
                idf=self.idf_,
                coef=self.coef_,
                intercept=self.intercept_,
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> CaseCategorizer:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"no model file at {path}")
        try:
            with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                idf, coef, icpt = z["idf"], z["coef"], z["intercept"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path} is not a cxray categorizer: {exc}") from exc
        if header.get("format") != FORMAT or header.get("version", 0) > FORMAT_VERSION:
            raise ModelError(f"{path} is not a categorizer this cxray can read")
        m = cls(**header["params"])
        m.classes_ = np.array(header["classes"], dtype=object)
        m.idf_, m.coef_, m.intercept_ = idf, coef, icpt
        return m


def _clean(texts: Sequence[str | None]) -> list[str]:
    return [t if isinstance(t, str) else "" for t in texts]


def _vectorizers(n_features: int) -> list[Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": n_features, "alternate_sign": False, "norm": None}
    return [
        HashingVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w[\w']*\b", **common),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
    ]
