"""Survey fixtures: a definition with every question type and a conditional follow-up."""

from __future__ import annotations

import pytest

from cxray.config import ProgramConfig, SurveyDefinition

PULSE = {
    "title": {"en": "How did we do?", "de": "Wie war es?"},
    "languages": ["en", "de"],
    "touchpoint": "case_resolved",
    "questions": [
        {"id": "nps", "type": "nps", "text": "How likely are you to recommend us?",
         "required": True},
        {"id": "improve", "type": "text", "text": "What could we do better?",
         "show_if": {"question": "nps", "max": 6}, "max_length": 200},
        {"id": "csat", "type": "csat", "text": "How satisfied are you?"},
        {"id": "ces", "type": "ces", "text": "It was easy to get help."},
        {"id": "stars", "type": "rating", "text": "Stars", "min": 1, "max": 5},
        {"id": "channel_used", "type": "single", "text": "How did you contact us?",
         "choices": ["phone", "chat", "email"]},
        {"id": "topics", "type": "multiple", "text": "Topics",
         "choices": ["price", "delivery", "quality"]},
        {"id": "anything", "type": "text", "text": "Anything else?"},
    ],
}  # fmt: skip


@pytest.fixture
def pulse() -> SurveyDefinition:
    return SurveyDefinition.model_validate(PULSE)


@pytest.fixture
def config() -> ProgramConfig:
    return ProgramConfig()
