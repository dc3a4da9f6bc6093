"""The gate: a domain model becomes active only if it beats the active scorer with its
interval; languages in the stored scores; ``GET /api/text/model`` and ``POST /api/text/train``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxray.cli import main
from cxray.text import (
    DEFAULT_MODEL_ID,
    SENTIMENT_TABLE,
    enrich_sentiment,
    model_info,
    resolve_model,
    store_language_gaps,
    train_store_model,
)
from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres
from tests.api.conftest import assert_envelope, make_api  # noqa: F401 - the fixture

GOOD = ["love it", "great help, thanks", "fast and friendly", "perfect, will recommend"]
BAD = ["slow and rude", "still broken, awful", "never again", "refund took forever"]
MEH = ["it was ok", "fine I guess", "average experience", "nothing special"]
NPS = (10, 2, 7)


def _rows(n: int = 150, *, random_labels: bool = False, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = i % 3
        nps = int(rng.choice(NPS)) if random_labels else NPS[kind]
        text = [GOOD, BAD, MEH][kind][i % 4] + f" order {i}"
        rows.append(
            {"response_id": f"R{i}", "submitted_at": "2025-01-01", "nps": nps, "comment": text}
        )
    return pd.DataFrame(rows)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _enrich_models(ws: Workspace) -> set[str]:
    """``cxray text enrich``'s scoring (the active scorer), then the models in the table."""
    enrich_sentiment(ws.store, *resolve_model(None, ws.store))
    t = ws.store.backend.table(SENTIMENT_TABLE)
    return set(t.model.to_pyarrow().to_pylist())


def test_a_losing_model_is_not_activated_and_force_activates_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "g.duckdb")
    with Workspace.open(db) as ws:
        ws.import_frame("responses", _rows())
        first = train_store_model(ws.store, ws.config)
        assert first.activated and first.previous == DEFAULT_MODEL_ID
        assert first.interval[0] > 0 and first.reason.startswith("activated")
        good_id = first.model_id
        assert _enrich_models(ws) == {good_id}
        # the same texts now carry random scores: a model learned from them is no better
        ws.import_frame("responses", _rows(random_labels=True, seed=1))
    code, out, err = run(capsys, "--db", db, "text", "train")
    assert code == 0, err
    assert "kept the active model: the new one scored" in out
    assert f"{good_id} stays active" in out and "--force" in out
    with Workspace.open(db) as ws:
        info = model_info(ws.store)
        second = info["last_training"]
        assert not second["activated"] and second["active"] == good_id
        assert second["difference"]["ci_low"] <= 0 and second["baseline"] == good_id
        assert info["active"]["model_id"] == good_id and info["active"]["kind"] == "domain"
        assert info["active"]["evaluation"]["activated"] is True
        assert _enrich_models(ws) == {good_id}  # scoring still uses the old one
    code, out, err = run(capsys, "--db", db, "text", "train", "--force", "--json")
    forced = json.loads(out)
    assert code == 0 and forced["activated"] and forced["forced"]
    assert "because of --force" in forced["reason"]
    with Workspace.open(db) as ws:
        assert _enrich_models(ws) == {forced["model_id"]} != {good_id}


def test_random_labels_do_not_replace_the_default_scorer(tmp_path):
    with Workspace.open(tmp_path / "r.duckdb", tmp_path / "cxray.toml") as ws:
        ws.import_frame("responses", _rows(120, random_labels=True, seed=4))
        report = train_store_model(ws.store, ws.config)
        assert not report.activated and report.active == DEFAULT_MODEL_ID
        assert report.reason.startswith("kept the active model: the new one scored")
        lo, hi = report.interval
        assert lo <= 0 <= hi or hi < 0
        info = model_info(ws.store)
        assert info["active"]["kind"] == "default" and info["active"]["languages"] == ["en"]
        assert info["last_training"]["model_id"] == report.model_id
        out = enrich_sentiment(ws.store)
        assert out.model == DEFAULT_MODEL_ID


PT = [
    "O produto chegou muito rápido e a qualidade é ótima, recomendo a todos",
    "Não recebi o pedido até agora e ninguém responde as minhas mensagens",
]


def _mixed(ws: Workspace) -> None:
    rows = pd.DataFrame(
        {
            "response_id": ["E1", "E2", "P1", "P2", "P3"],
            "submitted_at": ["2026-01-05"] * 5,
            "comment": [
                "The staff were lovely and the room was very clean, thank you",
                "The parcel was late and the support was awful",
                PT[0],
                PT[1],
                PT[0],
            ],
        }
    )
    ws.import_frame("responses", rows)


def test_unsupported_languages_are_stored_unscored_with_their_language(tmp_path):
    with Workspace.open(tmp_path / "l.duckdb", tmp_path / "cxray.toml") as ws:
        _mixed(ws)  # the import scored them
        t = ws.store.backend.table(SENTIMENT_TABLE).to_pandas().set_index("row_key")
        assert t.loc["E1", "language"] == "en" and t.loc["E1", "sentiment_label"] == "positive"
        assert (t.loc[["P1", "P2", "P3"], "language"] == "pt").all()
        assert t.loc[["P1", "P2", "P3"], "sentiment_score"].isna().all()
        assert t.loc[["P1", "P2", "P3"], "sentiment_label"].isna().all()
        gaps = store_language_gaps(ws.store, ws.config)
        assert [(g.code, g.n) for g in gaps] == [("pt", 3)]
        assert gaps[0].message.startswith("Portuguese: 3 texts") and "cxray text train" in (
            gaps[0].message
        )
        again = enrich_sentiment(ws.store)
        assert again.scored == 0  # unscored is a result too: nothing to redo
        rows = pd.DataFrame(
            {"response_id": ["P9"], "submitted_at": ["2026-01-05"], "comment": [PT[1]]}
        )
        report = ws.import_frame("responses", rows)  # the import's report says it too
        assert report.sentiment["unscored"] == 1
        assert report.sentiment["language_gaps"][0]["code"] == "pt"


def test_an_older_text_sentiment_table_gets_its_language_column(tmp_path):
    with Workspace.open(tmp_path / "o.duckdb", tmp_path / "cxray.toml") as ws:
        _mixed(ws)
        b = ws.store.backend
        b.raw_sql(f"ALTER TABLE {SENTIMENT_TABLE} DROP COLUMN language")
        assert "language" not in b.table(SENTIMENT_TABLE).schema()
        report = enrich_sentiment(ws.store)
        assert "language" in b.table(SENTIMENT_TABLE).schema()
        assert report.scored == 5  # scored again once, to know their languages
        assert report.languages == {"pt": 3, "en": 2}
        assert [g.to_dict()["n"] for g in report.gaps] == [3]


def test_model_and_train_over_http(make_api):  # noqa: F811 - the fixture
    api = make_api(lambda ws: ws.import_frame("responses", _rows()))
    got = api.get("/api/text/model", role="viewer")
    assert got.status_code == 200, got.text
    assert got.json()["active"]["model_id"] == DEFAULT_MODEL_ID
    assert got.json()["last_training"] is None
    denied = assert_envelope(api.post("/api/text/train", role="viewer"), 403, "forbidden")
    assert "train" in denied["message"]
    done = api.post("/api/text/train", role="analyst", json={"force": False, "seed": 42})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["activated"] and body["difference"]["ci_low"] > 0
    assert body["macro_f1_domain_interval"]["n"] == body["n_test"]
    info = api.get("/api/text/model", role="viewer").json()
    assert info["active"]["model_id"] == body["model_id"] and info["active"]["n_train"] == 150
    assert info["active"]["languages"] == body["languages"]
    bad = api.post("/api/text/train", role="admin", json={"test_size": 0.9})
    assert_envelope(bad, 422, "invalid_request")


@needs_postgres
def test_gate_and_languages_on_postgres(tmp_path):
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as ws:
        ws.import_frame("responses", _rows(120))
        report = train_store_model(ws.store, ws.config)
        assert report.activated
        _mixed(ws)
        gaps = store_language_gaps(ws.store, ws.config)
        assert [(g.code, g.n) for g in gaps] == [("pt", 3)]
        assert model_info(ws.store)["active"]["model_id"] == report.model_id
