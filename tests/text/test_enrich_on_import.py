"""Sentiment kept up to date by imports: new and changed texts scored as they arrive."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from cxray.text import SENTIMENT_TABLE, GeneralSentiment, LexiconSentiment, enrich_sentiment
from cxray.text._enrich import _score_distinct
from cxray.workspace import Workspace

RESPONSES = """response_id,submitted_at,nps,comment
R1,2026-01-05,10,"I love it, great service!"
R2,2026-01-05,2,Terrible. The parcel never arrived and support was rude.
R3,2026-01-06,8,
R4,2026-01-06,7,It is a blue shirt.
R5,2026-01-07,9,"I love it, great service!"
"""


def scores(ws: Workspace, table: str = "responses") -> dict[tuple[str, str], dict]:
    t = ws.store.backend.table(SENTIMENT_TABLE)
    rows = t.filter(t.table_name == table).to_pyarrow().to_pylist()
    return {(r["row_key"], r["field"]): r for r in rows}


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_import_scores_its_comments(ws, write):
    report = ws.import_files("responses", [write("r.csv", RESPONSES)])
    assert report.sentiment["scored"] == 4 and report.sentiment["model"] == "general-v2"
    assert report.to_dict()["sentiment"] == report.sentiment
    got = scores(ws)
    assert set(got) == {("R1", "comment"), ("R2", "comment"), ("R4", "comment"), ("R5", "comment")}
    texts = {
        "R1": "I love it, great service!",
        "R2": "Terrible. The parcel never arrived and support was rude.",
        "R4": "It is a blue shirt.",
        "R5": "I love it, great service!",
    }
    labels, expected = GeneralSentiment().score_texts(list(texts.values()))
    for (key, text), label, score in zip(texts.items(), labels, expected, strict=True):
        row = got[(key, "comment")]
        assert row["sentiment_score"] == pytest.approx(score, abs=1e-12)
        assert row["sentiment_label"] == label
        assert row["text_hash"] == md5(text)
    assert [got[(k, "comment")]["sentiment_label"] for k in ("R1", "R2", "R4")] == [
        "positive",
        "negative",
        "neutral",
    ]
    # nothing left for `cxray text enrich`
    assert enrich_sentiment(ws.store).scored == 0


def test_reimport_rescores_exactly_the_changed_texts(ws, write):
    ws.import_files("responses", [write("r.csv", RESPONSES)])
    before = scores(ws)
    changed = (
        RESPONSES.replace("R4,2026-01-06,7,It is a blue shirt.", "R4,2026-01-06,7,Awful shirt.")
        .replace("R3,2026-01-06,8,", "R3,2026-01-06,8,Lovely!")
        .replace('R5,2026-01-07,9,"I love it, great service!"', "R5,2026-01-07,9,")
        + "R6,2026-01-08,6,Slow delivery\n"
    )
    report = ws.import_files("responses", [write("r2.csv", changed)])
    r = report.result
    assert (r.added, r.updated, r.unchanged) == (1, 3, 2)
    (f,) = report.sentiment["fields"]
    # R3 (now has text), R4 (changed), R6 (new); R5's text is gone, so is its score
    assert (f["scored"], f["removed"], f["texts"]) == (3, 1, 3)
    after = scores(ws)
    assert set(after) == {(k, "comment") for k in ("R1", "R2", "R3", "R4", "R6")}
    for key in ("R1", "R2"):  # untouched rows keep their scores, not re-written
        assert after[(key, "comment")] == before[(key, "comment")]
    assert after[("R4", "comment")]["sentiment_label"] == "negative"
    assert after[("R4", "comment")]["text_hash"] == md5("Awful shirt.")
    assert after[("R3", "comment")]["sentiment_label"] == "positive"
    # an identical re-import changes nothing and scores nothing
    again = ws.import_files("responses", [write("r3.csv", changed)])
    assert again.result.unchanged == 6 and again.sentiment is None
    assert scores(ws) == after
    assert enrich_sentiment(ws.store).scored == 0


def test_cases_score_subject_and_description_and_frames_too(ws):
    frame = pd.DataFrame(
        {
            "case_id": ["C1", "C2"],
            "opened_at": ["2026-02-01", "2026-02-02"],
            "subject": ["Broken charger", "Thanks!"],
            "description": ["It stopped working, awful.", None],
        }
    )
    report = ws.import_frame("cases", frame)
    assert {(f["field"], f["scored"]) for f in report.sentiment["fields"]} == {
        ("subject", 2),
        ("description", 1),
    }
    assert set(scores(ws, "cases")) == {
        ("C1", "subject"),
        ("C2", "subject"),
        ("C1", "description"),
    }


def test_dry_runs_tables_without_text_and_the_switch_score_nothing(tmp_path, write):
    path = write("r.csv", RESPONSES)
    with Workspace.open(tmp_path / "a.duckdb", tmp_path / "none.toml") as ws:
        assert ws.import_files("responses", [path], dry_run=True).sentiment is None
        customers = write("c.csv", "customer_id,created_at\nC1,2026-01-01\n")
        assert ws.import_files("customers", [customers]).sentiment is None
        assert SENTIMENT_TABLE not in ws.store.backend.list_tables()
    toml = write("cxray.toml", "[text]\nenrich_on_import = false\n")
    with Workspace.open(tmp_path / "b.duckdb", toml) as ws:
        report = ws.import_files("responses", [path])
        assert report.result.added == 5 and report.sentiment is None
        assert SENTIMENT_TABLE not in ws.store.backend.list_tables()
        assert enrich_sentiment(ws.store).scored == 4  # `cxray text enrich` still does it


def test_each_distinct_text_scored_once_with_the_same_result():
    import pyarrow as pa

    texts = pa.chunked_array([["good", "bad", "good", "meh", "bad", "good"]])
    calls = []

    class Counting(LexiconSentiment):
        def score_texts(self, batch):
            calls.append(list(batch))
            return super().score_texts(batch)

    labels, got, langs = _score_distinct(Counting(), texts, {"en", "und"})
    assert calls == [["good", "bad", "meh"]]
    want_labels, want = LexiconSentiment().score_texts(texts.to_pylist())
    np.testing.assert_array_equal(got, want)
    assert labels.to_pylist() == list(want_labels)
    assert list(langs) == ["und"] * 6  # one word: too short to tell


def test_texts_of_unsupported_languages_are_not_scored_nor_sent_to_the_model():
    import pyarrow as pa

    pt = "Não recebi o pedido até agora e ninguém responde as minhas mensagens"
    en = "The parcel was late and the support was awful, I hate it"
    calls = []

    class Counting(LexiconSentiment):
        def score_texts(self, batch):
            calls.append(list(batch))
            return super().score_texts(batch)

    labels, got, langs = _score_distinct(Counting(), pa.chunked_array([[pt, en, pt]]), {"en"})
    assert calls == [[en]] and list(langs) == ["pt", "en", "pt"]
    assert labels.to_pylist() == [None, "negative", None]
    assert np.isnan(got[[0, 2]]).all() and got[1] < 0


PG_URL = os.environ.get("CXRAY_TEST_POSTGRES_URL")


@pytest.mark.skipif(
    not PG_URL and not os.environ.get("CI"), reason="no PostgreSQL (set CXRAY_TEST_POSTGRES_URL)"
)
def test_import_scores_on_postgres_too(tmp_path, write):
    import ibis

    assert PG_URL, "CXRAY_TEST_POSTGRES_URL is not set under CI (.ci/run starts PostgreSQL)"
    con = ibis.connect(PG_URL)
    con.raw_sql("DROP OWNED BY CURRENT_USER").close()
    con.raw_sql("CREATE SCHEMA IF NOT EXISTS public").close()
    con.disconnect()
    with Workspace.open(PG_URL, tmp_path / "cxray.toml") as ws:
        first = ws.import_files("responses", [write("r.csv", RESPONSES)])
        assert first.sentiment["scored"] == 4
        changed = RESPONSES.replace("It is a blue shirt.", "Awful shirt.")
        second = ws.import_files("responses", [write("r2.csv", changed)])
        assert second.sentiment["scored"] == 1
        got = scores(ws)
        assert got[("R4", "comment")]["text_hash"] == md5("Awful shirt.")
        assert got[("R4", "comment")]["sentiment_label"] == "negative"
        assert enrich_sentiment(ws.store).scored == 0


def stored(ws: Workspace, table: str = "responses") -> dict[str, str]:
    from cxray.text import THEMES_TABLE

    t = ws.store.backend.table(THEMES_TABLE)
    rows = t.filter(t.table_name == table).to_pyarrow().to_pylist()
    return {r["row_key"]: r["themes"] for r in rows}


def test_import_stores_taxonomy_themes_and_reports_use_them(ws, write):
    from cxray.text import Taxonomy, assign_store_themes, theme_report

    report = ws.import_files("responses", [write("r.csv", RESPONSES)])
    assert report.sentiment["themes"] == {"matched": 4, "removed": 0}
    tx = Taxonomy.from_config(ws.config)
    # "great service" alone is praise, not a support contact: the taxonomy's support theme
    # needs contact context, so R1 and R5 match no theme
    assert stored(ws) == {
        "R1": "||",
        "R2": "|delivery|support|",
        "R4": "||",
        "R5": "||",
    }
    assert tx.assign(["Terrible. The parcel never arrived and support was rude."]) == [
        ("delivery", "support")
    ]
    fresh = theme_report(ws.store, ws.config).to_dict()
    changed = RESPONSES.replace("It is a blue shirt.", "The app crashed at checkout")
    again = ws.import_files("responses", [write("r2.csv", changed)])
    assert again.sentiment["themes"] == {"matched": 1, "removed": 0}
    assert stored(ws)["R4"] == "|digital|"
    after = theme_report(ws.store, ws.config).to_dict()
    volumes = {t["id"]: t["volume"] for t in after["themes"]}
    assert volumes["digital"] == 1 and volumes["support"] == 1 and after["unthemed"] == 2
    assert {t["id"]: t["volume"] for t in fresh["themes"]}["digital"] == 0
    # stored or matched on the fly: the same report
    from cxray.text import THEMES_TABLE

    ws.store.backend.drop_table(THEMES_TABLE)
    assert theme_report(ws.store, ws.config).to_dict() == after
    assert assign_store_themes(ws.store, ws.config)["responses"] == {"matched": 4, "removed": 0}
    assert assign_store_themes(ws.store, ws.config)["responses"] == {"matched": 0, "removed": 0}


def test_an_edited_taxonomy_is_matched_anew(tmp_path, write):
    from cxray.config import load_program_config
    from cxray.text import assign_store_themes, theme_report

    with Workspace.open(tmp_path / "a.duckdb", tmp_path / "none.toml") as ws:
        ws.import_files("responses", [write("r.csv", RESPONSES)])
    toml = write("cxray.toml", '[themes.shirts]\nlabel = "Shirts"\nkeywords = ["shirt"]\n')
    with Workspace.open(tmp_path / "a.duckdb", toml) as ws:
        report = theme_report(ws.store, ws.config).to_dict()
        assert [(t["id"], t["volume"]) for t in report["themes"]] == [("shirts", 1)]
        assert assign_store_themes(ws.store, load_program_config(toml))["responses"]["matched"] == 4
        assert stored(ws)["R4"] == "|shirts|" and stored(ws)["R1"] == "||"


def test_many_batches_all_scored_and_matched(ws):
    from cxray.text import assign_store_themes

    n = 2_500
    frame = pd.DataFrame(
        {
            "response_id": [f"R{i:05d}" for i in range(n)],
            "submitted_at": ["2026-01-05"] * n,
            "comment": [f"late parcel number {i}, awful" for i in range(n)],
        }
    )
    from cxray.config import ProgramConfig

    quiet = Workspace(ws.store, ProgramConfig(text={"enrich_on_import": False}))
    quiet.import_frame("responses", frame)
    report = enrich_sentiment(ws.store, batch_size=1_000)
    assert report.scored == n
    assert ws.store.backend.table(SENTIMENT_TABLE).count().to_pyarrow().as_py() == n
    assert enrich_sentiment(ws.store, batch_size=1_000).scored == 0
    assert assign_store_themes(ws.store, ws.config, batch_size=1_000)["responses"]["matched"] == n
    # "late" is a delivery word and a waiting word of the taxonomy
    assert set(stored(ws).values()) == {"|delivery|waiting|"} and len(stored(ws)) == n


def test_a_bulk_load_over_the_limit_is_left_to_enrich(tmp_path, write):
    toml = write("cxray.toml", "[text]\nenrich_on_import_max_rows = 4\n")
    with Workspace.open(tmp_path / "a.duckdb", toml) as ws:
        report = ws.import_files("responses", [write("r.csv", RESPONSES)])
        assert report.result.added == 5
        assert "enrich_on_import_max_rows = 4" in report.sentiment["skipped"]
        assert "cxray text enrich" in report.sentiment["skipped"]
        assert SENTIMENT_TABLE not in ws.store.backend.list_tables()
        assert enrich_sentiment(ws.store).scored == 4
        # a small import after it is scored as usual
        small = ws.import_files("responses", [write("s.csv", RESPONSES.replace("shirt", "hat"))])
        assert small.sentiment["scored"] == 1
    bad = write("bad.toml", "[text]\nenrich_on_import_max_rows = -1\n")
    from cxray.config import load_program_config
    from cxray.exceptions import ConfigError

    with pytest.raises(ConfigError, match="enrich_on_import_max_rows"):
        load_program_config(bad)
