"""Churn risk on the demo world: the time split and its dates, no leakage, the kept model in
``_cx_models``, scores with intervals and reasons (detractors riskier), bad input, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from cxray.churn._risk import NO_MODEL
from cxray.cli import main
from cxray.exceptions import AnalysisError, NotFoundError
from cxray.store import MODELS
from cxray.workspace import Workspace


@pytest.fixture(scope="module")
def store(demo_db, tmp_path_factory):
    """A copy of the package's demo world with a kept churn-risk model, closed; the report."""
    path = tmp_path_factory.mktemp("risk") / "demo.duckdb"
    shutil.copy(demo_db, path)
    with Workspace.open(path, path.parent / "cxray.toml") as ws:
        report = ws.churn.risk.train()
    return path, report


@pytest.fixture
def trained(store):
    path, report = store
    with Workspace.open(path, path.parent / "cxray.toml", read_only=True) as ws:
        yield ws, report


def test_time_split_with_its_dates(trained):
    ws, r = trained
    end = ws.churn.risk.features.data_end()
    h = ws.config.features.churn_horizon_days
    assert r.split == "time"
    assert dt.datetime.fromisoformat(r.train_as_of) == end - dt.timedelta(days=2 * h)
    assert dt.datetime.fromisoformat(r.evaluation_as_of) == end - dt.timedelta(days=h)
    assert r.train_as_of[:10] in r.split_reason and r.evaluation_as_of[:10] in r.split_reason
    test = ws.churn.risk.frame(r.evaluation_as_of)
    assert r.n == len(test) and r.churn_rate == pytest.approx(test.churned.mean())
    assert r.ci_low < r.auc < r.ci_high
    assert 0 < r.brier < 0.25 and 0 < r.pr_auc <= 1
    assert sum(b["n"] for b in r.reliability) == r.n
    assert r.baseline["n"] == r.n and "tenure band" in r.baseline["method"]
    gain = r.auc_gain
    assert gain["auc_gain"] == pytest.approx(r.auc - r.baseline["auc"])
    assert r.kept and gain["ci_low"] > 0 and r.model_id
    assert any("current values" in w and "plan" in w for w in r.warnings)
    d = r.to_dict()
    assert d["estimate"] == d["auc"] and json.loads(json.dumps(d, allow_nan=False)) == d


def test_the_model_is_stored_as_json(trained):
    ws, r = trained
    rows = ws.store.backend.table(MODELS).to_pyarrow().to_pylist()
    row = next(x for x in rows if x["model_id"] == r.model_id)
    assert (row["name"], row["kind"]) == ("churn_risk", "logistic")
    spec, evaluation = json.loads(row["spec"]), json.loads(row["evaluation"])
    assert evaluation["auc"] == r.auc and spec["model"]["format"] == 1
    assert spec["fitted_as_of"] == r.evaluation_as_of  # refitted on the latest labels
    assert int(row["data_version"]) >= 1


def test_no_feature_reads_after_its_as_of_date(store, tmp_path):
    src, r = store
    path = tmp_path / "leak.duckdb"
    shutil.copy(src, path)
    at = dt.datetime.fromisoformat(r.train_as_of)
    with Workspace.open(path, tmp_path / "cxray.toml") as w:
        before = w.churn.risk.frame(at)
        cid = str(before.customer_id.iloc[0])
        later = at + dt.timedelta(hours=1)
        w.import_frame("orders", pd.DataFrame({
            "order_id": ["LEAK1"], "customer_id": [cid], "ordered_at": [later],
            "amount": [999.0], "promised_at": [later], "delivered_at": [later + dt.timedelta(9)],
        }))  # fmt: skip
        w.import_frame("responses", pd.DataFrame({
            "response_id": ["LEAK2"], "customer_id": [cid], "submitted_at": [later], "nps": [0],
        }))  # fmt: skip
        after = w.churn.risk.frame(at)
        pd.testing.assert_frame_equal(before, after)
        # the same planted rows before the cut-off do change the features
        earlier = at - dt.timedelta(days=1)
        w.import_frame("responses", pd.DataFrame({
            "response_id": ["LEAK3"], "customer_id": [cid], "submitted_at": [earlier], "nps": [0],
        }))  # fmt: skip
        moved = w.churn.risk.frame(at)
        assert moved.loc[moved.customer_id == cid, "latest_nps"].item() == 0


def test_scores_of_the_active_customers(trained):
    ws, r = trained
    s = ws.churn.risk.score()
    c = s.customers
    end = ws.churn.risk.features.data_end()
    cust = ws.table("customers")
    active = cust.filter(
        (cust.created_at < end) & (cust.churned_at.isnull() | (cust.churned_at > end))
    )
    assert s.n == len(c) == active.count().to_pyarrow().as_py()
    assert s.model_id == r.model_id and s.as_of == end.isoformat()
    assert c.probability.is_monotonic_decreasing
    assert ((c.ci_low <= c.probability) & (c.probability <= c.ci_high)).all()
    assert c.customer_id.is_unique
    for why in c.reasons.head(200):
        assert 0 < len(why) <= 3
        assert all(x["contribution"] > 0 and x["feature"] in r.features for x in why)
        assert [x["contribution"] for x in why] == sorted((x["contribution"] for x in why),
                                                          reverse=True)  # fmt: skip
    assert s.estimate == pytest.approx(c.probability.mean())
    assert s.ci_low < s.estimate < s.ci_high
    d = s.to_dict(limit=5)
    assert len(d["customers"]) == 5 and d["n"] == s.n
    assert d["customers"][0]["customer_id"] == c.customer_id.iloc[0]


def test_detractors_come_out_riskier(trained):
    ws, _ = trained
    s = ws.churn.risk.score()
    f = ws.churn.risk.frame(s.as_of)[["customer_id", "latest_detractor", "latest_promoter"]]
    m = s.customers.merge(f, on="customer_id")
    detractors = m.loc[m.latest_detractor == 1, "probability"].mean()
    promoters = m.loc[m.latest_promoter == 1, "probability"].mean()
    assert detractors > 2 * promoters  # the world plants 3x against 0.6x
    top = s.customers.head(20).merge(f, on="customer_id")
    assert top.latest_detractor.mean() > 0.5


def test_scores_are_the_same_after_reopening(store):
    path, _ = store
    with Workspace.open(path, read_only=True) as ws:
        first = ws.churn.risk.score().customers
    with Workspace.open(path, read_only=True) as again:
        second = again.churn.risk.score().customers
    pd.testing.assert_frame_equal(first, second)


def test_one_customer_and_a_past_date(trained):
    ws, _ = trained
    s = ws.churn.risk.score()
    cid = s.customers.customer_id.iloc[7]
    one = ws.churn.risk.score(customer_id=cid)
    assert one.n == 1
    assert one.customers.probability.item() == pytest.approx(s.customers.probability.iloc[7])
    with pytest.raises(NotFoundError, match="not an active customer"):
        ws.churn.risk.score(customer_id="nobody")
    past = ws.churn.risk.score(as_of="2026-03-01")
    assert past.as_of.startswith("2026-03-01") and past.n > 0
    none = ws.churn.risk.score(as_of="2000-01-01")  # before anyone joined: stated, empty
    assert none.n == 0 and none.estimate is None and none.to_dict()["customers"] == []


def test_bad_input(store, tmp_path, write):
    path, _ = store
    ws = Workspace.open(path, read_only=True)
    with pytest.raises(AnalysisError, match="split must be one of"):
        ws.churn.risk.train(split="random")
    with pytest.raises(AnalysisError, match="test_size"):
        ws.churn.risk.train(test_size=1.5)
    with pytest.raises(AnalysisError, match="horizon_days"):
        ws.churn.risk.train(horizon_days=-3)
    ws.close()
    with Workspace.open(tmp_path / "empty.duckdb", tmp_path / "cxray.toml") as w:
        with pytest.raises(AnalysisError, match=r"no churn-risk model: run `cxray churn model`"):
            w.churn.risk.score()
        with pytest.raises(AnalysisError, match="churned_at"):
            w.churn.risk.train()
        w.import_files("customers", [write("one.csv", "customer_id,created_at\nA,2024-01-01\n")])
        with pytest.raises(AnalysisError, match="no customer has a churned_at date"):
            w.churn.risk.train()
        w.import_files("customers", [write("two.csv", "customer_id,created_at,churned_at\n"
                                                      "B,2024-01-01,2024-03-01\n")])  # fmt: skip
        with pytest.raises(AnalysisError, match="too few|at least 50 churners"):
            w.churn.risk.train()
        with pytest.raises(AnalysisError, match="a time split is impossible"):
            w.churn.risk.train(split="time")
        assert w.store.backend.table(MODELS).count().to_pyarrow().as_py() == 0
    assert NO_MODEL.startswith("no churn-risk model")


def test_an_unbeaten_model_is_not_kept(tmp_path):
    # churn that nothing explains: the model cannot beat the baseline, nothing is stored
    rng = np.random.default_rng(5)
    n = 600
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.uniform(0, 30, n), unit="D")
    churned = np.where(rng.random(n) < 0.4, "2024-01-31", None)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "created_at": created,
                          "churned_at": churned, "noise": rng.normal(size=n)})  # fmt: skip
    with Workspace.open(tmp_path / "n.duckdb", tmp_path / "cxray.toml") as w:
        w.import_frame("customers", frame)
        r = w.churn.risk.train()
        assert r.split == "stratified" and "snapshot" in r.split_reason
        assert not r.kept and r.model_id is None and "not kept" in r.kept_reason
        assert w.store.backend.table(MODELS).count().to_pyarrow().as_py() == 0


# ---------------------------------------------------------------- the command line


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_cli_risk_and_model_show(store, capsys):
    path, r = store
    db = str(path)
    code, out, _ = _run(capsys, "--db", db, "churn", "risk", "--top", "5", "--format", "json")
    assert code == 0
    body = json.loads(out)
    assert len(body["customers"]) == 5 and body["model_id"] == r.model_id
    assert body["customers"][0]["reasons"][0]["feature"]
    code, out, _ = _run(capsys, "--db", db, "churn", "risk", "--top", "3")
    assert code == 0 and body["customers"][0]["customer_id"] in out and "[" in out
    code, out, _ = _run(capsys, "--db", db, "churn", "model", "--show", "--format", "json")
    assert code == 0 and json.loads(out)["model_id"] == r.model_id
    code, out, _ = _run(capsys, "--db", db, "churn", "model", "--show")
    assert code == 0 and "AUC" in out and "kept" in out and "reliability" in out


def test_cli_without_a_model_says_what_to_do(tmp_path, capsys):
    db = str(tmp_path / "none.duckdb")
    with Workspace.open(db):
        pass
    code, _, err = _run(capsys, "--db", db, "churn", "risk")
    assert code == 1 and "run `cxray churn model`" in err
