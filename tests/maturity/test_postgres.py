"""Portability: on a PostgreSQL store the same demo world gives the same evidence as on
DuckDB, and assessments are kept and read back there too."""

from __future__ import annotations

from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres, require_backends_under_ci

from .conftest import DEMO, TODAY

require_backends_under_ci("the maturity evidence")


@needs_postgres
def test_evidence_and_history_on_postgres_equal_duckdb(demo_world):
    db, config = demo_world
    answers = {"closed_loop.followup": 3, "technology_data.prediction": 2}
    with Workspace.open(db, config, read_only=True, create=False) as duck:
        want = duck.maturity.assess(answers, today=TODAY).to_dict()
    with Workspace.open(fresh_postgres(), config) as pg:
        pg.load_demo(**DEMO)
        got = pg.maturity.assess(answers, today=TODAY)
        aid = pg.maturity.save(got, actor="pg")
        rows = pg.maturity.history(full=True)
    body = got.to_dict()
    for g, w in zip(body["dimensions"], want["dimensions"], strict=True):
        assert [e["id"] for e in g["evidence"]] == [e["id"] for e in w["evidence"]]
        for eg, ew in zip(g["evidence"], w["evidence"], strict=True):
            assert (eg["figure"], eg["detail"], eg["implies"]) == (
                ew["figure"], ew["detail"], ew["implies"]), eg["id"]  # fmt: skip
        assert g["level"] == w["level"]
    assert body["overall"] == want["overall"] and body["disagreements"] == want["disagreements"]
    assert [r["assessment_id"] for r in rows] == [aid]
    assert rows[0]["result"] == {**body, "assessment_id": aid}
