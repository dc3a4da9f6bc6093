"""Statuses, suppression, significance and BH, time zones, the CLI's JSON records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxray.cli import main
from cxray.config import ProgramConfig, Threshold
from cxray.exceptions import MetricError, UnknownAttributeError
from cxray.metrics import status_of
from cxray.workspace import Workspace


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (55, "higher_is_better", "on_target"),
        (50, "higher_is_better", "on_target"),
        (30, "higher_is_better", "watch"),
        (0, "higher_is_better", "watch"),
        (-5, "higher_is_better", "action"),
        (1.5, "lower_is_better", "on_target"),
        (3, "lower_is_better", "watch"),
        (4.5, "lower_is_better", "action"),
    ],
)
def test_status(value, direction, expected):
    th = Threshold(target=50, action=0) if direction == "higher_is_better" else _low()
    assert status_of(value, th, direction) == expected


def _low():
    return Threshold(target=2, action=4)


def test_status_from_config_defaults():
    cfg = ProgramConfig()
    assert status_of(72, cfg.threshold("fcr"), cfg.direction("fcr")) == "on_target"
    assert status_of(66, cfg.threshold("fcr"), cfg.direction("fcr")) == "watch"
    assert status_of(60, cfg.threshold("fcr"), cfg.direction("fcr")) == "action"
    assert status_of(12, cfg.threshold("abandonment"), "lower_is_better") == "watch"
    assert status_of(1, cfg.threshold("churn_rate"), "lower_is_better") is None


def _responses(rng, months, segments, nps_of):
    rows = []
    for m in months:
        for seg in segments:
            p = nps_of(m, seg)
            for i in range(200):
                rows.append(
                    {
                        "response_id": f"{m}-{seg}-{i}",
                        "submitted_at": f"{m}-15T12:00:00",
                        "nps": int(rng.choice(11, p=p)),
                        "survey": seg,
                    }
                )
    return pd.DataFrame(rows)


def _probs(nps_level):
    base = np.full(11, 0.02)
    base[9:] = 0.25 + nps_level
    base[7:9] = 0.15
    return base / base.sum()


def test_planted_change_is_significant_and_no_change_is_not(ws):
    rng = np.random.default_rng(3)
    segments = [f"s{i}" for i in range(10)]

    def nps_of(month, seg):
        return _probs(0.6 if (seg == "s0" and month == "2026-02") else 0.0)

    ws.import_frame("responses", _responses(rng, ["2026-01", "2026-02"], segments, nps_of))
    card = ws.scorecard(by=["survey"], period="month", metrics=["nps"])
    feb = {s.slices["survey"]: s for s in card if s.slices["period"] == "2026-02"}
    assert feb["s0"].significant and feb["s0"].change.estimate > 0
    assert feb["s0"].q_value >= feb["s0"].change.p_value
    assert sum(s.significant for s in feb.values()) == 1
    jan = [s for s in card if s.slices["period"] == "2026-01"]
    assert all(s.change is None and s.significant is None for s in jan)


def test_no_change_simulation_rarely_flags(tmp_path):
    rng = np.random.default_rng(8)
    flagged = total = 0
    for k in range(3):
        with Workspace.open(tmp_path / f"n{k}.duckdb") as w:
            frame = _responses(
                rng, ["2026-01", "2026-02"], [f"s{i}" for i in range(10)], lambda m, s: _probs(0.0)
            )
            w.import_frame("responses", frame)
            card = w.scorecard(by=["survey"], period="month", metrics=["nps"])
            feb = [s for s in card if s.slices["period"] == "2026-02"]
            flagged += sum(s.significant for s in feb)
            total += len(feb)
    assert total == 30 and flagged <= 1


def test_suppression_below_min_n(ws):
    ws.import_frame(
        "responses",
        pd.DataFrame(
            {
                "response_id": [str(i) for i in range(7)],
                "submitted_at": ["2026-01-01"] * 7,
                "nps": [10, 9, 9, 8, 3, 10, 0],
            }
        ),
    )
    card = ws.scorecard(metrics=["nps"])
    s = card.get("nps")
    rec = card.records()[0]
    assert s.result.suppressed and s.status is None
    assert rec["estimate"] is None and rec["ci_low"] is None and "n=7 < 30" in rec["reason"]
    assert rec["n"] == 7


def test_periods_are_cut_in_the_program_time_zone(tmp_path):
    cfg = tmp_path / "cxray.toml"
    cfg.write_text('[program]\ntimezone = "America/New_York"\n', encoding="utf-8")
    with Workspace.open(tmp_path / "tz.duckdb", cfg) as w:
        w.import_frame(
            "responses",
            pd.DataFrame(
                {
                    "response_id": ["a", "b", "c"],
                    # 02:00 UTC on Feb 1 is Jan 31 in New York; summer time in July
                    "submitted_at": [
                        "2026-02-01T02:00:00Z",
                        "2026-02-01T06:00:00Z",
                        "2026-07-01T03:30:00Z",
                    ],
                    "nps": [9, 9, 9],
                }
            ),
        )
        card = w.scorecard(period="month", metrics=["nps"])
        assert {s.slices["period"]: s.result.n for s in card} == {
            "2026-01": 1,
            "2026-02": 1,
            "2026-06": 1,
        }


def test_user_mistakes(demo):
    with pytest.raises(UnknownAttributeError, match="unknown attribute 'regio'"):
        demo.scorecard(by=["regio"])
    with pytest.raises(MetricError, match="not a date"):
        demo.scorecard(start="2026-13-01")
    with pytest.raises(MetricError, match="unknown period"):
        demo.scorecard(period="year")


def test_results_do_not_depend_on_row_order(tmp_path, frames):
    r = frames["responses"].drop(columns=["_import_id"])
    cards = []
    for i, seed in enumerate((1, 2)):
        with Workspace.open(tmp_path / f"o{i}.duckdb") as w:
            w.import_frame("responses", r.sample(frac=1.0, random_state=seed))
            cards.append(w.scorecard(by=["channel"], period="month").records())
    assert cards[0] == cards[1]


def test_mix_shift_adds_up(demo):
    ms = demo.mix_shift("region", ("2026-05-01", "2026-07-31"), ("2026-08-01", "2026-10-31"))
    assert ms.mix + ms.rate == pytest.approx(ms.change)
    before = demo.scorecard(start="2026-05-01", end="2026-07-31", metrics=["nps"]).get("nps")
    assert ms.before == pytest.approx(before.result.estimate, abs=0.5)


def test_plan_sample_size(demo):
    plan = demo.plan_sample_size(10)
    assert plan.n_per_group > 100 and plan.delta_points == 10


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory, frames):
    """A store of its own (the CLI opens it read-only, so no other connection may hold it)."""
    path = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    with Workspace.open(path) as w:
        for name in ("customers", "responses"):
            w.import_frame(name, frames[name].drop(columns=["_import_id"]))
    return str(path)


def test_cli_json_records(cli_db, capsys):
    db = cli_db
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "scorecard", "--by", "region", "--period", "month", "--format", "json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    records = json.loads(out)
    assert isinstance(records, list) and records
    for key in ("metric", "estimate", "ci_low", "ci_high", "n", "status", "period", "region"):
        assert all(key in r for r in records), key
    assert {r["status"] for r in records} <= {"on_target", "watch", "action", None}
    assert {"nps", "csat", "churn_rate"} <= {r["metric"] for r in records}
    for fmt in ("table", "csv", "html"):
        with pytest.raises(SystemExit) as exc:
            main(["--db", db, "scorecard", "--metric", "nps", "--format", fmt])
        out, _ = capsys.readouterr()
        assert exc.value.code == 0 and "NPS" in out


def test_cli_bad_attribute_is_one_line(cli_db, capsys):
    db = cli_db
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "scorecard", "--by", "nope"])
    _, err = capsys.readouterr()
    assert exc.value.code == 1 and err.startswith("error: unknown attribute 'nope'")
