"""The Text page's reports on PostgreSQL equal DuckDB's.

The themes report reads each text's stored sentiment (averaged where the data lives) and
stored themes, and the FAQ report each text's stored language; both place them by key
in Arrow. The same demo world, enriched the same way on both backends, must give the
same report: theme volumes, shares, sentiment, monthly series, quotes; FAQ groups.
"""

from __future__ import annotations

import math

from cxray.text import assign_store_themes, enrich_sentiment
from cxray.text._faq import faq_candidates
from cxray.text._themes import themes_with_documents
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres


def _world(url, config_path):
    ws = Workspace.open(url, config_path)
    ws.load_demo(seed=11, customers=1500, months=6)
    enrich_sentiment(ws.store, tables=["responses", "cases"])
    assign_store_themes(ws.store, ws.config, tables=["responses", "cases"])
    return ws


def _num(x):
    return None if x is None or math.isnan(x) else round(x, 9)


def _summary(ws, table):
    report, docs, matrix = themes_with_documents(ws.store, ws.config, table=table)
    out = {}
    for t in report.themes:
        out[t.id] = (
            t.volume,
            _num(t.share.estimate),
            _num(t.sentiment.estimate),
            [(m["month"], m["volume"], m["texts"]) for m in t.months],
            list(t.quotes),
        )
    return len(docs), out, matrix.sum(axis=0).tolist()


@needs_postgres
def test_themes_and_faq_reports_equal_on_postgres_and_duckdb(tmp_path):
    duck = _world(tmp_path / "d.duckdb", tmp_path / "d.toml")
    pg = _world(fresh_postgres(), tmp_path / "p.toml")
    try:
        for table in ("responses", "cases"):
            n_d, themes_d, cols_d = _summary(duck, table)
            n_p, themes_p, cols_p = _summary(pg, table)
            assert n_d == n_p > 50
            assert cols_d == cols_p and sum(cols_d) > 0
            assert themes_d == themes_p
            assert any(v[4] for v in themes_d.values())  # quotes shown
            # the monthly series count every text once per month
            for _, _, _, months, _ in themes_d.values():
                assert sum(m[2] for m in months) == n_d
        f_d = faq_candidates(duck.store, duck.config).to_dict()
        f_p = faq_candidates(pg.store, pg.config).to_dict()
        assert f_d["n_questions"] == f_p["n_questions"] > 0
        assert f_d["candidates"]
        assert [c["label"] for c in f_d["candidates"]] == [c["label"] for c in f_p["candidates"]]
        assert [c["volume"] for c in f_d["candidates"]] == [c["volume"] for c in f_p["candidates"]]
    finally:
        duck.close()
        pg.close()


def test_sentiment_of_a_case_is_the_mean_of_its_fields(tmp_path):
    ws = _world(tmp_path / "d.duckdb", tmp_path / "d.toml")
    try:
        from cxray.text import SENTIMENT_TABLE

        s = ws.store.backend.table(SENTIMENT_TABLE)
        rows = s.filter(s.table_name == "cases").to_pandas()
        want = rows.groupby("row_key")["sentiment_score"].mean()
        _, docs, _ = themes_with_documents(ws.store, ws.config, table="cases")
        got = dict(zip(docs.keys, docs.score, strict=True))
        both = [k for k in want.index if k in got]
        assert len(both) > 50
        assert all(math.isclose(got[k], want[k], abs_tol=1e-12) for k in both)
        label = {k: lab for k, lab in zip(docs.keys, docs.label, strict=True)}
        for k in both:
            expect = (
                "positive" if want[k] >= 0.05 else "negative" if want[k] <= -0.05 else "neutral"
            )
            assert label[k] == expect
    finally:
        ws.close()
