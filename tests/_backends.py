"""The other backends the analyses are tested on: PostgreSQL and Apache Spark (local).

One place for what every portability test needs: whether each backend is here (under CI a
missing one fails the run instead of skipping), a clean PostgreSQL database, the one
SparkSession of the test session (``spark`` fixture in ``tests/conftest.py``), a store's
tables read by Spark from Parquet, and equality of results (floats to 1e-9 relative).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

POSTGRES_URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")
TABLES = ("customers", "responses", "cases", "orders", "events", "mentions")


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.isdir(java_home)):
        return "no Java runtime for PySpark (install OpenJDK 17+ or set JAVA_HOME)"
    return None


SPARK_MISSING = _spark_missing()

#: marks for a test on PostgreSQL / on Spark: skipped with the reason when the backend is
#: missing, a failure under CI (``CI`` set), where both must run
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)"
)
needs_spark = [
    pytest.mark.spark,
    pytest.mark.skipif(SPARK_MISSING is not None, reason=str(SPARK_MISSING)),
    # PySpark 4.0 passes pandas 3 a deprecated keyword when it converts results; not ours
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def on_spark(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test as one that runs on Spark (see ``needs_spark``)."""
    for mark in reversed(needs_spark):
        test = mark(test)
    return test


def require_backends_under_ci(what: str) -> None:
    """Fail the module at import under CI when a backend is missing."""
    if not os.environ.get("CI"):
        return
    if not POSTGRES_URL:
        pytest.fail("CXRAY_TEST_POSTGRES_URL is not set under CI (.ci/run starts PostgreSQL)",
                    pytrace=False)  # fmt: skip
    if SPARK_MISSING:
        pytest.fail(f"{SPARK_MISSING}; CI runs {what} on Spark too", pytrace=False)


def fresh_postgres() -> str:
    """The test database, emptied; its URL."""
    import ibis

    assert POSTGRES_URL
    con = ibis.connect(POSTGRES_URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()  # a clean database
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    return POSTGRES_URL


def start_spark(base: Path) -> Any:
    """A local SparkSession for tests: two threads, one shuffle partition, no UI, UTC."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("cxray-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "false")  # re-planning costs more than it saves
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={base}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_tables(spark: Any, ws: Any, folder: Path, prefix: str) -> Callable[[str], Any]:
    """A table source over Spark: each canonical table of ``ws`` written to Parquet, read
    once and cached, as a temporary view ``<prefix>_<table>``."""
    import ibis

    con = ibis.pyspark.connect(spark)
    tables = {}
    for name in TABLES:
        file = folder / f"{prefix}_{name}.parquet"
        ws.table(name).to_parquet(file)
        frame = spark.read.parquet(str(file)).cache()  # read once, not by every query
        frame.createOrReplaceTempView(f"{prefix}_{name}")
        tables[name] = con.table(f"{prefix}_{name}")
    return tables.__getitem__


def assert_same(got: Any, want: Any, where: str = "") -> None:
    """Equal results: floats to 1e-9 relative (NaN equals NaN), everything else exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            assert_same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and isinstance(got, float):
        same = (math.isnan(got) and math.isnan(want)) or math.isclose(
            got, want, rel_tol=1e-9, abs_tol=1e-9
        )
        assert same, (where, got, want)
    else:
        assert got == want, (where, got, want)
