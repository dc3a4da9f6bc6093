"""Report fixtures: one small demo world (with the closed loop replayed) built once per
session and copied for each test module that writes to it; an SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cxray.workspace import Workspace
from tests._serve import free_port

#: the demo's data end on 2026-10-31; October 2026 is the period the tests read
AS_OF = "2026-11-03"
WORLD = {"seed": 11, "customers": 500, "months": 3, "loop": True}


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reports-demo")
    db = folder / "demo.duckdb"
    with Workspace.open(db, folder / "cxray.toml") as ws:
        ws.load_demo(**WORLD)
    return db


@pytest.fixture
def demo_copy(demo_file: Path, tmp_path: Path) -> Callable[[str], Path]:
    """``demo_copy(toml)``: a copy of the demo store in ``tmp_path`` with this cxray.toml."""

    def make(toml: str = "") -> Path:
        db = tmp_path / "demo.duckdb"
        if not db.exists():
            shutil.copy(demo_file, db)
        (tmp_path / "cxray.toml").write_text(toml, encoding="utf-8")
        return db

    return make


@dataclass
class Mailbox:
    """An SMTP handler that keeps every message."""

    messages: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, named by ``CXRAY_SMTP_HOST``/``_PORT``."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CXRAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXRAY_SMTP_PORT", str(port))
    try:
        yield box, port
    finally:
        controller.stop()
