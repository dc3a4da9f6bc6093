"""``cxray text score|train|enrich`` in-process: output rows, store enrichment, clear errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cxray.cli import main
from cxray.text import SENTIMENT_TABLE
from cxray.workspace import Workspace


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "t.duckdb")


CSV = (
    'id,comment,extra\n1,I love it,a\n2,"Terrible, broken on arrival",b\n3,,c\n4,It is a shirt,d\n'
)


def test_score_csv_to_stdout_and_json(capsys, db, write):
    p = write("c.csv", CSV)
    code, out, err = run(capsys, "--db", db, "text", "score", str(p), "--column", "comment")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "id",
        "comment",
        "extra",
        "sentiment_label",
        "sentiment_score",
        "language",
    ]
    assert [r["sentiment_label"] for r in rows] == ["positive", "negative", "", "neutral"]
    assert rows[2]["language"] == ""  # no text, no language
    assert rows[2]["sentiment_score"] == "" and -1 <= float(rows[1]["sentiment_score"]) < 0
    code, out, _ = run(capsys, "text", "score", str(p), "-c", "comment", "--format", "json")
    recs = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and recs[0]["sentiment_label"] == "positive" and recs[0]["extra"] == "a"
    assert recs[2]["sentiment_score"] is None


def test_score_jsonl_to_file(capsys, db, write, tmp_path):
    p = write("m.jsonl", '{"t": "awful service", "n": 1}\n{"t": "great", "n": 2}\n')
    out_path = tmp_path / "scored.csv"
    code, out, err = run(capsys, "text", "score", str(p), "-c", "t", "-o", str(out_path))
    assert code == 0 and out == "" and "scored 2 rows" in err
    lines = [json.loads(x) for x in out_path.read_text().splitlines()]
    assert [r["sentiment_label"] for r in lines] == ["negative", "positive"]
    assert lines[0]["n"] == 1


def test_score_leaves_unsupported_languages_unscored_with_a_warning(capsys, db, write):
    p = write(
        "pt.csv",
        "id,comment\n1,I love it and the staff were great\n"
        '2,"O produto chegou muito rápido e a qualidade é ótima, recomendo a todos"\n'
        '3,"Não recebi o pedido até agora e ninguém responde as minhas mensagens"\n',
    )
    code, out, err = run(capsys, "--db", db, "text", "score", str(p), "-c", "comment")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["language"] for r in rows] == ["en", "pt", "pt"]
    assert rows[0]["sentiment_label"] == "positive"
    assert [r["sentiment_label"] for r in rows[1:]] == ["", ""]
    assert [r["sentiment_score"] for r in rows[1:]] == ["", ""]
    assert "Portuguese: 2 texts" in err and "cxray text train" in err


def test_score_bad_inputs_one_clear_line(capsys, db, write, tmp_path):
    p = write("c.csv", CSV)
    code, _, err = run(capsys, "text", "score", str(p), "--column", "text")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "c.csv" in err and "'text'" in err
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    code, _, err = run(capsys, "text", "score", str(binary), "--column", "text")
    assert code == 1 and "not a text file" in err
    code, _, err = run(capsys, "text", "score", str(tmp_path / "nope.csv"), "-c", "x")
    assert code == 1 and "no such file" in err
    code, _, err = run(
        capsys, "--db", db, "text", "score", str(p), "-c", "comment", "--model", "domain"
    )
    assert code == 1 and ("cxray text train" in err or "no cxray store" in err)


def _labelled_store(db: str) -> None:
    good = ["love it", "great help, thanks", "fast and friendly", "perfect, will recommend"]
    bad = ["slow and rude", "still broken, awful", "never again", "refund took forever"]
    meh = ["it was ok", "fine I guess", "average experience", "nothing special"]
    rows = []
    for i in range(90):
        kind = i % 3
        text = [good, bad, meh][kind][i % 4] + f" order {i}"
        nps = [10, 2, 7][kind]
        rows.append(
            {"response_id": f"R{i}", "submitted_at": "2025-01-01", "nps": nps, "comment": text}
        )
    import pandas as pd

    with Workspace.open(db) as ws:
        ws.import_frame("responses", pd.DataFrame(rows))


def test_train_enrich_and_score_with_domain_model(capsys, db, write):
    _labelled_store(db)
    code, out, err = run(capsys, "--db", db, "text", "train", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["n_train"] + report["n_test"] == 90 and report["sources"]["responses"] == 90
    assert report["model_id"].startswith("domain-")
    code, out, _ = run(capsys, "--db", db, "text", "enrich", "--json")
    first = json.loads(out)
    assert code == 0 and first["scored"] == 90 and first["model"] == report["model_id"]
    code, out, _ = run(capsys, "--db", db, "text", "enrich", "--json")
    assert json.loads(out)["scored"] == 0  # idempotent
    with Workspace.open(db) as ws:
        changed = ws.import_frame(
            "responses",
            pd_frame([{"response_id": "R1", "submitted_at": "2025-01-01", "comment": "now great"}]),
        )
    # the import scored the changed row itself, with the store's domain model
    assert changed.sentiment["scored"] == 1 and changed.sentiment["model"] == report["model_id"]
    code, out, _ = run(capsys, "--db", db, "text", "enrich", "--json")
    assert json.loads(out)["scored"] == 0  # nothing left to do
    code, out, _ = run(capsys, "--db", db, "text", "enrich", "--model", "default", "--json")
    assert json.loads(out)["scored"] == 90 and json.loads(out)["model"] == "general-v2"
    with Workspace.open(db, read_only=True) as ws:
        t = ws.store.backend.table(SENTIMENT_TABLE)
        assert t.count().to_pyarrow().as_py() == 90
        assert set(t.model.to_pyarrow().to_pylist()) == {"general-v2"}
    p = write("c.csv", CSV)
    code, out, _ = run(capsys, "--db", db, "text", "score", str(p), "-c", "comment")
    domain = list(csv.DictReader(io.StringIO(out)))
    code, out, _ = run(
        capsys, "--db", db, "text", "score", str(p), "-c", "comment", "--model", "default"
    )
    default = list(csv.DictReader(io.StringIO(out)))
    assert [r["sentiment_score"] for r in domain] != [r["sentiment_score"] for r in default]


def pd_frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)


def test_train_with_too_little_data_is_one_clear_error(capsys, db):
    code, _, err = run(capsys, "--db", db, "text", "train")
    assert code == 1 and "too little labelled text" in err
