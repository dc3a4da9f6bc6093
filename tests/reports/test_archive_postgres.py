"""The archive round trip on PostgreSQL: the digest's bytes (BYTEA), its record, sent."""

from __future__ import annotations

import datetime as dt

from cxray.workspace import Workspace
from tests._backends import fresh_postgres, needs_postgres


@needs_postgres
def test_archive_round_trip_on_postgres(tmp_path):
    url = fresh_postgres()
    (tmp_path / "cxray.toml").write_text("")
    with Workspace.open(url, tmp_path / "cxray.toml") as ws:
        made = ws.reports.generate("2026-Q3", "pdf", actor="test", schedule="quarterly",
                                   sent_to=["a@example.com"])  # fmt: skip
        [listed] = ws.reports.list()
        assert listed.report_id == made.report_id and listed.content == b""
        assert (listed.period_start, listed.period_end) == (dt.date(2026, 7, 1),
                                                            dt.date(2026, 9, 30))  # fmt: skip
        got = ws.reports.get(made.report_id)
        assert got.content == made.content and got.content[:5] == b"%PDF-"
        assert got.summary == made.summary and got.sent_to == ["a@example.com"]
        assert ws.reports.find("quarterly", "2026-Q3").sent_at is None
        ws.reports.mark_sent(made.report_id, dt.datetime(2026, 10, 1, 8, 0))
        assert ws.reports.find("quarterly", "2026-Q3").sent_at == dt.datetime(2026, 10, 1, 8, 0)


@needs_postgres
def test_erasure_and_delete_on_postgres(tmp_path):
    import pandas as pd

    from cxray.reports import ARCHIVE

    url = fresh_postgres()
    (tmp_path / "cxray.toml").write_text("")
    with Workspace.open(url, tmp_path / "cxray.toml") as ws:
        ws.import_frame(
            "customers",
            pd.DataFrame(
                {"customer_id": ["K1", "K2"], "created_at": pd.to_datetime(["2026-01-02"] * 2)}
            ),
        )
        a = ws.reports.generate("2026-Q3", "md")
        b = ws.reports.generate("2026-Q2", "md")
        con = ws.store.backend.con
        with con.cursor() as cur:  # as the churn section would have named them
            cur.execute(f'UPDATE "{ARCHIVE}" SET customers = %s WHERE report_id = %s',
                        ['["K1", "K9"]', a.report_id])  # fmt: skip
            cur.execute(f'UPDATE "{ARCHIVE}" SET customers = %s WHERE report_id = %s',
                        ['["K2"]', b.report_id])  # fmt: skip
        con.commit()
        report = ws.privacy.erase("K1")
        assert report.digests == (a.report_id,) and report.digests_rewritten == 1
        t = ws.store.backend.table(ARCHIVE)
        rows = {r["report_id"]: r for r in t.to_pyarrow().to_pylist()}
        assert rows[a.report_id]["customers"] == "[]" and rows[a.report_id]["size"] > 0
        assert bytes(rows[a.report_id]["content"]).startswith(b"# CX executive digest: 2026-Q3")
        assert bytes(rows[b.report_id]["content"]) == b.content
        assert ws.reports.delete(b.report_id).period == "2026-Q2"
        assert [r.report_id for r in ws.reports.list()] == [a.report_id]
