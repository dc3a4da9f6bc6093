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
