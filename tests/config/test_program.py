"""The program config: defaults, the commented default file, clear errors."""

from __future__ import annotations

import tomllib

import pytest

from cxray.config import DEFAULT_CONFIG_TEXT, ProgramConfig, load_program_config
from cxray.exceptions import ConfigError


def test_default_text_is_the_defaults():
    assert ProgramConfig(**tomllib.loads(DEFAULT_CONFIG_TEXT)) == ProgramConfig()


def test_industry_defaults():
    c = ProgramConfig()
    assert (c.threshold("nps").target, c.threshold("csat").target) == (50, 80)
    assert (c.threshold("fcr").target, c.threshold("fcr").action) == (70, 65)
    assert (c.threshold("first_response_median").target, c.threshold("abandonment").action) == (
        2,
        15,
    )
    assert (c.threshold("completion").target, c.threshold("completion").action) == (85, 80)
    assert c.threshold("health").target == 70
    assert c.measurement.min_n == 30
    assert c.scales.csat.top_box_values() == (4, 5)
    assert c.threshold("completion:checkout").target == 85


def test_ces_targets_follow_the_scale(write):
    agreement = ProgramConfig().threshold("ces_mean")
    assert (agreement.target, agreement.action) == (5.5, 4.0)
    p = write("cxray.toml", '[scales.ces]\nmin = 1\nmax = 5\ndirection = "lower_is_better"\n')
    c = load_program_config(p)
    effort = c.threshold("ces_mean")
    assert (effort.target, effort.action) == (2.0, 3.0)
    assert c.direction("ces_mean") == "lower_is_better"
    assert c.scales.ces.top_box_values() == (1, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[targets]\nnsp = { target = 50 }\n", r"\[targets.nsp\] unknown key"),
        ("[targets]\nnps = { target = 50, action = 60 }\n", "must not be above target"),
        ("[targets]\nabandonment = { target = 10, action = 5 }\n", "must not be below target"),
        ("[measurement]\nmin_n = 0\n", r"\[measurement.min_n\]"),
        ("[business_hours]\nstart = '18:00'\nend = '09:00'\n", "must be before end"),
        ("[business_hours]\nstart = '9am'\n", "expected a local time"),
        ("[journeys.signup]\nstart = 'a'\n", r"\[journeys.signup.success\]"),
        ("[health]\nweights = { survey = -1 }\n", "non-negative"),
        ("[scales.csat]\ntop_box = 5\n", "top_box"),
    ],
)
def test_bad_values_are_one_clear_error(write, text, message):
    with pytest.raises(ConfigError, match=message):
        load_program_config(write("cxray.toml", text))


def test_journeys_and_calendar(write):
    p = write(
        "cxray.toml",
        "[journeys.onboarding]\nstart = 'account_created'\nsuccess = 'profile_completed'\n"
        "window_hours = 720\n[business_hours]\nholidays = ['2026-12-25']\ndays = ['mon']\n",
    )
    c = load_program_config(p)
    assert set(c.journeys) == {"onboarding"}
    assert c.business_hours.weekdays == (0,)
    assert str(c.business_hours.holidays[0]) == "2026-12-25"


def test_a_misspelled_section_is_an_error(tmp_path):
    p = tmp_path / "cxray.toml"
    p.write_text("[target]\nnps = 50\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown section\(s\) or key\(s\): target \(known: "):
        load_program_config(p)
