"""The Inbox and Alerts pages: the closed loop's follow-ups worked by people, and every alert.

``/inbox`` lists follow-ups (mine, my team's, overdue, all open, closed), due first, and
shows the selected one on one screen: what fired it, the customer's answers, cases and
recent history, the follow-up's own history, and forms to contact, note, assign and close
it. The forms are plain HTML posts (no JavaScript needed), refused from another site and
for viewers; the change is recorded with the logged-in key's name. ``/alerts`` lists every
alert with the numbers behind it and where it was sent, from the outbox. The overview
opens with a compact box of open alerts (:func:`loop_box`).

Reads go through the server's snapshot reader; changes through its workspace under the
write lock. Everything here is :attr:`cxray.Workspace.loop`'s (``docs/loop.md``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxray.access import role_allows
from cxray.exceptions import ConflictError, CXError, NotFoundError, QueryError
from cxray.explore import customer_timeline
from cxray.privacy import Masking
from cxray.store import FOLLOWUPS, OUTBOX
from cxray.web._context import ServerState, View, period_window, same_site
from cxray.web._format import fmt_cell, fmt_interval, fmt_number

__all__ = ["TABS", "add_inbox_routes", "loop_box"]

#: the Inbox's tabs: name -> label
TABS = {
    "mine": "Mine",
    "team": "My team's",
    "overdue": "Overdue",
    "open": "All open",
    "closed": "Closed",
}
ACTIONS = ("contact", "note", "assign", "close")
PER_PAGE = 25
ALERTS_PER_PAGE = 50
#: what the detail pane shows of the customer: answers, cases, other activity
RECENT = {"responses": 5, "cases": 5, "history": 8}
_ACTIVE = ("open", "contacted")
_CLOSED = ("resolved", "closed_no_contact")
STATUS_TEXT = {
    "open": "open",
    "contacted": "contacted",
    "resolved": "resolved",
    "closed_no_contact": "closed without contact",
}
ACTION_TEXT = {
    "opened": "opened",
    "assigned": "assigned",
    "contacted": "contacted the customer",
    "note": "added a note",
    "resolved": "resolved",
    "closed_no_contact": "closed without contact",
}
_DONE = {
    "contact": "Recorded: the customer was contacted.",
    "note": "Note added.",
    "assign": "Assignment saved.",
    "close": "Follow-up closed.",
}
_KEYS = {"responses": "response_id", "cases": "case_id", "mentions": "mention_id"}
#: what the detail pane shows of each timeline item, besides its time and id
_SUMMARY = {
    "response": ("survey", "nps", "csat", "ces", "comment"),
    "case": ("subject", "category", "status", "channel", "reopened"),
    "order": ("amount", "currency", "status"),
    "event": ("touchpoint", "channel"),
    "mention": ("platform", "rating", "text"),
}
#: KPI alert details that are read as numbers with one decimal (the KPI's units)
_KPI_NUMBERS = ("estimate", "change", "target", "action_threshold")


# ------------------------------------------------------------------ how things read


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def span(delta: dt.timedelta) -> str:
    """A duration in the largest unit or two that matter: ``3 d 4 h``, ``5 h``, ``12 min``."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days >= 7:
        return f"{days} d"
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{mins} min"


def when(value: dt.datetime | None) -> str:
    """A stored (UTC) time, short: ``2026-12-05 09:19``."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def due_text(fu: dict[str, Any], now: dt.datetime) -> str:
    due = fu.get("due_at")
    if due is None:
        return "no due time"
    if fu["status"] not in _ACTIVE:
        return f"was due {when(due)}"
    if due < now:
        return f"overdue by {span(now - due)}"
    return f"due in {span(due - now)}"


def number(value: Any) -> str:
    """A number as an alert's details show it: integers whole, others to 3 significant
    digits (``0.00217``, ``3.55``, ``-5.41``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fmt_cell(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    places = min(6, max(0, 2 - math.floor(math.log10(abs(value)))))
    return f"{value:,.{places}f}"


def _rows_link(table: str, column: str, value: Any) -> str:
    return f"/rows/{table}?" + urlencode({"filter": f"{column}:{value}"})


def describe_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """What fired an alert, as a person reads it: ``facts`` (label, text) and ``links``
    (label, href) to the rows and figures behind it."""
    d = dict(alert.get("details") or {})
    source = alert.get("source")
    facts: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    if source in _KEYS:
        key = _KEYS[source]
        if d.get(key) is not None:
            links.append((f"the {source[:-1]} {d[key]}", _rows_link(source, key, d[key])))
        for k, v in d.items():
            if k in (key, "customer_id") or v is None:
                continue
            shown = f"“{v}”" if k in ("comment", "subject", "text") else number(v)
            facts.append((k.replace("_", " "), shown))
    elif source == "kpi":
        metric = d.get("metric")
        est = d.get("estimate")
        if est is not None:
            shown = fmt_number(est) + " " + fmt_interval(d.get("ci_low"), d.get("ci_high"))
            facts.append((f"{metric} in {d.get('period')}", shown.strip()))
        if d.get("n") is not None:
            facts.append(("n", f"{d['n']:,}"))
        for k in ("status", "change", "q_value", "target", "action_threshold"):
            if d.get(k) is not None:
                v = fmt_number(d[k]) if k in _KPI_NUMBERS else number(d[k])
                facts.append((k.replace("_", " "), v))
        for k, v in d.items():  # the slice, when the rule is by an attribute
            if k not in (
                "metric",
                "period",
                "estimate",
                "ci_low",
                "ci_high",
                "n",
                "p_value",
                "status",
                "change",
                "q_value",
                "target",
                "action_threshold",
            ):
                facts.append((k, number(v)))
        if metric:
            links.append((f"{metric} by month", View(period="month").url("/trends", metric=metric)))
    elif source == "emerging":
        cat, period = d.get("category"), d.get("period")
        if d.get("cases") is not None:
            facts.append(("cases", f"{d['cases']:,}"))
        if d.get("share") is not None and d.get("baseline_share") is not None:
            facts.append(
                ("share", f"{100 * d['share']:.1f}% (usually {100 * d['baseline_share']:.1f}%)")
            )
        if d.get("ratio") is not None:
            facts.append(("ratio", f"{d['ratio']:.1f}×"))
        if d.get("q_value") is not None:
            facts.append(("q value", number(d["q_value"])))
        if cat:
            params = [("filter", f"category:{cat}")]
            window = _period_bounds(str(period)) if period else None
            if window:
                params += [("from", window[0]), ("to", window[1])]
            links.append((f"{cat} cases in {period}", "/rows/cases?" + urlencode(params)))
        for case in d.get("examples") or []:
            links.append((f"case {case}", _rows_link("cases", "case_id", case)))
    elif source == "churn_risk":
        if d.get("probability") is not None:
            shown = f"{100 * d['probability']:.1f}%"
            if d.get("ci_low") is not None and d.get("ci_high") is not None:
                shown += f" [{100 * d['ci_low']:.1f}%, {100 * d['ci_high']:.1f}%]"
            h = d.get("horizon_days")
            facts.append((f"churn risk in {'?' if h is None else f'{h:g}'} days", shown))
        for x in d.get("reasons") or []:
            facts.append(("reason", f"{x.get('feature')} ({float(x.get('contribution', 0)):+.2f})"))
        if d.get("value") is not None:
            facts.append(("value", f"{fmt_number(d['value'])} ({d.get('value_source') or ''})"))
        for k in ("model_id", "as_of"):
            if d.get(k) is not None:
                facts.append((k.replace("_", " "), str(d[k])))
        links.append(("Churn & value", "/churn"))
    else:
        facts = [(k, number(v)) for k, v in d.items() if v is not None]
    if alert.get("customer_id"):
        links.append((f"customer {alert['customer_id']}", f"/customers/{alert['customer_id']}"))
    return {"facts": facts, "links": links}


def _period_bounds(label: str) -> tuple[str, str] | None:
    """The rows page's ``from`` and ``to`` (exclusive) of a period label (a week's Monday,
    a month, a day)."""
    kind = "month" if len(label) == 7 else "week" if len(label) == 10 else None
    if kind is None:
        return None
    try:
        first, after = period_window(label, kind)
    except ValueError:
        return None
    return first.isoformat(), after.isoformat()


#: the measures the Inbox shows as tiles: (key in ``LoopMeasures.to_dict()``, title)
MEASURE_TILES = (
    ("followup_rate", "Follow-up rate"),
    ("time_to_contact", "Time to first contact (median)"),
    ("sla_met", "SLA met"),
    ("recovery_rate", "Recovered detractors"),
)
_GROUPS = ("in_time", "late", "not_contacted")


def _estimate(e: dict[str, Any] | None) -> dict[str, Any]:
    """An estimate's ``to_dict()`` as a page shows it: value, interval, n, or why not."""
    e = e or {}
    est = e.get("estimate")
    suppressed = bool(e.get("suppressed")) or est is None
    unit = e.get("unit") or ""
    suffix = {"%": " %", "hours": " h", "percentage points": " pts"}.get(unit, "")
    return {
        "estimate": None if suppressed else est,
        "shown": "—" if suppressed else f"{est:,.1f}{suffix}",
        "interval": "" if suppressed else fmt_interval(e.get("ci_low"), e.get("ci_high")),
        "n": e.get("n"),
        "suppressed": suppressed,
        "reason": e.get("reason") or "",
        "definition": e.get("definition") or "",
    }


def measures_view(raw: Any) -> dict[str, Any] | None:
    """``Loop.measure()`` as the Inbox shows it: tiles (follow-up rate, time to first
    contact, SLA met, recovered detractors), counts, the recovery comparisons and notes."""
    if raw is None:
        return None
    d = raw.to_dict() if hasattr(raw, "to_dict") else dict(raw)
    tiles = []
    for key, title in MEASURE_TILES:
        value = d.get(key)
        if isinstance(value, dict) and "median" in value:
            value = value["median"]
        if isinstance(value, dict):
            tiles.append({"name": key, "title": title, **_estimate(value)})
    recovery = []
    for r in d.get("recovery") or []:
        groups = {g: _estimate((r.get("groups") or {}).get(g)) for g in _GROUPS}
        comps = {c.get("b"): c for c in r.get("comparisons") or []}
        vs = comps.get("not_contacted") or {}
        recovery.append(
            {
                "rule": r.get("rule"),
                "outcome": r.get("outcome"),
                "definition": r.get("definition") or "",
                "better": r.get("better"),
                "groups": groups,
                "diff": _estimate(vs),
                "q_value": vs.get("q_value"),
                "significant": bool(vs.get("significant")),
            }
        )
    return {
        "tiles": tiles,
        "counts": d.get("followups") or {},
        "recovery": recovery,
        "notes": list(d.get("notes") or []),
        "comparable": d.get("comparable") or "",
        "fdr": d.get("fdr"),
    }


# ------------------------------------------------------------------ reading


def _teams(backend: Any, config: Any) -> list[str]:
    """The teams follow-ups are given to: those the rules name and those in the store."""
    names: list[str] = []
    for r in config.loop.rules:
        if r.team:
            names.append(r.team)
        names += [v.removeprefix("team:") for v in r.routes.values() if v.startswith("team:")]
    t = backend.table(FOLLOWUPS)
    stored = t.filter(t.team.notnull()).select("team").distinct().to_pyarrow().column(0)
    names += [str(x) for x in stored.to_pylist()]
    return sorted(set(names))


def _closed(followups: Any, *, offset: int, limit: int, **kw: Any) -> dict[str, Any]:
    """Resolved and closed-without-contact follow-ups together, due first."""
    pages = [followups.list(status=s, limit=offset + limit, offset=0, **kw) for s in _CLOSED]
    rows = sorted(
        (r for p in pages for r in p["rows"]),
        key=lambda r: (r["due_at"] or dt.datetime.max, r["followup_id"]),
    )
    total = sum(p["total"] for p in pages)
    rows = rows[offset : offset + limit]
    return {"total": total, "rows": rows, "has_more": offset + len(rows) < total}


def _tab_query(tab: str, user: Any, team: str | None) -> dict[str, Any]:
    if tab == "mine":
        return {"status": "active", "owner": user.name}
    if tab == "team":
        return {"status": "active", "team": team}
    if tab == "overdue":
        return {"overdue": True}
    return {"status": "active"}


def _page(
    followups: Any, tab: str, user: Any, team: str | None, rule: str | None, offset: int, limit: int
) -> dict[str, Any]:
    kw: dict[str, Any] = {"rule": rule} if rule else {}
    if tab == "team" and not team:  # no team to show
        return {"total": 0, "rows": [], "has_more": False}
    if tab == "closed":
        return _closed(followups, offset=offset, limit=limit, **kw)
    return followups.list(**_tab_query(tab, user, team), limit=limit, offset=offset, **kw)


def _count(followups: Any, tab: str, user: Any, team: str | None, rule: str | None) -> int:
    return int(_page(followups, tab, user, team, rule, 0, 0)["total"])


def _customer(backend: Any, customer_id: str, masking: Masking) -> dict[str, Any] | None:
    """The customer's profile, latest answers and cases, and recent history (newest
    first), masked as the customer page masks them; None when unknown."""
    try:
        story = customer_timeline(backend, customer_id, limit=200, masking=masking)
    except NotFoundError:
        return None
    items = []
    for item in reversed(story["timeline"]):  # newest first
        fields = _SUMMARY.get(item["kind"], ())
        summary = [(k, item["data"].get(k)) for k in fields if item["data"].get(k) is not None]
        items.append({**item, "summary": summary})
    profile = {
        k: v
        for k, v in (story["profile"] or {}).items()
        if v is not None and not k.startswith("_") and k != "customer_id"
    }
    return {
        "customer_id": customer_id,
        "profile": profile,
        "counts": story["counts"],
        "responses": [i for i in items if i["table"] == "responses"][: RECENT["responses"]],
        "cases": [i for i in items if i["table"] == "cases"][: RECENT["cases"]],
        "history": [i for i in items if i["table"] not in ("responses", "cases")][
            : RECENT["history"]
        ],
    }


def _messages(backend: Any, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each alert's notifications from the outbox: target, status, attempts, last error."""
    if not alert_ids:
        return {}
    t = backend.table(OUTBOX)
    rows = (
        t.filter(t.alert_id.isin(alert_ids))
        .select(
            "alert_id",
            "channel",
            "target",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "last_error",
        )
        .order_by(["alert_id", "target"])
        .to_pyarrow()
        .to_pylist()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("alert_id"), []).append(r)
    return out


def _kept_measures(state: ServerState, backend: Any, rule: str | None) -> dict[str, Any] | None:
    """:func:`measures_view` of ``Loop.measure``, kept while the follow-ups stay as they are
    (their number and latest change) and for ten minutes at most (what is past its SLA
    changes with the time)."""
    t = backend.table(FOLLOWUPS)
    stamp = t.aggregate(n=t.count(), last=t.updated_at.max()).to_pyarrow().to_pylist()[0]
    ten_minutes = utcnow().strftime("%Y-%m-%d %H:%M")[:-1]
    key = ("loop measures", rule, stamp["n"], stamp["last"], ten_minutes)
    return state.cached(key, lambda ws: measures_view(ws.loop.measure(rule=rule)))


def loop_box(state: ServerState) -> dict[str, Any] | None:
    """The overview's box of open alerts: the newest alerts, how many follow-ups are open
    and overdue. None when the loop has recorded nothing."""
    with state.reader() as ws:
        alerts = ws.loop.alerts(limit=3)
        if not alerts:
            return None
        followups = ws.loop.followups
        open_ = followups.list(status="active", limit=0)["total"]
        overdue = followups.list(overdue=True, limit=0)["total"]
    return {"alerts": alerts, "open": open_, "overdue": overdue, "when": when}


# ------------------------------------------------------------------ the routes


def _inbox_url(tab: str | None = None, **extra: Any) -> str:
    params = {"tab": tab, **extra}
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", 0)})
    return "/inbox" + (f"?{query}" if query else "")


def add_inbox_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /inbox``, ``POST /inbox/{id}/{action}`` and ``GET /alerts`` to the
    dashboard's router (its login, rendering and errors)."""

    def inbox(
        request: Request,
        user: Any,
        query: dict[str, str],
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        tab = query.get("tab") or None
        team = query.get("team") or None
        rule = query.get("rule") or None
        # ``followup=`` is the link notifications carry (``cxray.loop`` messages)
        selected = query.get("id") or query.get("followup") or None
        try:
            offset = max(0, int(query.get("offset") or 0))
        except ValueError:
            offset = 0
        now = utcnow()
        try:
            with state.reader() as ws:
                followups = ws.loop.followups
                backend = ws.store.backend
                teams = _teams(backend, ws.config)
                masking = Masking.for_caller(ws.config, pii=user.pii)  # cxray.privacy
                fu = followups.get(selected) if selected else None
                if fu is not None:
                    fu = masking.followup(fu)
                if tab is None:  # the selected one's list, else mine if I have any, else all
                    if fu is not None and fu["status"] not in _ACTIVE:
                        tab = "closed"
                    elif fu is not None:
                        tab = "mine" if fu.get("owner") == user.name else "open"
                    else:
                        mine = _count(followups, "mine", user, None, rule)
                        tab = "mine" if mine else "open"
                if tab not in TABS:
                    raise QueryError(f"tab={tab!r}: use one of {', '.join(TABS)}")
                if team is None and teams:  # the key has no team: the first one present
                    team = teams[0]
                page = _page(followups, tab, user, team, rule, offset, PER_PAGE)
                page = {**page, "rows": [masking.followup(r) for r in page["rows"]]}
                counts = {t: _count(followups, t, user, team, rule) for t in TABS}
                customer = others = None
                if fu is not None and fu.get("customer_id"):
                    customer = _customer(backend, fu["customer_id"], masking)
                    others = [
                        masking.followup(r)
                        for r in followups.list(customer_id=fu["customer_id"], limit=20)["rows"]
                        if r["followup_id"] != fu["followup_id"]
                    ]
                measures, measures_error = None, None
                try:
                    measures = _kept_measures(state, backend, rule)
                except CXError as exc:
                    measures_error = str(exc)
        except CXError as exc:
            return failed(request, user, exc)
        keep = {"tab": tab, "team": team if tab == "team" else None, "rule": rule}
        rows = []
        for r in page["rows"]:
            rows.append(
                {
                    **r,
                    "href": _inbox_url(**keep, offset=offset, id=r["followup_id"]),
                    "age": span(now - r["opened_at"]) if r.get("opened_at") else "",
                    "due": due_text(r, now),
                    "selected": fu is not None and r["followup_id"] == fu["followup_id"],
                }
            )
        nav = {
            "prev": _inbox_url(**keep, offset=max(0, offset - PER_PAGE)) if offset else None,
            "next": _inbox_url(**keep, offset=offset + PER_PAGE) if page["has_more"] else None,
        }
        tabs = [
            {
                "name": t,
                "label": f"Team {team}" if t == "team" and team else label,
                "count": counts[t],
                "href": _inbox_url(t, team=team if t == "team" else None, rule=rule),
            }
            for t, label in TABS.items()
        ]
        detail = None
        if fu is not None:
            history = []
            for ev in reversed(fu["history"]):  # newest first
                d = ev.get("detail")
                shown = []
                if isinstance(d, dict):
                    shown = [(k, v) for k, v in d.items() if v not in (None, "")]
                history.append(
                    {**ev, "what": ACTION_TEXT.get(ev["action"], ev["action"]), "shown": shown}
                )
            detail = {
                "fu": fu,
                "due": due_text(fu, now),
                "age": span(now - fu["opened_at"]) if fu.get("opened_at") else "",
                "alert": fu.get("alert"),
                "fired": describe_alert(fu["alert"]) if fu.get("alert") else None,
                "history": history,
                "customer": customer,
                "others": others or [],
                "back": _inbox_url(**keep, offset=offset, id=fu["followup_id"]),
                "active": fu["status"] in _ACTIVE,
            }
        done = _DONE.get(query.get("done") or "")
        return render(
            request,
            "inbox.html",
            status,
            user=user,
            view=View(),
            tab=tab,
            tabs=tabs,
            team=team,
            teams=teams,
            rule=rule,
            rules=[r.name for r in state.ws.config.loop.rules],
            page=page,
            rows=rows,
            offset=offset,
            nav=nav,
            detail=detail,
            can_act=role_allows(user.role, "analyst"),
            error=error,
            done=done,
            measures=measures,
            measures_error=measures_error,
            number=number,
            STATUS_TEXT=STATUS_TEXT,
            when=when,
        )

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request) -> Response:
        user = who(request)
        return inbox(request, user, dict(request.query_params))

    @router.post("/inbox/{followup_id}/{action}", response_class=HTMLResponse)
    def act(
        request: Request,
        followup_id: str,
        action: str,
        note: Annotated[str, Form(max_length=10_000)] = "",
        owner: Annotated[str | None, Form(max_length=200)] = None,
        team: Annotated[str | None, Form(max_length=200)] = None,
        outcome: Annotated[str, Form(max_length=2_000)] = "",
        contacted: Annotated[str, Form(max_length=5)] = "true",
        back: Annotated[str, Form(max_length=2_000)] = "",
    ) -> Response:
        user = who(request)
        # where to come back to: the inbox view the form was on, nothing else
        parts = urlsplit(back)
        query = {k: v for k, v in parse_qsl(parts.query) if k in ("tab", "team", "rule", "offset")}
        query["id"] = followup_id
        if parts.path != "/inbox":
            query = {"id": followup_id}
        if not same_site(request):
            return failed_status(
                request, user, 403, "a change must come from this site's own Inbox page"
            )
        if not role_allows(user.role, "analyst"):
            return failed_status(
                request,
                user,
                403,
                f"a {user.role} key may not work follow-ups; it needs the analyst role or higher",
            )
        if action not in ACTIONS:
            return failed_status(request, user, 404, f"no action {action!r} on a follow-up")
        note_text = note.strip() or None
        try:
            with state.lock:
                f = state.ws.loop.followups
                if action == "contact":
                    f.contact(followup_id, actor=user.name, note=note_text)
                elif action == "note":
                    f.note(followup_id, actor=user.name, text=note)
                elif action == "assign":
                    f.assign(
                        followup_id,
                        actor=user.name,
                        # the form sends both; an empty one clears it
                        owner=(owner or "").strip(),
                        team=(team or "").strip(),
                    )
                else:
                    f.close(
                        followup_id,
                        actor=user.name,
                        outcome=outcome.strip() or None,
                        contacted=contacted.lower() not in ("false", "no", "0"),
                        note=note_text,
                    )
        except NotFoundError as exc:
            return failed_status(request, user, 404, str(exc))
        except (ConflictError, QueryError) as exc:
            conflict = isinstance(exc, ConflictError)
            return inbox(request, user, query, error=str(exc), status=409 if conflict else 400)
        target = _inbox_url(
            **{k: v for k, v in query.items() if k != "id"}, id=followup_id, done=action
        )
        return RedirectResponse(target, status_code=303)

    def failed_status(request: Request, user: Any, status: int, message: str) -> HTMLResponse:
        return render(request, "error.html", status, user=user, view=View(), message=message)

    @router.get("/alerts", response_class=HTMLResponse)
    def alerts_page(request: Request, rule: str | None = None, offset: int = 0) -> Response:
        user = who(request)
        offset = max(0, offset)
        rule = rule or None
        try:
            with state.reader() as ws:
                masking = Masking.for_caller(ws.config, pii=user.pii)  # cxray.privacy
                rows = ws.loop.alerts(rule=rule, limit=ALERTS_PER_PAGE + 1, offset=offset)
                rows = [masking.alert(a) for a in rows]
                more = len(rows) > ALERTS_PER_PAGE
                rows = rows[:ALERTS_PER_PAGE]
                sent = _messages(ws.store.backend, [a["alert_id"] for a in rows])
                statuses = {}
                ids = [a["followup_id"] for a in rows if a.get("followup_id")]
                if ids:
                    t = ws.store.backend.table(FOLLOWUPS)
                    found = t.filter(t.followup_id.isin(ids)).select("followup_id", "status")
                    statuses = {
                        r["followup_id"]: r["status"] for r in found.to_pyarrow().to_pylist()
                    }
        except CXError as exc:
            return failed(request, user, exc)
        items = []
        for a in rows:
            fid = a.get("followup_id")
            items.append(
                {
                    "a": a,
                    "fired": describe_alert(a),
                    "messages": sent.get(a["alert_id"], []),
                    "note": (a.get("notified") or {}).get("note"),
                    "followup": fid,
                    "followup_status": statuses.get(fid) if fid else None,
                    "followup_href": _inbox_url(id=fid) if fid else None,
                }
            )

        def link(**extra: Any) -> str:
            params = {"rule": rule, **extra}
            query = urlencode({k: v for k, v in params.items() if v not in (None, "", 0)})
            return "/alerts" + (f"?{query}" if query else "")

        nav = {
            "prev": link(offset=max(0, offset - ALERTS_PER_PAGE)) if offset else None,
            "next": link(offset=offset + ALERTS_PER_PAGE) if more else None,
        }
        return render(
            request,
            "alerts.html",
            user=user,
            view=View(),
            items=items,
            rule=rule,
            rules=[r.name for r in state.ws.config.loop.rules],
            offset=offset,
            nav=nav,
            when=when,
            STATUS_TEXT=STATUS_TEXT,
        )
