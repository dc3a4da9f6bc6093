"""Closed-loop fixtures: a workspace with rules, a small world, a webhook receiver and an SMTP
server on loopback (nothing leaves the machine)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from cxray.store import ALERTS, FOLLOWUP_EVENTS, FOLLOWUPS, OUTBOX
from cxray.workspace import Workspace
from tests._serve import free_port
from tests.loop._receiver import Receiver

SECRET = "loop-test-secret"

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3", "C4"],
        "created_at": ["2025-01-01"] * 4,
        "email": ["ann@example.com", "bo@example.com", None, "dee@example.com"],
        "name": ["Ann", "Bo", "Cy", "Dee"],
        "region": ["West", "East", "North", None],
        "segment": ["consumer", "smb", "consumer", "enterprise"],
    }
)
#: two detractors with customers (C1 West, C2 East), one without a customer, a promoter,
#: a passive and a response without an NPS answer
RESPONSES = pd.DataFrame(
    {
        "response_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "submitted_at": ["2026-03-02 10:00", "2026-03-03 11:00", "2026-03-04 12:00",
                         "2026-03-05 09:00", "2026-03-06 09:00", "2026-03-07 09:00"],
        "customer_id": ["C1", "C2", None, "C3", "C4", "C4"],
        "channel": ["email", "web", "web", "email", "app", "app"],
        "nps": [2, 6, 0, 10, 8, None],
        "comment": ["The parcel came late and broken", "Slow answer from support",
                    "Awful experience, never again", "Great service, thank you",
                    "Fine", None],
        "store_region": ["Coast", "Inland", None, "Coast", "Inland", "Coast"],
    }
)  # fmt: skip
DETRACTORS = ["R1", "R2", "R3"]
CASES = pd.DataFrame(
    {
        "case_id": ["K1", "K2", "K3", "K4"],
        "customer_id": ["C1", "C1", "C2", None],
        "opened_at": ["2026-02-20 08:00", "2026-02-25 08:00", "2026-02-26 08:00",
                      "2026-02-27 08:00"],
        "first_response_at": ["2026-02-22 09:00", "2026-02-25 09:00", "2026-02-26 10:00", None],
        "resolved_at": ["2026-02-24 08:00", "2026-02-25 12:00", "2026-02-28 08:00", None],
        "channel": ["email", "chat", "email", "email"],
        "category": ["delivery", "billing", "delivery", "product_defect"],
        "reopened": [True, False, False, False],
        "contacts": [3, 1, 1, 1],
        "description": ["Where is my order? Still waiting", "Invoice question", "Late parcel",
                        "Battery died after a week"],
    }
)  # fmt: skip
MENTIONS = pd.DataFrame(
    {
        "mention_id": ["M1", "M2", "M3"],
        "posted_at": ["2026-03-01 10:00", "2026-03-02 10:00", "2026-03-03 10:00"],
        "text": ["Terrible, awful service, I hate this shop, worst purchase ever",
                 "Love my new sofa, wonderful quality, great team",
                 "Ordered a lamp today"],
        "platform": ["x", "x", "reviews"],
        "customer_id": ["C1", None, "C2"],
    }
)  # fmt: skip


def counts(ws: Workspace) -> dict[str, int]:
    """Rows of each loop table."""
    b = ws.store.backend
    return {
        name: int(b.table(table).count().to_pyarrow().as_py())
        for name, table in (
            ("alerts", ALERTS),
            ("followups", FOLLOWUPS),
            ("events", FOLLOWUP_EVENTS),
            ("messages", OUTBOX),
        )
    }


def rows(ws: Workspace, table: str, **where: object) -> list[dict]:
    t = ws.store.backend.table(table)
    for k, v in where.items():
        t = t.filter(t[k] == v)
    return t.to_pyarrow().to_pylist()


@pytest.fixture
def open_ws(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """``open_ws(toml, data=True)``: a workspace over one store with this ``cxray.toml``
    (each call may change the config; the store stays). ``data`` imports the customers
    first."""
    opened: list[Workspace] = []
    db, cfg = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"

    def _open(toml: str = "", *, customers: bool = True) -> Workspace:
        for w in opened:
            w.close()
        opened.clear()
        fresh = not db.exists()
        cfg.write_text(toml, encoding="utf-8")
        ws = Workspace.open(db, cfg)
        opened.append(ws)
        if fresh and customers:
            ws.import_frame("customers", CUSTOMERS)
        return ws

    yield _open
    for w in opened:
        w.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(secret=SECRET.encode())
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXRAY_WEBHOOK_SECRET", SECRET)


# ------------------------------------------------------------ SMTP


@dataclass
class Mailbox:
    """An SMTP handler that keeps every message; refuses the recipients in ``refuse``."""

    messages: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for _, rcpt, m in self.messages if rcpt == [address]]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, named by ``CXRAY_SMTP_HOST``/``_PORT``."""
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    box = Mailbox()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("CXRAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXRAY_SMTP_PORT", str(controller.port))
    try:
        yield box
    finally:
        controller.stop()
