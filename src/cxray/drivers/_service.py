"""The drivers object the workspace hands out: ``ws.drivers(...)``, ``ws.drivers.moments()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis

from cxray.config import ProgramConfig
from cxray.drivers._analysis import analyse
from cxray.drivers._results import DriverReport, MomentsReport
from cxray.features import Feature, Features

__all__ = ["Drivers"]

TableSource = Callable[[str], ibis.Table]


class Drivers:
    """Key drivers and moments of truth over one store (``docs/drivers.md``).

    >>> ws.drivers("nps").to_frame()                 # doctest: +SKIP
    >>> ws.drivers.moments().to_frame()              # doctest: +SKIP
    """

    def __init__(self, tables: TableSource, config: ProgramConfig):
        self.tables = tables
        self.config = config

    def __call__(
        self,
        outcome: str = "nps",
        drivers: Sequence[str] = (),
        *,
        by: str | None = None,
        start: Any = None,
        end: Any = None,
        window_days: float | None = None,
        as_of: Any = None,
        bootstrap: int = 200,
        seed: int = 0,
    ) -> DriverReport:
        """Key drivers of ``outcome``: Johnson's relative weights with bootstrap intervals.

        ``outcome``: ``nps``, ``csat``, ``ces`` (answers, per response), ``promoter``,
        ``detractor``, ``top_box`` (binary, per response), ``churn`` (per customer active
        at ``as_of``), or a numeric response or customer column. ``drivers``: feature or
        column names (default: chosen from the feature layer). ``by``: one analysis per
        value of an attribute. ``start``/``end``: responses submitted in these dates
        (inclusive, local time). ``window_days``: how far back a response's features
        look (the look-back of customer features). ``bootstrap`` replicates (0: no
        intervals) drawn with ``seed``.
        """
        return analyse(
            self.tables,
            self.config,
            outcome,
            drivers,
            by=by,
            start=start,
            end=end,
            window_days=window_days,
            as_of=as_of,
            bootstrap=bootstrap,
            seed=seed,
        )

    def moments(
        self,
        outcomes: Sequence[str] = ("csat", "nps", "ces", "churn"),
        *,
        start: Any = None,
        end: Any = None,
        window_days: float | None = None,
        as_of: Any = None,
    ) -> MomentsReport:
        """Moments of truth: each touchpoint experience's effect on ``outcomes`` (``csat``,
        ``nps``, ``ces``, ``churn``), ranked by what it costs on the first of them that
        has data: by default CSAT, the satisfaction with the touchpoint itself."""
        from cxray.drivers._moments import moments_of_truth

        return moments_of_truth(
            self.tables,
            self.config,
            outcomes,
            start=start,
            end=end,
            window_days=window_days,
            as_of=as_of,
        )

    def features(self, unit: str = "responses") -> list[Feature]:
        """The features a driver may be (``unit``: ``responses`` or ``customers``)."""
        return Features(self.tables, self.config).catalogue(unit)
