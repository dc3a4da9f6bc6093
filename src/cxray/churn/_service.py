"""``ws.churn``: the churn capability hung on the workspace."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cxray.config import ProgramConfig
from cxray.store import Store

if TYPE_CHECKING:  # the analyses import scipy, lifelines, scikit-learn: only when used
    from cxray.churn._cox import CoxResult
    from cxray.churn._reasons import ReasonsResult
    from cxray.churn._survival import SurvivalResult


class Churn:
    """Churn reasons, survival and risk over one store.

    ``store``: the workspace's store; ``config``: its program configuration;
    ``lock``: the workspace's write lock (held while a model is written)."""

    def __init__(self, store: Store, config: ProgramConfig, *, lock: Any = None):
        self.store = store
        self.config = config
        self.lock = lock

    def table(self, name: str) -> Any:
        """One stored table as an Ibis table."""
        return self.store.table(name)

    def survival(
        self,
        by: str = "nps_group",
        as_of: Any = None,
        *,
        landmark: Any = None,
        bands: int = 3,
        confidence: float = 0.95,
    ) -> SurvivalResult:
        """Kaplan–Meier survival of customers by group, with log-rank tests.

        ``by``: ``nps_group`` (the latest NPS answer), any customer column (text by value,
        numbers in ``bands`` quantile bands unless they have few values) or any feature of
        the customers in the feature layer (then the customers active at ``landmark``,
        followed from that date). ``as_of``: the end of observation (default: the end of
        the data); later churn is not known. See :mod:`cxray.churn._survival`."""
        from cxray.churn._survival import survival

        return survival(self.table, self.config, by=by, as_of=as_of, landmark=landmark,
                        bands=bands, confidence=confidence)  # fmt: skip

    def reasons(
        self,
        by: str | None = None,
        period: str | None = None,
        *,
        start: Any = None,
        end: Any = None,
        confidence: float = 0.95,
        themes: bool = True,
    ) -> ReasonsResult:
        """Stated churn reasons: each reason's share of the churned customers who gave one,
        with Wilson intervals, by a customer attribute ``by`` and ``period`` (``month`` or
        ``quarter`` of ``churned_at``) with a trend test per reason (BH-adjusted), and the
        reasons' taxonomy themes. ``start``/``end``: dates of leaving, inclusive. See
        :mod:`cxray.churn._reasons`."""
        from cxray.churn._reasons import reasons

        return reasons(self.table, self.config, by=by, period=period, start=start, end=end,
                       confidence=confidence, themes=themes)  # fmt: skip

    def cox(
        self,
        covariates: Sequence[str] = (),
        *,
        by: str | None = "nps_group",
        as_of: Any = None,
        landmark: Any = None,
        reference: str | None = None,
        bands: int = 3,
        penalizer: float = 0.0,
        save: bool = True,
    ) -> CoxResult:
        """A Cox model of churn: hazard ratios of the groups of ``by`` (against
        ``reference``) and of numeric ``covariates``, with 95% intervals, concordance and a
        proportional-hazards check. ``save``: store the fit in ``_cx_models`` (name
        ``churn_cox``, JSON) unless the store is read-only. See :mod:`cxray.churn._cox`."""
        from cxray.churn._cox import cox, save_model

        result, model = cox(self.table, self.config, by=by, covariates=covariates, as_of=as_of,
                            landmark=landmark, reference=reference, bands=bands,
                            penalizer=penalizer)  # fmt: skip
        if save and not self.store.read_only:
            result.model_id = save_model(self.store, self.lock, result, model)
        return result

    @cached_property
    def risk(self) -> Any:
        """The churn-risk model: train, evaluate, score (:class:`cxray.churn._risk.ChurnRisk`)."""
        from cxray.churn._risk import ChurnRisk

        return ChurnRisk(self)
