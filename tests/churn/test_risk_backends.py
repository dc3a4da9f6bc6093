"""Portability: the churn-risk frame built on PostgreSQL equals DuckDB's, and so do the
model's figures, the stored model and the scores (PostgreSQL needs ``CXRAY_TEST_POSTGRES_URL``;
under CI a missing server is a failure, elsewhere a skip)."""

from __future__ import annotations

import contextlib
import shutil

import pandas as pd
import pytest

from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres, require_backends_under_ci
from tests.churn.conftest import WORLD  # the package's demo world: seed 7, 3,000 customers

require_backends_under_ci("churn risk")


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col == "customer_id":
            continue
        with contextlib.suppress(TypeError, ValueError):
            out[col] = pd.to_numeric(out[col]).astype("float64")
    return out


def _drop_times(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["_churned_at"])


@needs_postgres
def test_postgres_gives_the_duckdb_model(demo_db, tmp_path):
    # the package's demo world (tests/churn/conftest.py) is WORLD; a copy, since training writes
    shutil.copy(demo_db, tmp_path / "d.duckdb")
    with Workspace.open(tmp_path / "d.duckdb", tmp_path / "cxray.toml") as duck:
        at = duck.churn.risk.features.default_as_of()
        want_frame = duck.churn.risk.frame(at)
        want = duck.churn.risk.train(seed=0).to_dict()
        assert want["kept"]  # this world's model beats the baseline (tests/churn/test_risk.py)
        want_scores = duck.churn.risk.score().customers
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as pg:
        pg.load_demo(**WORLD)
        got_frame = pg.churn.risk.frame(at)
        assert list(got_frame.columns) == list(want_frame.columns)
        pd.testing.assert_frame_equal(
            _numbers(_drop_times(got_frame)), _numbers(_drop_times(want_frame)),
            check_dtype=False, rtol=1e-9,
        )  # fmt: skip
        got = pg.churn.risk.train(seed=0).to_dict()
        assert got["kept"] == want["kept"]
        for key in ("split", "train_as_of", "evaluation_as_of", "n", "n_train", "features"):
            assert got[key] == want[key], key
        for key in ("auc", "ci_low", "ci_high", "pr_auc", "brier", "lift_top_decile"):
            assert got[key] == pytest.approx(want[key], rel=1e-6), key
        assert got["baseline"]["auc"] == pytest.approx(want["baseline"]["auc"], rel=1e-9)
        assert pg.churn.risk.stored()["model_id"] == got["model_id"]
        got_scores = pg.churn.risk.score().customers
        assert list(got_scores.customer_id) == list(want_scores.customer_id)
        pd.testing.assert_series_equal(got_scores.probability, want_scores.probability, rtol=1e-6)
