"""``[privacy]`` in cxray.toml: personal columns and retention days, validated on load."""

from __future__ import annotations

import pytest

from cxray.config import load_program_config
from cxray.exceptions import ConfigError


def _load(tmp_path, text: str):
    path = tmp_path / "cxray.toml"
    path.write_text(text)
    return load_program_config(path).privacy


def test_defaults_mark_nothing_extra_and_keep_text(tmp_path):
    privacy = _load(tmp_path, "")
    assert privacy.redact is True
    assert privacy.personal == ()
    assert privacy.retention("responses") is None
    assert privacy.personal_columns("customers") == frozenset()


def test_personal_columns_are_normalised_per_table(tmp_path):
    privacy = _load(
        tmp_path,
        '[privacy]\npersonal = ["customers.loyalty_card", "Responses.Extra_Note",'
        ' "responses.extra_note"]\n',
    )
    assert privacy.personal == ("customers.loyalty_card", "responses.extra_note")
    assert privacy.personal_columns("responses") == frozenset({"extra_note"})
    assert privacy.personal_columns("customers") == frozenset({"loyalty_card"})
    assert privacy.personal_columns("cases") == frozenset()


def test_retain_days_for_every_table_or_per_table(tmp_path):
    every = _load(tmp_path, "[privacy]\nretain_days = 365\n")
    assert [every.retention(t) for t in ("responses", "mentions")] == [365, 365]
    per = _load(tmp_path, "[privacy.retain_days]\nresponses = 365\nMentions = 30\n")
    assert per.retention("responses") == 365
    assert per.retention("mentions") == 30
    assert per.retention("cases") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[privacy]\npersonal = ["clients.email"]', r"personal\[0\].*unknown table 'clients'"),
        ('[privacy]\npersonal = ["customers"]', r"personal\[0\].*TABLE\.COLUMN"),
        ('[privacy]\npersonal = ["customers.a b"]', r"'a b' is not a column name"),
        ("[privacy]\nretain_days = 0", r"retain_days: .*>= 1, got 0"),
        ("[privacy]\nretain_days = true", r"retain_days: .*got True"),
        ("[privacy]\nretain_days = 1.5", r"retain_days: .*got 1.5"),
        ("[privacy.retain_days]\ntickets = 30", r"retain_days\.tickets: unknown table 'tickets'"),
        ("[privacy.retain_days]\ncases = -1", r"retain_days\.cases: .*got -1"),
        ("[privacy]\nkeep = 3", r"\[privacy\.keep\] unknown key"),
    ],
)
def test_bad_privacy_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as err:
        _load(tmp_path, text)
    assert "cxray.toml" in str(err.value)
