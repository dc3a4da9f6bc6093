"""Honest statistics for CX metrics: estimates with intervals, tests, planning.

A pure layer (numpy, scipy, pandas for tables) that the KPI layer calls with
aggregates computed in the database. Every estimator returns an
:class:`Estimate` (or a :class:`Comparison` for two samples), never a bare
float; estimates from fewer than ``min_n`` responses are *suppressed*: they
show their reason ("n=7 < 30; widen the period or merge segments") instead
of a number, and :func:`warn_if_suppressed` raises that as a
:class:`~cxray.exceptions.StatisticalWarning`.

Methods, formulas and references: ``docs/statistics.md``.

* one sample: :func:`nps`, :func:`proportion`, :func:`mean`, :func:`mean_of`,
  :func:`quantile`, :func:`median`, :func:`bootstrap`
* two samples: :func:`nps_diff`, :func:`proportion_diff` (:func:`proportion_exact`:
  Fisher's exact test), :func:`mean_diff`
* many comparisons: :func:`benjamini_hochberg`
* planning: :func:`nps_sample_size`, :func:`nps_detectable_difference`,
  :func:`proportion_sample_size`, :func:`proportion_detectable_difference`
* explaining a change: :func:`mix_shift`
* relative importance of correlated drivers: :func:`relative_weights` (Johnson),
  :func:`lmg` (Shapley/LMG), :func:`logistic_weights_from_fit`, from
  :class:`CrossMoments` summed in the store
"""

from cxray.stats._estimate import Comparison, Estimate, to_frame, warn_if_suppressed
from cxray.stats._intervals import (
    Moments,
    NPSCounts,
    bootstrap,
    mean,
    mean_of,
    median,
    nps,
    order_statistic_ranks,
    proportion,
    quantile,
)
from cxray.stats._mixshift import MixShift, mix_shift
from cxray.stats._multiplicity import FDRResult, benjamini_hochberg
from cxray.stats._planning import (
    PowerPlan,
    nps_detectable_difference,
    nps_sample_size,
    proportion_detectable_difference,
    proportion_sample_size,
)
from cxray.stats._relweights import (
    CrossMoments,
    RelativeWeights,
    correlation_from_moments,
    lmg,
    logistic_weights_from_fit,
    r_squared_subsets,
    relative_weights,
    sqrtm_psd,
    vif,
)
from cxray.stats._tests import mean_diff, nps_diff, proportion_diff, proportion_exact
from cxray.stats._validate import DEFAULT_MIN_N

__all__ = [
    "DEFAULT_MIN_N",
    "Comparison",
    "CrossMoments",
    "Estimate",
    "FDRResult",
    "MixShift",
    "Moments",
    "NPSCounts",
    "PowerPlan",
    "RelativeWeights",
    "benjamini_hochberg",
    "bootstrap",
    "correlation_from_moments",
    "lmg",
    "logistic_weights_from_fit",
    "mean",
    "mean_diff",
    "mean_of",
    "median",
    "mix_shift",
    "nps",
    "nps_detectable_difference",
    "nps_diff",
    "nps_sample_size",
    "order_statistic_ranks",
    "proportion",
    "proportion_detectable_difference",
    "proportion_diff",
    "proportion_exact",
    "proportion_sample_size",
    "quantile",
    "r_squared_subsets",
    "relative_weights",
    "sqrtm_psd",
    "to_frame",
    "vif",
    "warn_if_suppressed",
]
