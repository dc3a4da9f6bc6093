"""Layer 5, explaining: key drivers and moments of truth (``docs/drivers.md``).

:class:`Drivers` (``Workspace.drivers``) answers *why*: which parts of the
experience move NPS, CSAT, CES, a rating or churn (Johnson's relative weights
with bootstrap intervals, the logistic variant for binary outcomes, LMG/Shapley
shares for up to 12 drivers, effects, performance and a priority for each), and
which touchpoint experiences (a late delivery, a slow first response, a case not
solved at first contact, an abandoned checkout) cost the most, with intervals
and Benjamini–Hochberg control. Both read the feature layer
(:mod:`cxray.features`) and only compact sums leave the store.
"""

from cxray.drivers._analysis import OUTCOMES
from cxray.drivers._results import (
    DriverAnalysis,
    DriverReport,
    DriverResult,
    MomentResult,
    MomentsReport,
)
from cxray.drivers._service import Drivers

__all__ = [
    "OUTCOMES",
    "DriverAnalysis",
    "DriverReport",
    "DriverResult",
    "Drivers",
    "MomentResult",
    "MomentsReport",
]
