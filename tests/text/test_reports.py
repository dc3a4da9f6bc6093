"""TextReports: reports kept per state of the data, recomputed after an import or enrichment."""

from __future__ import annotations

import pandas as pd

from cxray.text import TextReports, enrich_sentiment, theme_report


def frame(comments: list[str], start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": [f"R{start + i}" for i in range(len(comments))],
            "submitted_at": ["2026-03-02"] * len(comments),
            "nps": [2] * len(comments),
            "comment": comments,
        }
    )


def test_kept_until_the_data_changes(ws):
    ws.import_frame("responses", frame(["late parcel", "rude agent", "great app"]))
    reports = TextReports(size=4)
    first = reports.themes(ws.store, ws.config)
    assert reports.themes(ws.store, ws.config) is first  # served, not recomputed
    assert first == theme_report(ws.store, ws.config).to_dict()
    ws.import_frame("responses", frame(["parcel lost"], start=10))
    second = reports.themes(ws.store, ws.config)
    assert second is not first
    assert {t["id"]: t["volume"] for t in second["themes"]}["delivery"] == 2
    # the older version was replaced, not kept beside it: one entry for the documents
    # (drill-downs) and one for the plain report (the same dict)
    assert len(reports._items) == 2
    # re-scoring with another model changes the data version too
    from cxray.text import LexiconSentiment

    enrich_sentiment(ws.store, LexiconSentiment(threshold=0.5), "strict-lexicon")
    assert reports.themes(ws.store, ws.config) is not second
    # other options are other entries, bounded by size
    for table in ("cases", "mentions"):
        reports.themes(ws.store, ws.config, table=table)
    reports.trends(ws.store, ws.config)
    reports.trends(ws.store, ws.config, period="month")
    assert len(reports._items) == 4


def test_kept_in_the_store_and_read_by_a_fresh_process(ws, monkeypatch):
    """`precompute` + `save` keep the first reports in the store; a fresh TextReports (a new
    server) reads them without computing, only at the same data version."""
    import cxray.text._reports as reports_module
    from cxray.text._reports import KEPT_TABLE

    ws.import_frame("responses", frame(["late parcel", "rude agent", "great app"]))
    first = TextReports()
    # the tables with scored texts, and the case trends (the page shows both)
    assert first.precompute(ws.store, ws.config) == [
        "themes:responses",
        "languages:responses",
        "trends:week",
        "faq",
    ]
    assert first.save(ws.store) == 4
    assert first.save(ws.store) == 0  # nothing new
    kept = ws.store.backend.table(KEPT_TABLE).to_pyarrow()
    assert kept.num_rows == 4
    computed = first.themes(ws.store, ws.config)

    def refuse(*a, **k):
        raise AssertionError("computed although the store keeps this report")

    monkeypatch.setattr(reports_module, "themes_with_documents", refuse)
    fresh = TextReports()
    assert fresh.themes(ws.store, ws.config) == computed  # read back, the same numbers
    # a config that differs only in when texts are scored (a bulk load with scoring on
    # import off) keeps the same reports
    off = ws.config.model_copy(
        update={"text": ws.config.text.model_copy(update={"enrich_on_import": False})}
    )
    assert TextReports().themes(ws.store, off) == computed
    # a reader's config with texts as written (pii) is another report: computed, written
    # only when marked keep, under a key that says unmasked; then read back by a new server
    plain = ws.config.model_copy(
        update={"privacy": ws.config.privacy.model_copy(update={"redact": False})}
    )
    monkeypatch.undo()
    unmasked = fresh.themes(ws.store, plain)
    assert fresh.save(ws.store) == 0  # not marked keep (the API): not written
    assert TextReports().themes(ws.store, plain, keep=True) == unmasked
    assert fresh.save(ws.store) == 0  # the other instance holds the mark
    marked = TextReports()
    marked.themes(ws.store, plain, keep=True)
    assert marked.save(ws.store) == 1
    ids = ws.store.backend.table(KEPT_TABLE).to_pyarrow()["report_key"].to_pylist()
    modes = sorted(i.split(":")[0] for i in ids if ":" in i)  # the languages' holds no texts
    assert modes == ["masked", "masked", "masked", "unmasked"] and len(ids) == 5
    monkeypatch.setattr(reports_module, "themes_with_documents", refuse)
    assert TextReports().themes(ws.store, plain) == unmasked  # read back, not computed
    monkeypatch.undo()
    ws.store.backend.raw_sql(f"DELETE FROM {KEPT_TABLE} WHERE report_key LIKE 'unmasked:%'")
    # an import changes the data version: the kept report is no longer served
    ws.import_frame("responses", frame(["parcel lost"], start=10))
    monkeypatch.setattr(reports_module, "themes_with_documents", refuse)
    try:
        TextReports().themes(ws.store, ws.config)
    except AssertionError as exc:
        assert "computed although" in str(exc)
    else:
        raise AssertionError("a report of older data was served")
    monkeypatch.undo()
    # ... but the case trends, whose table no import touched, are read back, not computed
    monkeypatch.setattr(reports_module, "case_trends", refuse)
    again = TextReports()
    assert again.precompute(ws.store, ws.config) == [
        "themes:responses",
        "languages:responses",
        "trends:week",
        "faq",
    ]
    monkeypatch.undo()
    assert again.save(ws.store) >= 2  # the new responses themes, languages (and FAQ if changed)
    rows = ws.store.backend.table(KEPT_TABLE).to_pyarrow()
    assert rows.num_rows == 4  # replaced, not kept beside the old ones
    volumes = {t["id"]: t["volume"] for t in again.themes(ws.store, ws.config)["themes"]}
    assert volumes["delivery"] == 2


def test_concurrent_requests_compute_once(ws, monkeypatch):
    import threading
    import time

    import cxray.text._reports as reports_module

    ws.import_frame("responses", frame(["late parcel", "rude agent", "great app"]))
    reports = TextReports()
    real = reports_module.themes_with_documents
    calls = []

    def slow(*a, **k):
        calls.append(1)
        time.sleep(0.3)
        return real(*a, **k)

    monkeypatch.setattr(reports_module, "themes_with_documents", slow)
    version = reports.data_version(ws.store, "responses")
    out = []
    make = lambda: slow(ws.store, ws.config)[0].to_dict()  # noqa: E731
    threads = [
        threading.Thread(target=lambda: out.append(reports._get(("k",), version, make)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 3 and out[0] is out[1] is out[2]


def test_a_view_answers_with_the_older_report_while_a_newer_one_is_computed(ws):
    """With a background computation (``cxray serve``), a view inside ``ready_first`` gets
    the report of before an import at once, marked stale; after rows were removed (an
    erasure) it waits for the new one, so that no removed text is shown."""
    ws.import_frame("responses", frame(["late parcel", "rude agent", "great app"]))
    reports = TextReports()
    old = reports.themes(ws.store, ws.config)
    ws.import_frame("responses", frame(["parcel lost"], start=10))
    with reports.ready_first() as stale:
        assert reports.themes(ws.store, ws.config)["n_texts"] == 4  # no background: computed
    assert stale == [] and old["n_texts"] == 3
    reports.background = True
    reports.precompute(ws.store, ws.config)  # what the server's background computes
    # a reader with pii sees the texts as written: a report the background does not compute
    from cxray.privacy import Masking

    as_written = Masking.for_caller(ws.config, pii=True).report_config(ws.config)
    assert as_written.privacy.redact is False
    before = reports.themes(ws.store, as_written)
    ws.import_frame("responses", frame(["parcel lost again"], start=20))
    with reports.ready_first() as stale:
        got = reports.themes(ws.store, ws.config)
        # ... is computed for the view, not left old while nothing computes it
        fresh = reports.themes(ws.store, as_written)
    assert got["stale"] is True and got["n_texts"] == 4 and len(stale) == 1
    assert before["n_texts"] == 4 and fresh["n_texts"] == 5 and "stale" not in fresh
    assert "stale" not in old
    # outside a view (the API, the background computation): always the current one
    current = reports.themes(ws.store, ws.config)
    assert current["n_texts"] == 5 and "stale" not in current
    # rows removed (as an erasure does): computed anew even in a view
    ws.store.backend.raw_sql("DELETE FROM text_sentiment WHERE row_key = 'R20'")
    with reports.ready_first() as stale:
        after = reports.themes(ws.store, ws.config)
    assert stale == [] and "stale" not in after


def test_one_request_reads_the_data_versions_once(ws, monkeypatch):
    """Within a request (``ready_first``) every table's data version is read once (three
    grouped queries) and equals the one read table by table; a new request reads again."""
    import cxray.text._reports as reports_module

    ws.import_frame("responses", frame(["late parcel", "rude agent", "great app"]))
    enrich = TextReports()
    enrich.precompute(ws.store, ws.config)
    reports = TextReports()
    alone = {t: reports.data_version(ws.store, t) for t in ("responses", "cases", "mentions")}
    assert alone["responses"][0] is not None and alone["responses"][1][0] == 3
    assert alone["cases"] == (None, (0, None), (0,))
    real, calls = reports_module._data_versions, []

    def counted(store):
        calls.append(1)
        return real(store)

    monkeypatch.setattr(reports_module, "_data_versions", counted)
    with reports.ready_first():
        got = {t: reports.data_version(ws.store, t) for t in ("responses", "cases", "mentions")}
        reports.themes(ws.store, ws.config)
        reports.languages(ws.store, "responses")
    assert got == alone and len(calls) == 1
    ws.import_frame("responses", frame(["parcel lost"], start=10))
    with reports.ready_first():
        assert reports.data_version(ws.store, "responses")[1][0] == 4  # read again
    assert len(calls) == 2
