"""``ws.maturity``: the CX maturity assessment hung on the workspace (``docs/maturity.md``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cxray.maturity._answers import parse_answers, read_answers, template
from cxray.maturity._assess import Assessment, assess
from cxray.maturity._evidence import Evidence, gather
from cxray.maturity._history import history, save
from cxray.maturity._model import DIMENSIONS, LEVELS, PHASES

__all__ = ["Maturity"]


class Maturity:
    """Assess the CX program's maturity from answers and the store's evidence; keep the
    results over time.

    ``ws``: the workspace (its store, config, doctor and loop measures are read)."""

    def __init__(self, ws: Any):
        self.ws = ws

    # ------------------------------------------------------------ the model
    @staticmethod
    def questions() -> dict[str, Any]:
        """The model as data: levels with their equivalents, dimensions and questions."""
        return {
            "levels": [lv.to_dict() for lv in LEVELS],
            "dimensions": [d.to_dict() for d in DIMENSIONS],
            "phases": list(PHASES),
            "scale": "each answer is the score of the chosen option, 0 to 3",
        }

    @staticmethod
    def template() -> str:
        """A commented TOML answers file (``cxray maturity --template``)."""
        return template()

    @staticmethod
    def read_answers(path: str | Path) -> dict[str, int]:
        """Checked answers from a TOML file; a bad one raises with its location."""
        return read_answers(path)

    @staticmethod
    def parse_answers(data: Mapping[str, Any], *, where: str = "answers") -> dict[str, int]:
        """Checked answers from a mapping (nested by dimension, or dotted ids)."""
        return parse_answers(data, where=where)

    # ------------------------------------------------------------ assessing
    def evidence(self, *, today: dt.date | None = None) -> list[Evidence]:
        """Every evidence item measured in the store (:mod:`cxray.maturity._evidence`)."""
        ws = self.ws
        return gather(ws.store, ws.config, coverage=ws.doctor(), today=today)

    def assess(
        self,
        answers: Mapping[str, Any] | None = None,
        *,
        evidence: bool = True,
        today: dt.date | None = None,
        source: str = "library",
    ) -> Assessment:
        """Score ``answers`` (a mapping as :meth:`parse_answers` takes; ``None``: none, an
        evidence-only assessment) with the store's evidence (unless ``evidence=False``)."""
        checked = parse_answers(answers) if answers else {}
        items = self.evidence(today=today) if evidence else []
        return assess(checked, items, source=source)

    # ------------------------------------------------------------ keeping
    def save(self, result: Assessment | dict[str, Any], *, actor: str = "library") -> str:
        """Keep an assessment in ``_cx_maturity`` under the workspace's write lock; its id."""
        body = result.to_dict() if isinstance(result, Assessment) else result
        return save(self.ws.store, body, actor=actor, lock=self.ws.write_lock)

    def history(self, *, limit: int = 100, full: bool = False) -> list[dict[str, Any]]:
        """Kept assessments, oldest first (``full``: with each whole result)."""
        return history(self.ws.store, limit=limit, full=full)

    def latest(self) -> dict[str, Any] | None:
        """The latest kept assessment's result, or ``None``."""
        rows = history(self.ws.store, limit=1, full=True)
        return rows[-1]["result"] if rows else None
