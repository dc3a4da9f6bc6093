"""Survival, Cox and reasons on the demo world (planted: detractors churn about 3× as fast
as promoters), the command line, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxray.churn._km import kaplan_meier
from cxray.cli import main
from cxray.exceptions import AnalysisError, CXError
from cxray.store import MODELS
from cxray.workspace import Workspace


def test_detractors_churn_about_three_times_as_fast(demo):
    cox = demo.churn.cox(save=False)
    assert cox.by == "nps_group" and cox.reference == "promoter"
    hr, lo, hi = cox.hazard_ratio("nps_group=detractor")
    assert 2.0 < hr < 5.0 and lo > 1.0, (hr, lo, hi)
    assert cox.n == 3000 and 0 < cox.events < cox.n
    assert 0.55 < cox.concordance < 0.8
    assert set(cox.to_dict()) >= {"covariates", "n", "events", "concordance", "method"}
    # a landmark: groups fixed at the date, time counted from it (no look at the future)
    lm = demo.churn.cox(landmark="2026-02-01", save=False)
    hr, lo, _ = lm.hazard_ratio("nps_group=detractor")
    assert lm.origin == "landmark" and 2.0 < hr < 5.0 and lo > 1.0, (hr, lo)
    s = demo.churn.survival()
    g = s.groups.set_index("group")
    assert list(g.index) == ["promoter", "passive", "detractor", "no answer"]
    assert g.loc["detractor", "survival_365d"] < g.loc["promoter", "survival_365d"]
    assert g.loc["detractor", "survival_365d_high"] < g.loc["promoter", "survival_365d_low"]
    pair = s.tests.set_index("comparison").loc["promoter vs detractor"]
    assert pair.q_value < 0.001 and pair.q_value >= pair.p_value
    assert int(g.n.sum()) == s.n == 3000


def test_curves_are_the_kaplan_meier_of_the_customers(demo):
    """The counts summed in the store give the curve of the per-customer durations."""
    s = demo.churn.survival(by="plan")
    c = demo.table("customers").to_pandas()
    end = pd.Timestamp(s.end)
    stop = c.churned_at.where(c.churned_at.notna() & (c.churned_at <= end), end)
    days = np.floor((stop - c.created_at).dt.total_seconds() / 86400).astype(int)
    event = (c.churned_at.notna() & (c.churned_at <= end)).astype(int)
    for plan, part in c.groupby("plan"):
        d, e = days[part.index], event[part.index]
        frame = pd.DataFrame({"d": d, "e": e}).groupby("d").agg(ev=("e", "sum"), n=("e", "size"))
        want = kaplan_meier(frame.index.to_numpy(), frame.ev.to_numpy(),
                            (frame.n - frame.ev).to_numpy())  # fmt: skip
        got = s.curves[s.curves.group == plan]
        np.testing.assert_allclose(got.survival.to_numpy(), want.survival, rtol=1e-12)
        np.testing.assert_array_equal(got.at_risk.to_numpy(), want.at_risk)
        assert s.groups.set_index("group").loc[plan, "n"] == len(part)


def test_feature_groups_are_a_landmark_analysis(demo):
    s = demo.churn.survival(by="recency_days")
    assert s.origin == "landmark" and s.landmark is not None and s.landmark < s.end
    assert len(s.groups) == 3 and "quantile bands" in s.definition
    active = demo.features.customers(as_of=s.landmark).count().to_pyarrow().as_py()
    assert s.n == active
    # a landmark by NPS group: groups fixed at that date, time counted from it
    lm = demo.churn.survival(landmark="2026-03-01")
    assert lm.origin == "landmark" and lm.curves.days.min() == 0


def test_records_have_the_documented_shape(demo):
    s = demo.churn.survival()
    rec = s.records()
    assert {"group", "days", "survival", "ci_low", "ci_high", "at_risk"} <= set(rec[0])
    d = s.to_dict()
    assert d["curves"] == rec and d["summary"]["by"] == "nps_group"
    json.dumps(d)  # plain JSON: no NaN objects, no numpy types
    assert all(r["ci_low"] <= r["survival"] <= r["ci_high"] for r in rec
               if r["ci_low"] is not None)  # fmt: skip


def test_cox_is_stored_as_json(demo):
    c = demo.churn.cox(["recency_days"])
    rows = demo.store.backend.table(MODELS).to_pandas()
    row = rows[rows.model_id == c.model_id].iloc[0]
    assert row["name"] == "churn_cox" and row["kind"] == "cox_ph"
    spec = json.loads(row["spec"])
    assert spec["feature_names_in_"] == list(c.table.covariate)
    np.testing.assert_allclose(spec["coef_"], c.table.coef.to_numpy())
    assert json.loads(row["evaluation"])["n"] == c.n == c.to_dict()["n"]
    again = demo.churn.cox(["recency_days"])  # replaces the previous fit
    rows = demo.store.backend.table(MODELS).to_pandas()
    assert list(rows[rows.name == "churn_cox"].model_id) == [again.model_id]


def test_reasons(demo):
    r = demo.churn.reasons()
    t = r.table
    assert r.stated == int(t.n.sum()) and r.churned > r.stated
    assert t.share.sum() == pytest.approx(1.0)
    assert ((t.ci_low <= t.share) & (t.share <= t.ci_high)).all()
    assert t.iloc[0].reason == "price"
    themes = r.themes.set_index("theme")
    assert themes.loc["price_billing", "n"] == t.set_index("reason").loc["price", "n"]
    by = demo.churn.reasons(by="plan", period="quarter")
    sums = by.table.groupby(["plan", "period"]).share.sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert {"q_value", "p_value", "change", "trend"} <= set(by.trends.columns)
    assert (by.trends.q_value >= by.trends.p_value - 1e-12).all()
    json.dumps(by.to_dict())


def test_bad_requests_are_clear(demo):
    with pytest.raises(AnalysisError, match="cannot group by 'loyalty'"):
        demo.churn.survival(by="loyalty")
    with pytest.raises(AnalysisError, match="cannot slice churn reasons by 'x'"):
        demo.churn.reasons(by="x")
    with pytest.raises(AnalysisError, match="period must be month or quarter"):
        demo.churn.reasons(period="week")
    with pytest.raises(AnalysisError, match="not a group of nps_group"):
        demo.churn.cox(reference="fan", save=False)
    with pytest.raises(CXError, match="not a date"):
        demo.churn.survival(as_of="soon")
    with pytest.raises(AnalysisError, match="no customers who joined before"):
        demo.churn.survival(as_of="2000-01-01")
    with pytest.raises(AnalysisError, match="customer_id has 3000 values: too many groups"):
        demo.churn.survival(by="customer_id")
    with pytest.raises(AnalysisError, match="email has 3000 values: too many groups"):
        demo.churn.cox(by="email", save=False)


def _store(tmp_path, customers: pd.DataFrame) -> Workspace:
    tmp_path.mkdir(parents=True)
    ws = Workspace.open(tmp_path / "x.duckdb", tmp_path / "cxray.toml")
    ws.import_frame("customers", customers)
    return ws


def test_no_churn_dates_and_one_customer(tmp_path):
    base = pd.DataFrame({"customer_id": ["a", "b", "c"],
                         "created_at": ["2025-01-01", "2025-02-01", "2025-03-01"]})  # fmt: skip
    with _store(tmp_path / "none", base) as ws:
        with pytest.raises(AnalysisError, match="no customer left"):
            ws.churn.survival(by="customer_id")
        with pytest.raises(AnalysisError, match="no churned customers"):
            ws.churn.reasons()
        with pytest.raises(AnalysisError, match="needs customers who left"):
            ws.churn.cox(save=False)
        assert ws.store.backend.table(MODELS).count().to_pyarrow().as_py() == 0
    one = base.iloc[:1].assign(churned_at=["2025-06-01"], churn_reason=[""])
    with _store(tmp_path / "one", one) as ws:
        with pytest.raises(AnalysisError, match="only 1 customer"):
            ws.churn.survival()
        with pytest.raises(AnalysisError, match="none of the 1 churned customers"):
            ws.churn.reasons()
    backwards = base.assign(churned_at=["2024-06-01", None, None])
    with (
        _store(tmp_path / "back", backwards) as ws,
        pytest.raises(AnalysisError, match="churned_at before created_at"),
    ):
        ws.churn.survival()


def _run(capsys, db: str, *args: str, code: int = 0) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, "churn", *args])
    out, err = capsys.readouterr()
    assert exc.value.code == code, err
    return out if code == 0 else err


def test_the_commands(capsys, demo_db):
    body = json.loads(_run(capsys, demo_db, "survival", "--format", "json"))
    assert body["curves"][0]["group"] == "promoter" and body["summary"]["n"] == 3000
    out = _run(capsys, demo_db, "survival", "--by", "plan")
    assert "median" in out and "log-rank" in out and "enterprise" in out
    out = _run(capsys, demo_db, "survival", "--by", "plan", "--format", "csv")
    assert out.splitlines()[0].startswith("group,days,survival,ci_low,ci_high,at_risk")
    out = _run(capsys, demo_db, "reasons", "--period", "quarter")
    assert "price" in out and "trends by quarter" in out and "themes" in out
    body = json.loads(_run(capsys, demo_db, "cox", "--covariate", "recency_days", "--format",
                           "json"))  # fmt: skip
    names = [c["covariate"] for c in body["covariates"]]
    assert names[0] == "recency_days" and "nps_group=detractor" in names
    assert body["model_id"]
    err = _run(capsys, demo_db, "survival", "--by", "loyalty", code=1)
    assert "cannot group by 'loyalty'" in err


def test_missing_values_are_a_group_of_their_own(tmp_path):
    customers = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(6)],
        "created_at": ["2025-01-01"] * 6,
        "churned_at": ["2025-02-01", None, "2025-03-01", None, "2025-04-01", None],
        "plan": ["basic", "basic", None, None, "plus", "plus"],
    })  # fmt: skip
    with _store(tmp_path / "missing", customers) as ws:
        s = ws.churn.survival(by="plan", as_of="2025-06-01")
        g = s.groups.set_index("group")
        assert list(g.index) == ["(missing)", "basic", "plus"] and list(g.n) == [2, 2, 2]
        assert g.loc["(missing)", "events"] == 1 and g.loc["(missing)", "median_days"] == 59
        c = ws.churn.cox(by="plan", save=False)
        # the reference: the largest known group, ties alphabetical
        assert c.reference == "basic"
        assert list(c.table.covariate) == ["plan=(missing)", "plan=plus"]
