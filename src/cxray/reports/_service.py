"""``ws.reports``: generate a digest, keep it in the archive, list it, e-mail it.

The archive is the store table ``_cx_reports_archive``: one row per digest with its
period, format, reader (``pii``), who made it (a schedule's name, an API key, ``local``),
the rendered file's bytes (no pickle: the PDF, HTML or Markdown as written), the customers
it names (a JSON list, so that an erasure finds the digests that name a customer) and, for
a scheduled one, to whom it was sent and when.

A digest can be deleted (:meth:`Reports.delete`). An erasure (``cxray.privacy``) empties
the file of every digest that names the erased customer, in its own transaction, and
:meth:`Reports.rewrite` then makes each one again from the store as it is after the
erasure (same id, period, format and reader); one that cannot be made again is deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import ibis

from cxray.config._reports import ReportPeriod, ReportSchedule, resolve_period
from cxray.exceptions import CXError, NotFoundError, QueryError
from cxray.privacy._erase import ensure_table, insert_row, transaction
from cxray.reports._digest import build_digest
from cxray.reports._render import FORMATS, MEDIA_TYPES, render

__all__ = ["ARCHIVE", "ARCHIVE_SCHEMA", "Report", "Reports"]

ARCHIVE = "_cx_reports_archive"
ARCHIVE_SCHEMA = ibis.schema(
    {
        "report_id": "string",
        "created_at": "timestamp",  # UTC
        "schedule": "string",  # the [reports.NAME] it ran for; NULL when made by hand
        "period": "string",  # the period's label, e.g. 2026-W41, 2026-10, 2026-Q3
        "period_start": "date",
        "period_end": "date",
        "format": "string",
        "pii": "boolean",
        "actor": "string",
        "title": "string",
        "size": "int64",
        "content": "binary",
        "sent_to": "string",  # JSON list of addresses (scheduled digests)
        "sent_at": "timestamp",  # UTC; NULL until the e-mail went
        "summary": "string",  # JSON: each section available or why not
        "customers": "string",  # JSON list of the customer ids the digest names
    }
)
_LIST = [c for c in ARCHIVE_SCHEMA.names if c not in ("content", "customers")]
log = logging.getLogger("cxray.reports")
EXTENSIONS = {"html": "html", "pdf": "pdf", "md": "md"}


@dataclass(frozen=True)
class Report:
    """One archived digest (``content``: the rendered file; empty in listings)."""

    report_id: str
    created_at: dt.datetime
    schedule: str | None
    period: str
    period_start: dt.date
    period_end: dt.date
    format: str
    pii: bool
    actor: str
    title: str
    size: int
    sent_to: list[str]
    sent_at: dt.datetime | None
    summary: dict[str, Any]
    content: bytes = b""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        safe = self.period.replace("..", "_to_").replace("/", "-")
        return f"cxray-digest-{safe}.{EXTENSIONS[self.format]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "schedule": self.schedule,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "format": self.format,
            "pii": self.pii,
            "actor": self.actor,
            "title": self.title,
            "size": self.size,
            "sent_to": self.sent_to,
            "sent_at": self.sent_at.isoformat(timespec="seconds") if self.sent_at else None,
            "summary": self.summary,
            "filename": self.filename,
        }

    @classmethod
    def _of(cls, row: dict[str, Any]) -> Report:
        return cls(
            report_id=row["report_id"],
            created_at=row["created_at"],
            schedule=row["schedule"],
            period=row["period"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            format=row["format"],
            pii=bool(row["pii"]),
            actor=row["actor"],
            title=row["title"],
            size=int(row["size"]),
            sent_to=json.loads(row["sent_to"] or "[]"),
            sent_at=row["sent_at"],
            summary=json.loads(row["summary"] or "{}"),
            content=bytes(row.get("content") or b""),
        )


def named_customers(digest: Any) -> list[str]:
    """The customer ids a digest shows or rests on (the churn section's customers most at
    risk, the customers of the alerts it lists): every ``customer_id`` in its sections."""
    found: dict[str, None] = {}

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "customer_id" and v is not None:
                    found[str(v)] = None
                else:
                    walk(v)
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v)

    for section in digest.sections:
        walk(section.data)
    return sorted(found)


def _utcnow() -> dt.datetime:
    # microseconds kept: two digests of one second are listed in the order they were made
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Reports:
    """Executive digests over one workspace (``ws.reports``, ``docs/reports.md``)."""

    def __init__(self, ws: Any, *, lock: Any = None):
        self.ws = ws
        self.store = ws.store
        self.config = ws.config
        self.lock = lock

    # ------------------------------------------------------------------ making
    def period(self, text: str, today: dt.date | None = None) -> ReportPeriod:
        """The period ``text`` names, seen from ``today`` (default: today in the program's
        time zone)."""
        try:
            return resolve_period(text, today or self.today())
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        except OverflowError:  # a period next to year 1 or 9999
            raise QueryError(f"period {text!r}: outside the calendar cxray can count") from None

    def today(self) -> dt.date:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(self.config.program.timezone)).date()

    def digest(self, period: str | ReportPeriod = "last-week", *, pii: bool = False) -> Any:
        """The :class:`~cxray.reports.Digest` of a period for a reader with (or without)
        ``pii``."""
        p = period if isinstance(period, ReportPeriod) else self.period(period)
        return build_digest(self.ws, p, pii=pii)

    def generate(
        self,
        period: str | ReportPeriod = "last-week",
        fmt: str = "pdf",
        *,
        pii: bool = False,
        actor: str = "local",
        schedule: str | None = None,
        keep: bool = True,
        sent_to: list[str] | None = None,
        digest: Any = None,
    ) -> Report:
        """Build (unless ``digest`` is given) and render the digest; ``keep``: write it to
        the archive."""
        if fmt not in FORMATS:
            raise QueryError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
        p = period if isinstance(period, ReportPeriod) else self.period(period)
        digest = digest or build_digest(self.ws, p, pii=pii)
        content = render(digest, fmt)
        summary = {s.key: (s.note if not s.available else "ok") for s in digest.sections}
        report = Report(
            report_id="RP-" + secrets.token_hex(8),
            created_at=_utcnow(),
            schedule=schedule,
            period=p.label,
            period_start=p.start,
            period_end=p.end,
            format=fmt,
            pii=pii,
            actor=actor,
            title=f"{digest.title}: {p.label}",
            size=len(content),
            sent_to=list(sent_to or []),
            sent_at=None,
            summary=summary,
            content=content,
        )
        if keep:
            self._write(report, named_customers(digest))
        return report

    def _ensure(self, tx: Any) -> None:
        """The archive table, and its ``customers`` column in an archive made before it."""
        from cxray.privacy._erase import ident

        b = self.store.backend
        if ARCHIVE in b.list_tables() and "customers" not in b.table(ARCHIVE).columns:
            typ = b.compiler.type_mapper.to_string(ARCHIVE_SCHEMA["customers"])
            tx.run(f"ALTER TABLE {ident(ARCHIVE)} ADD COLUMN customers {typ}")
        ensure_table(self.store, tx, ARCHIVE, ARCHIVE_SCHEMA, "report_id")

    def _write(self, r: Report, customers: list[str]) -> None:
        row = {
            "report_id": r.report_id,
            "created_at": r.created_at,
            "schedule": r.schedule,
            "period": r.period,
            "period_start": r.period_start,
            "period_end": r.period_end,
            "format": r.format,
            "pii": r.pii,
            "actor": r.actor,
            "title": r.title,
            "size": r.size,
            "content": r.content,
            "sent_to": json.dumps(r.sent_to),
            "sent_at": r.sent_at,
            "summary": json.dumps(r.summary),
            "customers": json.dumps(customers),
        }
        with self.lock or contextlib.nullcontext(), transaction(self.store) as tx:
            self._ensure(tx)
            insert_row(tx, ARCHIVE, row)

    def delete(self, report_id: str) -> Report:
        """Delete one archived digest; its record (without the file).
        :class:`NotFoundError` when the archive holds none with this id."""
        held = self._table()
        rows = [] if held is None else held.filter(held.report_id == report_id).select(*_LIST)
        found = [] if held is None else rows.to_pyarrow().to_pylist()
        if not found:
            raise NotFoundError(f"no report {report_id!r} in the archive")
        with self.lock or contextlib.nullcontext(), transaction(self.store) as tx:
            n = tx.run(f'DELETE FROM "{ARCHIVE}" WHERE report_id = ?', [report_id])
        if not n:
            raise NotFoundError(f"no report {report_id!r} in the archive")
        return Report._of(found[0])

    def _period_of(self, r: Report) -> ReportPeriod:
        """The period an archived digest covers, as it was resolved when it was made."""
        seen_from = r.period_end + dt.timedelta(days=1)
        for text, day in ((r.period, seen_from), ("last-week", seen_from)):
            try:
                p = resolve_period(text, day)
            except (ValueError, OverflowError):
                continue
            if (p.start, p.end) == (r.period_start, r.period_end):
                return p
        return resolve_period(f"{r.period_start}..{r.period_end}", seen_from)

    def rewrite(self, report_ids: list[str] | tuple[str, ...]) -> tuple[int, int]:
        """Make the archived digests ``report_ids`` again from the store as it is now (after
        an erasure emptied them): the same id, period, format and reader, a new file and
        the customers it names now. One that cannot be made again is deleted, so that no
        emptied file stays in the archive. Returns (rewritten, removed)."""
        rewritten = removed = 0
        for rid in report_ids:
            try:
                old = self.get(rid)
            except NotFoundError:
                continue
            try:
                digest = build_digest(self.ws, self._period_of(old), pii=old.pii)
                content = render(digest, old.format)
                summary = {s.key: (s.note if not s.available else "ok") for s in digest.sections}
                with self.lock or contextlib.nullcontext(), transaction(self.store) as tx:
                    self._ensure(tx)
                    tx.run(
                        f'UPDATE "{ARCHIVE}" SET content = ?, size = ?, summary = ?, '
                        "customers = ? WHERE report_id = ?",
                        [content, len(content), json.dumps(summary),
                         json.dumps(named_customers(digest)), rid],
                    )  # fmt: skip
                rewritten += 1
            except Exception as exc:  # never leave an emptied file: the digest goes
                log.warning("digest %s could not be made again (%s): deleted", rid, exc)
                with self.lock or contextlib.nullcontext(), transaction(self.store) as tx:
                    removed += tx.run(f'DELETE FROM "{ARCHIVE}" WHERE report_id = ?', [rid])
        return rewritten, removed

    def mark_sent(self, report_id: str, when: dt.datetime | None = None) -> None:
        with self.lock or contextlib.nullcontext(), transaction(self.store) as tx:
            tx.run(
                f'UPDATE "{ARCHIVE}" SET sent_at = ? WHERE report_id = ?',
                [when or _utcnow(), report_id],
            )

    # ----------------------------------------------------------------- reading
    def _table(self) -> Any | None:
        b = self.store.backend
        return b.table(ARCHIVE) if ARCHIVE in b.list_tables() else None

    def list(self, *, limit: int = 100, offset: int = 0) -> list[Report]:
        """Archived digests, newest first (without their content)."""
        t = self._table()
        if t is None:
            return []
        rows = (
            t.select(*_LIST)
            .order_by([ibis.desc("created_at"), ibis.desc("report_id")])
            .limit(limit, offset=offset)
            .to_pyarrow()
            .to_pylist()
        )
        return [Report._of(r) for r in rows]

    def get(self, report_id: str) -> Report:
        """One archived digest with its content; :class:`NotFoundError` when there is none."""
        t = self._table()
        rows = [] if t is None else t.filter(t.report_id == report_id).to_pyarrow().to_pylist()
        if not rows:
            raise NotFoundError(f"no report {report_id!r} in the archive")
        return Report._of(rows[0])

    def find(self, schedule: str, period: str) -> Report | None:
        """The archived digest of ``schedule`` for ``period`` (the sent one first)."""
        t = self._table()
        if t is None:
            return None
        w = t.filter((t.schedule == schedule) & (t.period == period)).select(*_LIST)
        rows = w.order_by([t.sent_at.isnull(), ibis.desc("created_at")]).to_pyarrow().to_pylist()
        return Report._of(rows[0]) if rows else None

    # ----------------------------------------------------------------- sending
    def send(self, report: Report, to: list[str], *, settings: Any = None) -> None:
        """E-mail ``report`` as an attachment to ``to`` over the SMTP settings the surveys and
        the loop use (``CXRAY_SMTP_*``; the sender from ``[surveys] sender``)."""
        from cxray.surveys import MailSettings, connect

        if not to:
            raise QueryError("no recipients: set `to` in the [reports.NAME] section")
        settings = settings or MailSettings.from_env(self.config)
        msg = compose(report, to, settings.sender)
        smtp = connect(settings)
        try:
            smtp.send_message(msg)
        except smtplib.SMTPException as exc:
            raise CXError(f"the SMTP server refused the digest {report.report_id}: {exc}") from None
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()

    def run_schedule(
        self, name: str, schedule: ReportSchedule, occurrence: dt.datetime, *, settings: Any = None
    ) -> Report | None:
        """The digest ``schedule`` owes for its run at ``occurrence`` (local time): made,
        archived and sent unless the archive already holds a sent one for that period
        (``None`` then). One made but not sent (the server stopped, the mail failed) is
        sent now, not made again."""
        period = self.period(schedule.period, occurrence.date())
        held = self.find(name, period.label)
        if held is not None and (held.sent_at is not None or not schedule.to):
            return None
        report = held
        if report is None:
            report = self.generate(
                period,
                schedule.format,
                pii=schedule.pii,
                actor=f"schedule:{name}",
                schedule=name,
                sent_to=list(schedule.to),
            )
        else:
            report = self.get(report.report_id)
        if schedule.to:
            self.send(report, list(schedule.to), settings=settings)
            self.mark_sent(report.report_id)
        return report


def compose(report: Report, to: list[str], sender: str) -> EmailMessage:
    """The digest e-mail: a short text and the digest attached."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = report.title
    msg["Message-ID"] = make_msgid(idstring=report.report_id)
    lines = [
        f"{report.title} ({report.period_start} to {report.period_end}) is attached.",
        "",
    ]
    for key, state in report.summary.items():
        if state != "ok":
            lines.append(f"- {key}: {state}")
    msg.set_content("\n".join(lines) + "\n")
    main, sub = report.media_type.split("/")
    msg.add_attachment(report.content, maintype=main, subtype=sub, filename=report.filename)
    return msg
