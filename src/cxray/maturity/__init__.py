"""Layer 5, maturity: how mature the CX program is, with evidence from the store
(``docs/maturity.md``).

- :class:`Maturity` (``ws.maturity``): the questionnaire (seven dimensions, answers scored
  0–3), evidence measured in the store (feedback coverage, response rates, KPIs with
  targets, journeys, the closed loop, alert rules, predictive models, data freshness), a
  level per dimension and overall (Reactive, Responsive, Proactive, Predictive), where
  answers and evidence disagree, a roadmap in implementation phases, and the history of
  assessments kept in ``_cx_maturity``.
- :data:`DIMENSIONS`, :data:`LEVELS`: the model as data.
"""

from cxray.maturity._answers import parse_answers, read_answers, template
from cxray.maturity._assess import Assessment, DimensionResult, assess
from cxray.maturity._evidence import CUTS, Evidence
from cxray.maturity._history import MATURITY
from cxray.maturity._model import DIMENSIONS, LEVELS, PHASES, level_of
from cxray.maturity._service import Maturity

__all__ = [
    "CUTS",
    "DIMENSIONS",
    "LEVELS",
    "MATURITY",
    "PHASES",
    "Assessment",
    "DimensionResult",
    "Evidence",
    "Maturity",
    "assess",
    "level_of",
    "parse_answers",
    "read_answers",
    "template",
]
