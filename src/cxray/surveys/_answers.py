"""Checking answers against a survey, and turning them into a ``responses`` row.

Answers are a JSON object, question id -> answer: an integer for ``nps``,
``csat``, ``ces`` and ``rating`` questions (inside the question's scale), a
choice value for ``single``, a list of distinct choice values for
``multiple``, a string for ``text``; ``null`` or an empty string is no answer.
Types are strict: ``"9"`` is not an NPS answer and ``true`` is not a number.
Forms send strings, so :func:`answers_from_form` reads those first.

A response may come in steps (a page, then its follow-ups): each step's
answers are merged over the earlier ones (:func:`merge`). Only a complete
response must answer every required question it shows, and a question whose
``show_if`` does not hold may not be answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cxray.config import ProgramConfig, Question, SurveyDefinition
from cxray.exceptions import SubmissionError

__all__ = [
    "MAX_ANSWERS",
    "answers_from_form",
    "check_answers",
    "column_types",
    "merge",
    "response_values",
    "scale_of",
    "visible",
]

#: more keys than this in one submission is not a survey answer
MAX_ANSWERS = 200
MULTI_SEPARATOR = "; "


def scale_of(question: Question, config: ProgramConfig) -> tuple[int, int] | None:
    """The inclusive bounds of a scale question, or None for other types."""
    if question.type == "nps":
        return 0, 10
    if question.type in ("csat", "ces"):
        s = config.scale(question.type)
        return s.min, s.max
    if question.type == "rating":
        return question.min, question.max  # type: ignore[return-value]
    return None


def _problem(q: str, value: Any, rule: str) -> dict[str, Any]:
    shown = value if isinstance(value, int | float | bool | None) else repr(value)[:80]
    return {"question": q, "value": shown, "rule": rule}


def _encodable(value: str) -> bool:
    """Whether ``value`` can be stored as UTF-8 (a lone surrogate such as ``"\\ud800"``
    in JSON decodes to a Python string that cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_one(q: Question, value: Any, config: ProgramConfig) -> tuple[Any, str | None]:
    """The normalized answer, or the rule it breaks."""
    bounds = scale_of(q, config)
    if bounds is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"must be a whole number from {bounds[0]} to {bounds[1]}"
        if isinstance(value, float):
            if not value.is_integer():
                return None, f"must be a whole number from {bounds[0]} to {bounds[1]}"
            value = int(value)
        if not bounds[0] <= value <= bounds[1]:
            return None, f"must be from {bounds[0]} to {bounds[1]}"
        return value, None
    if q.type == "text":
        if not isinstance(value, str):
            return None, "must be text"
        value = value.strip()
        if len(value) > q.max_length:
            return None, f"must be at most {q.max_length} characters"
        if "\x00" in value:
            return None, "must not contain NUL characters"
        if not _encodable(value):
            return None, "must be valid Unicode text (it holds a lone surrogate)"
        return value, None
    choices = q.choice_values()
    if q.type == "single":
        if not isinstance(value, str) or value not in choices:
            return None, f"must be one of: {', '.join(choices)}"
        return value, None
    # multiple
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, f"must be a list of choices from: {', '.join(choices)}"
    if len(set(value)) != len(value):
        return None, "must not name a choice twice"
    if unknown := [v for v in value if v not in choices]:
        return None, f"{unknown[0]!r} is not a choice (choices: {', '.join(choices)})"
    return [v for v in choices if v in value], None  # in the survey's order


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_answers(
    survey: SurveyDefinition, answers: Any, config: ProgramConfig, *, survey_name: str = ""
) -> dict[str, Any]:
    """Each answer type- and range-checked and normalized; unanswered ones left out.

    Raises :class:`SubmissionError` listing every problem (question, value, rule).
    """
    where = f"survey {survey_name!r}: " if survey_name else ""
    if not isinstance(answers, Mapping):
        raise SubmissionError(f"{where}answers must be a JSON object of question id -> answer")
    if len(answers) > MAX_ANSWERS:
        raise SubmissionError(f"{where}too many answers ({len(answers)})")
    known = {q.id: q for q in survey.questions}
    problems = []
    out: dict[str, Any] = {}
    for qid, value in answers.items():
        q = known.get(qid) if isinstance(qid, str) else None
        if q is None:
            problems.append(_problem(str(qid), value, "is not a question of this survey"))
            continue
        if _empty(value):
            continue
        norm, rule = _check_one(q, value, config)
        if rule is not None:
            problems.append(_problem(qid, value, rule))
        elif not _empty(norm):
            out[qid] = norm
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SubmissionError(
            f"{where}answer to {first['question']!r} {first['rule']}{more}", problems
        )
    return out


def visible(survey: SurveyDefinition, answers: Mapping[str, Any]) -> list[Question]:
    """The questions shown given these answers (conditions checked in order)."""
    shown: list[Question] = []
    shown_ids: set[str] = set()
    for q in survey.questions:
        cond = q.show_if
        if cond is not None and (
            cond.question not in shown_ids or not cond.holds(answers.get(cond.question))
        ):
            continue
        shown.append(q)
        shown_ids.add(q.id)
    return shown


def merge(
    survey: SurveyDefinition,
    previous: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    complete: bool,
    survey_name: str = "",
) -> dict[str, Any]:
    """Checked answers merged over earlier steps; conditions and (when complete) required ones.

    An answer to a question that the answers do not show is an error when it
    was just sent, and dropped when it is left over from an earlier step whose
    answer changed.
    """
    where = f"survey {survey_name!r}: " if survey_name else ""
    merged = {**(previous or {}), **new}
    shown = {q.id for q in visible(survey, merged)}
    problems = [
        _problem(qid, value, "is not asked for these answers (its show_if does not hold)")
        for qid, value in new.items()
        if qid not in shown
    ]
    merged = {k: v for k, v in merged.items() if k in shown}
    if complete:
        problems += [
            _problem(q.id, None, "is required")
            for q in survey.questions
            if q.required and q.id in shown and q.id not in merged
        ]
    if not merged and not problems:
        problems.append(_problem("", None, "no question was answered"))
    if problems:
        first = problems[0]
        subject = f"answer to {first['question']!r} " if first["question"] else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SubmissionError(f"{where}{subject}{first['rule']}{more}", problems)
    return merged


def response_values(survey: SurveyDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The ``responses`` columns these answers fill (multiple choices joined by ``"; "``)."""
    out: dict[str, Any] = {}
    for q in survey.questions:
        value = answers.get(q.id)
        if isinstance(value, list):
            value = MULTI_SEPARATOR.join(value)
        out[survey.column_of(q)] = value
    return out


def column_types(survey: SurveyDefinition) -> dict[str, str]:
    """The DuckDB type of each attribute column a survey adds to ``responses``."""
    out = {}
    for q in survey.questions:
        col = survey.column_of(q)
        if col in ("nps", "csat", "ces", "comment"):
            continue
        out[col] = "BIGINT" if q.type == "rating" else "VARCHAR"
    return out


def answers_from_form(
    survey: SurveyDefinition, form: Mapping[str, Sequence[str]], config: ProgramConfig
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers read from a posted form (every value a string); and per-question parse errors.

    Only the questions in the form are read: ``q_ID`` fields, a list for
    multiple choice. A number that does not parse is reported for its
    question, not guessed at.
    """
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in survey.questions:
        values = [v for v in form.get(f"q_{q.id}", []) if v != ""]
        if q.type == "multiple":
            if values:
                out[q.id] = values
            continue
        if not values:
            continue
        raw = values[-1]
        if scale_of(q, config) is not None:
            try:
                out[q.id] = int(raw.strip())
            except ValueError:
                errors[q.id] = "out_of_range"
        else:
            out[q.id] = raw
    return out, errors
