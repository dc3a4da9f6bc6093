"""Surveys of one workspace: definitions, submissions, invitations, e-mails.

This is what the interfaces call: ``prepare`` turns what a caller sent (answers,
maybe an invitation token, a submission id) into a checked
:class:`Submission` in the request's own thread, so bad input is refused
before it reaches the writer; ``collector.submit`` stores it durably;
``invite`` draws an invitation list and ``send`` mails it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any

from cxray import stats
from cxray.config import ProgramConfig, SurveyDefinition
from cxray.exceptions import InvalidTokenError, SubmissionError
from cxray.store import INVITATIONS, SUBMISSIONS, Store
from cxray.surveys import _invitations, _mail
from cxray.surveys._answers import check_answers
from cxray.surveys._collector import Collector, Submission
from cxray.surveys._invitations import IssuedInvitation
from cxray.surveys._registry import SurveyRegistry
from cxray.surveys._tokens import Invitation, InvitationSigner

__all__ = ["CHANNELS", "Surveys", "response_id_for"]

CHANNELS = ("link", "email", "embed", "api", "app", "sms", "web")
MAX_ID = 200
_SID = "sid\x00{name}\x00{nonce}"  # what a survey page's session id signs


def response_id_for(survey: str, *, invitation_id: str | None, submission_id: str | None) -> str:
    """The response id: one per invitation, one per client submission id, else a new one."""
    if invitation_id is not None:
        return f"inv_{invitation_id}"
    if submission_id is not None:
        digest = hashlib.sha256(f"{survey}\x00{submission_id}".encode()).hexdigest()[:24]
        return f"sub_{digest}"
    return f"rsp_{secrets.token_hex(12)}"


class Surveys:
    """The surveys of a store and config (``Workspace.surveys``)."""

    def __init__(
        self,
        store: Store,
        config: ProgramConfig,
        *,
        lock: threading.RLock | None = None,
        after_write: Any = None,
    ):
        self.store = store
        #: called with the responses rows of each commit, inside it (the closed loop's rules)
        self.after_write = after_write
        self.config = config
        self.lock = lock or threading.RLock()
        self.registry = SurveyRegistry(store, config)
        self._signer: InvitationSigner | None = None
        self._collector: Collector | None = None
        self._local = threading.local()  # per-thread read cursors
        self._cursors: list[Any] = []
        self._ring_cache: tuple[float, Any] | None = None  # (read at, the invitation keys)

    # ------------------------------------------------------------ parts

    @property
    def signer(self) -> InvitationSigner:
        if self._signer is None:
            with self.lock:
                store = self.store
                store.keyring("invitations")  # made (or moved out of the store) now
                self._signer = InvitationSigner(lambda: store.keyring("invitations"))
        return self._signer

    @property
    def collector(self) -> Collector:
        if self._collector is None:
            with self.lock:
                if self._collector is None:
                    self._collector = Collector(
                        self.store,
                        self.registry,
                        self.config,
                        lock=self.lock,
                        after_write=self.after_write,
                    )
        return self._collector

    @property
    def commits(self) -> int:
        """Commits of collected responses so far in this process (0 before the first)."""
        return 0 if self._collector is None else self._collector.commits

    def close(self) -> None:
        for cursor in self._cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        self._cursors.clear()
        if self._collector is not None:
            self._collector.close()

    def names(self) -> list[str]:
        return self.registry.names()

    def get(self, name: str) -> SurveyDefinition:
        return self.registry.get(name)

    # ------------------------------------------------------------ collecting

    def verify_token(self, name: str, token: str) -> Invitation:
        return self.signer.verify(token, survey=name)

    def prepare(
        self,
        name: str,
        answers: Any,
        *,
        token: str | None = None,
        submission_id: str | None = None,
        customer_id: str | None = None,
        trusted: bool = False,
        complete: bool = True,
        language: str | None = None,
        channel: str | None = None,
        bind: bool = False,
        resume_token: str | None = None,
    ) -> Submission:
        """A checked submission, or the error that says what is wrong with it.

        ``trusted`` callers (an API key of an analyst or admin) may name the customer
        and answer a survey that is not public; anyone else needs the survey to be
        public or an invitation token, which names the customer itself.

        With ``bind`` (a client on the network: the API), an anonymous submission with a
        ``submission_id`` may add to a partial response only if it started it: it sends
        the ``resume_token`` (:meth:`resume_token`) the first step was answered with; else
        the collector refuses it (:class:`~cxray.exceptions.InvalidTokenError`) unless it
        changes nothing. (A survey page binds its responses by its signed session id,
        :meth:`new_form_sid`.)
        """
        survey = self.registry.get(name)
        invitation = None
        if token is not None:
            invitation = self.signer.verify(token, survey=name)
            if customer_id is not None and customer_id != invitation.customer_id:
                raise SubmissionError("customer_id differs from the invitation's customer")
            customer_id = invitation.customer_id
        elif customer_id is not None and not trusted:
            raise SubmissionError(
                "customer_id may be sent only with an API key; a customer answers through "
                "their invitation token"
            )
        elif not survey.public and not trusted:
            raise InvalidTokenError(f"survey {name!r} is answered by invitation only")
        if submission_id is not None and (
            not isinstance(submission_id, str) or not 0 < len(submission_id) <= MAX_ID
        ):
            raise SubmissionError(f"submission_id must be a string of 1 to {MAX_ID} characters")
        if customer_id is not None and (
            not isinstance(customer_id, str) or not 0 < len(customer_id) <= MAX_ID
        ):
            raise SubmissionError(f"customer_id must be a string of 1 to {MAX_ID} characters")
        if language is not None and language not in survey.languages:
            raise SubmissionError(
                f"survey {name!r} is not offered in {language!r} "
                f"(languages: {', '.join(survey.languages)})"
            )
        if channel is not None and channel not in CHANNELS:
            raise SubmissionError(f"channel must be one of {', '.join(CHANNELS)}")
        if not isinstance(complete, bool):
            raise SubmissionError("complete must be true or false")
        checked = check_answers(survey, answers, self.config, survey_name=name)
        inv_id = invitation.invitation_id if invitation else None
        rid = response_id_for(name, invitation_id=inv_id, submission_id=submission_id)
        # an anonymous client continues only a response it started (its resume token)
        bound = (
            bind
            and not trusted
            and inv_id is None
            and submission_id is not None
            and not (resume_token is not None and self.resume_token_ok(rid, resume_token))
        )
        return Submission(
            survey=name,
            response_id=rid,
            bound=bound,
            answers=checked,
            complete=complete,
            customer_id=customer_id,
            invitation_id=inv_id,
            language=language or survey.languages[0],
            channel=channel or ("email" if invitation else None),
        )

    # ------------------------------------------------------------ who may continue

    def _mac(self, message: str, key_id: str | None = None) -> str | None:
        """``KEYID.MAC`` of ``message`` with the invitation keys' current key (or key
        ``key_id``; None when that key is no longer kept)."""
        cached = self._ring_cache
        if cached is None or time.monotonic() - cached[0] > 1.0:  # a rotation: seen in 1 s
            with self.lock:  # the keyring may read the store: one thread on its connection
                cached = self._ring_cache
                if cached is None or time.monotonic() - cached[0] > 1.0:
                    ring = self.store.keyring("invitations")
                    cached = self._ring_cache = (time.monotonic(), ring)
        ring = cached[1]
        key = ring.current if key_id is None else ring.get(key_id)
        if key is None:
            return None
        digest = hmac.new(key.key, message.encode("utf-8"), hashlib.sha256).digest()
        return f"{key.id}.{base64.urlsafe_b64encode(digest[:18]).decode('ascii')}"

    def _mac_ok(self, message: str, token: str) -> bool:
        if not isinstance(token, str) or not 0 < len(token) <= 100 or token.count(".") != 1:
            return False
        expected = self._mac(message, token.partition(".")[0])
        return expected is not None and hmac.compare_digest(expected, token)

    def resume_token(self, response_id: str) -> str:
        """The token that lets its holder add to the partial response ``response_id``:
        answered with the first step of an anonymous response with a submission id."""
        token = self._mac(f"resume\x00{response_id}")
        assert token is not None  # the current key is always kept
        return token

    def resume_token_ok(self, response_id: str, token: str) -> bool:
        return self._mac_ok(f"resume\x00{response_id}", token)

    def new_form_sid(self, name: str) -> str:
        """A session id for a survey page: random, signed, so that a page can continue
        only responses the server began for it (never one named by another client)."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._mac(_SID.format(name=name, nonce=nonce))}"

    def form_sid_ok(self, name: str, sid: str) -> bool:
        nonce, _, mac = sid.partition(".") if isinstance(sid, str) else ("", "", "")
        return bool(nonce) and self._mac_ok(_SID.format(name=name, nonce=nonce), mac)

    def response_id_for(
        self, name: str, invitation: Invitation | None, submission_id: str | None
    ) -> str:
        """The response id a submission to ``name`` gets (see :func:`response_id_for`)."""
        return response_id_for(
            name,
            invitation_id=invitation.invitation_id if invitation else None,
            submission_id=submission_id,
        )

    def submission(self, response_id: str) -> dict[str, Any] | None:
        """What the ledger holds for a response (``answers`` so far, ``completed``), or None.

        Safe from any thread: on DuckDB each thread reads through a cursor of its
        own (committed data, a key lookup); other backends read under the lock.
        """
        cols = ("response_id", "survey", "answers", "completed")
        con = self.store.duckdb_connection
        if con is None:
            with self.lock:
                t = self.store.backend.table(SUBMISSIONS)
                rows = [
                    tuple(r.values())
                    for r in t.filter(t.response_id == response_id)
                    .select(*cols)
                    .to_pyarrow()
                    .to_pylist()
                ]
        else:
            cursor = getattr(self._local, "cursor", None)
            if cursor is None:
                with self.lock:
                    cursor = self._local.cursor = con.cursor()
                    self._cursors.append(cursor)
            rows = cursor.execute(
                f"SELECT {', '.join(cols)} FROM {SUBMISSIONS} WHERE response_id = ?",
                [response_id],
            ).fetchall()
        if not rows:
            return None
        out = dict(zip(cols, rows[0], strict=True))
        return {**out, "answers": json.loads(out["answers"])}

    # ------------------------------------------------------------ inviting

    def invite(
        self,
        name: str,
        *,
        since: dt.datetime,
        until: dt.datetime,
        limit: int | None = None,
        language: str | None = None,
        require_email: bool = False,
        dry_run: bool = False,
        now: dt.datetime | None = None,
    ) -> list[IssuedInvitation] | list[_invitations.Invitee]:
        """Invite the survey's touchpoint customers of a window (fatigue rule applied).

        With ``dry_run`` the list is returned and nothing is stored.
        """
        survey = self.registry.get(name)
        with self.lock:
            who = _invitations.audience(
                self.store, self.config, survey, since=since, until=until, now=now,
                limit=limit, require_email=require_email,
            )  # fmt: skip
            if dry_run:
                return who
            return _invitations.issue(
                self.store, self.signer, self.config, name, survey, who,
                language=language, now=now,
            )  # fmt: skip

    def send(
        self, invitations: list[IssuedInvitation], settings: _mail.MailSettings
    ) -> _mail.SendReport:
        """E-mail invitations over SMTP and record which went out."""
        surveys = {i.survey: self.registry.get(i.survey) for i in invitations}
        report = _mail.send(invitations, surveys, settings)
        with self.lock:
            _invitations.mark_sent(self.store, report.sent)
        return report

    def _counts(self, name: str) -> dict[str, int]:
        t = self.store.backend.table(INVITATIONS)
        t = t.filter(t.survey == name)
        answered = t.responded_at.notnull()
        row = (
            t.aggregate(
                invited=t.count(),
                sent=t.sent_at.count(),
                responded=answered.sum(),
                sent_responded=(t.sent_at.notnull() & answered).sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        return {k: int(v or 0) for k, v in row.items()}

    def invitation_counts(self, name: str) -> dict[str, int]:
        """Invitations made, e-mailed and answered to the end."""
        c = self._counts(name)
        return {k: c[k] for k in ("invited", "sent", "responded")}

    def invitation_summary(self, name: str) -> dict[str, Any]:
        """The invitation counts and the response rate, from one query."""
        c = self._counts(name)
        return {
            **{k: c[k] for k in ("invited", "sent", "responded")},
            "response_rate": self._rate(c).to_dict(),
        }

    def response_rate(self, name: str) -> stats.Estimate:
        """Completed responses per invitation, in percent, with its Wilson interval.

        Invitations that were e-mailed count when any were (those never sent
        are links handed out some other way); otherwise every invitation does.
        """
        return self._rate(self._counts(name))

    def _rate(self, c: dict[str, int]) -> stats.Estimate:
        k, n = (c["sent_responded"], c["sent"]) if c["sent"] else (c["responded"], c["invited"])
        cfg = self.config.measurement
        return stats.proportion(k, n, confidence=cfg.confidence, min_n=cfg.min_n, percent=True)
