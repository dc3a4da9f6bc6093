"""Scoring: answers and evidence to a level per dimension, an overall level, disagreements
and a roadmap (``docs/maturity.md``).

Per dimension:

* **stated score**: the mean of its answered questions (0–3); no answer, no stated score;
* **evidence score**: the mean of the levels its measurable evidence items imply (0–3);
* **score**: the lower of the two when both exist (evidence caps a claim), else the one
  there is; its **level** is :func:`cxray.maturity._model.level_of` of it.

The **overall** score is the mean of the dimensions' scores (those with one), its level the
same bands. A **disagreement** is an evidence item whose implied level differs by one level
or more from the stated level of its dimension: above it (the answers claim more than the
data shows) or below it (the data shows more than the answers claim).

The **roadmap**: for each dimension, the model's next steps from its level and the remedies
of its evidence items that sit at or below that level, ordered by phase (quick wins,
foundation, scale, optimise), then the least mature dimension first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cxray.maturity._evidence import Evidence
from cxray.maturity._model import DIMENSIONS, LEVELS, PHASES, STEPS, Step, level_of

__all__ = ["Assessment", "DimensionResult", "assess"]


@dataclass(frozen=True)
class DimensionResult:
    id: str
    title: str
    answered: int
    questions: int
    stated_score: float | None
    evidence_score: float | None
    score: float | None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def level(self) -> str | None:
        return None if self.score is None else level_of(self.score).name

    @property
    def stated_level(self) -> str | None:
        return None if self.stated_score is None else level_of(self.stated_score).name

    @property
    def evidence_level(self) -> str | None:
        return None if self.evidence_score is None else level_of(self.evidence_score).name

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "answered": self.answered,
            "questions": self.questions,
            "stated_score": _r(self.stated_score),
            "stated_level": self.stated_level,
            "evidence_score": _r(self.evidence_score),
            "evidence_level": self.evidence_level,
            "score": _r(self.score),
            "level": self.level,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


@dataclass(frozen=True)
class Assessment:
    """One maturity assessment: ``to_dict()`` is what is stored, the API answers and the
    page shows (see ``docs/maturity.md`` for the fields)."""

    assessed_at: dt.datetime
    answers: dict[str, int]
    dimensions: list[DimensionResult]
    overall_score: float | None
    disagreements: list[dict[str, Any]]
    roadmap: list[Step]
    source: str = "library"
    assessment_id: str | None = None

    @property
    def overall_level(self) -> str | None:
        return None if self.overall_score is None else level_of(self.overall_score).name

    def dimension(self, id: str) -> DimensionResult:
        for d in self.dimensions:
            if d.id == id:
                return d
        raise KeyError(id)

    def to_dict(self) -> dict[str, Any]:
        lv = None if self.overall_score is None else level_of(self.overall_score)
        return {
            "assessment_id": self.assessment_id,
            "assessed_at": self.assessed_at.isoformat(),
            "source": self.source,
            "overall": {
                "score": _r(self.overall_score),
                "level": None if lv is None else lv.name,
                "experience": None if lv is None else lv.experience,
                "temkin_stages": None if lv is None else list(lv.temkin_stages),
                "dimensions_scored": sum(d.score is not None for d in self.dimensions),
            },
            "dimensions": [d.to_dict() for d in self.dimensions],
            "disagreements": list(self.disagreements),
            "roadmap": [s.to_dict() for s in self.roadmap],
            "answers": dict(self.answers),
        }


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def assess(
    answers: Mapping[str, int],
    evidence: list[Evidence],
    *,
    assessed_at: dt.datetime | None = None,
    source: str = "library",
) -> Assessment:
    """Score checked ``answers`` (``{question id: 0..3}``) with ``evidence`` (see the module
    docstring); either may be empty."""
    dims: list[DimensionResult] = []
    disagreements: list[dict[str, Any]] = []
    for d in DIMENSIONS:
        got = [answers[q.id] for q in d.questions if q.id in answers]
        stated = _mean([float(x) for x in got])
        items = [e for e in evidence if e.dimension == d.id]
        ev = _mean([float(e.implies) for e in items if e.implies is not None])
        score = (
            min(stated, ev)
            if stated is not None and ev is not None
            else (stated if stated is not None else ev)
        )
        dims.append(
            DimensionResult(d.id, d.title, len(got), len(d.questions), stated, ev, score, items)
        )
        if stated is None:
            continue
        said = level_of(stated)
        for e in items:
            if e.implies is None or abs(said.index - e.implies) < 1:
                continue
            shows = LEVELS[e.implies]
            over = said.index > e.implies
            disagreements.append(
                {
                    "dimension": d.id,
                    "evidence": e.id,
                    "stated_level": said.name,
                    "evidence_level": shows.name,
                    "direction": "answers_higher" if over else "evidence_higher",
                    "figure": e.to_dict()["figure"],
                    "message": (
                        f"you answered {said.name} for {_lower(d.title)}, "
                        + ("but " if over else "and the store shows more: ")
                        + f"{_lower(e.title)}: {e.text} (that is {shows.name})"
                    ),
                }
            )
    scored = [x.score for x in dims if x.score is not None]
    overall = _mean(scored)
    return Assessment(
        assessed_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        dict(answers),
        dims,
        overall,
        disagreements,
        _roadmap(dims),
        source,
    )


def _lower(title: str) -> str:
    """A title inside a sentence: "NPS detractors ..." stays, "Channels ..." becomes lower."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def _roadmap(dims: list[DimensionResult]) -> list[Step]:
    """Next steps per dimension, quick wins first, the least mature dimension first."""
    picked: list[tuple[int, float, int, Step]] = []
    for order, d in enumerate(dims):
        if d.score is None:
            continue
        at = level_of(d.score).index
        steps = list(STEPS[d.id][at])
        for e in d.evidence:
            if e.remedy is not None and e.implies is not None and e.implies <= at:
                steps.append(e.remedy)
        seen: set[str] = set()
        for s in steps:  # one step per command or config: the model's wording first
            if (s.how or s.text) in seen:
                continue
            seen.add(s.how or s.text)
            picked.append((PHASES.index(s.phase), d.score, order, s))
    picked.sort(key=lambda x: (x[0], x[1], x[2]))
    return [s for *_, s in picked]
