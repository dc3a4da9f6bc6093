"""Layer 5, churn: why and when customers leave, and who will leave next (``docs/churn.md``).

- :class:`Churn` (``ws.churn``): stated churn reasons by segment and period, survival
  curves (Kaplan–Meier by group, log-rank tests, a Cox model), and ``.risk``, the churn-risk
  model per customer (:class:`cxray.churn._risk.ChurnRisk`).

Everything reads the store through Ibis (the customers table and the feature layer of
:mod:`cxray.features`); models fit on the compact results the store returns.
"""

from cxray.churn._service import Churn

__all__ = ["Churn"]
