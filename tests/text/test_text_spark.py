"""Text analytics and Apache Spark.

What runs on Spark: the texts' derived tables (``text_sentiment``, ``text_themes``, which
``cxray text enrich`` writes in the store) read through a table source, as the feature
layer does for drivers and churn (each response's comment sentiment and theme flags);
on a local SparkSession they equal DuckDB's.

What does not: a store on Spark. Imports, text enrichment and the Text page's kept reports
delete and replace rows in transactions, which Spark tables do not support; a ``pyspark://``
store is refused at once with what to do (no Spark needed to check that).
"""

from __future__ import annotations

import pandas as pd
import pytest

from cxray.cli import main
from cxray.exceptions import StoreError
from cxray.features import Features
from cxray.store import Store
from cxray.workspace import Workspace
from tests._backends import TABLES, assert_same, on_spark

TEXT_TABLES = ("text_sentiment", "text_themes")


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    """A small demo world, its texts scored and their themes stored (`cxray text enrich`)."""
    from cxray.text import assign_store_themes, enrich_sentiment

    path = tmp_path_factory.mktemp("text-spark")
    with Workspace.open(path / "demo.duckdb", path / "cxray.toml") as ws:
        ws.load_demo(seed=7, customers=800, months=3)
        enrich_sentiment(ws.store, tables=["responses"])
        assign_store_themes(ws.store, ws.config, tables=["responses"])
        yield ws


def spark_source(spark, ws, folder):
    """Every table of ``ws`` the feature layer reads, the text tables too, on Spark."""
    import ibis

    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in (*TABLES, *TEXT_TABLES):
        file = folder / f"cxt_{name}.parquet"
        ws.table(name).to_parquet(file)
        spark.read.parquet(str(file)).cache().createOrReplaceTempView(f"cxt_{name}")
        tables[name] = con.table(f"cxt_{name}")
    return tables.__getitem__


def text_features(source, config) -> pd.DataFrame:
    f = Features(source, config)
    assert f.has_sentiment and f.themes  # the text features are there on this backend
    cols = ["response_id", "comment_sentiment", *[f"theme_{t}" for t in f.themes]]
    got = f.responses().select(*cols).to_pandas()
    return got.sort_values("response_id").reset_index(drop=True)


@on_spark
def test_comment_sentiment_and_themes_on_spark_equal_duckdb(duck, spark, tmp_path):
    want = text_features(duck.table, duck.config)
    scored = want["comment_sentiment"].notna()
    assert scored.sum() >= 80, scored.sum()  # the demo's comments were scored
    assert (want.filter(like="theme_") == 1).to_numpy().sum() >= 20  # and matched to themes
    got = text_features(spark_source(spark, duck, tmp_path), duck.config)
    assert list(got.columns) == list(want.columns)
    assert_same(got.to_dict("records"), want.to_dict("records"), "text features")


def test_a_store_on_spark_is_refused_with_what_to_do(tmp_path, monkeypatch, capsys):
    with pytest.raises(StoreError, match="Apache Spark cannot hold a cxray store"):
        Store("pyspark://")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["--db", "pyspark://", "text", "enrich"])
    assert exc.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "Spark cannot hold a cxray store" in err and "DuckDB or PostgreSQL" in err
    assert not (tmp_path / "spark-warehouse").exists()  # nothing was created
