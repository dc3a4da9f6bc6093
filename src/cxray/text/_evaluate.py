"""How much better the domain model is than the out-of-the-box scorer, on held-out data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxray.exceptions import ModelError
from cxray.text._domain import DomainSentiment
from cxray.text._labels import LABELS
from cxray.text._lexicon import LexiconSentiment

__all__ = ["SentimentEvaluation", "evaluate_sentiment", "holdout_split"]

#: the smallest labelled set a domain model is learned from (and its smallest class)
MIN_TEXTS = 50
MIN_PER_CLASS = 5


def holdout_split(
    labels: Sequence[str], *, test_size: float = 0.2, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) of a seeded split stratified by label."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    tr, te = train_test_split(
        idx, test_size=test_size, stratify=np.asarray(labels), random_state=random_state
    )
    return np.sort(tr), np.sort(te)


@dataclass(frozen=True)
class SentimentEvaluation:
    """Macro-F1 of the out-of-the-box scorer and of the domain model on one held-out split."""

    n_train: int
    n_test: int
    f1_default: float
    f1_domain: float
    test_size: float
    random_state: int
    classes: dict[str, int] = field(default_factory=dict)  # label -> texts in the whole set
    model: DomainSentiment | None = field(default=None, repr=False, compare=False)

    @property
    def gain(self) -> float:
        return self.f1_domain - self.f1_default

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "macro_f1_default": round(self.f1_default, 4),
            "macro_f1_domain": round(self.f1_domain, 4),
            "gain": round(self.gain, 4),
            "test_size": self.test_size,
            "random_state": self.random_state,
            "classes": self.classes,
        }


def evaluate_sentiment(
    texts: Sequence[str | None],
    labels: Sequence[str],
    *,
    test_size: float = 0.2,
    random_state: int = 42,
    model: DomainSentiment | None = None,
    default: LexiconSentiment | None = None,
) -> SentimentEvaluation:
    """Learn the domain model on a seeded stratified split; score both scorers on the rest.

    The returned evaluation carries the domain model fitted on the training
    part only (``.model``).
    """
    texts, labels = list(texts), [str(x) for x in labels]
    counts = {c: labels.count(c) for c in LABELS if c in labels}
    if len(texts) < MIN_TEXTS or len(counts) < 2 or min(counts.values()) < MIN_PER_CLASS:
        raise ModelError(
            f"too little labelled text to learn from: {len(texts)} texts "
            f"({', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}); need at least "
            f"{MIN_TEXTS}, with {MIN_PER_CLASS} in each of two classes or more"
        )
    tr, te = holdout_split(labels, test_size=test_size, random_state=random_state)
    model = model if model is not None else DomainSentiment(random_state=random_state)
    default = default if default is not None else LexiconSentiment()
    x_tr, y_tr = [texts[i] for i in tr], [labels[i] for i in tr]
    x_te, y_te = [texts[i] for i in te], [labels[i] for i in te]
    model.fit(x_tr, y_tr)
    return SentimentEvaluation(
        n_train=len(tr),
        n_test=len(te),
        f1_default=default.score(x_te, y_te),
        f1_domain=model.score(x_te, y_te),
        test_size=test_size,
        random_state=random_state,
        classes=counts,
        model=model,
    )
