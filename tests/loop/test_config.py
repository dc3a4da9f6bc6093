"""``[[loop.rules]]``: a bad rule is one clear error naming the rule and the problem.

What the config alone can tell is refused when ``cxray.toml`` is read (the location
``[loop.rules.N.field]``, the rule's name and what is wrong); what only the store knows
(attribute columns, their types, the KPIs) when the loop first meets the store:
``cxray loop rules``, ``cxray loop run``, ``cxray serve`` at start.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cxray.api import ApiSettings, create_app
from cxray.cli import main
from cxray.config import load_program_config
from cxray.exceptions import ConfigError
from cxray.workspace import Workspace

GOOD = """
[[loop.rules]]
name = "ok"
on = "responses"
where = "nps <= 6"
team = "care"
"""


def rule(body: str, name: str = "bad") -> str:
    return f'{GOOD}\n[[loop.rules]]\nname = "{name}"\n{body.strip()}\n'


@pytest.mark.parametrize(
    ("body", "location", "problem"),
    [
        # wrong type of a contract column, and conditions that are not conditions
        ('on = "responses"\nwhere = "nps <= \\"low\\""', "where", "nps <= needs a number"),
        ('on = "responses"\nwhere = "nps == \\"low\\""', "where", "nps is a number, not 'low'"),
        ('on = "cases"\nwhere = "reopened == 1"', "where", "reopened is true or false, not 1"),
        ('on = "mentions"\nwhere = "platform == 3"', "where", "platform is a quoted text, not 3"),
        ('on = "responses"\nwhere = "nps <="', "where", "not a condition: 'nps <='"),
        ('on = "responses"\nwhere = "channel in \\"email\\""', "where", "'in' needs a list"),
        ('on = "responses"\nwhere = "len(comment) > 3"', "where", "column name on one side"),
        ('on = "kpi"\nmetric = "nps"\nwhere = "nps < 3"', "where", "where applies to rules on"),
        # notification targets
        ('on = "responses"\nnotify = ["webhook:ftp://example.com/x"]', "notify",
         "'webhook:ftp://example.com/x': not an http(s) URL"),
        ('on = "responses"\nnotify = ["slack:hooks.slack.com/x"]', "notify", "not an http(s) URL"),
        ('on = "responses"\nnotify = ["webhook:http://exa mple.com/"]', "notify",
         "not an http(s) URL"),
        ('on = "responses"\nnotify = ["webhook:http://example.com:99999/"]', "notify",
         "not a port number"),
        ('on = "responses"\nnotify = ["email:ops"]', "notify", "'email:ops': not an e-mail address"),
        ('on = "responses"\nnotify = ["sms:+15550100"]', "notify", "use email:ADDRESS, webhook:URL"),
        # quiet hours
        ('on = "responses"\nquiet_hours = "22-7"', "quiet_hours", "use HH:MM-HH:MM"),
        ('on = "responses"\nquiet_hours = "22:00-24:00"', "quiet_hours", "use HH:MM-HH:MM"),
        ('on = "responses"\nquiet_hours = "08:00-08:00"', "quiet_hours",
         "starts and ends at the same time"),
        # what the rule does, and to what
        ('on = "kpi"', None, "a KPI rule needs metric"),
        ('on = "responses"\nmetric = "nps"', None, "metric and by apply to KPI rules"),
        ('on = "responses"\naction = "notify"', None, 'action = "notify" needs notify targets'),
        ('on = "responses"\nroutes = { West = "ann" }', None, "routes need route_by"),
        ('on = "orders"', "on", "Input should be"),
        ('on = "responses"\nsla_hours = 0', "sla_hours", "greater than 0"),
        ('on = "responses"\ncap_per_day = 0', "cap_per_day", "greater than or equal to 1"),
        ('on = "responses"\nwher = "nps < 3"', "wher", "unknown key"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_at_load_naming_rule_and_problem(write, body, location, problem):
    path = write("cxray.toml", rule(body))
    with pytest.raises(ConfigError) as err:
        load_program_config(path)
    message = str(err.value)
    where = "[loop.rules.1." + location + "]" if location else "[loop.rules.1]"
    assert message.startswith(f"{path}: {where} "), message
    if location not in ("on", "sla_hours", "cap_per_day", "wher"):
        assert "rule 'bad': " in message  # the rule by its name, too
    assert problem in message


def test_a_bad_rule_name_and_duplicate_names(write):
    with pytest.raises(ConfigError, match=r"\[loop.rules.1.name\] rule name 'Bad Name'"):
        load_program_config(write("cxray.toml", rule('on = "responses"', name="Bad Name")))
    with pytest.raises(ConfigError, match=r"\[loop.rules\] two rules are named 'ok'"):
        load_program_config(write("cxray.toml", rule('on = "cases"', name="ok")))


def test_good_rules_load(write):
    text = (
        GOOD
        + """
[[loop.rules]]
name = "slow-email"
on = "cases"
where = 'channel == "email" and (first_response_hours > 24 or reopened == true)'
route_by = "region"
routes = { West = "ann", "*" = "team:care" }
notify = ["email:care@example.com", "webhook:https://hooks.example.com/cx?x=1",
          "slack:https://hooks.slack.com/services/T0/B0/XX"]
quiet_hours = "22:00-07:00"
cap_per_day = 20
sla_hours = 4

[[loop.rules]]
name = "nps-action"
on = "kpi"
metric = "nps"
by = "region"
"""
    )
    config = load_program_config(write("cxray.toml", text))
    slow = config.loop.rules[1]
    assert str(slow.targets[0]) == "email:care@example.com"
    assert slow.opens_followups and slow.notifies
    assert config.loop.rules[2].when == "action"


# ------------------------------------------------------------ what only the store knows


@pytest.fixture
def store(tmp_path):
    """A store with responses carrying an attribute column (``store_region``, text), and an
    order (so that the order features exist)."""
    db = tmp_path / "cx.duckdb"
    with Workspace.open(db) as ws:
        ws.import_frame(
            "orders",
            pd.DataFrame(
                {
                    "order_id": ["O1"],
                    "customer_id": ["C1"],
                    "ordered_at": ["2026-02-01"],
                    "amount": [10.0],
                    "promised_at": ["2026-02-03"],
                    "delivered_at": ["2026-02-05"],
                }
            ),
        )
        ws.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": ["R1"],
                    "submitted_at": ["2026-03-01"],
                    "nps": [3],
                    "store_region": ["West"],
                }
            ),
        )
    return db


@pytest.mark.parametrize(
    ("body", "location", "problem"),
    [
        ('on = "responses"\nwhere = "npss <= 6"', "where", "unknown column 'npss' of responses"),
        ('on = "responses"\nwhere = "store_region > 3"', "where",
         "store_region is a quoted text, not 3"),
        ('on = "cases"\nwhere = "store_region == \\"West\\""', "where",
         "unknown column 'store_region' of cases"),
        ('on = "kpi"\nmetric = "nsp"', "metric", "unknown KPI 'nsp'"),
        ('on = "responses"\nroute_by = "regoin"', "route_by",
         "'regoin' is no column of responses nor of customers"),
        ('on = "kpi"\nmetric = "nps"\nby = "region"\nroute_by = "segment"', "route_by",
         "a KPI rule routes by the slices of its by: route_by = 'region'"),
        ('on = "kpi"\nmetric = "nps"\nroute_by = "region"', "route_by",
         "route_by 'region' needs by = 'region'"),
        ('on = "emerging"\nroute_by = "team"', "route_by",
         'an emerging-issue rule routes by route_by = "category"'),
        ('on = "kpi"\nmetric = "churn_rate"', "when",
         'churn_rate has no action threshold: set one in [targets] or use when = "significant_change"'),
    ],
)  # fmt: skip
def test_a_rule_the_store_refutes_is_refused_when_the_loop_meets_it(
    store, write, capsys, body, location, problem
):
    path = write("cxray.toml", rule(body))
    config = load_program_config(path)  # the config alone cannot tell
    prefix = f"{path}: [loop.rules.1.{location}] rule 'bad': "
    with Workspace.open(store, path) as ws, pytest.raises(ConfigError) as err:
        ws.loop.check()
    assert str(err.value).startswith(prefix) and problem in str(err.value), str(err.value)
    assert config.loop.rules[1].name == "bad"
    # the command line says the same in one line and exits 1; the server does not start
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(store), "--config", str(path), "loop", "rules"])
    assert exit_.value.code == 1
    said = " ".join(capsys.readouterr().err.split())
    assert f"[loop.rules.1.{location}] rule 'bad': " in said and problem.split(":")[0] in said
    with pytest.raises(ConfigError, match=r"\[loop.rules.1." + location + r"\]"):
        create_app(store, path, settings=ApiSettings())


def test_a_survey_question_and_a_feature_are_known_before_any_answer(store, write):
    path = write(
        "cxray.toml",
        """
[surveys.pulse]
title = "Pulse"
[[surveys.pulse.questions]]
id = "nps"
type = "nps"
text = "How likely?"
[[surveys.pulse.questions]]
id = "stars"
type = "rating"
text = "Stars"
min = 1
max = 5
[[surveys.pulse.questions]]
id = "reason"
type = "single"
text = "Why?"
choices = ["price", "delivery"]

[[loop.rules]]
name = "unhappy"
on = "responses"
where = 'stars <= 2 or reason == "delivery" or late_deliveries > 0'
team = "care"
""",
    )
    with Workspace.open(store, path) as ws:
        ws.loop.check()  # no answer has added stars or reason to responses yet
        assert "stars" not in ws.table("responses").columns
    bad = path.read_text().replace("stars <= 2", 'stars == "two"')
    path.write_text(bad)
    with Workspace.open(store, path) as ws, pytest.raises(ConfigError, match="stars is a number"):
        ws.loop.check()
