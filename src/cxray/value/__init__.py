"""Layer 5, lifetime value: what customers will buy and spend (``docs/value.md``).

- :class:`Value` (``ws.value``): the per-customer purchase summary computed in the store
  (frequency, recency, T, monetary; holdout purchases), BG/NBD or Pareto/NBD for purchases
  and P(alive), Gamma-Gamma for spend, fitted by maximum likelihood and kept as JSON in
  ``_cx_models`` (name ``clv``); CLV per customer over a horizon with a discount rate; and
  ``.money``, the money of CX (:class:`cxray.value._money.Money`).
- :class:`BetaGeoModel`, :class:`ParetoNBDModel`, :class:`GammaGammaModel`: the models,
  scikit-learn estimators that round-trip through JSON.
"""

from cxray.value._models import BetaGeoModel, GammaGammaModel, ParetoNBDModel, model_from_dict
from cxray.value._results import ClvFit, ClvResult, ParamEstimate
from cxray.value._service import MIN_CUSTOMERS, MODEL_NAME, Value
from cxray.value._summary import UNITS, purchase_summary

__all__ = [
    "MIN_CUSTOMERS",
    "MODEL_NAME",
    "UNITS",
    "BetaGeoModel",
    "ClvFit",
    "ClvResult",
    "GammaGammaModel",
    "ParamEstimate",
    "ParetoNBDModel",
    "Value",
    "model_from_dict",
    "purchase_summary",
]
