"""Key driver analysis end to end: golden weights through the store, the same numbers as the
rows give, honest bootstrap intervals, binary outcomes, slices, and clear errors."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from cxray.exceptions import AnalysisError, UnknownAttributeError
from cxray.stats import lmg, relative_weights

RWA_RAW = {"cyl": 0.2284797, "disp": 0.2221469, "hp": 0.2321744, "gear": 0.0963886}
RWA_SHARE = {"cyl": 29.32274, "disp": 28.50999, "hp": 29.79691, "gear": 12.37037}


def test_mtcars_through_the_store_gives_the_published_weights(mtcars):
    report = mtcars.drivers("mpg", ["cyl", "disp", "hp", "gear"], seed=1)
    (a,) = report.analyses
    assert (a.unit, a.model, a.n) == ("responses", "linear", 32)
    got = {d.driver: d for d in a.drivers}
    for name, raw in RWA_RAW.items():
        assert got[name].raw_weight == pytest.approx(raw, abs=5e-7)
        assert got[name].share == pytest.approx(RWA_SHARE[name], abs=5e-5)
        assert got[name].ci_low <= got[name].share <= got[name].ci_high
    assert a.r2.estimate == pytest.approx(0.7791896, abs=5e-7)
    assert a.r2.ci_low < a.r2.estimate < a.r2.ci_high
    # LMG (Shapley) shares sum to 100 % of R² (four drivers: computed)
    assert sum(d.lmg_share for d in a.drivers) == pytest.approx(100.0, abs=1e-9)
    # ordered by importance; 32 cars for 4 drivers is said to be few
    assert [d.driver for d in a.drivers] == ["hp", "cyl", "disp", "gear"]
    assert any("small" in w for w in a.warnings)
    # the effect is the full model's coefficient (mpg per unit), as least squares gives it
    cars = mtcars.table("responses").to_pandas()
    x = np.column_stack([np.ones(32), cars[["cyl", "disp", "hp", "gear"]].to_numpy(float)])
    coef, *_ = np.linalg.lstsq(x, cars.mpg.to_numpy(float), rcond=None)
    for i, name in enumerate(["cyl", "disp", "hp", "gear"]):
        assert got[name].effect == pytest.approx(coef[i + 1], rel=1e-8)
        assert got[name].direction == ("+" if coef[i + 1] > 0 else "-")


def test_records_carry_the_documented_fields(mtcars):
    records = mtcars.drivers("mpg", ["cyl", "hp"], bootstrap=100).records()
    for r in records:
        for key in ("driver", "raw_weight", "share", "ci_low", "ci_high", "direction",
                    "performance", "n", "method"):  # fmt: skip
            assert key in r, key
    assert sum(r["share"] for r in records) == pytest.approx(100.0)


def test_same_seed_same_intervals_other_seed_other_intervals(mtcars):
    a = mtcars.drivers("mpg", ["cyl", "hp", "wt"], seed=3).records()
    b = mtcars.drivers("mpg", ["cyl", "hp", "wt"], seed=3).records()
    c = mtcars.drivers("mpg", ["cyl", "hp", "wt"], seed=4).records()
    assert a == b
    assert [r["ci_low"] for r in a] != [r["ci_low"] for r in c]
    assert [r["share"] for r in a] == [r["share"] for r in c]  # the estimate does not move


def test_demo_drivers_equal_the_rows_computed_in_numpy(demo):
    report = demo.drivers("csat", bootstrap=0)
    (a,) = report.analyses
    names = [d.driver for d in a.drivers]
    frame = demo.features.responses().to_pandas()
    frame = frame.dropna(subset=["csat", *names])
    assert len(frame) == a.n
    r = frame[[*names, "csat"]].astype(float).corr().to_numpy()
    k = len(names)
    rw = relative_weights(r[:k, :k], r[:k, k])
    got = {d.driver: d for d in a.drivers}
    for j, name in enumerate(names):
        assert got[name].raw_weight == pytest.approx(rw.raw[j], rel=1e-8, abs=1e-12)
    assert a.r2.estimate == pytest.approx(rw.r2, rel=1e-9)
    # every feature chosen automatically varies and is known for most rows
    assert all(frame[n].nunique() > 1 for n in names)


def test_grouped_bootstrap_matches_the_row_bootstrap(demo):
    """1000 groups of rows give about the spread that resampling single rows gives."""
    report = demo.drivers("csat", ["late_deliveries", "cases_not_fcr", "orders"], seed=5)
    (a,) = report.analyses
    frame = demo.features.responses().to_pandas()
    cols = ["late_deliveries", "cases_not_fcr", "orders", "csat"]
    x = frame.dropna(subset=cols)[cols].to_numpy(float)
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(200):
        s = x[rng.integers(0, len(x), len(x))]
        r = np.corrcoef(s.T)
        shares.append(relative_weights(r[:3, :3], r[:3, 3]).share)
    lo, hi = np.quantile(np.array(shares), [0.025, 0.975], axis=0)
    got = {d.driver: d for d in a.drivers}
    for j, name in enumerate(cols[:3]):
        width = got[name].ci_high - got[name].ci_low
        assert width == pytest.approx(hi[j] - lo[j], rel=0.35), name


def test_digest_groups_give_about_the_same_intervals(demo, monkeypatch):
    """Large tables are grouped by a digest of the key (no sort): even groups, the same
    estimate, and intervals about as wide as the ranked groups give."""
    from cxray.drivers import _moments_store

    names = ["late_deliveries", "cases_not_fcr", "orders"]
    ranked = demo.drivers("csat", names, seed=5).analyses[0]
    monkeypatch.setattr(_moments_store, "RANKED_ROWS", 0)
    digest = demo.drivers("csat", names, seed=5).analyses[0]
    keys = ibis.memtable({"k": [f"R{i:07d}" for i in range(100_000)]})
    g = keys.mutate(_g=_moments_store._digest_group(keys.k, 1024))
    groups = demo.store.backend.execute(g.group_by("_g").aggregate(n=g.count()))
    assert groups._g.between(0, 1023).all() and len(groups) == 1024
    assert groups.n.max() < 1.5 * groups.n.mean()  # spread evenly (about 98 keys each)
    for a, b in zip(ranked.drivers, digest.drivers, strict=True):
        assert (a.driver, a.share) == (b.driver, pytest.approx(b.share, rel=1e-9))
        assert b.ci_high - b.ci_low == pytest.approx(a.ci_high - a.ci_low, rel=0.35)


def test_lmg_through_the_store_equals_lmg_of_the_rows(demo):
    names = ["late_deliveries", "cases_not_fcr", "cases_reopened", "orders"]
    (a,) = demo.drivers("nps", names, bootstrap=0).analyses
    frame = demo.features.responses().to_pandas().dropna(subset=["nps", *names])
    r = frame[[*names, "nps"]].astype(float).corr().to_numpy()
    expected = 100 * lmg(r[:4, :4], r[:4, 4]) / relative_weights(r[:4, :4], r[:4, 4]).r2
    got = {d.driver: d.lmg_share for d in a.drivers}
    assert [got[n] for n in names] == pytest.approx(list(expected), rel=1e-8)


def test_binary_outcomes_use_logistic_weights(demo):
    (a,) = demo.drivers("detractor", bootstrap=60).analyses
    assert a.model == "logistic"
    assert "Tonidandel" in a.method
    assert sum(d.raw_weight for d in a.drivers) == pytest.approx(a.r2.estimate, rel=1e-9)
    late = next(d for d in a.drivers if d.driver == "late_deliveries")
    assert late.effect > 1 and late.direction == "+"  # a late delivery raises the odds
    assert late.effect_ci_low > 1
    assert "odds ratio" in late.effect_unit


def test_churn_is_explained_per_customer(demo):
    (a,) = demo.drivers("churn", bootstrap=50).analyses
    assert (a.unit, a.model) == ("customers", "logistic")
    names = {d.driver for d in a.drivers}
    assert {"tenure_days", "recency_days", "frequency", "latest_detractor"} <= names
    detractor = next(d for d in a.drivers if d.driver == "latest_detractor")
    assert detractor.effect > 1  # detractors churn more (a planted effect)


def test_by_slices_the_rows(demo):
    whole = demo.drivers("csat", ["late_deliveries", "cases_not_fcr"], bootstrap=0)
    sliced = demo.drivers("csat", ["late_deliveries", "cases_not_fcr"], by="region", bootstrap=0)
    assert {a.slice["region"] for a in sliced.analyses} >= {"West", "Northeast"}
    assert sum(a.n for a in sliced.analyses) == whole.analyses[0].n
    assert all("region" in r for r in sliced.records())


def test_performance_and_priority(demo):
    (a,) = demo.drivers("csat", bootstrap=0).analyses
    frame = demo.features.responses().to_pandas().dropna(subset=["csat"])
    late = next(d for d in a.drivers if d.driver == "late_deliveries")
    rows = frame.dropna(subset=[d.driver for d in a.drivers])
    assert late.performance == pytest.approx(100 * (rows.late_deliveries == 0).mean())
    assert late.priority in ("fix first", "maintain")
    neutral = next(d for d in a.drivers if d.driver == "orders")
    assert neutral.performance is None and neutral.priority == "context"


def test_unknown_outcome_names_the_choices(demo):
    with pytest.raises(AnalysisError, match=r"unknown outcome 'loyalty'; use nps, csat"):
        demo.drivers("loyalty")


def test_unknown_and_constant_drivers(demo, mtcars):
    with pytest.raises(AnalysisError, match=r"unknown driver\(s\) 'speed'.*known: "):
        demo.drivers("nps", ["late_deliveries", "speed"])
    with pytest.raises(AnalysisError, match=r"driver 'nps' cannot be used: does not vary"):
        mtcars.drivers("mpg", ["hp", "nps"])  # every car was given nps 8
    with pytest.raises(AnalysisError, match="named once"):
        demo.drivers("nps", ["orders", "orders"])


def test_outcome_that_does_not_vary(mtcars):
    with pytest.raises(AnalysisError, match=r"'nps' does not vary: every value is 8"):
        mtcars.drivers("nps", ["hp"])


def test_empty_selection_and_bad_options(demo):
    with pytest.raises(AnalysisError, match="no responses with a value of 'nps'"):
        demo.drivers("nps", start="2030-01-01", end="2030-02-01")
    with pytest.raises(UnknownAttributeError, match="unknown attribute 'planet'"):
        demo.drivers("nps", ["orders"], by="planet")
    with pytest.raises(AnalysisError, match="bootstrap must be 0"):
        demo.drivers("nps", bootstrap=10)
    with pytest.raises(AnalysisError, match="use --as-of, not --from/--to"):
        demo.drivers("churn", start="2026-01-01")


def test_features_listed_for_each_unit(demo):
    names = {f.name for f in demo.drivers.features("responses")}
    assert {"late_deliveries", "cases_not_fcr", "journey_abandoned_checkout"} <= names
    names = {f.name for f in demo.drivers.features("customers")}
    assert {"tenure_days", "recency_days", "frequency", "monetary", "latest_nps"} <= names


def test_a_numeric_binary_column_is_fitted_logistic(tmp_path):
    from cxray.workspace import Workspace

    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(n)],
            "submitted_at": "2026-01-01",
            "nps": rng.integers(0, 11, n),
            "speed": x,
            "renewed": (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int),
        }
    )
    with Workspace.open(tmp_path / "cx.duckdb") as ws:
        ws.import_frame("responses", frame)
        (a,) = ws.drivers("renewed", ["speed", "nps"], bootstrap=50).analyses
    assert a.model == "logistic"
    speed = next(d for d in a.drivers if d.driver == "speed")
    assert speed.share > 90 and speed.effect == pytest.approx(np.exp(2), rel=0.35)
