"""How good a sentiment scorer is on held-out texts, with bootstrap intervals.

* :func:`macro_f1_estimate`: macro-F1 of one scorer's labels, with a seeded
  percentile-bootstrap 95 % interval (texts resampled with replacement).
* :func:`f1_difference`: the *paired* bootstrap of the difference of two
  scorers' macro-F1 on the same texts (each resample scores both on the same
  texts, so what they have in common cancels out).
* :func:`evaluate_sentiment`: learn the domain model on a seeded stratified
  split and compare it, on the rest, with the scorer it would replace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxray.exceptions import ModelError
from cxray.stats import Estimate
from cxray.text._domain import DomainSentiment
from cxray.text._labels import LABELS

__all__ = [
    "SentimentEvaluation",
    "brier_score",
    "evaluate_sentiment",
    "f1_difference",
    "holdout_split",
    "macro_f1_estimate",
    "per_class_f1",
]

#: the smallest labelled set a domain model is learned from (and its smallest class)
MIN_TEXTS = 50
MIN_PER_CLASS = 5
#: bootstrap resamples of every interval
N_BOOT = 1000


def holdout_split(
    labels: Sequence[str], *, test_size: float = 0.2, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test) of a seeded split stratified by label."""
    from sklearn.model_selection import train_test_split

    if not (0.0 < test_size < 1.0 or (float(test_size).is_integer() and test_size >= 1)):
        raise ModelError(
            f"test_size must be a share between 0 and 1 or a number of texts; got {test_size}"
        )
    idx = np.arange(len(labels))
    try:
        tr, te = train_test_split(
            idx, test_size=test_size, stratify=np.asarray(labels), random_state=random_state
        )
    except ValueError as exc:  # too few texts of a class, or a test part too small
        raise ModelError(
            f"cannot hold out {test_size} of {len(labels)} labelled texts: {exc}"
        ) from exc
    return np.sort(tr), np.sort(te)


# ---------------------------------------------------------------- F1 and its intervals


def _codes(labels: Sequence[str] | np.ndarray, what: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(LABELS)}
    try:
        return np.array([index[str(x)] for x in labels], dtype=np.int64)
    except KeyError as exc:
        got = exc.args[0]
        raise ModelError(f"{what}: labels must be {', '.join(LABELS)}; got {got!r}") from exc


def _f1_from_counts(conf: np.ndarray) -> np.ndarray:
    """Macro-F1 from confusion counts (..., truth, predicted); a class never seen nor
    predicted scores 0 (as scikit-learn's ``zero_division=0``)."""
    tp = np.diagonal(conf, axis1=-2, axis2=-1).astype(float)
    fp = conf.sum(axis=-2) - tp
    fn = conf.sum(axis=-1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1.mean(axis=-1)


def _boot_f1(y: np.ndarray, preds: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """Macro-F1 of each prediction on ``n_boot`` resamples (the same resamples for all)."""
    k = len(LABELS)
    rng = np.random.default_rng(seed)
    n = len(y)
    out = np.empty((len(preds), n_boot))
    step = max(1, 2_000_000 // max(n, 1))
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        rows = np.repeat(np.arange(b), n) * k * k
        for j, p in enumerate(preds):
            cell = rows + (y[idx] * k + p[idx]).ravel()
            conf = np.bincount(cell, minlength=b * k * k).reshape(b, k, k)
            out[j, start : start + b] = _f1_from_counts(conf)
    return out


def _point_f1(y: np.ndarray, p: np.ndarray) -> float:
    k = len(LABELS)
    conf = np.bincount(y * k + p, minlength=k * k).reshape(k, k)
    return float(_f1_from_counts(conf))


def _method(n_boot: int, seed: int) -> str:
    return f"percentile bootstrap, {n_boot:,} resamples of the held-out texts, seed {seed}"


def macro_f1_estimate(
    truth: Sequence[str],
    predicted: Sequence[str] | np.ndarray,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Macro-F1 over negative / neutral / positive, with a bootstrap interval."""
    y, p = _codes(truth, "truth"), _codes(predicted, "predicted")
    if len(y) != len(p) or not len(y):
        raise ModelError(f"need as many predictions as labels (> 0); got {len(p)} and {len(y)}")
    boot = _boot_f1(y, [p], n_boot, seed)[0]
    a = (1 - confidence) / 2
    return Estimate(
        estimate=_point_f1(y, p),
        ci_low=float(np.quantile(boot, a)),
        ci_high=float(np.quantile(boot, 1 - a)),
        n=len(y),
        method=_method(n_boot, seed),
        confidence=confidence,
        metric="macro-F1",
    )


def f1_difference(
    truth: Sequence[str],
    predicted_a: Sequence[str] | np.ndarray,
    predicted_b: Sequence[str] | np.ndarray,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Macro-F1 of ``a`` minus that of ``b`` on the same texts, paired bootstrap interval."""
    y = _codes(truth, "truth")
    pa, pb = _codes(predicted_a, "predicted"), _codes(predicted_b, "predicted")
    if not (len(y) == len(pa) == len(pb)) or not len(y):
        raise ModelError("both scorers need a prediction for every held-out text")
    boot = _boot_f1(y, [pa, pb], n_boot, seed)
    diff = boot[0] - boot[1]
    a = (1 - confidence) / 2
    return Estimate(
        estimate=_point_f1(y, pa) - _point_f1(y, pb),
        ci_low=float(np.quantile(diff, a)),
        ci_high=float(np.quantile(diff, 1 - a)),
        n=len(y),
        method="paired " + _method(n_boot, seed),
        confidence=confidence,
        metric="difference of macro-F1",
    )


def per_class_f1(truth: Sequence[str], predicted: Sequence[str] | np.ndarray) -> dict[str, float]:
    """F1 of each class (is *neutral* found at all?)."""
    y, p = _codes(truth, "truth"), _codes(predicted, "predicted")
    out = {}
    for i, c in enumerate(LABELS):
        tp = int(((y == i) & (p == i)).sum())
        denom = int((y == i).sum() + (p == i).sum())
        out[c] = 2 * tp / denom if denom else 0.0
    return out


def brier_score(truth: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> float:
    """Multi-class Brier score (mean squared error of the probabilities; 0 is perfect)."""
    col = {str(c): i for i, c in enumerate(classes)}
    onehot = np.zeros_like(proba, dtype=float)
    for r, c in enumerate(truth):
        if str(c) in col:
            onehot[r, col[str(c)]] = 1.0
    return float(((proba - onehot) ** 2).sum(axis=1).mean())


# ---------------------------------------------------------------- one held-out evaluation


@dataclass(frozen=True)
class SentimentEvaluation:
    """The domain model against the scorer it would replace, on one held-out split.

    ``f1_default`` is the macro-F1 of the scorer compared with (``baseline``:
    the active scorer's id), ``f1_domain`` that of the new domain model;
    ``difference`` is domain minus baseline with its paired bootstrap interval.
    """

    n_train: int
    n_test: int
    f1_default: float
    f1_domain: float
    test_size: float
    random_state: int
    classes: dict[str, int] = field(default_factory=dict)  # label -> texts in the whole set
    model: DomainSentiment | None = field(default=None, repr=False, compare=False)
    baseline: str = "default"
    domain_f1: Estimate | None = None
    baseline_f1: Estimate | None = None
    difference: Estimate | None = None
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    brier: float | None = None
    note: str | None = None

    @property
    def gain(self) -> float:
        return self.f1_domain - self.f1_default

    @property
    def beats_baseline(self) -> bool:
        """The difference's interval lies above 0: the new model is better, interval and all."""
        return self.difference is not None and self.difference.ci_low > 0

    def to_dict(self) -> dict[str, Any]:
        def est(e: Estimate | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {
                "estimate": round(e.estimate, 4),
                "ci_low": round(e.ci_low, 4),
                "ci_high": round(e.ci_high, 4),
                "n": e.n,
                "method": e.method,
            }

        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "baseline": self.baseline,
            "macro_f1_default": round(self.f1_default, 4),
            "macro_f1_domain": round(self.f1_domain, 4),
            "gain": round(self.gain, 4),
            "macro_f1_baseline_interval": est(self.baseline_f1),
            "macro_f1_domain_interval": est(self.domain_f1),
            "difference": est(self.difference),
            "per_class_f1": {
                k: {c: round(v, 4) for c, v in d.items()} for k, d in self.per_class.items()
            },
            "brier_domain": None if self.brier is None else round(self.brier, 4),
            "test_size": self.test_size,
            "random_state": self.random_state,
            "classes": self.classes,
            "note": self.note,
        }


def check_labelled(texts: Sequence[Any], labels: Sequence[str]) -> dict[str, int]:
    """Counts per class; an error saying what is missing when too little to learn from."""
    counts = {c: labels.count(c) for c in LABELS if c in labels}
    if len(texts) < MIN_TEXTS or len(counts) < 2 or min(counts.values()) < MIN_PER_CLASS:
        raise ModelError(
            f"too little labelled text to learn from: {len(texts)} texts "
            f"({', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}); need at least "
            f"{MIN_TEXTS}, with {MIN_PER_CLASS} in each of two classes or more"
        )
    return counts


def evaluate_sentiment(
    texts: Sequence[str | None],
    labels: Sequence[str],
    *,
    test_size: float = 0.2,
    random_state: int = 42,
    model: DomainSentiment | None = None,
    default: Any = None,
    default_id: str = "default",
    unseen_by_default: np.ndarray | None = None,
    n_boot: int = N_BOOT,
) -> SentimentEvaluation:
    """Learn the domain model on a seeded stratified split; score both scorers on the rest.

    ``default`` is the scorer the new model is compared with (anything with
    ``predict``; the out-of-the-box scorer when ``None``). When it is an
    earlier domain model, ``unseen_by_default`` (a boolean per text) says which
    texts it was *not* trained on: both are then compared on the held-out
    texts it never saw, so that it is not favoured by having learned them.

    The returned evaluation carries the domain model fitted on the training
    part only (``.model``).
    """
    texts, labels = list(texts), [str(x) for x in labels]
    counts = check_labelled(texts, labels)
    tr, te = holdout_split(labels, test_size=test_size, random_state=random_state)
    model = model if model is not None else DomainSentiment(random_state=random_state)
    if default is None:
        from cxray.text._enrich import default_scorer

        default = default_scorer()
    x_tr, y_tr = [texts[i] for i in tr], [labels[i] for i in tr]
    model.fit(x_tr, y_tr)
    note = None
    if unseen_by_default is not None:
        fair = te[np.asarray(unseen_by_default, dtype=bool)[te]]
        if len(fair) >= MIN_TEXTS:
            if len(fair) < len(te):
                note = (
                    f"compared on the {len(fair):,} held-out texts the active model was not "
                    f"trained on (of {len(te):,})"
                )
            te = fair
        else:
            note = (
                f"the active model was trained on {len(te) - len(fair):,} of the "
                f"{len(te):,} held-out texts, which favours it"
            )
    x_te, y_te = [texts[i] for i in te], [labels[i] for i in te]
    p_dom = model.predict(x_te)
    p_def = np.asarray(default.predict(x_te), dtype=object)
    proba = model.predict_proba(x_te)
    seed = random_state
    return SentimentEvaluation(
        n_train=len(tr),
        n_test=len(te),
        f1_default=_point_f1(_codes(y_te, "labels"), _codes(p_def, "predicted")),
        f1_domain=_point_f1(_codes(y_te, "labels"), _codes(p_dom, "predicted")),
        test_size=test_size,
        random_state=random_state,
        classes=counts,
        model=model,
        baseline=default_id,
        domain_f1=macro_f1_estimate(y_te, p_dom, n_boot=n_boot, seed=seed),
        baseline_f1=macro_f1_estimate(y_te, p_def, n_boot=n_boot, seed=seed),
        difference=f1_difference(y_te, p_dom, p_def, n_boot=n_boot, seed=seed),
        per_class={"domain": per_class_f1(y_te, p_dom), "baseline": per_class_f1(y_te, p_def)},
        brier=brier_score(y_te, proba, model.classes_),
        note=note,
    )
