"""Churn risk per customer: train on the feature layer, evaluate honestly, keep, score.

``ws.churn.risk.train()`` builds the customer features of :mod:`cxray.features` in the
store (portable Ibis; only the compact per-customer frame comes to memory), fits
:class:`~cxray.churn._risk_model.RiskModel` and evaluates it against a simple baseline:

- **time split** (the default when the data allows it): with the data ending at E and the
  churn horizon h, the model is trained on the customers active at t0 = E − 2h (features as
  of t0, label: left in (t0, t0 + h]) and evaluated on those active at t1 = E − h (features
  as of t1, label in (t1, E]). No feature reads anything after its as-of date.
- **stratified split** (``split="stratified"``, or automatically when a time split is
  impossible — a snapshot such as the IBM Telco file has one date, or too few churners in a
  window — and the report says why): the customers active at one as-of date, 80/20 by
  outcome, seeded. For a snapshot (every churn on one date, the end of the data) the as-of
  date is that date.

The **baseline** is the training churn rate by tenure band (quintiles of tenure). The
model is **kept** (stored in ``_cx_models`` as JSON under the name ``churn_risk``, refitted
on the latest labelled customers) only when its AUC beats the baseline's, i.e. the lower
end of the paired DeLong interval of the difference is above zero.

``ws.churn.risk.score()`` scores every customer active at the end of the data with the
stored model: probability, delta-method 95% interval, and the top three reasons (exact
additive contributions to the log-odds, see :mod:`cxray.churn._risk_model`).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxray.churn._risk_eval import compare, scores
from cxray.churn._risk_model import RiskModel
from cxray.exceptions import AnalysisError
from cxray.features import Features
from cxray.metrics import parse_when

__all__ = ["MODEL_NAME", "NO_MODEL", "ChurnRisk", "RiskModelReport", "RiskScores"]

MODEL_NAME = "churn_risk"
NO_MODEL = "no churn-risk model: run `cxray churn model`"
#: churners (and stayers) a split needs in each part
MIN_CLASS = 10
#: customer columns that are never features: identity, personal data, the outcome itself
_NOT_FEATURES = {"customer_id", "email", "name", "created_at", "churned_at", "churn_reason"}
#: most distinct values a text attribute may have to be a category
_MAX_DISTINCT = 50
_SPLITS = ("auto", "time", "stratified")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class RiskModelReport:
    """How the churn-risk model did on customers it was not trained on, against the baseline.

    ``auc`` (with ``ci_low``/``ci_high``, DeLong), ``pr_auc``, ``brier``, ``reliability``,
    ``lift_top_decile``, ``capture_top_decile``: the model on the evaluation customers;
    ``baseline``: the same figures for the churn rate by tenure band; ``auc_gain``: the
    model's AUC minus the baseline's with its paired interval; ``kept``: stored or not."""

    split: str
    split_reason: str
    train_as_of: str
    evaluation_as_of: str
    horizon_days: float
    lookback_days: float
    n_train: int
    n: int
    auc: float
    ci_low: float
    ci_high: float
    pr_auc: float
    brier: float
    lift_top_decile: float | None
    capture_top_decile: float | None
    churn_rate: float
    reliability: list[dict[str, Any]]
    baseline: dict[str, Any]
    auc_gain: dict[str, float]
    kept: bool
    kept_reason: str
    features: list[str]
    seed: int
    method: str
    model_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def estimate(self) -> float:
        """The headline figure: the AUC on the evaluation customers."""
        return self.auc

    def to_dict(self) -> dict[str, Any]:
        out = {k: _plain(v) for k, v in self.__dict__.items()}
        out["estimate"] = _plain(self.auc)
        return out


@dataclass(frozen=True)
class RiskScores:
    """Every active customer's churn probability with its interval and top reasons."""

    customers: pd.DataFrame
    as_of: str
    horizon_days: float
    model_id: str
    method: str
    #: the mean probability: the expected share of these customers who leave within the
    #: horizon, with its delta-method 95% interval (``None`` when no customer is active)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def records(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        part = self.customers.iloc[offset : None if limit is None else offset + limit]
        return [_plain(r) for r in part.to_dict("records")]

    def to_dict(self, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "model_id": self.model_id,
            "method": self.method,
            "estimate": _plain(self.estimate),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
            "n": self.n,
            "offset": offset,
            "customers": self.records(limit, offset),
        }


class ChurnRisk:
    """The churn-risk model over one store (``ws.churn.risk``)."""

    def __init__(self, churn: Any):
        self.churn = churn
        self.features = Features(churn.table, churn.config)

    # --------------------------------------------------------------- frames
    def _categories(self) -> list[str]:
        """Text columns of the customers that can be categories (2 to 50 values)."""
        c = self.churn.table("customers")
        numeric = set(self.features.customer_attributes)
        candidates = [
            name for name, typ in c.schema().items()
            if typ.is_string() and name not in _NOT_FEATURES and name not in numeric
            and not name.startswith("_") and not name.endswith("_id")
            and not name.lower().startswith("churn")
        ]  # fmt: skip
        if not candidates:
            return []
        row = c.aggregate(**{f"d{i}": c[n].nunique() for i, n in enumerate(candidates)})
        counts = row.to_pyarrow().to_pylist()[0]
        return [n for i, n in enumerate(candidates) if 2 <= (counts[f"d{i}"] or 0) <= _MAX_DISTINCT]

    def frame_expr(
        self, as_of: Any, *, lookback_days: float | None = None, horizon_days: float | None = None
    ) -> ibis.Table:
        """The per-customer frame as an Ibis expression: the feature layer's customers
        active at ``as_of`` and their category columns (computed where the data lives)."""
        f = self.features.customers(
            as_of=as_of, lookback_days=lookback_days, horizon_days=horizon_days
        )
        cats = self._categories()
        c = self.churn.table("customers")
        extra = c.select(_k=c.customer_id, _churned_at=c.churned_at, **{n: c[n] for n in cats})
        joined = f.left_join(extra, f.customer_id == extra._k).drop("_k")
        return joined

    def frame(self, as_of: Any, **kw: Any) -> pd.DataFrame:
        """The per-customer frame in memory, sorted by customer (deterministic)."""
        out = self.frame_expr(as_of, **kw).to_pandas()
        return out.sort_values("customer_id", kind="mergesort").reset_index(drop=True)

    def _columns(self, frame: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
        cats = [n for n in self._categories() if n in frame.columns]
        skip = {*cats, "churned", "_churned_at", *_NOT_FEATURES}
        numeric = [
            n for n in frame.columns
            if n not in skip and not n.lower().startswith("churn")
            and (pd.api.types.is_numeric_dtype(frame[n]) or pd.api.types.is_bool_dtype(frame[n]))
        ]  # fmt: skip
        return tuple(numeric), tuple(cats)

    # --------------------------------------------------------------- training
    def _dates(self) -> tuple[dt.datetime, dt.datetime | None]:
        """The end of the data and the first customer's joining date."""
        end = self.features.data_end()
        if end is None:
            raise AnalysisError("the store has no data yet; import data or run `cxray demo`")
        return end, self._first_created()

    def _first_created(self) -> dt.datetime | None:
        c = self.churn.table("customers")
        v = c.created_at.min().to_pyarrow().as_py()
        return None if v is None else v.replace(tzinfo=None)

    def _churn_dates(self) -> tuple[int, dt.datetime | None]:
        c = self.churn.table("customers")
        row = c.aggregate(d=c.churned_at.nunique(), m=c.churned_at.max()).to_pyarrow()
        r = row.to_pylist()[0]
        m = r["m"].replace(tzinfo=None) if r["m"] is not None else None
        return int(r["d"] or 0), m

    def train(
        self,
        *,
        split: str = "auto",
        horizon_days: float | None = None,
        lookback_days: float | None = None,
        test_size: float = 0.2,
        C: float | str = "auto",
        seed: int = 0,
        keep: bool = True,
        writer: ChurnRisk | None = None,
    ) -> RiskModelReport:
        """Train, evaluate against the baseline and (when it beats it) store the model.

        ``split``: ``auto`` (time when possible, else stratified, saying why), ``time`` or
        ``stratified``; ``horizon_days``: the churn window (default ``[features]
        churn_horizon_days``); ``lookback_days``: the features' look-back; ``test_size``:
        the evaluation share of a stratified split; ``C``: inverse L2 penalty (``auto``: chosen by
        cross-validation on the training customers); ``seed``:
        the split's seed; ``keep=False`` evaluates without storing; ``writer``: the
        :class:`ChurnRisk` whose store keeps the model (default this one; the API reads a
        snapshot and writes through the workspace)."""
        if split not in _SPLITS:
            raise AnalysisError(f"split must be one of {', '.join(_SPLITS)}, got {split!r}")
        if not 0 < test_size < 1:
            raise AnalysisError(f"test_size must be between 0 and 1, got {test_size:g}")
        if C != "auto" and not (isinstance(C, int | float) and C > 0):
            raise AnalysisError(f"C must be positive or 'auto', got {C!r}")
        cfg = self.churn.config.features
        h = float(horizon_days if horizon_days is not None else cfg.churn_horizon_days)
        lb = float(lookback_days if lookback_days is not None else cfg.lookback_days)
        if h <= 0 or lb <= 0:
            raise AnalysisError("horizon_days and lookback_days must be positive")
        distinct, last_churn = self._churn_dates()
        if distinct == 0:
            raise AnalysisError(
                "no customer has a churned_at date: churn risk needs customers who left "
                "(import customers with churned_at, or derive it from a yes/no column: "
                "--map churned_at=COLUMN:yes-at:DATE)"
            )
        end, first = self._dates()
        kw = {"lookback_days": lb, "horizon_days": h}
        mode, reason = split, ""
        train = test = None
        t0 = end - dt.timedelta(days=2 * h)
        t1 = end - dt.timedelta(days=h)
        if split in ("auto", "time"):
            why = None
            if first is None or t0 <= first:
                days = (end - first).days if first else 0
                why = (
                    f"the data spans {days} days, less than two churn horizons "
                    f"({2 * h:g} days) after the first customer joined"
                )
            else:
                train, test = self.frame(t0, **kw), self.frame(t1, **kw)
                why = _too_few(train, "training", t0) or _too_few(test, "evaluation", t1)
            if why:
                if split == "time":
                    raise AnalysisError(
                        f"a time split is impossible: {why}; use --split stratified"
                    )
                mode, reason = "stratified", f"a time split is impossible: {why}"
            else:
                mode, reason = (
                    "time",
                    (
                        f"trained on customers active at {t0:%Y-%m-%d} (churn in the next {h:g} "
                        f"days), evaluated on those active at {t1:%Y-%m-%d}"
                    ),
                )
        if mode == "stratified":
            snapshot = distinct == 1 and last_churn is not None and last_churn >= end
            at = end if snapshot else t1
            everyone = self.frame(at, **kw)
            if snapshot:
                reason = (reason + "; " if reason else "") + (
                    f"a snapshot: every churn is dated {end:%Y-%m-%d}, so the customers active "
                    f"then are split {1 - test_size:.0%}/{test_size:.0%} by outcome (seed {seed})"
                )
            else:
                reason = (reason + "; " if reason else "") + (
                    f"customers active at {at:%Y-%m-%d} (churn in the next {h:g} days) split "
                    f"{1 - test_size:.0%}/{test_size:.0%} by outcome (seed {seed})"
                )
            if len(everyone) < 2:
                raise AnalysisError(
                    f"{len(everyone)} customer(s) active at {at:%Y-%m-%d}: too few to train a model"
                )
            problem = _too_few(everyone, "labelled", at, scale=1 / test_size)
            if problem:
                raise AnalysisError(f"no churn-risk model: {problem}")
            from sklearn.model_selection import train_test_split

            idx_train, idx_test = train_test_split(
                np.arange(len(everyone)), test_size=test_size, random_state=seed,
                stratify=everyone["churned"].to_numpy(),
            )  # fmt: skip
            train = everyone.iloc[np.sort(idx_train)].reset_index(drop=True)
            test = everyone.iloc[np.sort(idx_test)].reset_index(drop=True)
            t0 = t1 = at
            latest = everyone
        else:
            latest = test
        assert train is not None and test is not None
        numeric, cats = self._columns(train)
        model = RiskModel(numeric=numeric, categorical=cats, C=C, seed=seed)
        model.fit(train, train["churned"].to_numpy())
        y = test["churned"].to_numpy(dtype=float)
        p = model.predict_proba(test)
        base = _baseline(train, test)
        fig = scores(y, p)
        fig_base = scores(y, base)
        fig_base.pop("reliability")
        gain = compare(y, p, base)
        beats = gain["ci_low"] > 0
        kept_reason = (
            f"AUC {fig['auc']:.3f} against the baseline's {fig_base['auc']:.3f}: "
            f"{gain['auc_gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]"
        )
        kept_reason += (
            "; the model beats the baseline"
            if beats
            else "; not better than the baseline beyond doubt: the model is not kept"
        )
        if beats and not keep:
            kept_reason += " (not stored: keep=False)"
        report_kw = dict(
            split=mode,
            split_reason=reason,
            train_as_of=t0.isoformat(),
            evaluation_as_of=t1.isoformat(),
            horizon_days=h,
            lookback_days=lb,
            n_train=len(train),
            n=fig["n"],
            auc=fig["auc"],
            ci_low=fig["auc_ci_low"],
            ci_high=fig["auc_ci_high"],
            pr_auc=fig["pr_auc"],
            brier=fig["brier"],
            lift_top_decile=fig["lift_top_decile"],
            capture_top_decile=fig["capture_top_decile"],
            churn_rate=fig["churn_rate"],
            reliability=fig["reliability"],
            baseline={"method": "training churn rate by tenure band (quintiles)", **fig_base},
            auc_gain=gain,
            kept=bool(beats and keep),
            kept_reason=kept_reason,
            features=model.features_,
            seed=seed,
            method=(
                f"penalised logistic regression (L2, C={model.C_:g}"
                f"{' by cross-validation' if C == 'auto' else ''}) on standardised numbers, "
                "cubic splines of continuous features and one-hot categories; AUC interval "
                "by DeLong; " + ("time split" if mode == "time" else "stratified split")
            ),
        )
        notes = []
        if fig["churners"] < 30:
            notes.append(
                f"only {fig['churners']} churners among the evaluation customers: the AUC "
                "interval is wide; a longer history or a longer horizon gives more"
            )
        own = {*self.features.customer_attributes, *cats}
        cats_seen = [n for n in model.features_ if n in own]
        if mode == "time" and cats_seen:
            notes.append(
                "customer attributes (" + ", ".join(cats_seen[:5]) + ") are their current "
                "values: the store keeps no history of them, so the time split reads them as "
                "known at the training date"
            )
        report_kw["warnings"] = notes
        if not (beats and keep):
            return RiskModelReport(**report_kw)
        # the stored model: refitted on the latest labelled customers, same settings
        final = RiskModel(numeric=numeric, categorical=cats, C=model.C_, seed=seed)
        final.fit(latest, latest["churned"].to_numpy())
        model_id = f"{MODEL_NAME}-{uuid.uuid4().hex[:12]}"
        report = RiskModelReport(**report_kw, model_id=model_id)
        spec = {
            "model": final.to_json(),
            "horizon_days": h,
            "lookback_days": lb,
            "fitted_as_of": (t1 if mode == "time" else t0).isoformat(),
            "n_fitted": len(latest),
        }
        (writer or self)._store(model_id, spec, report.to_dict())
        return report

    # --------------------------------------------------------------- storage
    def _data_version(self) -> str:
        return self.churn.store.data_version()

    def _store(self, model_id: str, spec: dict[str, Any], evaluation: dict[str, Any]) -> None:
        import contextlib

        with self.churn.lock or contextlib.nullcontext():
            self.churn.store.save_model(MODEL_NAME, "logistic", spec, evaluation, model_id=model_id)

    def stored(self) -> dict[str, Any]:
        """The latest stored churn-risk model: its id, when, spec and evaluation."""
        r = self.churn.store.latest_model(MODEL_NAME)
        if r is None:
            raise AnalysisError(NO_MODEL)
        return {
            "model_id": r["model_id"],
            "created_at": r["created_at"].isoformat(),
            "data_version": r["data_version"],
            "spec": r["spec"],
            "evaluation": r["evaluation"],
        }

    def model(self) -> RiskModel:
        """The stored model, rebuilt from its JSON."""
        return RiskModel.from_json(self.stored()["spec"]["model"])

    # --------------------------------------------------------------- scoring
    def score(
        self, as_of: Any = None, *, customer_id: str | None = None, reasons: int = 3
    ) -> RiskScores:
        """Every customer active at ``as_of`` (default: the end of the data) scored by the
        stored model, most at risk first; ``customer_id``: only that customer."""
        stored = self.stored()
        spec = stored["spec"]
        model = RiskModel.from_json(spec["model"])
        if as_of is None or as_of == "":
            when = self.features.data_end()
            if when is None:
                raise AnalysisError("the store has no data yet; import data or run `cxray demo`")
        else:
            when = parse_when(as_of, "as_of")
        assert when is not None
        expr = self.frame_expr(
            when, lookback_days=spec["lookback_days"], horizon_days=spec["horizon_days"]
        )
        expr = expr.filter(expr._churned_at.isnull() | (expr._churned_at > ibis.timestamp(when)))
        if customer_id is not None:
            expr = expr.filter(expr.customer_id == str(customer_id))
        frame = expr.to_pandas()
        frame = frame.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
        if customer_id is not None and frame.empty:
            from cxray.exceptions import NotFoundError

            raise NotFoundError(
                f"customer {customer_id!r} is not an active customer at {when:%Y-%m-%d}"
            )
        names = model.features_
        if frame.empty:
            out = pd.DataFrame(columns=["customer_id", "probability", "ci_low", "ci_high",
                                        "reasons"])  # fmt: skip
            est = lo = hi = None
        else:
            ex = model.explain(frame)
            contrib = ex["contributions"]
            top = np.argsort(-contrib, axis=1, kind="mergesort")[:, :reasons]
            # plain Python values once per column (NaN as None): building the reasons of a
            # million customers from numpy scalars one by one took half of the scoring time
            cols = [_values(frame[n]) for n in names]
            parts = np.round(contrib, 6).tolist()
            picks = top.tolist()
            why = [
                [{"feature": names[j], "contribution": row[j], "value": cols[j][i]}
                 for j in pick if row[j] > 0]
                for i, (pick, row) in enumerate(zip(picks, parts, strict=True))
            ]  # fmt: skip
            out = pd.DataFrame({
                "customer_id": frame["customer_id"].astype(str).to_numpy(),
                "probability": ex["probability"],
                "ci_low": ex["ci_low"],
                "ci_high": ex["ci_high"],
                "reasons": why,
            })  # fmt: skip
            out = out.sort_values(
                ["probability", "customer_id"], ascending=[False, True], kind="mergesort"
            ).reset_index(drop=True)
            est, lo, hi = ex["mean"], ex["mean_ci_low"], ex["mean_ci_high"]
        return RiskScores(
            customers=out,
            as_of=when.isoformat(),
            horizon_days=float(spec["horizon_days"]),
            model_id=stored["model_id"],
            method=(
                "probability of leaving within the horizon from the stored logistic model; "
                "95% interval by the delta method on the linear predictor; reasons: the "
                "features adding most to the log-odds against the average training customer; "
                "the estimate: the mean probability, with its delta-method interval"
            ),
            estimate=est,
            ci_low=lo,
            ci_high=hi,
            n=len(out),
        )


def _values(col: pd.Series) -> list[Any]:
    """A column as plain Python values (numpy's object conversion), missing as ``None``."""
    values = col.to_numpy(dtype=object)
    values[pd.isna(col).to_numpy()] = None
    return values.tolist()


def _too_few(frame: pd.DataFrame, what: str, at: dt.datetime, scale: float = 1.0) -> str | None:
    n = len(frame)
    churners = int(frame["churned"].sum()) if n else 0
    need = math.ceil(MIN_CLASS * scale)
    if churners < need or n - churners < need:
        return (
            f"the {what} customers active at {at:%Y-%m-%d} number {n} with {churners} "
            f"churner(s); at least {need} churners and {need} stayers are needed"
        )
    return None


def _baseline(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The training churn rate by tenure band (quintiles of training tenure)."""
    y = train["churned"].to_numpy(dtype=float)
    t = train["tenure_days"].to_numpy(dtype=float)
    edges = np.unique(np.quantile(t, [0.2, 0.4, 0.6, 0.8]))
    band_train = np.searchsorted(edges, t, side="right")
    rates = np.array([
        y[band_train == b].mean() if (band_train == b).any() else y.mean()
        for b in range(len(edges) + 1)
    ])  # fmt: skip
    band_test = np.searchsorted(edges, test["tenure_days"].to_numpy(dtype=float), side="right")
    return rates[band_test]
