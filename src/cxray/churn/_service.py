"""``ws.churn``: the churn capability hung on the workspace."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from cxray.config import ProgramConfig
from cxray.store import Store


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

    @cached_property
    def risk(self) -> Any:
        """The churn-risk model: train, evaluate, score (:class:`cxray.churn._risk.ChurnRisk`)."""
        from cxray.churn._risk import ChurnRisk

        return ChurnRisk(self)
