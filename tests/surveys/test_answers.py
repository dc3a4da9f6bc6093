"""Answers are checked strictly against the survey, merged over steps, and mapped to columns."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cxray.config import SurveyDefinition
from cxray.exceptions import SubmissionError
from cxray.surveys import (
    answers_from_form,
    check_answers,
    merge,
    pick_language,
    response_values,
    text_in,
    visible,
)
from tests.surveys.conftest import PULSE


def test_good_answers_are_normalized(pulse, config):
    got = check_answers(
        pulse,
        {"nps": 9, "csat": 5.0, "ces": 7, "stars": 3, "channel_used": "chat",
         "topics": ["quality", "price"], "anything": "  fine  ", "improve": None},
        config,
    )  # fmt: skip
    assert got == {
        "nps": 9, "csat": 5, "ces": 7, "stars": 3, "channel_used": "chat",
        "topics": ["price", "quality"],  # the survey's order
        "anything": "fine",
    }  # fmt: skip
    assert isinstance(got["csat"], int)


@pytest.mark.parametrize(
    ("answers", "rule"),
    [
        ({"nps": 11}, "must be from 0 to 10"),
        ({"nps": -1}, "must be from 0 to 10"),
        ({"nps": "9"}, "whole number"),
        ({"nps": True}, "whole number"),
        ({"nps": 8.5}, "whole number"),
        ({"csat": 6}, "must be from 1 to 5"),
        ({"ces": 0}, "must be from 1 to 7"),
        ({"stars": 6}, "must be from 1 to 5"),
        ({"channel_used": "fax"}, "must be one of: phone, chat, email"),
        ({"topics": "price"}, "must be a list"),
        ({"topics": ["price", "price"]}, "twice"),
        ({"topics": ["gold"]}, "'gold' is not a choice"),
        ({"anything": 5}, "must be text"),
        ({"improve": "x" * 201}, "at most 200 characters"),
        ({"nope": 1}, "is not a question of this survey"),
    ],
)
def test_bad_answers_name_question_value_and_rule(pulse, config, answers, rule):
    with pytest.raises(SubmissionError) as info:
        check_answers(pulse, answers, config, survey_name="pulse")
    assert rule in str(info.value)
    qid = next(iter(answers))
    assert info.value.details[0]["question"] == qid
    assert rule in info.value.details[0]["rule"]


def test_every_problem_is_listed(pulse, config):
    with pytest.raises(SubmissionError) as info:
        check_answers(pulse, {"nps": 12, "csat": 0, "topics": 3}, config)
    assert [d["question"] for d in info.value.details] == ["nps", "csat", "topics"]
    assert "(and 2 more)" in str(info.value)


def test_not_an_object(pulse, config):
    with pytest.raises(SubmissionError, match="JSON object"):
        check_answers(pulse, [9], config)


def test_scales_follow_the_program_config(pulse):
    from cxray.config import ProgramConfig

    cfg = ProgramConfig.model_validate({"scales": {"csat": {"min": 1, "max": 10, "top_box": 2}}})
    assert check_answers(pulse, {"csat": 9}, cfg) == {"csat": 9}


def test_follow_up_shown_only_when_its_condition_holds(pulse):
    assert "improve" in [q.id for q in visible(pulse, {"nps": 6})]
    assert "improve" not in [q.id for q in visible(pulse, {"nps": 7})]
    assert "improve" not in [q.id for q in visible(pulse, {})]
    assert pulse.steps == 2
    assert pulse.step_of(pulse.question("improve")) == 1


def test_merge_steps_conditions_and_required(pulse):
    first = merge(pulse, None, {"nps": 3}, complete=False)
    assert first == {"nps": 3}
    both = merge(pulse, first, {"improve": "faster"}, complete=True)
    assert both == {"nps": 3, "improve": "faster"}
    # a promoter may not answer the detractors' follow-up
    with pytest.raises(SubmissionError, match="show_if does not hold"):
        merge(pulse, None, {"nps": 10, "improve": "x"}, complete=True)
    # a changed score drops a follow-up left over from before
    assert merge(pulse, both, {"nps": 9}, complete=True) == {"nps": 9}
    with pytest.raises(SubmissionError, match="'nps' is required"):
        merge(pulse, None, {"csat": 4}, complete=True)
    assert merge(pulse, None, {"csat": 4}, complete=False) == {"csat": 4}
    with pytest.raises(SubmissionError, match="no question was answered"):
        merge(pulse, None, {}, complete=False)


def test_columns(pulse):
    row = response_values(pulse, {"nps": 3, "improve": "faster", "topics": ["price", "quality"]})
    assert row["nps"] == 3
    assert row["comment"] == "faster"  # the first text question fills comment
    assert row["anything"] is None
    assert row["topics"] == "price; quality"
    assert row["channel_used"] is None


def test_forms_are_read_as_strings(pulse, config):
    got, errors = answers_from_form(
        pulse, {"q_nps": ["7"], "q_topics": ["price", "delivery"], "q_csat": ["x"]}, config
    )
    assert got == {"nps": 7, "topics": ["price", "delivery"]}
    assert errors == {"csat": "out_of_range"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"questions": []}, "at least one question"),
        ({"languages": ["english"]}, "use a code"),
        ({"touchpoint": "whenever"}, "touchpoint"),
    ],
)
def test_bad_definitions(change, message):
    with pytest.raises(ValidationError, match=message):
        SurveyDefinition.model_validate({**PULSE, **change})


def test_bad_questions():
    base = {"title": "t", "questions": []}
    cases = [
        ([{"id": "a", "type": "single", "text": "x"}], "needs choices"),
        ([{"id": "a", "type": "rating", "text": "x", "min": 5, "max": 1}], "min < max"),
        ([{"id": "a", "type": "nps", "text": "x"}, {"id": "b", "type": "nps", "text": "y"}],
         "at most one nps"),
        ([{"id": "a", "type": "text", "text": "x", "show_if": {"question": "b", "max": 1}}],
         "not an earlier question"),
        ([{"id": "A", "type": "text", "text": "x"}], "lower-case"),
        ([{"id": "x", "type": "text", "text": "x"}, {"id": "survey", "type": "text", "text": "y"}],
         "reserves"),
    ]  # fmt: skip
    for questions, message in cases:
        with pytest.raises(ValidationError, match=message):
            SurveyDefinition.model_validate({**base, "questions": questions})


def test_language_choice(pulse):
    assert pick_language(pulse) == "en"
    assert pick_language(pulse, "de") == "de"
    assert pick_language(pulse, "fr") == "en"
    assert pick_language(pulse, None, "fr-CH, de-DE;q=0.8, en;q=0.5") == "de"
    assert text_in({"en": "Hi", "de": "Hallo"}, "de-AT", "en") == "Hallo"
    assert text_in({"en": "Hi"}, "de", "en") == "Hi"
