"""Without ``cxray[text]``, asking for the embedding sentiment head is one clear error.

Runs in the main test environment, where the extra is not installed; skipped where it is
(``tests/text/test_embeddings.py`` tests the head itself there).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cxray.cli import app, main
from cxray.exceptions import ModelError
from cxray.text import embeddings_available, resolve_model, score_texts
from tests.api.conftest import assert_envelope, make_api  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(
    embeddings_available(), reason="the text extra is installed: the head works there"
)


def test_resolve_model_embeddings_names_the_extra():
    with pytest.raises(ModelError, match=r"--model embeddings: .*pip install 'cxray\[text\]'"):
        resolve_model("embeddings", None)
    # texts handed over directly (what POST /api/text/score runs): the same error
    with pytest.raises(ModelError, match=r"pip install 'cxray\[text\]'"):
        score_texts(["great service"], None, "embeddings")


def test_cli_score_with_embeddings_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text("id,comment\n1,great service\n", encoding="utf-8")
    args = ["text", "score", "c.csv", "-c", "comment", "--model", "embeddings"]
    # through the typer app: the ModelError itself
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "t.duckdb"), *args])
    assert res.exit_code != 0 and isinstance(res.exception, ModelError)
    # through cxray's entry point: one line naming the extra, no traceback, nothing scored
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(tmp_path / "t.duckdb"), *args])
    out, err = capsys.readouterr()
    assert exc.value.code != 0 and out == ""
    assert "pip install 'cxray[text]'" in err and "Traceback" not in err


def test_api_score_with_embeddings_is_a_clear_422(make_api):  # noqa: F811 - the fixture
    resp = make_api().post(
        "/api/text/score", role="viewer", json={"texts": ["great"], "model": "embeddings"}
    )
    err = assert_envelope(resp, 422, "analysis_error")
    assert "pip install 'cxray[text]'" in err["message"]
