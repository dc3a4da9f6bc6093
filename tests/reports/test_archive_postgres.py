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
