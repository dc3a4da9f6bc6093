"""Invitation lists drawn from the store, under the fatigue rule, and the invitations made.

A survey's touchpoint says whom to ask: ``case_resolved`` asks customers whose
case was resolved in the window (say, yesterday), ``order_delivered`` and
``order_placed`` those whose order was, ``event:TOUCHPOINT`` those who did
that, ``relationship`` every current customer. Churned customers are never
asked, nor is anyone invited to any survey in the last ``[surveys]
fatigue_days`` days (counted across all surveys), and nobody twice in one
list. Each invitation gets an id, a signed token and a link.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from cxray.config import ProgramConfig, SurveyDefinition
from cxray.exceptions import QueryError
from cxray.store import INVITATIONS, Store
from cxray.surveys._tokens import Invitation, InvitationSigner

__all__ = ["Invitee", "IssuedInvitation", "audience", "issue"]


@dataclass(frozen=True)
class Invitee:
    customer_id: str
    email: str | None
    name: str | None
    context: str | None  # what it follows: "case:C1", "order:O7", "event:E3"


@dataclass(frozen=True)
class IssuedInvitation:
    invitation_id: str
    survey: str
    customer_id: str
    email: str | None
    name: str | None
    context: str | None
    language: str
    expires_at: dt.datetime
    token: str
    link: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "invitation_id": self.invitation_id,
            "survey": self.survey,
            "customer_id": self.customer_id,
            "email": self.email,
            "context": self.context,
            "language": self.language,
            "expires_at": self.expires_at.isoformat(),
            "link": self.link,
        }


def _naive(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts


def _touched(store: Store, touchpoint: str, since: dt.datetime, until: dt.datetime) -> ibis.Table:
    """customer_id, context, at: who met the touchpoint in [since, until)."""
    if touchpoint == "case_resolved":
        t = store.table("cases")
        t = t.filter(t.resolved_at.notnull() & t.customer_id.notnull())
        return t.select(
            customer_id=t.customer_id, context="case:" + t.case_id, at=t.resolved_at
        ).filter((ibis._.at >= since) & (ibis._.at < until))
    if touchpoint in ("order_delivered", "order_placed"):
        t = store.table("orders")
        col = t.delivered_at if touchpoint == "order_delivered" else t.ordered_at
        return t.select(customer_id=t.customer_id, context="order:" + t.order_id, at=col).filter(
            ibis._.at.notnull() & (ibis._.at >= since) & (ibis._.at < until)
        )
    if touchpoint.startswith("event:"):
        t = store.table("events")
        name = touchpoint.removeprefix("event:")
        t = t.filter(t.touchpoint == name)
        return t.select(
            customer_id=t.customer_id,
            context="event:" + t.event_id.fill_null(""),
            at=t.timestamp,
        ).filter((ibis._.at >= since) & (ibis._.at < until))
    if touchpoint == "relationship":
        c = store.table("customers")
        return c.filter(c.created_at < until).select(
            customer_id=c.customer_id, context=ibis.null(str), at=c.created_at
        )
    raise QueryError(f"unknown touchpoint {touchpoint!r}")


def audience(
    store: Store,
    config: ProgramConfig,
    survey: SurveyDefinition,
    *,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime | None = None,
    limit: int | None = None,
    require_email: bool = False,
) -> list[Invitee]:
    """Whom to invite: the touchpoint's customers in the window, minus fatigue and churn."""
    since, until = _naive(since), _naive(until)
    if since >= until:
        raise QueryError(f"the window is empty: since {since} is not before until {until}")
    now = _naive(now or dt.datetime.now(dt.UTC))
    touched = _touched(store, survey.touchpoint, since, until)
    # the latest touch per customer: one invitation each
    ranked = touched.mutate(
        _rank=ibis.row_number().over(group_by="customer_id", order_by=ibis.desc("at"))
    ).filter(ibis._._rank == 0)
    customers = store.table("customers")
    joined = ranked.join(customers, ranked.customer_id == customers.customer_id).filter(
        customers.churned_at.isnull() | (customers.churned_at > now)
    )
    out = joined.select(
        customer_id=ranked.customer_id,
        email=customers.email,
        name=customers.name,
        context=ranked.context,
        at=ranked.at,
    )
    if require_email:
        out = out.filter(out.email.notnull() & (out.email != ""))
    if config.surveys.fatigue_days > 0:
        inv = store.backend.table(INVITATIONS)
        cutoff = now - dt.timedelta(days=config.surveys.fatigue_days)
        recent = inv.filter(inv.created_at >= cutoff).select(_cid=inv.customer_id).distinct()
        out = out.anti_join(recent, out.customer_id == recent._cid)
    out = out.order_by([ibis.desc("at"), "customer_id"])
    if limit is not None:
        out = out.limit(limit)
    rows = out.to_pyarrow().to_pylist()
    return [Invitee(r["customer_id"], r["email"], r["name"], r["context"]) for r in rows]


def issue(
    store: Store,
    signer: InvitationSigner,
    config: ProgramConfig,
    survey_name: str,
    survey: SurveyDefinition,
    invitees: list[Invitee],
    *,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> list[IssuedInvitation]:
    """Store one invitation per invitee and return them with their signed links."""
    now = _naive(now or dt.datetime.now(dt.UTC))
    lang = language or survey.languages[0]
    if lang not in survey.languages:
        raise QueryError(
            f"survey {survey_name!r} is not offered in {lang!r} "
            f"(languages: {', '.join(survey.languages)})"
        )
    expires = now + dt.timedelta(days=survey.invitation_days)
    base = config.surveys.base_url
    issued = []
    for who in invitees:
        inv_id = secrets.token_hex(10)
        token = signer.sign(
            Invitation(inv_id, survey_name, who.customer_id, expires.replace(tzinfo=dt.UTC), lang)
        )
        issued.append(
            IssuedInvitation(
                invitation_id=inv_id,
                survey=survey_name,
                customer_id=who.customer_id,
                email=who.email,
                name=who.name,
                context=who.context,
                language=lang,
                expires_at=expires,
                token=token,
                link=f"{base}/s/{survey_name}?t={token}",
            )
        )
    if issued:
        n = len(issued)
        table = pa.table(
            {
                "invitation_id": [i.invitation_id for i in issued],
                "survey": [survey_name] * n,
                "customer_id": [i.customer_id for i in issued],
                "email": [i.email for i in issued],
                "context": [i.context for i in issued],
                "language": [lang] * n,
                "created_at": pa.array([now] * n, pa.timestamp("us")),
                "expires_at": pa.array([expires] * n, pa.timestamp("us")),
                "sent_at": pa.array([None] * n, pa.timestamp("us")),
                "responded_at": pa.array([None] * n, pa.timestamp("us")),
                "response_id": pa.array([None] * n, pa.string()),
            }
        )
        if store.is_duckdb:
            con = store.backend.con
            con.register("_cx_new_invitations", table)
            try:
                con.execute(f"INSERT INTO {INVITATIONS} BY NAME SELECT * FROM _cx_new_invitations")
            finally:
                con.unregister("_cx_new_invitations")
        else:
            store.backend.insert(INVITATIONS, ibis.memtable(table))
    return issued


def mark_sent(store: Store, invitation_ids: list[str], at: dt.datetime | None = None) -> None:
    """Record that these invitations' e-mails went out."""
    if not invitation_ids:
        return
    at = _naive(at or dt.datetime.now(dt.UTC))
    if store.is_duckdb:
        store.backend.con.execute(
            f"UPDATE {INVITATIONS} SET sent_at = $1 "
            "WHERE invitation_id IN (SELECT unnest($2::VARCHAR[]))",
            [at, invitation_ids],
        )
    else:
        ids = ", ".join("'" + i.replace("'", "''") + "'" for i in invitation_ids)
        store.backend.raw_sql(
            f"UPDATE {INVITATIONS} SET sent_at = '{at.isoformat(sep=' ')}' "
            f"WHERE invitation_id IN ({ids})"
        )
