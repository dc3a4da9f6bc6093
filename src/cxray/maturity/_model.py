"""The CX maturity model as data: levels, dimensions, questions, next steps (``docs/maturity.md``).

Everything the assessment, the questionnaire (terminal, TOML file, API, dashboard) and the
roadmap know about the model lives here, in one place:

* :data:`LEVELS`: Reactive, Responsive, Proactive, Predictive, each with its equivalents
  (Random / Intentional / Differentiated experiences; Temkin Group's stages);
* :data:`DIMENSIONS`: seven dimensions, each with three questions whose four answer options
  score 0 to 3, and the Temkin core competency it carries;
* :data:`STEPS`: per dimension and current level, the next steps, each in an implementation
  phase (quick win, foundation, scale, optimise) and naming the cxray command or config
  that does it where one exists.

A dimension's score is the mean of its answered questions (0–3); :func:`level_of` turns a
score into a level in four equal bands of width 0.75.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DIMENSIONS",
    "LEVELS",
    "PHASES",
    "STEPS",
    "Dimension",
    "Level",
    "Question",
    "Step",
    "dimension",
    "level_of",
    "question",
]


@dataclass(frozen=True)
class Level:
    """One maturity level and what other published models call it."""

    index: int  # 0..3
    name: str
    summary: str
    experience: str  # Random / Intentional / Differentiated experiences
    temkin_stages: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "summary": self.summary,
            "experience": self.experience,
            "temkin_stages": list(self.temkin_stages),
        }


LEVELS: tuple[Level, ...] = (
    Level(
        0,
        "Reactive",
        "CX is handled when customers complain; feedback is occasional and unowned.",
        "Random",
        ("Ignore", "Explore"),
    ),
    Level(
        1,
        "Responsive",
        "Feedback is collected and reported regularly; problems are fixed case by case.",
        "Intentional",
        ("Expand",),
    ),
    Level(
        2,
        "Proactive",
        "Journeys, targets and a closed loop are run as a program; causes are "
        "fixed before customers ask.",
        "Intentional",
        ("Adapt",),
    ),
    Level(
        3,
        "Predictive",
        "Models anticipate who will leave and what will hurt; the company acts before it happens.",
        "Differentiated",
        ("Embed", "Engage"),
    ),
)

#: width of one level's band on the 0–3 score scale
BAND = 0.75


def level_of(score: float) -> Level:
    """The level of a 0–3 score: below 0.75 Reactive, below 1.5 Responsive, below 2.25
    Proactive, else Predictive."""
    return LEVELS[min(3, max(0, int(score / BAND + 1e-9)))]


@dataclass(frozen=True)
class Question:
    """One question: four options, scored 0 (first) to 3 (last)."""

    id: str  # "dimension.key"
    text: str
    options: tuple[str, str, str, str]

    @property
    def key(self) -> str:
        return self.id.split(".", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "options": [{"score": i, "text": t} for i, t in enumerate(self.options)],
        }


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    competency: str  # the Temkin core competency it carries (docs/maturity.md)
    questions: tuple[Question, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "temkin_competency": self.competency,
            "questions": [q.to_dict() for q in self.questions],
        }


def _d(id: str, title: str, competency: str, *qs: tuple[str, str, tuple[str, ...]]) -> Dimension:
    return Dimension(id, title, competency, tuple(Question(f"{id}.{k}", t, o) for k, t, o in qs))  # type: ignore[arg-type]


DIMENSIONS: tuple[Dimension, ...] = (
    _d(
        "leadership_strategy",
        "Leadership and strategy",
        "purposeful leadership; compelling brand values",
        (
            "vision",
            "Is there a written CX strategy tied to business goals?",
            (
                "No",
                "Informal intentions only",
                "Written, with goals for the year",
                "Written, reviewed yearly, and it decides investments",
            ),
        ),
        (
            "owner",
            "Who owns customer experience?",
            (
                "Nobody in particular",
                "A person part-time",
                "A dedicated lead or team",
                "An executive sponsor with a budget and a team",
            ),
        ),
        (
            "review",
            "How often does leadership review CX results?",
            (
                "Never or rarely",
                "Once or twice a year",
                "Every quarter",
                "Every month, with decisions recorded",
            ),
        ),
    ),
    _d(
        "customer_insight",
        "Customer insight and VoC",
        "customer connectedness",
        (
            "listening",
            "How do you listen to customers?",
            (
                "Complaints only",
                "One periodic survey",
                "Surveys at key touchpoints",
                "Surveys, support, reviews and behaviour combined",
            ),
        ),
        (
            "unsolicited",
            "Do you use unsolicited feedback (reviews, social, tickets)?",
            (
                "No",
                "Read now and then",
                "Tracked with themes",
                "Themes and sentiment feed decisions",
            ),
        ),
        (
            "sharing",
            "Who sees customer insight?",
            (
                "Nobody beyond who collects it",
                "A report to managers",
                "Dashboards for the teams that own touchpoints",
                "Everyone, in their daily tools",
            ),
        ),
    ),
    _d(
        "journey_management",
        "Journey management",
        "customer connectedness",
        (
            "mapped",
            "Are your customer journeys mapped?",
            (
                "No",
                "One journey, informally",
                "The main journeys, with owners",
                "All key journeys, kept current with data",
            ),
        ),
        (
            "measured",
            "Are journeys measured end to end?",
            (
                "No",
                "Some steps, separately",
                "Funnels per journey with targets",
                "Funnels, paths and outcomes, with drop-offs acted on",
            ),
        ),
        (
            "design",
            "How are journey changes decided?",
            (
                "Ad hoc",
                "After complaints",
                "From journey measures",
                "Tested, with the effect measured",
            ),
        ),
    ),
    _d(
        "measurement",
        "Measurement and metrics",
        "customer connectedness",
        (
            "kpis",
            "Which CX KPIs do you track?",
            (
                "None",
                "One score (e.g. NPS) now and then",
                "A set of relationship and transactional KPIs",
                "KPIs linked to revenue, churn and cost",
            ),
        ),
        (
            "targets",
            "Do KPIs have targets and action thresholds?",
            (
                "No",
                "Some informal targets",
                "Targets for the main KPIs",
                "Targets and action thresholds for all, tied to benchmarks",
            ),
        ),
        (
            "rigour",
            "How are changes in KPIs judged?",
            (
                "By eye",
                "Against last period",
                "With confidence intervals",
                "With significance tests and drivers explaining them",
            ),
        ),
    ),
    _d(
        "closed_loop",
        "Closed loop and action",
        "customer connectedness; employee engagement",
        (
            "followup",
            "Do unhappy customers get a follow-up?",
            (
                "No",
                "When someone notices",
                "Detractors get a follow-up within days",
                "Every detractor within a set SLA, tracked",
            ),
        ),
        (
            "alerts",
            "Are alerts raised on bad feedback or KPI drops?",
            (
                "No",
                "Manually",
                "Rules on responses and cases",
                "Rules on responses, KPIs, emerging issues and predicted churn",
            ),
        ),
        (
            "inner_loop",
            "Are root causes fixed (the inner loop)?",
            (
                "No",
                "Sometimes",
                "A regular review assigns fixes",
                "Fixes are tracked and their effect measured",
            ),
        ),
    ),
    _d(
        "culture_employees",
        "Culture and employee engagement",
        "employee engagement",
        (
            "training",
            "Are employees trained in CX?",
            ("No", "New hires only", "Everyone facing customers", "Everyone, refreshed yearly"),
        ),
        (
            "empowered",
            "Can front-line staff fix a customer's problem themselves?",
            ("No", "With approval", "Within set limits", "Yes, and what they learn is shared"),
        ),
        (
            "recognition",
            "Are CX results part of goals and recognition?",
            ("No", "Informally", "In team goals", "In team and individual goals and rewards"),
        ),
    ),
    _d(
        "technology_data",
        "Technology and data",
        "customer connectedness",
        (
            "integration",
            "Is customer data in one place?",
            (
                "Scattered",
                "Some exports combined",
                "Surveys, support and orders joined",
                "All sources joined per customer, refreshed automatically",
            ),
        ),
        (
            "freshness",
            "How current is the data behind CX figures?",
            ("Months old", "Monthly", "Weekly", "Daily or live"),
        ),
        (
            "prediction",
            "Do you use predictive models (churn, lifetime value)?",
            (
                "No",
                "Explored once",
                "In use for some decisions",
                "In use, retrained, and driving actions",
            ),
        ),
    ),
)

_BY_ID = {d.id: d for d in DIMENSIONS}
_QUESTIONS = {q.id: q for d in DIMENSIONS for q in d.questions}


def dimension(id: str) -> Dimension:
    return _BY_ID[id]


def question(id: str) -> Question:
    return _QUESTIONS[id]


#: implementation phases, in the order a roadmap takes them
PHASES = ("quick_win", "foundation", "scale", "optimise")


@dataclass(frozen=True)
class Step:
    """A next step: what to do, in which phase, and the cxray command or config that does it."""

    dimension: str
    phase: str
    text: str
    how: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "phase": self.phase,
            "text": self.text,
            "how": self.how,
        }


def _s(phase: str, text: str, how: str | None = None) -> tuple[str, str, str | None]:
    return (phase, text, how)


#: dimension -> the steps from each level (index 0..3) towards the next
_STEPS: dict[str, tuple[tuple[tuple[str, str, str | None], ...], ...]] = {
    "leadership_strategy": (
        (
            _s(
                "quick_win",
                "Name one owner of CX and set targets for NPS and CSAT",
                "[targets] in cxray.toml",
            ),
            _s("foundation", "Write a one-page CX strategy tied to this year's goals"),
        ),
        (
            _s(
                "quick_win",
                "Review the scorecard with leadership every quarter",
                "cxray scorecard --period quarter",
            ),
            _s("foundation", "Give the CX lead a budget and an executive sponsor"),
        ),
        (
            _s(
                "scale",
                "Tie CX targets to revenue: churn cost and revenue at risk by NPS group",
                "cxray clv roi",
            ),
        ),
        (
            _s(
                "optimise",
                "Review the strategy yearly against measured ROI of CX initiatives",
                "cxray clv roi",
            ),
        ),
    ),
    "customer_insight": (
        (
            _s(
                "quick_win",
                "Import the survey responses you already have",
                "cxray import responses FILE",
            ),
            _s(
                "foundation",
                "Survey at the main touchpoints (post-purchase, post-case)",
                "[surveys.NAME] in cxray.toml",
            ),
        ),
        (
            _s(
                "quick_win",
                "Add unsolicited feedback: reviews, social posts, tickets",
                "cxray import mentions FILE",
            ),
            _s(
                "foundation",
                "Cover every channel customers use with a survey",
                "cxray surveys invite",
            ),
        ),
        (_s("scale", "Read themes and sentiment of all text every week", "cxray text themes"),),
        (
            _s(
                "optimise",
                "Find emerging issues automatically and route them",
                '[[loop.rules]] on = "emerging"',
            ),
        ),
    ),
    "journey_management": (
        (
            _s(
                "quick_win",
                "Import journey events (touchpoints per customer)",
                "cxray import events FILE",
            ),
            _s(
                "foundation",
                "Define your main journeys as funnels",
                "[journeys.NAME] in cxray.toml",
            ),
        ),
        (
            _s(
                "foundation",
                "Measure each journey's funnel and set completion targets",
                "cxray journeys funnel",
            ),
        ),
        (_s("scale", "Find the paths and exits that hurt outcomes", "cxray journeys outcomes"),),
        (
            _s(
                "optimise",
                "Test journey changes and measure their effect on the funnel",
                "cxray journeys funnel --by",
            ),
        ),
    ),
    "measurement": (
        (
            _s(
                "quick_win",
                "See which KPIs your data supports and import what is missing",
                "cxray doctor",
            ),
        ),
        (
            _s(
                "quick_win",
                "Set targets and action thresholds for every measured KPI",
                "[targets] in cxray.toml",
            ),
            _s(
                "foundation",
                "Track relationship and transactional KPIs monthly",
                "cxray scorecard --period month",
            ),
        ),
        (_s("scale", "Explain changes with key drivers", "cxray drivers"),),
        (
            _s(
                "optimise",
                "Explain every significant change by its drivers and the mix of segments",
                "cxray scorecard --by region --period month",
            ),
        ),
    ),
    "closed_loop": (
        (
            _s(
                "quick_win",
                "Follow up every detractor: add a loop rule",
                '[[loop.rules]] on = "responses", where = "nps <= 6"',
            ),
        ),
        (
            _s("quick_win", "Work follow-ups in the Inbox within an SLA", "/inbox"),
            _s("foundation", "Alert on KPI drops", '[[loop.rules]] on = "kpi"'),
        ),
        (
            _s(
                "scale",
                "Measure recovery: does contacting in time win customers back?",
                "cxray loop measure",
            ),
        ),
        (
            _s(
                "optimise",
                "Act on predicted churn before customers leave",
                '[[loop.rules]] on = "churn_risk"',
            ),
        ),
    ),
    "culture_employees": (
        (
            _s(
                "quick_win",
                "Share the dashboard with every team facing customers",
                "cxray keys create --role viewer",
            ),
        ),
        (_s("foundation", "Assign follow-ups to owners and teams", "[[loop.rules]] owner/team"),),
        (_s("scale", "Put CX results in team goals and recognise recoveries"),),
        (_s("optimise", "Measure employee engagement (employee NPS) beside customer KPIs"),),
    ),
    "technology_data": (
        (
            _s(
                "quick_win",
                "Bring customers, orders and cases into one store",
                "cxray import customers FILE (orders, cases alike)",
            ),
        ),
        (
            _s(
                "foundation",
                "Refresh the data at least weekly (named sources)",
                "[sources.NAME] in cxray.toml",
            ),
        ),
        (
            _s(
                "scale",
                "Fit the churn-risk and lifetime-value models",
                "cxray churn model; cxray clv fit",
            ),
        ),
        (
            _s(
                "optimise",
                "Refresh daily and retrain models as data changes",
                "cxray serve (loop runner); cxray churn model",
            ),
        ),
    ),
}

STEPS: dict[str, tuple[tuple[Step, ...], ...]] = {
    dim: tuple(tuple(Step(dim, *s) for s in level) for level in levels)
    for dim, levels in _STEPS.items()
}
