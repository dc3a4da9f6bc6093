"""/api/text: themes, a theme's rows, case trends, scoring, enrichment; roles and redaction."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cxray.text import (
    REPORTS,
    GeneralSentiment,
    LexiconSentiment,
    Taxonomy,
    case_trends,
    theme_report,
)
from tests.api.conftest import assert_envelope


def roundtrip(value):
    return json.loads(json.dumps(value, default=str))


def test_themes_are_the_librarys_report(demo):
    got = demo.get("/api/text/themes")
    assert got.status_code == 200, got.text
    body = got.json()
    ws = demo.ws
    want = theme_report(ws.store, ws.config).to_dict()
    # plus the languages of these texts left without sentiment (cxray.text.REPORTS.languages)
    assert body.pop("languages") == REPORTS.languages(ws.store, "responses")["gaps"]
    assert body == roundtrip(want)
    assert body["source"] == "taxonomy" and body["n_texts"] > 50
    for t in body["themes"]:
        share = t["share"]
        assert share["n"] == body["n_texts"]
        assert share["estimate"] == pytest.approx(t["volume"] / body["n_texts"])
        assert share["ci_low"] <= share["estimate"] <= share["ci_high"]
        nps = t["impact"]["nps"]
        assert nps["estimate"] >= 0 and nps["ci_low"] <= nps["estimate"] <= nps["ci_high"]
        assert sum(m["volume"] for m in t["trend"]["months"]) == t["volume"]
    # the delivery theme carries the demo's planted late-delivery complaints: among the two
    # largest themes of this small world (500 customers, 3 months; digital is as large)
    volumes = {t["id"]: t["volume"] for t in body["themes"]}
    assert volumes["delivery"] >= sorted(volumes.values(), reverse=True)[1]
    discovered = demo.get("/api/text/themes", params={"source": "discover", "themes": 4})
    assert discovered.status_code == 200, discovered.text
    assert len(discovered.json()["themes"]) == 4


def test_theme_rows_drill_down(demo):
    report = demo.get("/api/text/themes").json()
    theme = next(t for t in report["themes"] if t["id"] == "delivery")
    page = demo.get("/api/text/themes/delivery/rows", params={"limit": 20}).json()
    assert page["total"] == theme["volume"] and page["theme"]["label"] == "Delivery"
    assert len(page["rows"]) == min(20, theme["volume"])
    scores = [r["sentiment_score"] for r in page["rows"]]
    assert scores == sorted(scores)  # most negative first
    ws = demo.ws
    comments = dict(
        ws.table("responses").select("response_id", "comment").to_pandas().itertuples(index=False)
    )
    tx = Taxonomy.from_config(ws.config)
    for r in page["rows"]:
        assert "delivery" in tx.assign([comments[r["response_id"]]])[0]
        assert {"submitted_at", "text", "sentiment_label", "nps"} <= set(r)
    # pages follow one another without gaps or repeats
    second = demo.get("/api/text/themes/delivery/rows", params={"limit": 20, "offset": 20}).json()
    keys = [r["response_id"] for r in page["rows"] + second["rows"]]
    assert len(set(keys)) == len(keys) == min(40, theme["volume"])
    negative = demo.get(
        "/api/text/themes/delivery/rows", params={"sentiment": "negative", "limit": 1000}
    ).json()
    assert negative["rows"] and all(r["sentiment_label"] == "negative" for r in negative["rows"])
    totals = [
        demo.get("/api/text/themes/delivery/rows", params={"sentiment": s}).json()["total"]
        for s in ("negative", "neutral", "positive")
    ]
    assert totals[0] == negative["total"] and sum(totals) == theme["volume"]
    err = assert_envelope(demo.get("/api/text/themes/nope/rows"), 404, "not_found")
    assert "nope" in err["message"] and "delivery" in err["message"]
    assert_envelope(
        demo.get("/api/text/themes/delivery/rows", params={"sentiment": "angry"}),
        422,
        "invalid_request",
    )


def test_trends_are_the_librarys(demo):
    got = demo.get("/api/text/trends", params={"period": "week", "baseline": 4})
    assert got.status_code == 200, got.text
    ws = demo.ws
    want = case_trends(ws.store, ws.config, period="week", baseline=4).to_dict()
    body = got.json()
    assert body.pop("languages") == REPORTS.languages(ws.store, "cases")["gaps"]
    assert body == roundtrip(want)
    assert body["n_cases"] == sum(c["cases"] for c in body["categories"])
    for e in body["emerging"]:
        assert e["examples"] and e["q_value"] <= ws.config.measurement.fdr


def test_score_posted_texts(demo):
    texts = ["I love it, thank you!", "Awful. Broken again.", "It is a shirt.", None]
    got = demo.post("/api/text/score", role="viewer", json={"texts": texts, "model": "default"})
    assert got.status_code == 200, got.text
    labels, scores = GeneralSentiment().score_texts(texts)
    body = got.json()
    assert body["model"] == "general-v2"
    assert [r["sentiment_label"] for r in body["results"]] == list(labels)
    assert [r["sentiment_score"] for r in body["results"]] == pytest.approx(list(scores))
    assert list(labels[:3]) == ["positive", "negative", "neutral"]
    auto = demo.post("/api/text/score", role="viewer", json={"texts": texts[:1]})
    assert auto.status_code == 200 and auto.json()["results"][0]["sentiment_label"] == "positive"
    too_many = demo.post("/api/text/score", json={"texts": ["x"] * 10_001})
    assert "10,000" in assert_envelope(too_many, 422, "invalid_request")["message"]
    assert_envelope(demo.post("/api/text/score", json={"texts": [1]}), 422, "invalid_request")
    reference = demo.post("/api/text/score", json={"texts": texts[:3], "model": "lexicon"}).json()
    assert reference.get("model") == "lexicon-v1", reference
    _, lex_scores = LexiconSentiment().score_texts(texts[:3])
    assert [r["sentiment_score"] for r in reference["results"]] == pytest.approx(list(lex_scores))
    no_domain = demo.post("/api/text/score", json={"texts": ["x"], "model": "domain"})
    assert "cxray text train" in assert_envelope(no_domain, 422, "analysis_error")["message"]


def test_roles_and_enrichment(make_api):
    rows = pd.DataFrame(
        {
            "response_id": ["R1", "R2"],
            "submitted_at": ["2026-01-05", "2026-01-06"],
            "comment": ["Late parcel, awful", "Lovely staff"],
        }
    )
    api = make_api(lambda ws: ws.import_frame("responses", rows))
    assert_envelope(api.client.get("/api/text/themes"), 401, "unauthenticated")
    denied = assert_envelope(api.post("/api/text/enrich", role="viewer"), 403, "forbidden")
    assert "enrichment" in denied["message"]
    done = api.post("/api/text/enrich", role="analyst", json={"model": "default"})
    assert done.status_code == 200, done.text
    assert done.json()["scored"] == 0  # the import scored them already
    assert done.json()["themes"]["responses"] == {"matched": 0, "removed": 0}
    assert api.post("/api/text/enrich", role="admin").status_code == 200


PII = pd.DataFrame(
    {
        "response_id": [f"R{i}" for i in range(40)],
        "submitted_at": ["2026-01-05"] * 40,
        "nps": [2] * 40,
        "comment": [f"Parcel late, awful. Mail me at jo{i}@example.com" for i in range(40)],
    }
)


@pytest.mark.parametrize("redact", [True, False])
def test_texts_are_redacted_unless_configured_off(make_api, tmp_path, redact):
    REPORTS.clear()
    (tmp_path / "cxray.toml").write_text(
        f"[privacy]\nredact = {str(redact).lower()}\n", encoding="utf-8"
    )
    api = make_api(lambda ws: ws.import_frame("responses", PII))
    theme = api.get("/api/text/themes").json()["themes"][0]
    rows = api.get(f"/api/text/themes/{theme['id']}/rows").json()["rows"]
    shown = theme["quotes"] + [r["text"] for r in rows]
    assert shown
    if redact:
        assert all("[email]" in t and "@" not in t for t in shown)
    else:
        assert all("@example.com" in t for t in shown)


def test_text_reads_answer_while_a_writer_holds_the_store(demo):
    """The text reports read through a snapshot: an import holding the write lock (here,
    held by this thread for the whole test) does not hold them up, and they answer what
    they answer without it."""
    import threading

    urls = [
        "/api/text/themes",
        "/api/text/trends",
        "/api/text/languages",
        "/api/text/faq",
        "/api/text/kb",
        "/api/text/model",
    ]
    want = {u: demo.get(u).json() for u in urls}
    got: dict[str, object] = {}

    def read() -> None:
        for u in urls:
            r = demo.get(u)
            got[u] = r.json() if r.status_code == 200 else r.status_code

    lock = demo.client.app.state.cx.lock
    with lock:  # a writer at work
        t = threading.Thread(target=read)
        t.start()
        t.join(timeout=120)
        assert not t.is_alive(), f"waited for the writer: done {sorted(got)}"
    assert got == want
