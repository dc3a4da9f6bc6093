"""Scheduled digests: made, archived and e-mailed (received by a real SMTP server) once per
period, restart-safe; a failed send is retried without a second digest; ``cxray serve``'s app
runs the schedule."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from cxray.api import ApiSettings
from cxray.reports import ReportScheduler
from cxray.surveys import MailSettings
from cxray.workspace import Workspace
from tests._serve import free_port

TOML = """
[reports.weekly]
every = "monday 08:00"
period = "last-week"
format = "pdf"
to = ["cx-lead@example.com", "ceo@example.com"]
"""
WED = dt.datetime(2026, 6, 10, 12, 0)  # the last Monday 08:00 was 8 June: week 1-7 June


@pytest.fixture
def files(tmp_path):
    (tmp_path / "cxray.toml").write_text(TOML, encoding="utf-8")
    return tmp_path / "cx.duckdb", tmp_path / "cxray.toml"


def _settings(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, sender="cxray <reports@example.com>")


def test_the_digest_is_received_once_per_period_across_restarts(files, smtp):
    box, port = smtp
    db, cfg = files
    with Workspace.open(db, cfg) as ws:
        sent = ReportScheduler(lambda: ws.reports, settings=_settings(port)).check(now=WED)
    assert [r.period for r in sent] == ["2026-W23"]
    assert len(box.messages) == 1
    sender, rcpt, msg = box.messages[0]
    assert sender == "reports@example.com"
    assert rcpt == ["cx-lead@example.com", "ceo@example.com"]
    assert msg["Subject"] == "CX executive digest: 2026-W23"
    parts = list(msg.iter_attachments())
    assert [(p.get_content_type(), p.get_filename()) for p in parts] == [
        ("application/pdf", "cxray-digest-2026-W23.pdf")
    ]
    pdf = parts[0].get_content()
    assert pdf[:5] == b"%PDF-"
    assert "2026-06-01 to 2026-06-07" in msg.get_body(("plain",)).get_content()

    # a restart: a new process, a new scheduler; the same week is not sent again
    with Workspace.open(db, cfg) as ws:
        again = ReportScheduler(lambda: ws.reports, settings=_settings(port))
        assert again.check(now=WED + dt.timedelta(hours=3)) == []
        assert again.check(now=dt.datetime(2026, 6, 14, 23, 0)) == []
        archived = ws.reports.list()
        assert [(r.period, r.schedule) for r in archived] == [("2026-W23", "weekly")]
        assert archived[0].sent_at is not None
        assert archived[0].sent_to == ["cx-lead@example.com", "ceo@example.com"]
        assert ws.reports.get(archived[0].report_id).content == pdf
        # the next Monday at 08:00 owes the next week
        nxt = again.check(now=dt.datetime(2026, 6, 15, 8, 0))
        assert [r.period for r in nxt] == ["2026-W24"]
    assert len(box.messages) == 2


def test_a_failed_send_is_retried_without_a_second_digest(files, smtp):
    box, port = smtp
    db, cfg = files
    with Workspace.open(db, cfg) as ws:
        down = ReportScheduler(lambda: ws.reports, settings=_settings(free_port()))
        assert down.check(now=WED) == [] and down.failures == 1
        [held] = ws.reports.list()
        assert held.sent_at is None and held.period == "2026-W23"
        up = ReportScheduler(lambda: ws.reports, settings=_settings(port))
        [r] = up.check(now=WED)
        assert r.report_id == held.report_id  # the digest made before, sent now
        assert [x.report_id for x in ws.reports.list()] == [held.report_id]
        assert ws.reports.list()[0].sent_at is not None
    assert len(box.messages) == 1


def test_cxray_serves_app_runs_the_schedule(files, smtp):
    from fastapi.testclient import TestClient

    from cxray.app import create_app

    box, _ = smtp  # CXRAY_SMTP_HOST/PORT name it
    db, cfg = files
    app = create_app(db, cfg, settings=ApiSettings())
    with TestClient(app):
        deadline = time.monotonic() + 60
        # counted once sent and marked sent in the archive: the mail arrives a moment before
        while app.state.reports.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert app.state.reports.sent == 1 and app.state.reports.failures == 0
    [(_, rcpt, msg)] = box.messages
    assert rcpt == ["cx-lead@example.com", "ceo@example.com"]
    assert msg["Subject"].startswith("CX executive digest: ")
    assert next(msg.iter_attachments()).get_content()[:5] == b"%PDF-"


def test_cxray_report_to_sends_it_now(tmp_path, monkeypatch, smtp):
    from typer.testing import CliRunner

    from cxray.cli import app as cli

    box, _ = smtp
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    r = runner.invoke(cli, ["report", "--period", "2026-10", "--format", "html",
                            "--out", "d.html", "--to", "lead@example.com"])  # fmt: skip
    assert r.exit_code == 0, r.output
    [(_, rcpt, msg)] = box.messages
    assert rcpt == ["lead@example.com"] and msg["Subject"] == "CX executive digest: 2026-10"
    part = next(msg.iter_attachments())
    assert part.get_filename() == "cxray-digest-2026-10.html"
    assert part.get_content() == (tmp_path / "d.html").read_text()
    with Workspace.open("cxray.duckdb") as ws:
        [kept] = ws.reports.list()
        assert kept.sent_to == ["lead@example.com"] and kept.sent_at is not None
