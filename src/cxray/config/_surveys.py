"""Survey definitions: the questions a survey asks, in which languages, and at which touchpoint.

A survey lives in ``cxray.toml`` (``[surveys.NAME]``) or is created through the
API (stored in the store); both are the same typed :class:`SurveyDefinition`.
Question types map onto the ``responses`` table: ``nps`` (0–10) to ``nps``,
``csat`` and ``ces`` (on the program's scales) to ``csat`` and ``ces``, the
first ``text`` question to ``comment``; every other question is kept as an
attribute column named after its id (so it can be sliced like any other).

A question may be shown only when an earlier answer meets a condition
(``show_if = { question = "nps", max = 6 }``: "what could we do better?" for
detractors only). Question texts and the page's own words can be given per
language (``text = { en = "...", de = "..." }``); a plain string serves every
language.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ANSWER_COLUMNS",
    "Condition",
    "Question",
    "QuestionType",
    "SurveyDefinition",
    "SurveysConfig",
    "Texts",
]

QuestionType = Literal["nps", "csat", "ces", "rating", "single", "multiple", "text"]
#: question type -> the canonical responses column it fills (one question each per survey)
ANSWER_COLUMNS = {"nps": "nps", "csat": "csat", "ces": "ces"}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
#: columns of ``responses`` a question id may not take (contract columns and those cxray adds)
RESERVED_COLUMNS = frozenset(
    {
        "response_id", "submitted_at", "customer_id", "survey", "touchpoint", "channel",
        "nps", "csat", "ces", "comment", "completed", "language", "invitation_id",
    }
)  # fmt: skip

#: a text for every language (``{"en": ..., "de": ...}``) or one for all (``"..."``)
Texts = str | dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    """When a question is shown: an earlier question's answer is within bounds or among values."""

    question: str
    min: float | None = None
    max: float | None = None
    #: any of these answers (for a multiple-choice question: any of them chosen)
    any_of: tuple[str | int, ...] | None = None

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if self.min is None and self.max is None and self.any_of is None:
            raise ValueError("show_if needs min, max or any_of")
        return self

    def holds(self, answer: object) -> bool:
        """Whether an answer meets the condition (no answer never does)."""
        if answer is None:
            return False
        if isinstance(answer, list | tuple):
            return any(self.holds(a) for a in answer)
        if (
            self.any_of is not None
            and answer not in self.any_of
            and str(answer) not in {str(v) for v in self.any_of}
        ):
            return False
        if self.min is not None or self.max is not None:
            if isinstance(answer, bool) or not isinstance(answer, int | float):
                return False
            if self.min is not None and answer < self.min:
                return False
            if self.max is not None and answer > self.max:
                return False
        return True


class Question(_Model):
    """One question of a survey."""

    id: str
    type: QuestionType
    text: Texts
    required: bool = False
    #: choices of ``single`` and ``multiple`` questions: value -> label (or the value alone)
    choices: tuple[str, ...] | dict[str, Texts] | None = None
    #: the bounds of a ``rating`` question (``csat``/``ces`` take the program's scales)
    min: int | None = None
    max: int | None = None
    #: the words at the low and high end of a scale (``"Not at all likely"``)
    low_label: Texts | None = None
    high_label: Texts | None = None
    #: longest answer of a ``text`` question, in characters
    max_length: int = Field(default=5000, ge=1, le=100_000)
    #: the responses column a ``text`` question fills (default: the first one fills ``comment``)
    column: str | None = None
    show_if: Condition | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(
                f"question id {v!r}: use lower-case letters, digits and '_', starting with a letter"
            )
        return v

    @model_validator(mode="after")
    def _by_type(self) -> Question:
        if self.type in ("single", "multiple"):
            if not self.choices:
                raise ValueError(f"question {self.id!r}: a {self.type} question needs choices")
        elif self.choices is not None:
            raise ValueError(f"question {self.id!r}: only single/multiple questions have choices")
        if self.type == "rating":
            if self.min is None or self.max is None or self.min >= self.max:
                raise ValueError(f"question {self.id!r}: a rating needs min < max")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"question {self.id!r}: only rating questions take min/max")
        if self.column is not None and (self.type != "text" or self.column != "comment"):
            raise ValueError(f"question {self.id!r}: only a text question may set column = comment")
        return self

    def choice_values(self) -> tuple[str, ...]:
        if self.choices is None:
            return ()
        return tuple(self.choices) if isinstance(self.choices, dict) else self.choices


class SurveyDefinition(_Model):
    """A survey: its questions, languages, touchpoint and how it may be answered."""

    title: Texts
    questions: tuple[Question, ...]
    #: a paragraph above the questions
    intro: Texts | None = None
    thank_you: Texts | None = None
    #: languages offered; the first is the default
    languages: tuple[str, ...] = ("en",)
    #: where in the journey it is asked: ``case_resolved``, ``order_delivered``,
    #: ``order_placed``, ``relationship``, or ``event:TOUCHPOINT``
    touchpoint: str = "relationship"
    #: anyone with the public link may answer (anonymously); otherwise an invitation is needed
    public: bool = True
    #: days an invitation stays valid
    invitation_days: int = Field(default=14, ge=1, le=365)
    #: the invitation e-mail's subject and body (``$link``, ``$name``, ``$survey`` filled in)
    email_subject: Texts | None = None
    email_body: Texts | None = None
    #: anonymous answers only with the survey page's form token (true) or without one
    #: (false); unset: ``[surveys.limits] require_form_token`` decides (:meth:`needs_form_token`)
    require_form_token: bool | None = None

    def needs_form_token(self, limits: SubmissionLimits) -> bool:
        """Whether an anonymous answer needs a valid form token: this survey's own
        ``require_form_token`` when set, else the global one of ``[surveys.limits]``."""
        own = self.require_form_token
        return limits.require_form_token if own is None else own

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("languages must name at least one language")
        for lang in v:
            if not _LANG.match(lang):
                raise ValueError(f"language {lang!r}: use a code such as 'en' or 'pt-BR'")
        return v

    @field_validator("touchpoint")
    @classmethod
    def _touchpoint(cls, v: str) -> str:
        known = ("case_resolved", "order_delivered", "order_placed", "relationship")
        if v not in known and not (v.startswith("event:") and len(v) > len("event:")):
            raise ValueError(f"touchpoint {v!r}: use one of {', '.join(known)} or event:TOUCHPOINT")
        return v

    @model_validator(mode="after")
    def _questions(self) -> SurveyDefinition:
        if not self.questions:
            raise ValueError("a survey needs at least one question")
        seen: dict[str, Question] = {}
        kinds: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id!r} is used twice")
            if q.type in ANSWER_COLUMNS:
                if q.type in kinds:
                    raise ValueError(f"a survey has at most one {q.type} question")
                kinds.add(q.type)
            if q.show_if is not None:
                ref = seen.get(q.show_if.question)
                if ref is None:
                    raise ValueError(
                        f"question {q.id!r}: show_if names {q.show_if.question!r}, "
                        "which is not an earlier question"
                    )
            seen[q.id] = q
        comments = [q for q in self.questions if q.column == "comment"]
        if len(comments) > 1:
            raise ValueError("only one text question may fill the comment column")
        for q in self.questions:
            if q.type not in ANSWER_COLUMNS and self.column_of(q) == q.id in RESERVED_COLUMNS:
                raise ValueError(f"question id {q.id!r} is a column name cxray reserves")
        return self

    def column_of(self, question: Question) -> str:
        """The ``responses`` column a question's answer is stored in."""
        if question.type in ANSWER_COLUMNS:
            return ANSWER_COLUMNS[question.type]
        if question.type == "text":
            explicit = [q for q in self.questions if q.column == "comment"]
            first = explicit[0] if explicit else next(q for q in self.questions if q.type == "text")
            if question.id == first.id:
                return "comment"
        return question.id

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def step_of(self, question: Question) -> int:
        """Which page shows it: 0 for unconditional questions, one more than its condition's."""
        if question.show_if is None:
            return 0
        return self.step_of(self.question(question.show_if.question)) + 1

    @property
    def steps(self) -> int:
        return 1 + max(self.step_of(q) for q in self.questions)


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"survey name {name!r}: use lower-case letters, digits, '_' and '-' (at most 63)"
        )
    if name == "limits":
        raise ValueError("survey name 'limits' is reserved for [surveys.limits]")
    return name


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|s|minute|min|m|hour|h|day|d)\s*$")
_PERIOD_S = {"second": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
             "day": 86400, "d": 86400}  # fmt: skip


def parse_rate(text: str) -> tuple[int, float] | None:
    """``"20/hour"`` -> ``(20, 3600.0)``; ``"off"`` -> None; ValueError saying why not."""
    if text.strip().lower() == "off":
        return None
    m = _RATE.match(text)
    if not m or int(m.group(1)) < 1:
        raise ValueError(
            f"{text!r} is not a rate: write COUNT/PERIOD with COUNT ≥ 1 and PERIOD one of "
            'second, minute, hour, day (e.g. "20/hour"), or "off"'
        )
    return int(m.group(1)), float(_PERIOD_S[m.group(2)])


class SubmissionLimits(_Model):
    """``[surveys.limits]``: abuse limits on anonymous (public-link) submissions."""

    #: submissions one client address may send, over all surveys (a token bucket)
    per_address: str = "60/hour"
    #: submissions one survey accepts from all anonymous clients together
    per_survey: str = "600/minute"
    #: the same answers from the same address to the same survey within this many
    #: seconds are acknowledged but not stored again (0: off)
    duplicate_window_s: int = Field(default=600, ge=0, le=86400)
    #: at most this many addresses are remembered; the least recently seen go first
    max_addresses: int = Field(default=100_000, ge=100, le=10_000_000)
    #: addresses never limited: by default this machine itself (load tests, a health check);
    #: a reverse proxy on this machine must pass X-Forwarded-For, or set ``exempt = []``
    exempt: tuple[str, ...] = ("127.0.0.1", "::1")
    #: anonymous answers only with a valid form token, which the survey page (and its
    #: embed) carries: signed, bound to the survey, valid for two hours (docs/surveys.md)
    require_form_token: bool = False

    @field_validator("per_address", "per_survey")
    @classmethod
    def _rate(cls, v: str) -> str:
        parse_rate(v)
        return v


class SurveysConfig(_Model):
    """``[surveys]``: the surveys and the rules that protect customers from over-surveying."""

    #: no customer is invited more than once in this many days, across all surveys
    fatigue_days: int = Field(default=30, ge=0, le=3650)
    #: the address invitation e-mails come from
    sender: str = "cxray <surveys@localhost>"
    #: the server's public address, used in invitation links
    base_url: str = "http://127.0.0.1:8000"
    #: ``[surveys.limits]``: rate limits and duplicate detection for public submissions
    limits: SubmissionLimits = SubmissionLimits()
    #: name -> definition: every ``[surveys.NAME]`` table
    define: dict[str, SurveyDefinition] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _tables_are_surveys(cls, data: object) -> object:
        """``[surveys.NAME]`` tables are surveys; the plain keys are the settings."""
        if not isinstance(data, dict) or "define" in data:
            return data
        settings = {k: v for k, v in data.items() if not isinstance(v, dict) or k == "limits"}
        surveys = {k: v for k, v in data.items() if isinstance(v, dict) and k != "limits"}
        return {**settings, "define": surveys}

    @field_validator("define")
    @classmethod
    def _names(cls, v: dict[str, SurveyDefinition]) -> dict[str, SurveyDefinition]:
        for name in v:
            _check_name(name)
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"base_url {v!r} must start with http:// or https://")
        return v.rstrip("/")


def check_survey_name(name: str) -> str:
    """A valid survey name, or ValueError saying why not."""
    return _check_name(name)
