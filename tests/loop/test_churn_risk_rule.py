"""Churn-risk rules (``on = "churn_risk"``) on a small demo world with a kept churn-risk model.

What fires is compared with the scores and values computed directly
(``ws.churn.risk.score()``, ``ws.value.money.values()``); a customer fires once per crossing;
the rule never runs inside imports; without a model it records nothing and says why.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace

import pytest

from cxray.exceptions import ConfigError
from cxray.loop import alert_id
from cxray.store import ALERTS, FOLLOWUPS, LOOP_STATE, OUTBOX
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, fresh_postgres
from tests.loop.conftest import counts, rows

WORLD = {"seed": 7, "customers": 3000, "months": 12}


def rule(name: str = "risk", **keys: object) -> str:
    lines = [f'name = "{name}"', 'on = "churn_risk"']
    keys = {"team": "retention", "notify": ["webhook:http://127.0.0.1:9/hook"], **keys}
    for k, v in keys.items():
        if isinstance(v, dict):  # a TOML inline table
            v = "{ " + ", ".join(f"{json.dumps(a)} = {json.dumps(b)}" for a, b in v.items()) + " }"
            lines.append(f"{k} = {v}")
        else:
            lines.append(f"{k} = {json.dumps(v)}")
    return "[[loop.rules]]\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo world twice: ``bare`` (no churn-risk model) and ``model`` (one trained)."""
    folder = tmp_path_factory.mktemp("churn-risk-rule")
    bare = folder / "bare.duckdb"
    with Workspace.open(bare, folder / "bare.toml") as ws:
        ws.load_demo(**WORLD)
    model = folder / "model.duckdb"
    shutil.copy(bare, model)
    with Workspace.open(model, folder / "model.toml") as ws:
        report = ws.churn.risk.train()
        assert report.kept, report.kept_reason
        scores = ws.churn.risk.score()
        values, source = ws.value.money.values()
    return {"bare": bare, "model": model, "scores": scores, "values": values, "source": source}


@pytest.fixture
def open_world(world, tmp_path):
    """``open_world(toml, which="model")``: a fresh copy of the world with this config."""
    opened: list[Workspace] = []

    def _open(toml: str, which: str = "model", path=None) -> Workspace:
        db = path or tmp_path / f"{which}.duckdb"
        if not db.exists():
            shutil.copy(world[which], db)
        (tmp_path / "cxray.toml").write_text(toml, encoding="utf-8")
        for w in opened:
            w.close()
        opened.clear()
        ws = Workspace.open(db, tmp_path / "cxray.toml")
        opened.append(ws)
        return ws

    yield _open
    for w in opened:
        w.close()


def expected(world, min_risk: float, min_value: float = 0.0, top: int | None = None) -> list:
    """The customers a rule should fire for, from the scores and values computed directly."""
    s = world["scores"].customers
    value = s.customer_id.map(world["values"].set_index("customer_id")["clv"]).fillna(0.0)
    picked = s[(s.probability >= min_risk) & (value >= min_value)]
    if top is not None:
        picked = picked.head(top)
    return sorted(picked.customer_id)


def fired(ws: Workspace, name: str = "risk") -> list[dict]:
    out = rows(ws, ALERTS, rule=name)
    for r in out:
        r["details"] = json.loads(r["details"])
    return out


def test_fires_once_for_the_valuable_customers_at_risk(world, open_world):
    s = world["scores"].customers
    min_risk = float(s.probability.quantile(0.9))
    min_value = float(world["values"].clv.median())
    want = expected(world, min_risk, min_value)
    assert 5 <= len(want) < len(s) / 10  # a real selection: some fire, most do not
    ws = open_world(rule(min_risk=min_risk, min_value=min_value))
    report = ws.loop.run(deliver=False)
    assert report.errors == {}
    assert report.fired == {"risk": len(want)} and report.new_alerts == len(want)
    alerts = fired(ws)
    assert sorted(a["customer_id"] for a in alerts) == want
    model_id = world["scores"].model_id
    by_id = s.set_index("customer_id")
    values = world["values"].set_index("customer_id")["clv"]
    for a in alerts:
        d, c = a["details"], a["customer_id"]
        assert d["probability"] == pytest.approx(by_id.loc[c, "probability"])
        assert d["ci_low"] <= d["probability"] <= d["ci_high"]
        assert d["value"] == pytest.approx(values.loc[c]) and d["value"] >= min_value
        assert d["value_source"] == world["source"]
        assert d["model_id"] == model_id
        assert 1 <= len(d["reasons"]) <= 3
        assert all(r["contribution"] > 0 for r in d["reasons"])
        assert a["title"] == (
            f"High-value customer {c} at {d['probability']:.0%} churn risk "
            f"(value {d['value']:,.0f})"
        )
        assert a["alert_id"] == alert_id("risk", f"churn_risk:{c}:{model_id}:{d['as_of']}")
    # one follow-up for the team and one message per alert
    assert counts(ws)["followups"] == len(want) and counts(ws)["messages"] == len(want)
    assert {f["team"] for f in rows(ws, FOLLOWUPS)} == {"retention"}
    # a second check on the same scores fires nothing and writes nothing
    before = counts(ws)
    again = ws.loop.run(deliver=False)
    assert again.fired == {} and again.new_alerts == 0 and counts(ws) == before


def test_lowering_the_threshold_fires_only_the_newly_qualifying(world, open_world, tmp_path):
    s = world["scores"].customers
    high, low = float(s.probability.quantile(0.95)), float(s.probability.quantile(0.9))
    db = tmp_path / "one.duckdb"
    ws = open_world(rule(min_risk=high), path=db)
    ws.loop.run(deliver=False)
    first = {a["customer_id"] for a in fired(ws)}
    assert sorted(first) == expected(world, high)
    ws = open_world(rule(min_risk=low), path=db)
    report = ws.loop.run(deliver=False)
    now = {a["customer_id"] for a in fired(ws)}
    assert sorted(now) == expected(world, low)
    assert report.fired == {"risk": len(now - first)} and len(now - first) > 0
    # raising it again drops the others from the rule's state; lowering it once more
    # re-qualifies them: on the same scores and model that is the same crossing (the same
    # alert), so nothing new is written
    ws = open_world(rule(min_risk=high), path=db)
    ws.loop.run(deliver=False)
    state = {r["key"]: r["value"] for r in rows(ws, LOOP_STATE)}
    assert sorted(json.loads(state["rule:risk:above"])) == sorted(first)
    before = counts(ws)
    ws = open_world(rule(min_risk=low), path=db)
    assert ws.loop.run(deliver=False).new_alerts == 0 and counts(ws) == before


def test_a_customer_who_falls_below_and_rises_again_fires_again(world, open_world):
    """A new model (or new data) that puts a customer back above is a new crossing."""
    s = world["scores"].customers
    top = s.customer_id.iloc[0]
    ws = open_world(rule(min_risk=float(s.probability.iloc[0])))
    ws.loop.run(deliver=False)
    assert [a["customer_id"] for a in fired(ws)] == [top]
    # the customer falls below: a stricter rule of the same name holds nobody
    ws = open_world(rule(min_risk=1.0))
    assert ws.loop.run(deliver=False).fired == {}
    state = {r["key"]: r["value"] for r in rows(ws, LOOP_STATE)}
    assert json.loads(state["rule:risk:above"]) == []
    # a new model, and the customer is above again: a second alert
    ws.churn.risk.train()
    ws = open_world(rule(min_risk=0.0, top=1))
    report = ws.loop.run(deliver=False)
    new_top = ws.churn.risk.score().customers.customer_id.iloc[0]
    assert report.fired == {"risk": 1}
    assert [a["customer_id"] for a in fired(ws)].count(new_top) == 1 + (new_top == top)


def test_top_keeps_the_riskiest_and_routes_by_a_customer_attribute(world, open_world):
    s = world["scores"].customers
    min_risk = float(s.probability.quantile(0.8))
    routes = {"Southwest": "team:southwest", "*": "team:others"}
    ws = open_world(rule(min_risk=min_risk, top=5, route_by="region", routes=routes))
    ws.loop.run(deliver=False)
    alerts = fired(ws)
    assert sorted(a["customer_id"] for a in alerts) == expected(world, min_risk, top=5)
    assert all(a["title"].startswith("Customer ") for a in alerts)  # min_value 0
    assert {a["source"] for a in alerts} == {"churn_risk"}
    regions = ws.store.table("customers").select("customer_id", "region").to_pandas()
    region = regions.set_index("customer_id")["region"]
    follow = rows(ws, FOLLOWUPS)
    assert len(follow) == 5
    for f in follow:
        want = "southwest" if region[f["customer_id"]] == "Southwest" else "others"
        assert f["team"] == want


def test_no_model_records_nothing_and_says_why(open_world):
    ws = open_world(rule(min_risk=0.5), which="bare")
    before = counts(ws)
    report = ws.loop.run(deliver=False)
    assert report.errors == {
        "risk": "churn_risk rule risk: no churn-risk model: run `cxray churn model`"
    }
    assert report.fired == {} and counts(ws) == before
    state = {r["key"] for r in rows(ws, LOOP_STATE)}
    assert "rule:risk:above" not in state


def test_imports_never_evaluate_churn_risk_rules(world, open_world):
    import pandas as pd

    ws = open_world(rule(min_risk=0.0))
    ws.import_frame(
        "orders",
        pd.DataFrame({"order_id": ["ZZ1"], "customer_id": [world["scores"].customers.customer_id[0]],
                      "ordered_at": ["2026-01-01"], "amount": [10.0]}),
    )  # fmt: skip
    assert counts(ws)["alerts"] == 0


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"min_risk": 1.5}, "min_risk is a probability from 0 to 1"),
        ({"min_risk": -0.1}, "min_risk is a probability from 0 to 1"),
        ({}, "a churn-risk rule needs min_risk"),
        ({"min_risk": 0.5, "min_value": -3}, "min_value is a customer's value"),
        ({"min_risk": 0.5, "top": 0}, "top is a number of customers"),
        ({"min_risk": 0.5, "where": "nps <= 6"}, "where applies to rules on responses"),
        ({"min_risk": 0.5, "metric": "nps"}, "metric and by apply to KPI rules"),
    ],
)
def test_config_errors(keys, message, tmp_path):
    from cxray.config import load_program_config

    path = tmp_path / "cxray.toml"
    path.write_text(rule(**keys), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_program_config(path)
    assert "risk" in str(err.value)


def test_risk_keys_belong_to_churn_risk_rules(tmp_path):
    from cxray.config import load_program_config

    path = tmp_path / "cxray.toml"
    path.write_text('[[loop.rules]]\nname = "d"\non = "responses"\nmin_risk = 0.5\n', "utf-8")
    with pytest.raises(ConfigError, match=r"min_risk applies to churn-risk rules"):
        load_program_config(path)


def test_route_by_must_be_a_customer_attribute(open_world):
    ws = open_world(rule(min_risk=0.5, route_by="no_such_column"))
    with pytest.raises(ConfigError, match=r"route_by.*'no_such_column' is no column of customers"):
        ws.loop.run(deliver=False)
    assert counts(ws)["alerts"] == 0 and rows(ws, OUTBOX) == []


def test_on_postgres_the_rule_fires_what_duckdb_fires_once(world, tmp_path):
    """The same world on PostgreSQL: the same customers fire, once; the state is kept there.
    Needs ``CXRAY_TEST_POSTGRES_URL``: skipped without it, a failure under CI."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI")
        pytest.skip("CXRAY_TEST_POSTGRES_URL is not set")
    s = world["scores"].customers
    min_risk = float(s.probability.quantile(0.9))
    min_value = float(world["values"].clv.median())
    (tmp_path / "cxray.toml").write_text(rule(min_risk=min_risk, min_value=min_value), "utf-8")
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        assert pg.loop.run(deliver=False).errors == {
            "risk": "churn_risk rule risk: no churn-risk model: run `cxray churn model`"
        }
        assert counts(pg)["alerts"] == 0
        assert pg.churn.risk.train().kept
        report = pg.loop.run(deliver=False)
        assert report.errors == {}
        assert sorted(a["customer_id"] for a in fired(pg)) == expected(world, min_risk, min_value)
        assert counts(pg)["followups"] == report.new_alerts == len(fired(pg)) > 0
        before = counts(pg)
        assert pg.loop.run(deliver=False).new_alerts == 0 and counts(pg) == before
        state = {r["key"]: r["value"] for r in rows(pg, LOOP_STATE)}
        assert sorted(json.loads(state["rule:risk:above"])) == expected(world, min_risk, min_value)


def test_no_active_customer_is_stated_and_fires_nothing(open_world, monkeypatch):
    from cxray.churn._risk import ChurnRisk

    ws = open_world(rule(min_risk=0.0))
    scored = ws.churn.risk.score()
    empty = replace(scored, customers=scored.customers.iloc[0:0], n=0, estimate=None)
    monkeypatch.setattr(ChurnRisk, "score", lambda self, *a, **k: empty)
    report = ws.loop.run(deliver=False)
    assert report.fired == {} and report.errors == {} and counts(ws)["alerts"] == 0
    assert report.notes == {
        "risk": f"churn_risk rule risk: no customer is active at {scored.as_of[:10]}: "
        "nothing to score"
    }
    assert report.to_dict()["notes"] == report.notes


def test_the_inbox_and_the_cli_describe_a_churn_risk_rule(
    world, open_world, tmp_path, capsys, monkeypatch
):
    from cxray.cli import main
    from cxray.web._inbox import describe_alert

    min_risk = float(world["scores"].customers.probability.iloc[4])
    ws = open_world(rule(min_risk=min_risk, min_value=1.0, top=3))
    ws.loop.run(deliver=False)
    alerts = fired(ws)
    assert 0 < len(alerts) <= 3
    a = alerts[0]
    shown = describe_alert({**a, "details": a["details"]})
    facts = dict(shown["facts"])
    p = a["details"]["probability"]
    assert facts[f"churn risk in {a['details']['horizon_days']:g} days"].startswith(
        f"{100 * p:.1f}%"
    )
    assert sum(1 for k, _ in shown["facts"] if k == "reason") == len(a["details"]["reasons"]) > 0
    assert ("Churn & value", "/churn") in shown["links"]
    assert (f"customer {a['customer_id']}", f"/customers/{a['customer_id']}") in shown["links"]
    db = ws.store.url
    ws.close()
    monkeypatch.setenv("COLUMNS", "250")  # one line a rule
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(db), "--config", str(tmp_path / "cxray.toml"), "loop", "rules"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert f"churn risk >= {100 * min_risk:.3g}% and value >= 1 (the 3 riskiest)" in out
