"""Invitation e-mails: a template per survey and language, sent over SMTP.

The subject and body come from the survey (``email_subject``, ``email_body``,
per language), with ``$name``, ``$survey`` and ``$link`` filled in
(:class:`string.Template`, so a stray ``$`` in a text never breaks a send),
or from cxray's defaults. Each message is plain text with the link on its
own line. Sending uses one SMTP connection for the whole list; a message
the server refuses is reported, and the others still go.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from cxray.config import ProgramConfig, SurveyDefinition
from cxray.exceptions import ConfigError, CXError
from cxray.surveys._i18n import text_in
from cxray.surveys._invitations import IssuedInvitation

__all__ = ["MailSettings", "SendReport", "check_reachable", "compose", "connect", "send"]

DEFAULT_SUBJECT = {
    "en": "$survey: tell us how we did",
    "de": "$survey: Wie waren wir?",
    "fr": "$survey : donnez-nous votre avis",
    "es": "$survey: cuéntenos cómo lo hicimos",
}
DEFAULT_BODY = {
    "en": "Hello $name,\n\nWe would love to hear how we did. It takes a minute:\n\n$link\n\n"
    "Thank you!",
    "de": "Hallo $name,\n\nwir würden gerne wissen, wie zufrieden Sie waren. Es dauert eine "
    "Minute:\n\n$link\n\nVielen Dank!",
    "fr": "Bonjour $name,\n\nNous aimerions savoir ce que vous avez pensé de nous. Cela prend "
    "une minute :\n\n$link\n\nMerci !",
    "es": "Hola $name:\n\nNos encantaría saber cómo lo hicimos. Solo le llevará un minuto:\n\n"
    "$link\n\n¡Gracias!",
}


@dataclass(frozen=True)
class MailSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "cxray <surveys@localhost>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_env(cls, config: ProgramConfig | None = None) -> MailSettings:
        """``CXRAY_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_STARTTLS``; the sender
        from ``[surveys] sender``."""
        env = os.environ
        port = env.get("CXRAY_SMTP_PORT", "25")
        if not port.isdigit():
            raise ConfigError(f"CXRAY_SMTP_PORT={port!r} is not a port number")
        return cls(
            host=env.get("CXRAY_SMTP_HOST", "localhost"),
            port=int(port),
            sender=config.surveys.sender if config else cls.sender,
            username=env.get("CXRAY_SMTP_USER") or None,
            password=env.get("CXRAY_SMTP_PASSWORD") or None,
            starttls=env.get("CXRAY_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        )


@dataclass(frozen=True)
class SendReport:
    sent: list[str]  # invitation ids
    skipped: list[tuple[str, str]]  # (invitation id, why)


def compose(inv: IssuedInvitation, survey: SurveyDefinition, sender: str) -> EmailMessage:
    """The invitation e-mail in the invitation's language."""
    lang = inv.language
    default = survey.languages[0]
    title = text_in(survey.title, lang, default)
    subject = text_in(survey.email_subject, lang, default) or text_in(DEFAULT_SUBJECT, lang, "en")
    body = text_in(survey.email_body, lang, default) or text_in(DEFAULT_BODY, lang, "en")
    values = {"name": inv.name or "", "survey": title, "link": inv.link}
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = inv.email or ""
    msg["Subject"] = string.Template(subject).safe_substitute(values).replace("\n", " ")
    msg["Message-ID"] = make_msgid(idstring=inv.invitation_id)
    text = string.Template(body).safe_substitute(values)
    if "$link" not in body:
        text += f"\n\n{inv.link}\n"
    msg.set_content(text)
    msg["Content-Language"] = lang  # after set_content, which replaces the Content-* headers
    return msg


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An SMTP connection with STARTTLS and login done (the loop's notifications use it
    too); :class:`~cxray.exceptions.CXError` saying how it failed."""
    return _open(settings)


def _open(settings: MailSettings) -> smtplib.SMTP:
    """A connection, with STARTTLS and login done; a clear error for each way it fails."""
    where = f"{settings.host}:{settings.port}"
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise CXError(f"cannot reach the SMTP server {where}: {exc}") from None
    try:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise CXError(
            f"the SMTP server {where} refused the login of {settings.username!r} "
            f"({exc.smtp_code}); check CXRAY_SMTP_USER and CXRAY_SMTP_PASSWORD"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise CXError(f"the SMTP server {where} refused the session: {exc}") from None
    return smtp


def check_reachable(settings: MailSettings) -> None:
    """Raise a clear error unless the SMTP server answers and accepts the login (before
    anything is stored)."""
    smtp = _open(settings)
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.quit()


def send(
    invitations: list[IssuedInvitation],
    surveys: dict[str, SurveyDefinition],
    settings: MailSettings,
) -> SendReport:
    """Send each invitation that has an e-mail address; one connection for all."""
    sent: list[str] = []
    skipped: list[tuple[str, str]] = []
    todo = []
    for inv in invitations:
        if not inv.email:
            skipped.append((inv.invitation_id, "no e-mail address"))
        else:
            todo.append(inv)
    if not todo:
        return SendReport(sent, skipped)
    smtp = _open(settings)
    with smtp:
        for i, inv in enumerate(todo):
            msg = compose(inv, surveys[inv.survey], settings.sender)
            try:
                smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                skipped.append((inv.invitation_id, f"refused by the server: {exc.recipients}"))
                continue
            except smtplib.SMTPServerDisconnected as exc:  # the rest cannot go this time
                skipped += [(x.invitation_id, f"not sent: the server hung up ({exc})")
                            for x in todo[i:]]  # fmt: skip
                break
            except smtplib.SMTPResponseException as exc:  # refused at DATA or after
                why = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                    exc.smtp_error, bytes) else str(exc.smtp_error)  # fmt: skip
                skipped.append((inv.invitation_id, f"refused by the server: {exc.smtp_code} {why}"))
                with contextlib.suppress(smtplib.SMTPException):
                    smtp.rset()
                continue
            sent.append(inv.invitation_id)
    return SendReport(sent, skipped)
