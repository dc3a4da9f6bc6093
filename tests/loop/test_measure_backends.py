"""Portability: the loop's measures and KPIs on PostgreSQL and Apache Spark equal DuckDB's.

The hand-counted store of ``test_measure.py`` is built in DuckDB; on PostgreSQL the same
rows are imported into a store of its own, and Spark reads the DuckDB store's tables from
Parquet. ``Loop.measure`` and the four loop KPIs (by month and a customer attribute) must
give equal results (floats to 1e-9 relative). The demo's closed loop also runs on a
PostgreSQL store and measures the same as on DuckDB.
"""

from __future__ import annotations

from pathlib import Path

from cxray.loop._measure import measure
from cxray.loop._records import insert_rows
from cxray.metrics import scorecard
from cxray.store import FOLLOWUPS
from cxray.store._migrations import FOLLOWUPS_SCHEMA
from cxray.workspace import Workspace
from tests._backends import (
    TABLES,
    assert_same,
    fresh_postgres,
    needs_postgres,
    on_spark,
    require_backends_under_ci,
)
from tests.loop.test_measure import CONFIG, CUSTOMERS, NOW, RESPONSES, _build, _followups

require_backends_under_ci("the loop's measures")

LOOP_KPIS = ["followup_rate", "time_to_contact", "sla_met", "recovery_rate"]
CARDS = ({"metrics": LOOP_KPIS, "by": ["region"], "period": "month"},)


def _same_results(source, duck: Workspace, config) -> None:
    assert_same(measure(source, config, now=NOW).to_dict(), duck.loop.measure(now=NOW).to_dict())
    for kw in CARDS:
        want = duck.scorecard(**kw).records()
        assert {r["metric"] for r in want} == set(LOOP_KPIS)
        assert_same(scorecard(source, config, **kw).records(), want)


@needs_postgres
def test_measures_and_kpis_on_postgres_equal_duckdb(tmp_path):
    url = fresh_postgres()
    with _build(tmp_path) as duck, Workspace.open(url, tmp_path / "cxray.toml") as pg:
        pg.import_frame("customers", CUSTOMERS)
        pg.import_frame("responses", RESPONSES)
        insert_rows(pg.store, FOLLOWUPS, FOLLOWUPS_SCHEMA, _followups())
        _same_results(pg.table, duck, pg.config)
        assert pg.loop.measure(now=NOW).followup_rate.n == 7


@on_spark
def test_measures_and_kpis_on_spark_equal_duckdb(tmp_path, spark):
    import ibis

    con = ibis.pyspark.connect(spark)
    with _build(tmp_path) as duck:
        tables = {}
        for name in (*TABLES, FOLLOWUPS):
            file = Path(tmp_path) / f"lm_{name}.parquet"
            duck.table(name).to_parquet(file)
            spark.read.parquet(str(file)).createOrReplaceTempView(f"lm_{name}")
            tables[name] = con.table(f"lm_{name}")
        _same_results(tables.__getitem__, duck, duck.config)


@needs_postgres
def test_the_demo_loop_on_postgres_measures_as_on_duckdb(tmp_path):
    url = fresh_postgres()
    (tmp_path / "cxray.toml").write_text(CONFIG)
    kw = {"seed": 3, "customers": 400, "months": 4, "loop": True}
    with Workspace.open(tmp_path / "d.duckdb", tmp_path / "cxray.toml") as duck:
        a = duck.load_demo(**kw).loop
        want = duck.loop.measure(now=NOW.replace(year=2027)).to_dict()
    with Workspace.open(url, tmp_path / "cxray.toml") as pg:
        b = pg.load_demo(**kw).loop
        got = pg.loop.measure(now=NOW.replace(year=2027)).to_dict()
    assert (b.alerts, b.followups, b.fates, b.answers_changed) == (
        a.alerts,
        a.followups,
        a.fates,
        a.answers_changed,
    )
    assert b.mismatched == 0 and b.followups > 20
    assert_same(got, want)
