"""Invitation e-mails, sent to a real SMTP server (aiosmtpd) on 127.0.0.1; nothing leaves the box.

Customers are invited, the e-mails sent and received; the link each e-mail
carries is then used against the API: accepted once, refused when reused,
expired or altered.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cxray.api import ApiSettings, create_app
from cxray.cli import main
from cxray.exceptions import ConfigError, CXError
from cxray.store import INVITATIONS
from cxray.surveys import MailSettings
from cxray.workspace import Workspace
from tests._serve import free_port

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is in the test extra")

CONFIG = """\
[surveys]
fatigue_days = 30
base_url = "https://cx.example.com"
sender = "Hearthwell <surveys@hearthwell.example>"

[surveys.post_case]
title = { en = "How did we do?", de = "Wie waren wir?" }
languages = ["en", "de"]
touchpoint = "case_resolved"
public = false
invitation_days = 7
email_subject = { en = "$survey Your case", de = "$survey Ihr Anliegen" }
email_body = { en = "Hi $name,\\n\\ntell us here:\\n$link\\n\\nThanks", de = "Hallo $name,\\n\\n$link\\n\\nDanke schön" }

[[surveys.post_case.questions]]
id = "nps"
type = "nps"
text = "How likely are you to recommend us?"
required = true

[[surveys.post_case.questions]]
id = "improve"
type = "text"
text = "What could we do better?"
show_if = { question = "nps", max = 6 }

[surveys.after_fix]
title = { en = "Was it fixed?", de = "Wurde es behoben?" }
languages = ["en", "de"]
touchpoint = "case_resolved"

[[surveys.after_fix.questions]]
id = "csat"
type = "csat"
text = "How satisfied are you?"
"""
WINDOW = {"since": dt.datetime(2026, 3, 10), "until": dt.datetime(2026, 3, 11)}
EMAILS = {"C1": "ann@example.com", "C2": "bo@example.com", "C4": "dee@example.com"}


@dataclass
class Mailbox:
    """An SMTP server's handler that keeps every message; refuses the addresses in ``refuse``."""

    messages: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    reject: set[str] = field(default_factory=set)  # accepted as recipients, refused at DATA

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.reject:
            return "554 5.7.1 message rejected"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> email.message.EmailMessage:
        found = [m for _, rcpt, m in self.messages if rcpt == [address]]
        assert len(found) == 1, f"{len(found)} messages to {address}"
        return found[0]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, MailSettings]]:
    box = Mailbox()
    controller = aiosmtpd.Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield (
            box,
            MailSettings(
                host="127.0.0.1",
                port=controller.port,
                sender="Hearthwell <surveys@hearthwell.example>",
            ),
        )
    finally:
        controller.stop()


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """A store with five customers and their cases, and a cxray.toml with two surveys."""
    db, cfg = tmp_path / "cx.duckdb", tmp_path / "cxray.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5"],
            "created_at": ["2025-01-01"] * 5,
            "email": [EMAILS["C1"], EMAILS["C2"], None, EMAILS["C4"], "eve@example.com"],
            "name": ["Ann", "Bo", "Cy", "Dee", "Eve"],
            "churned_at": [None, None, None, "2026-01-05", None],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": ["K1", "K2", "K3", "K4", "K5"],
            "customer_id": ["C1", "C2", "C3", "C4", "C5"],
            "opened_at": ["2026-03-01"] * 5,
            "resolved_at": ["2026-03-10 10:00", "2026-03-10 15:00", "2026-03-10 09:00",
                            "2026-03-10 11:00", "2026-03-12 09:00"],
        }
    )  # fmt: skip
    with Workspace.open(db, cfg) as ws:
        ws.import_frame("customers", customers)
        ws.import_frame("cases", cases)
    return db, cfg


def _invitations(ws: Workspace) -> dict[str, dict]:
    rows = ws.store.backend.table(INVITATIONS).to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in rows}


def _body(msg: email.message.EmailMessage) -> str:
    return msg.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire


def _link(msg: email.message.EmailMessage) -> str:
    found = re.findall(r"https://cx\.example\.com/s/post_case\?t=\S+", _body(msg))
    assert len(found) == 1, _body(msg)
    return found[0]


def test_one_message_per_invitee_with_an_address_in_their_language(paths, smtp):
    box, settings = smtp
    with Workspace.open(*paths) as ws:
        sv = ws.surveys
        german = sv.invite("post_case", **WINDOW, limit=1, language="de")
        rest = sv.invite("post_case", **WINDOW)  # the fatigue rule leaves C2 out now
        assert [i.customer_id for i in german] == ["C2"]
        assert [i.customer_id for i in rest] == ["C1", "C3"]  # C4 churned, C5 outside
        report = sv.send(german + rest, settings)
        ids = {i.customer_id: i.invitation_id for i in german + rest}
        assert report.sent == [ids["C2"], ids["C1"]]
        assert report.skipped == [(ids["C3"], "no e-mail address")]
        stored = _invitations(ws)
        assert stored["C1"]["sent_at"] is not None and stored["C2"]["sent_at"] is not None
        assert stored["C3"]["sent_at"] is None
        assert sv.invitation_counts("post_case") == {"invited": 3, "sent": 2, "responded": 0}
        signed = {i.customer_id: i for i in german + rest}

        assert len(box.messages) == 2
        for sender, _, _ in box.messages:
            assert sender == "surveys@hearthwell.example"
        de, en = box.to(EMAILS["C2"]), box.to(EMAILS["C1"])
        assert (de["To"], de["Subject"]) == (EMAILS["C2"], "Wie waren wir? Ihr Anliegen")
        assert (en["To"], en["Subject"]) == (EMAILS["C1"], "How did we do? Your case")
        assert en["From"] == "Hearthwell <surveys@hearthwell.example>"
        assert _body(de) == f"Hallo Bo,\n\n{signed['C2'].link}\n\nDanke schön\n"
        assert _body(en) == f"Hi Ann,\n\ntell us here:\n{signed['C1'].link}\n\nThanks\n"
        for cid, msg in (("C2", de), ("C1", en)):
            link = _link(msg)
            assert link == signed[cid].link
            token = link.split("?t=", 1)[1]
            inv = sv.verify_token("post_case", token)
            assert (inv.invitation_id, inv.customer_id) == (ids[cid], cid)


def test_the_message_names_its_language(paths, smtp):
    box, settings = smtp
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("post_case", **WINDOW, language="de", require_email=True)
        ws.surveys.send(invs, settings)
    assert box.to(EMAILS["C1"])["Content-Language"] == "de"


def test_default_templates_in_the_invitations_language(paths, smtp):
    box, settings = smtp
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("after_fix", **WINDOW, language="de", require_email=True)
        assert [i.customer_id for i in invs] == ["C2", "C1"]
        assert ws.surveys.send(invs, settings).sent == [i.invitation_id for i in invs]
    msg = box.to(EMAILS["C1"])
    assert msg["Subject"] == "Wurde es behoben?: Wie waren wir?"
    body = _body(msg)
    assert body.startswith("Hallo Ann,") and "https://cx.example.com/s/after_fix?t=" in body


def _submit(client: TestClient, body: dict):
    return client.post("/api/surveys/post_case/responses", json=body)


def test_the_emailed_link_is_accepted_exactly_once(paths, smtp):
    box, settings = smtp
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("post_case", **WINDOW, require_email=True)
        ws.surveys.send(invs, settings)
        ann = next(i for i in invs if i.customer_id == "C1")
    token = _link(box.to(EMAILS["C1"])).split("?t=", 1)[1]
    app = create_app(paths[0], paths[1], settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        first = _submit(client, {"answers": {"nps": 4, "improve": "Call back sooner"},
                                 "token": token})  # fmt: skip
        assert first.status_code == 201, first.text
        assert first.json()["response_id"] == f"inv_{ann.invitation_id}"
        same = _submit(client, {"answers": {"nps": 4, "improve": "Call back sooner"},
                                "token": token})  # fmt: skip
        assert same.status_code == 200 and same.json()["status"] == "unchanged"
        other = _submit(client, {"answers": {"nps": 10}, "token": token})
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "already_submitted"
        head, payload, signature = token.split(".")
        flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
        for altered in (f"{head}.{flipped}.{signature}", f"{head}.{payload}.{signature[::-1]}"):
            r = _submit(client, {"answers": {"nps": 10}, "token": altered})
            assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_token"
        no_token = _submit(client, {"answers": {"nps": 10}})
        assert no_token.status_code == 403  # invitation only
        ws = client.app.state.cx.ws
        rows = ws.store.backend.table("responses").to_pyarrow().to_pylist()
        assert [(r["response_id"], r["customer_id"], r["nps"], r["comment"], r["invitation_id"],
                 r["completed"], r["survey"], r["touchpoint"]) for r in rows] == [
            (f"inv_{ann.invitation_id}", "C1", 4, "Call back sooner", ann.invitation_id,
             True, "post_case", "case_resolved"),
        ]  # fmt: skip
        stored = _invitations(ws)["C1"]
        assert stored["response_id"] == f"inv_{ann.invitation_id}"
        assert stored["responded_at"] is not None
        assert ws.surveys.invitation_counts("post_case") == {
            "invited": 2, "sent": 2, "responded": 1,
        }  # fmt: skip


def test_an_expired_invitation_is_refused_and_writes_nothing(paths):
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)  # invitation_days = 7
    with Workspace.open(*paths) as ws:
        (inv, *_) = ws.surveys.invite("post_case", **WINDOW, now=issued)
        assert inv.expires_at < dt.datetime.now(dt.UTC).replace(tzinfo=None)
    app = create_app(paths[0], paths[1], settings=ApiSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = _submit(client, {"answers": {"nps": 9}, "token": inv.token})
        assert r.status_code == 410 and r.json()["error"]["code"] == "token_expired"
        assert f"expired on {inv.expires_at:%Y-%m-%d}" in r.json()["error"]["message"]
        ws = client.app.state.cx.ws
        assert ws.store.backend.table("responses").count().execute() == 0
        assert _invitations(ws)["C2"]["responded_at"] is None


def test_a_refused_recipient_is_reported_and_the_others_still_go(paths, smtp):
    box, settings = smtp
    box.refuse.add(EMAILS["C2"])
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("post_case", **WINDOW)
        report = ws.surveys.send(invs, settings)
        ids = {i.customer_id: i.invitation_id for i in invs}
        assert report.sent == [ids["C1"]]
        why = dict(report.skipped)
        assert sorted(why) == sorted([ids["C2"], ids["C3"]]) and len(report.skipped) == 2
        assert why[ids["C3"]] == "no e-mail address"
        assert "refused by the server" in why[ids["C2"]] and "550" in why[ids["C2"]]
        stored = _invitations(ws)
        assert [c for c in ("C1", "C2", "C3") if stored[c]["sent_at"]] == ["C1"]
    assert [rcpt for _, rcpt, _ in box.messages] == [[EMAILS["C1"]]]


def test_a_message_refused_after_others_went_out_is_reported(paths, smtp):
    box, settings = smtp
    box.reject.add(EMAILS["C1"])  # C2 (resolved last) is mailed first, then C1
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("post_case", **WINDOW, require_email=True)
        assert [i.customer_id for i in invs] == ["C2", "C1"]
        try:
            report = ws.surveys.send(invs, settings)
        finally:
            stored = _invitations(ws)
        assert stored["C2"]["sent_at"] is not None  # it did go out
        assert report.sent == [invs[0].invitation_id]
        assert [i for i, _ in report.skipped] == [invs[1].invitation_id]


def test_an_unreachable_server_is_a_clear_error(paths):
    port = free_port()  # nothing listens there
    with Workspace.open(*paths) as ws:
        invs = ws.surveys.invite("post_case", **WINDOW)
        with pytest.raises(CXError, match=f"cannot reach the SMTP server 127.0.0.1:{port}"):
            ws.surveys.send(invs, MailSettings(host="127.0.0.1", port=port, timeout=5))
        assert all(r["sent_at"] is None for r in _invitations(ws).values())


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("CXRAY_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("CXRAY_SMTP_PORT", "2525")
    monkeypatch.setenv("CXRAY_SMTP_USER", "cx")
    monkeypatch.setenv("CXRAY_SMTP_STARTTLS", "true")
    s = MailSettings.from_env()
    assert (s.host, s.port, s.username, s.password, s.starttls) == (
        "mail.internal", 2525, "cx", None, True,
    )  # fmt: skip
    monkeypatch.setenv("CXRAY_SMTP_PORT", "smtp")
    with pytest.raises(ConfigError, match="CXRAY_SMTP_PORT='smtp' is not a port number"):
        MailSettings.from_env()


def test_cli_invite_send_mails_everyone_with_an_address(paths, smtp, capsys, monkeypatch):
    box, settings = smtp
    monkeypatch.setenv("CXRAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXRAY_SMTP_PORT", str(settings.port))
    args = ["--db", str(paths[0]), "--config", str(paths[1]), "surveys", "invite", "post_case",
            "--from", "2026-03-10", "--to", "2026-03-10", "--send"]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert out.splitlines() == [
        "invited 2 customers to 'post_case'",
        "e-mails sent: 2, not sent: 0",
    ]
    assert sorted(rcpt[0] for _, rcpt, _ in box.messages) == [EMAILS["C1"], EMAILS["C2"]]
    assert box.to(EMAILS["C1"])["From"] == "Hearthwell <surveys@hearthwell.example>"
    with Workspace.open(*paths) as ws:
        stored = _invitations(ws)
    assert sorted(stored) == ["C1", "C2"]  # C3 has no address: not invited when sending
    assert all(r["sent_at"] is not None for r in stored.values())


def test_cli_reports_a_refused_recipient_and_flags_win_over_the_environment(
    paths, smtp, capsys, monkeypatch
):
    box, settings = smtp
    box.refuse.add(EMAILS["C2"])
    monkeypatch.setenv("CXRAY_SMTP_HOST", "smtp.invalid")  # the flags below win
    monkeypatch.setenv("CXRAY_SMTP_PORT", "1")
    args = ["--db", str(paths[0]), "--config", str(paths[1]), "surveys", "invite", "post_case",
            "--from", "2026-03-10", "--to", "2026-03-10", "--send", "--json",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(settings.port)]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    report = json.loads(out)
    ids = {i["customer_id"]: i["invitation_id"] for i in report["invitations"]}
    assert (report["count"], report["sent"]) == (2, 1)
    (refused,) = report["not_sent"]
    assert refused["invitation_id"] == ids["C2"] and "refused by the server" in refused["why"]
    assert [rcpt for _, rcpt, _ in box.messages] == [[EMAILS["C1"]]]
    with Workspace.open(*paths) as ws:
        stored = _invitations(ws)
    assert (stored["C1"]["sent_at"] is not None, stored["C2"]["sent_at"]) == (True, None)


@pytest.fixture
def smtp_with_login() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server that offers a login (user ``cx``, password ``right``)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        pair = (getattr(auth_data, "login", None), getattr(auth_data, "password", None))
        pair = tuple(x.decode() if isinstance(x, bytes) else x for x in pair)
        ok = isinstance(auth_data, LoginPassword) and pair == ("cx", "right")
        return AuthResult(success=ok, handled=False)  # a failure is answered 535

    box = Mailbox()
    controller = aiosmtpd.Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def _cli_send(paths, port: int, capsys) -> tuple[int, str, str]:
    args = ["--db", str(paths[0]), "--config", str(paths[1]), "surveys", "invite", "post_case",
            "--from", "2026-03-10", "--to", "2026-03-10", "--send",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(port)]  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_a_login_is_sent_when_a_user_is_set(paths, smtp_with_login, capsys, monkeypatch):
    box, port = smtp_with_login
    monkeypatch.setenv("CXRAY_SMTP_USER", "cx")
    monkeypatch.setenv("CXRAY_SMTP_PASSWORD", "right")
    code, out, err = _cli_send(paths, port, capsys)
    assert code == 0, err
    assert "e-mails sent: 2, not sent: 0" in out
    assert sorted(rcpt[0] for _, rcpt, _ in box.messages) == [EMAILS["C1"], EMAILS["C2"]]


def test_a_refused_login_is_a_clear_error_and_invites_nobody(
    paths, smtp_with_login, capsys, monkeypatch
):
    box, port = smtp_with_login
    monkeypatch.setenv("CXRAY_SMTP_USER", "cx")
    monkeypatch.setenv("CXRAY_SMTP_PASSWORD", "wrong")
    code, out, err = _cli_send(paths, port, capsys)
    assert box.messages == [] and out == ""
    with Workspace.open(*paths) as ws:
        stored = _invitations(ws)
    assert (code, stored) == (1, {}), err
    assert err.startswith("error: ") and "login" in err
