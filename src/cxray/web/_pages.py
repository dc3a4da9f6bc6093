"""The dashboard's routes: login, overview, trends, segments, rows, customer.

Every page is a thin shell: it reads its filters from the URL (:class:`View`),
asks the workspace (scorecards, mix shift, rows, a customer's timeline) and
renders a template. Pages need a login: the session cookie that
``POST /login`` here (or ``POST /api/login``) sets; without one they redirect
to the login page, and come back after it.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import plotly
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from cxray.access import ACTIONS, log_in, note_call
from cxray.exceptions import (
    AuthenticationError,
    CXError,
    NotFoundError,
    RateLimitedError,
    UnknownTableError,
)
from cxray.explore import TIMELINE_TABLES, RowSelection, customer_timeline, page_rows
from cxray.privacy import Masking
from cxray.web import _charts, _morning
from cxray.web._churn_value import add_churn_value_routes
from cxray.web._context import (
    PERIODS,
    SESSION_COOKIE,
    ServerState,
    View,
    period_window,
    same_origin,
    scorecard_records,
)
from cxray.web._drivers import add_drivers_routes, drivers_link
from cxray.web._format import (
    STATUS_TEXT,
    fmt_cell,
    fmt_change,
    fmt_day,
    fmt_delta,
    fmt_interval,
    fmt_mix_shift,
    fmt_number,
    metric_present,
    metric_table,
)
from cxray.web._inbox import add_inbox_routes, loop_box
from cxray.web._journeys import add_journey_routes, journey_link
from cxray.web._maturity import add_maturity_routes
from cxray.web._reports import add_reports_routes
from cxray.web._text import add_text_routes
from cxray.web._views import (
    OpenView,
    add_views_routes,
    default_view_url,
    mount_views,
    open_view_link,
)

__all__ = ["LoginRequired", "create_web_router", "mount"]

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_STATIC = importlib.resources.files("cxray.web") / "static"
_CACHE_HEADERS = {"Cache-Control": "public, max-age=86400"}
ROWS_PER_PAGE = 50
#: columns that make poor segments: keys, names and free text
_NOT_SEGMENTS = {"email", "name", "comment", "subject", "description", "currency", "session_id"}
_SUMMARY = {
    "response": ("survey", "touchpoint", "nps", "csat", "ces", "comment"),
    "case": ("subject", "category", "status", "priority", "contacts", "reopened"),
    "order": ("amount", "currency", "status", "channel"),
    "event": ("touchpoint", "channel", "journey"),
}


class LoginRequired(Exception):
    """A page was asked for without a valid session; the app redirects to the login page."""

    def __init__(self, next_url: str):
        super().__init__(next_url)
        self.next_url = next_url


class MaskedColumnRefused(Exception):
    """A page was asked to slice, filter or sort by a column the key sees masked
    (``cxray.privacy``); the app answers 403 with the error page."""

    def __init__(self, user: Any, message: str):
        super().__init__(message)
        self.user, self.message = user, message


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("cxray.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=fmt_number, interval=fmt_interval, change=fmt_change, cell=fmt_cell,
        delta=fmt_delta, day=fmt_day,
    )  # fmt: skip
    env.globals.update(STATUS_TEXT=STATUS_TEXT, PERIODS=PERIODS)
    return env


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//elsewhere`` or a full URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def create_web_router(state: ServerState, *, cookie: str = SESSION_COOKIE) -> APIRouter:
    """The dashboard's routes over ``state`` (see :class:`cxray.web.ServerState`)."""
    env = _env()
    router = APIRouter(include_in_schema=False)

    # ------------------------------------------------------------ plumbing

    def who(request: Request) -> Any:
        token = request.cookies.get(cookie)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not token:
            raise LoginRequired(here)
        try:
            session = state.sessions.verify(token)
            key = state.keys.get_active(session.key_id)
        except CXError:
            raise LoginRequired(here) from None
        note_call(actor=key.name, key_id=key.key_id, role=key.role, via="session")  # audit log
        if (link := open_view_link(request)) is not None:  # ?view=SLUG alone: the view
            raise OpenView(link)
        if not key.pii:  # no slicing or sorting by what the key sees masked (cxray.privacy)
            try:
                masking = Masking.for_caller(state.ws.config, pii=False)
                masking.check_query(request.query_params.multi_items())
            except CXError as exc:
                raise MaskedColumnRefused(key, str(exc)) from None
        return key

    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        started = time.perf_counter()
        html = env.get_template(template).render(request=request, path=request.url.path, **ctx)
        headers = {"Server-Timing": f"render;dur={(time.perf_counter() - started) * 1000:.1f}"}
        return HTMLResponse(html, status_code=status, headers=headers)

    def failed(request: Request, user: Any, exc: CXError, view: View | None = None) -> Response:
        status = 404 if isinstance(exc, NotFoundError | UnknownTableError) else 400
        return render(
            request, "error.html", status, user=user, view=view or View(), message=str(exc)
        )

    def choices() -> dict[str, Any]:
        """The KPIs and the attributes to cut by, for the pages' selects."""
        overall = scorecard_records(state)
        metrics = list(dict.fromkeys((r["metric"], r["title"]) for r in overall))
        attrs: list[str] = ["nps_group"]
        for table in ("customers", "responses", "cases", "orders", "events"):
            for name, kind in columns(table).items():
                if (
                    kind.lower().startswith("string")
                    and not name.endswith("_id")
                    and not name.startswith("_")
                    and name not in _NOT_SEGMENTS
                    and name not in attrs
                ):
                    attrs.append(name)
        return {"metrics": metrics, "attributes": attrs}

    def columns(table: str) -> dict[str, str]:
        """A table's columns and types (imports may add attributes)."""
        return state.cached(("columns", table), lambda ws: ws.store.columns(table))

    def scored(view: View, *, by: tuple[str, ...] = (), **kw: Any) -> list[dict[str, Any]]:
        """Scorecard records under the view's filters (each filter is a slice, then kept)."""
        slices = tuple(dict.fromkeys([*by, *(a for a, _ in view.filters)]))
        records = scorecard_records(state, by=slices, start=view.start, end=view.end, **kw)
        return [r for r in records if view.matches(r)]

    def rows_link(record: dict[str, Any], view: View, period: str | None = None) -> str:
        """The drill-down behind one number: its table, window and slice."""
        metric = record["metric"]
        filters = list(view.filters)
        for key, value in record.items():
            if key in ("period", "metric") or key not in _slice_keys(record):
                continue
            pair = (key, "" if value is None else str(value))
            if pair not in filters:
                filters.append(pair)
        params: list[tuple[str, str]] = [("metric", metric)]
        if present := metric_present(metric, state.ws.config):
            params.append(("has", present))
        if metric not in ("churn_rate", "health"):  # customers active, not created, in a window
            start, end = view.start, view.end
            if period and record.get("period"):
                first, after = period_window(record["period"], period)
                start, end = first.isoformat(), (after - dt.timedelta(days=1)).isoformat()
            if start:
                params.append(("from", start))
            if end:
                after_end = dt.date.fromisoformat(end) + dt.timedelta(days=1)
                params.append(("to", after_end.isoformat()))
        params += [("filter", f"{a}:{v}") for a, v in filters]
        return f"/rows/{metric_table(metric, state.ws.config)}?{urlencode(params)}"

    # ------------------------------------------------------------ login

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, "login.html", user=None, view=View(), next=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        key: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        target = _safe_next(next)
        if not same_origin(request):
            return render(
                request, "login.html", 403, user=None, view=View(), next=target,
                error="a login must come from this site's own login page",
            )  # fmt: skip
        client = request.client.host if request.client else "unknown"
        try:
            _, token, _ = log_in(
                key.strip(),
                client=client,
                keys=state.keys,
                sessions=state.sessions,
                limiter=state.limiter,
            )
        except RateLimitedError as exc:
            page = render(
                request, "login.html", 429, user=None, view=View(), next=target, error=str(exc)
            )
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        except AuthenticationError as exc:
            return render(
                request, "login.html", 401, user=None, view=View(), next=target, error=str(exc)
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            cookie,
            token,
            max_age=state.sessions.ttl,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        if same_origin(request):
            response.delete_cookie(cookie, path="/")
        return response

    # ------------------------------------------------------------ static files

    @router.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=_CACHE_HEADERS)

    @router.get("/static/cxray.css")
    def css() -> Response:
        text = (_STATIC / "cxray.css").read_text(encoding="utf-8")
        return Response(text, media_type="text/css", headers=_CACHE_HEADERS)

    # ------------------------------------------------------------ pages

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        user = who(request)
        if not request.query_params and (default := default_view_url(state, user)):
            return RedirectResponse(default, status_code=303)  # the role's saved view
        with state.reading():  # one snapshot for the whole page
            try:
                view = View.from_query(request.query_params)
                anchor = latest_day()
                view = view.resolved(anchor)
                records = scored(view)
                monthly = scored(view, period="month")
                morning = _morning_view(view, records, monthly)
            except CXError as exc:
                return failed(request, user, exc)
            config = state.ws.config
            zone = config.program.timezone
            tiles = []
            for r in records:
                series = [m for m in monthly if m["metric"] == r["metric"]]
                through = morning["through"].get(r["metric"])
                tiles.append(
                    {
                        "r": r,
                        "drill": rows_link(r, view),
                        "trend": view.url("/trends", metric=r["metric"]),
                        "spark": _charts.sparkline([m["estimate"] for m in series]),
                        "months": len(series),
                        "drivers": drivers_link(r["metric"], view),
                        "journey": journey_link(config, r["metric"], view),
                        "change": morning["changes"].get(r["metric"]),
                        "through": through and _morning.local_date(through, zone),
                        "through_at": through,
                        "unit": _morning.unit_label(r["unit"], r["metric"], config),
                        "target": target_text(config, r["metric"], r["unit"]),
                    }
                )
            changed = [t for t in tiles if t["change"] and t["change"]["significant"]]
            changed.sort(key=lambda t: t["change"]["q"])
            loop = loop_box(state)  # open alerts first, when the loop has any
        return render(
            request, "overview.html", user=user, view=view, tiles=tiles, loop=loop,
            changed=changed, morning=morning, presets=preset_links(view, "/", anchor),
            currency=config.program.currency,
        )  # fmt: skip

    def _morning_view(
        view: View, records: list[dict[str, Any]], monthly: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The change of each KPI from the previous window (or month), and how far the data
        behind each runs (see :mod:`cxray.web._morning`)."""
        config = state.ws.config
        start, end = view.dates()
        if start is not None and end is not None:
            first, last = _morning.previous_window(start, end)
            before = replace(view, start=first.isoformat(), end=last.isoformat(), preset=None)
            previous = {r["metric"]: r for r in scored(before)}
            raw = {}
            for r in records:
                c = _morning.compare_windows(r, previous.get(r["metric"]))
                if c is not None:
                    raw[r["metric"]] = c
            basis = (
                f"{fmt_day(start)} – {fmt_day(end)} against the {(end - start).days + 1} days "
                f"before ({fmt_day(first)} – {fmt_day(last)})"
            )
            compared = before
        else:
            month, raw = _morning.monthly_changes(monthly)
            basis, compared = None, None
            if month is not None:
                first = dt.date.fromisoformat(month + "-01")
                prior = (first - dt.timedelta(days=1)).replace(day=1)
                basis = f"{first:%B %Y} against {prior:%B %Y}"
        through = data_through(start, end)
        return {
            "changes": _morning.change_rows(raw, config),
            "basis": basis,
            "ranged": compared is not None,
            "compared": compared,
            "through": through,
            "fdr": config.measurement.fdr,
        }

    def data_through(start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
        """The last time of the data behind each KPI within the dates (kept until an import)."""
        return state.cached(
            ("data through", start, end), lambda ws: _morning.data_through(ws, start, end)
        )

    def latest_day() -> dt.date | None:
        """The local day of the latest activity in the store: where the presets end."""
        latest = data_through(None, None)[""]
        return latest and _morning.local_date(latest, state.ws.config.program.timezone)

    def target_text(config: Any, metric: str, unit: str | None) -> str:
        """The KPI's target and action threshold in words (which side is worse)."""
        th = config.threshold(metric)
        direction = _morning.good_direction(config, metric)
        parts = []
        if th.target is not None:
            parts.append(f"target {fmt_number(th.target, unit)}")
        if th.action is not None:
            side = "below" if direction == "higher_is_better" else "above"
            parts.append(f"action {side} {fmt_number(th.action, unit)}")
        return " · ".join(parts) or "no target set"

    def preset_links(view: View, path: str, anchor: dt.date | None, **extra: Any) -> list:
        """The date presets as links (label, URL, current), then *All dates*."""
        links = [
            (label, view.with_preset(key, anchor).url(path, **extra), view.preset == key)
            for key, label in _morning.PRESETS.items()
        ]
        plain = view.with_preset(None, anchor)
        everything = not (view.start or view.end or view.preset)
        links.append(("All dates", plain.url(path, **extra), everything))
        return links

    @router.get("/trends", response_class=HTMLResponse)
    def trends(request: Request, metric: str = "nps") -> Response:
        user = who(request)
        with state.reading():  # one snapshot for the whole page
            try:
                view = View.from_query(request.query_params, default_period="month")
                anchor = latest_day()
                view = view.resolved(anchor)
                records = scored(view, period=view.period, metrics=(metric,))
                opts = choices()
            except CXError as exc:
                return failed(request, user, exc)
            config = state.ws.config
            title = records[0]["title"] if records else metric
            direction = _morning.good_direction(config, metric)
            threshold = config.threshold(metric) if records else None
            rows = [
                {"r": r, "drill": rows_link(r, view, view.period), **trend_mark(r, direction)}
                for r in records
            ]
            chart = None
            if records:  # a figure costs more than the page around it: kept with its records
                chart = state.cached(
                    ("trend_chart", metric, view),
                    lambda ws: _charts.trend_chart(
                        records, title, threshold=threshold, direction=direction
                    ),
                )
        return render(
            request, "trends.html", user=user, view=view, metric=metric, title=title,
            rows=rows, chart=chart, presets=preset_links(view, "/trends", anchor, metric=metric),
            min_n=config.measurement.min_n, threshold=threshold,
            unit=_morning.unit_label(records[0]["unit"], metric, config) if records else "",
            currency=config.program.currency, **opts,
        )  # fmt: skip

    def trend_mark(r: dict[str, Any], direction: str | None) -> dict[str, Any]:
        """A period's change as the table marks it: the arrow follows the sign, the colour
        whether that is better or worse for the KPI; n.s. when not significant."""
        change = r.get("change")
        if change is None:
            return {"arrow": "", "tone": None}
        arrow = "▲" if change > 0 else "▼" if change < 0 else "="
        if not r.get("significant"):
            return {"arrow": arrow, "tone": "ns"}
        if direction is None or change == 0:
            return {"arrow": arrow, "tone": "sig"}
        better = (change > 0) == (direction == "higher_is_better")
        return {"arrow": arrow, "tone": "good" if better else "bad"}

    @router.get("/segments", response_class=HTMLResponse)
    def segments(request: Request, metric: str = "nps", by: str = "region") -> Response:
        user = who(request)
        with state.reading():  # one snapshot for the whole page
            try:
                # the table covers the whole range; the period is the mix shift's
                view = View.from_query(request.query_params, default_period="month")
                records = scored(view, by=(by,), metrics=(metric,))
                opts = choices()
                shift, shift_note = _mix_shift(view, metric, by)
            except CXError as exc:
                return failed(request, user, exc)
            shown = sorted(
                (r for r in records if not r["suppressed"]), key=lambda r: -r["estimate"]
            )
            hidden = [r for r in records if r["suppressed"]]
            title = records[0]["title"] if records else metric
            rows = [{"r": r, "drill": rows_link(r, view)} for r in shown + hidden]
            chart = None
            if shown:
                chart = state.cached(
                    ("segments_chart", metric, by, view),
                    lambda ws: _charts.segments_chart(shown, by, title),
                )
        return render(
            request, "segments.html", user=user, view=view, metric=metric, by=by, title=title,
            rows=rows, chart=chart, shift=shift, shift_note=shift_note, **opts,
        )  # fmt: skip

    def _mix_shift(view: View, metric: str, by: str) -> tuple[Any, str | None]:
        if metric not in ("nps", "csat"):
            return None, "The mix-shift split is computed for NPS and CSAT."
        period = view.period or "month"
        labels = sorted({r["period"] for r in scored(view, period=period, metrics=(metric,))})
        if len(labels) < 2:
            return None, f"Mix shift needs two {period}s with {metric} answers."
        windows = []
        for label in labels[-2:]:
            first, after = period_window(label, period)
            windows.append((first.isoformat(), (after - dt.timedelta(days=1)).isoformat()))
        shift = state.cached(
            ("mix_shift", by, tuple(windows[0]), tuple(windows[1]), metric),
            lambda ws: ws.mix_shift(by, windows[0], windows[1], metric=metric),
        )
        note = (
            f"How to read it: the change of {metric.upper()} from one {period} to the next is "
            f"split in two. “From the mix”: what the change in each {by}'s share of the "
            f"answers did, at unchanged scores; “from scores”: what the change of the scores "
            f"within each {by} did. The largest contributions come first; they add up to the "
            "change (in points)."
        )
        if view.filters:
            note += " The mix shift is over all customers: the filters above do not apply to it."
        found = shift.to_dict()
        found["segments"] = fmt_mix_shift(found["segments"], by, metric)
        return {"labels": labels[-2:], **found}, note

    @router.get("/rows/{table}", response_class=HTMLResponse)
    def rows(request: Request, table: str, offset: int = 0, metric: str | None = None) -> Response:
        user = who(request)
        q = request.query_params
        sort = [s for v in q.getlist("sort") for s in v.split(",") if s]
        start, end = q.get("from") or None, q.get("to") or None
        offset = max(0, offset)
        try:
            if table not in TIMELINE_TABLES and table != "customers":
                raise UnknownTableError(f"unknown table {table!r}")
            known = set(columns(table))
            if "customer_id" in known and table != "customers":
                known |= set(columns("customers"))  # customer attributes, joined
            applied, ignored = [], []
            for raw in q.getlist("filter"):
                attr = raw.partition(":")[0]
                (applied if attr in known else ignored).append(raw)
            present = [c for c in q.getlist("has") if c]
            from cxray.metrics import kpi_where  # the rows a KPI from config counts

            where = kpi_where(state.ws.config, metric)
            sel = RowSelection(table, applied, sort, start, end, present, where=where)
            zone = state.ws.config.program.timezone
            masking = Masking.for_caller(state.ws.config, pii=user.pii)  # cxray.privacy
            with state.reading() as backend:
                page = page_rows(
                    backend, sel, zone, limit=ROWS_PER_PAGE, offset=offset, masking=masking,
                    hints=state.cached(("row hints",), lambda ws: {}),  # until an import
                )  # fmt: skip
        except CXError as exc:
            return failed(request, user, exc)
        base: list[tuple[str, str]] = [("filter", f) for f in applied]
        base += [("has", c) for c in present]
        if start:
            base.append(("from", start))
        if end:
            base.append(("to", end))
        keep = base + [("filter", f) for f in ignored] + ([("metric", metric)] if metric else [])

        def link(**extra: Any) -> str:
            pairs = list(keep)
            for k, v in extra.items():
                pairs += [(k, str(x)) for x in (v if isinstance(v, list) else [v])]
            return f"/rows/{table}?{urlencode(pairs)}"

        current = sort[0] if sort else None
        headers = []
        for col in page["columns"]:
            name = col["name"]
            if name == "_import_id":
                continue
            direction = "asc" if current == name else "desc" if current == f"-{name}" else None
            flip = f"-{name}" if current == name else name
            # a column masked for this key cannot be sorted by (cxray.privacy)
            href = None if masking.kind(table, name) == "mask" else link(sort=flip)
            headers.append({"name": name, "sort": direction, "href": href})
        names = [h["name"] for h in headers]
        nav = {
            "prev": link(sort=sort, offset=max(0, offset - ROWS_PER_PAGE)) if offset else None,
            "next": link(sort=sort, offset=offset + ROWS_PER_PAGE) if page["has_more"] else None,
        }
        export = urlencode(base + [("sort", s) for s in sort])
        return render(
            request, "rows.html", user=user, view=View(), table=table, page=page, names=names,
            headers=headers, nav=nav, ignored=ignored, applied=applied, present=present,
            start=start, end=end,
            metric=metric, counted=where is not None,
            export_csv=f"/api/tables/{table}/export?format=csv&{export}",
            export_parquet=f"/api/tables/{table}/export?format=parquet&{export}",
        )  # fmt: skip

    @router.get("/customers", response_class=HTMLResponse)
    def find_customer(request: Request, id: str | None = None) -> Response:
        user = who(request)
        if id and id.strip():
            return RedirectResponse(f"/customers/{id.strip()}", status_code=303)
        return render(request, "customer.html", user=user, view=View(), customer=None)

    @router.get("/customers/{customer_id}", response_class=HTMLResponse)
    def customer(request: Request, customer_id: str) -> Response:
        user = who(request)
        try:
            with state.reading() as backend:
                masking = Masking.for_caller(state.ws.config, pii=user.pii)  # cxray.privacy
                story = customer_timeline(backend, customer_id, limit=500, masking=masking)
        except CXError as exc:
            return failed(request, user, exc)
        items = []
        for item in reversed(story["timeline"]):  # newest first
            fields = (
                _SUMMARY.get(item["kind"])
                or [k for k in item["data"] if not k.endswith("_id") and not k.startswith("_")][:5]
            )
            summary = [(k, item["data"].get(k)) for k in fields if item["data"].get(k) is not None]
            items.append({**item, "summary": summary})
        return render(request, "customer.html", user=user, view=View(), customer=story, items=items)

    @router.get("/audit", response_class=HTMLResponse)
    def audit(
        request: Request,
        action: str | None = None,
        actor: str | None = None,
        customer: str | None = None,
        until: str | None = None,
        offset: int = 0,
    ) -> Response:
        """The audit log, for admins (docs/audit.md); 50 events a page, a fixed end;
        ``customer``: the events that named this customer id (found by its digests)."""
        user = who(request)
        if user.role != "admin":
            message = f"the audit log is for admin keys; a {user.role} key may not read it"
            return render(request, "error.html", 403, user=user, view=View(), message=message)
        offset = max(0, offset)
        until = (until or dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat() + "Z")[:40]
        log = state.ws.audit
        try:
            log.flush()
            with state.reading() as backend:
                events = log.events(
                    action=action or None, actor=actor or None, customer=customer or None,
                    until=until, limit=51, offset=offset, backend=backend,
                )  # fmt: skip
        except CXError as exc:
            return failed(request, user, exc)
        keep = {
            k: v for k, v in (("action", action), ("actor", actor), ("customer", customer)) if v
        }

        def page(at: int) -> str:
            return "/audit?" + urlencode({**keep, "until": until, "offset": at})

        return render(
            request, "audit.html", user=user, view=View(), events=events[:50], actions=ACTIONS,
            action=action, actor=actor, customer=customer, until=until, offset=offset,
            prev=page(max(0, offset - 50)) if offset else None,
            next=page(offset + 50) if len(events) > 50 else None,
        )  # fmt: skip

    add_text_routes(router, state, who=who, render=render, failed=failed)
    add_drivers_routes(router, state, who=who, render=render, failed=failed)
    add_journey_routes(router, state, who=who, render=render, failed=failed)
    add_inbox_routes(router, state, who=who, render=render, failed=failed)
    add_churn_value_routes(router, state, who=who, render=render, failed=failed)
    add_maturity_routes(router, state, who=who, render=render, failed=failed)
    add_views_routes(router, state, who=who, render=render, failed=failed)
    add_reports_routes(router, state, who=who, render=render, failed=failed)
    return router


def _slice_keys(record: dict[str, Any]) -> set[str]:
    """The slice keys of a scorecard record: what sits between its title and estimate."""
    keys = list(record)
    return set(keys[keys.index("title") + 1 : keys.index("estimate")])


def mount(app: FastAPI, state: ServerState, *, cookie: str = SESSION_COOKIE) -> None:
    """Serve the dashboard at ``/`` of ``app`` over the server's ``state``."""
    app.include_router(create_web_router(state, cookie=cookie))

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        query = urlencode({"next": exc.next_url}) if exc.next_url != "/" else ""
        return RedirectResponse("/login" + (f"?{query}" if query else ""), status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
    mount_views(app)  # ?view=SLUG opens the saved view
    env = _env()

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MaskedColumnRefused)
        html = env.get_template("error.html").render(
            request=request, path=request.url.path, user=exc.user, view=View(),
            message=exc.message,
        )  # fmt: skip
        return HTMLResponse(html, status_code=403)

    app.add_exception_handler(MaskedColumnRefused, refused)
    _html_not_found(app, state, cookie)


def _html_not_found(app: FastAPI, state: ServerState, cookie: str) -> None:
    """An unknown dashboard URL (``/nope``) or a method a page does not take answers an
    HTML page with the navigation (for a logged-in user), not the API's JSON envelope;
    ``/api/...`` keeps the handler the app had (JSON)."""
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException as StarletteHTTPException

    env = _env()
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if exc.status_code not in (404, 405) or path == "/api" or path.startswith("/api/"):
            return await previous(request, exc)
        user = None
        token = request.cookies.get(cookie)
        if token:
            try:
                user = state.keys.get_active(state.sessions.verify(token).key_id)
            except CXError:
                user = None
        html = env.get_template("not_found.html").render(
            request=request, path=path, user=user, view=View(), status=exc.status_code,
            method=request.method,
        )  # fmt: skip
        return HTMLResponse(html, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(StarletteHTTPException, http_error)
