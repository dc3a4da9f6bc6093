"""Saved views in the dashboard: ``/views`` (list, save, delete, role defaults) and the
share link ``/v/<slug>``, which opens the view's page with its filters.

A link is opened for any logged-in key that may see the view (its owner for a private
one); the page it leads to checks roles and masks personal data as it always does. A
view whose page, query or filter attribute the dashboard no longer knows opens a page
that says so (with a link without the missing filter), never an error 500. The overview
asked for without any query opens the caller's role default (:func:`default_view_url`).
``docs/dashboard.md`` (Saved views).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from cxray.access import ROLES
from cxray.exceptions import CXError, NotFoundError
from cxray.privacy import Masking
from cxray.views import PAGES, Caller, SavedView
from cxray.web._context import ServerState, View, same_origin

__all__ = [
    "OpenView",
    "add_views_routes",
    "default_view_url",
    "mount_views",
    "open_view_link",
    "page_of",
]

#: the tables whose columns a filter may name (and ``nps_group``, which the scorecard adds)
_FILTER_TABLES = ("customers", "responses", "cases", "orders", "events", "mentions")


class OpenView(Exception):
    """A page was asked for with only ``?view=SLUG``: the app redirects to the view's link."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


def open_view_link(request: Request) -> str | None:
    """``/v/SLUG`` when a page is asked for with nothing but ``?view=SLUG`` (a view named by
    its slug opens with its filters); None otherwise."""
    if request.method != "GET":
        return None
    items = request.query_params.multi_items()
    if len(items) != 1 or items[0][0] != "view" or not items[0][1]:
        return None
    return "/v/" + quote(items[0][1], safe="")


def mount_views(app: FastAPI) -> None:
    """Answer :class:`OpenView` with a redirect to the view's link."""

    async def to_view(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OpenView)
        return RedirectResponse(exc.url, status_code=303)

    app.add_exception_handler(OpenView, to_view)


def caller(user: Any) -> Caller:
    return Caller(user.key_id, user.name or f"key #{user.key_id}", user.role)


def page_of(url: str) -> tuple[str, dict[str, Any]]:
    """The page name and query of a dashboard URL (``/trends?metric=nps`` ->
    ``("trends", {"metric": "nps"})``); NotFoundError for a path that is no page."""
    parts = urlsplit(url)
    path = parts.path or "/"
    query: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("view", "offset"):
            continue
        query.setdefault(key, []).append(value)
    query = {k: v if k in ("filter", "has", "sort") else v[-1] for k, v in query.items()}
    if path.startswith("/rows/") and path.count("/") == 2:
        query["table"] = path.removeprefix("/rows/")
        return "rows", query
    for name, template in PAGES.items():
        if template == path:
            return name, query
    raise NotFoundError(f"{path!r} is not a dashboard page a view can keep")


def default_view_url(state: ServerState, user: Any) -> str | None:
    """The share link of the caller's role default, or None (none set, or it is gone)."""
    with state.reader() as ws:
        view = ws.views.default_for(user.role)
    return None if view is None else view.link


def _known_attributes(state: ServerState) -> set[str]:
    known = {"nps_group"}
    for table in _FILTER_TABLES:
        try:
            known |= set(state.cached(("columns", table), lambda ws, t=table: ws.store.columns(t)))
        except CXError:
            continue
    return known


def add_views_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """``/views`` and ``/v/{slug}`` on the dashboard's router."""

    def listing(request: Request, user: Any, status: int = 200, **extra: Any) -> HTMLResponse:
        with state.reader() as ws:
            views = ws.views.list(caller(user))
            defaults = ws.views.defaults()
        me = user.key_id
        rows = [
            {
                "v": v,
                "mine": v.owner_key_id == me,
                "deletable": v.owner_key_id == me
                or (v.visibility == "shared" and user.role == "admin"),
                "summary": _summary(v),
                "url": str(request.base_url).rstrip("/") + v.link,
            }
            for v in views
        ]
        shared = [v for v in views if v.visibility == "shared"]
        return render(
            request, "views.html", status, user=user, view=View(), rows=rows,
            defaults=defaults, roles=ROLES, shared=shared,
            saved=request.query_params.get("saved"), **extra,
        )  # fmt: skip

    @router.get("/views", response_class=HTMLResponse)
    def views_page(request: Request) -> Response:
        user = who(request)
        return listing(request, user)

    @router.post("/views", response_class=HTMLResponse)
    def save_view(
        request: Request,
        name: Annotated[str, Form(max_length=200)] = "",
        url: Annotated[str, Form(max_length=4000)] = "/",
        visibility: Annotated[str, Form(max_length=20)] = "private",
    ) -> Response:
        user = who(request)
        if not same_origin(request):
            return listing(request, user, 403, error="a view must be saved from this site")
        try:
            page, query = page_of(url)
            if not user.pii:  # no saving a slice by what this key sees masked
                pairs = [
                    (k, x) for k, v in query.items() for x in (v if isinstance(v, list) else [v])
                ]
                Masking.for_caller(state.ws.config, pii=False).check_query(pairs)
            saved = state.ws.views.save(
                name, page, query, visibility=visibility, caller=caller(user)
            )
        except CXError as exc:
            return listing(request, user, 400, error=str(exc), name=name)
        return RedirectResponse(f"/views?{urlencode({'saved': saved.slug})}", status_code=303)

    @router.post("/views/{slug}/delete", response_class=HTMLResponse)
    def delete_view(request: Request, slug: str) -> Response:
        user = who(request)
        if not same_origin(request):
            return listing(request, user, 403, error="a view must be deleted from this site")
        try:
            state.ws.views.delete(slug, caller(user))
        except CXError as exc:
            return listing(request, user, 404 if isinstance(exc, NotFoundError) else 403,
                           error=str(exc))  # fmt: skip
        return RedirectResponse("/views", status_code=303)

    @router.get("/v/{slug}", response_class=HTMLResponse)
    def open_view(request: Request, slug: str) -> Response:
        user = who(request)
        try:
            with state.reader() as ws:
                saved = ws.views.get(slug, caller(user))
        except CXError as exc:
            return failed(request, user, exc)
        return _open(request, user, saved)

    def _open(request: Request, user: Any, saved: SavedView) -> Response:
        try:
            path = saved.path()
        except NotFoundError as exc:
            return notice(request, user, saved, str(exc), None)
        params = saved.params()
        try:
            View.from_query(QueryParams(params))
        except CXError as exc:
            return notice(
                request, user, saved,
                f"saved view {saved.slug!r} no longer fits its page: {exc}", None,
            )  # fmt: skip
        known = _known_attributes(state)
        missing = [a for a, _ in saved.filters() if a not in known]
        if missing:
            kept = [
                (k, v)
                for k, v in params
                if not (k == "filter" and v.partition(":")[0].strip() in missing)
            ]
            without = f"{path}?{urlencode([*kept, ('view', saved.slug)])}"
            names = ", ".join(sorted(set(missing)))
            return notice(
                request, user, saved,
                f"saved view {saved.slug!r} filters by {names}, which the data no longer has",
                without,
            )  # fmt: skip
        return RedirectResponse(
            f"{path}?{urlencode([*params, ('view', saved.slug)])}", status_code=303
        )

    def notice(
        request: Request, user: Any, saved: SavedView, message: str, without: str | None
    ) -> HTMLResponse:
        return render(
            request, "views_notice.html", user=user, view=View(), saved=saved,
            message=message, without=without,
        )  # fmt: skip

    @router.post("/views/role-defaults", response_class=HTMLResponse)
    def role_defaults(
        request: Request,
        viewer: Annotated[str | None, Form(max_length=100)] = None,
        analyst: Annotated[str | None, Form(max_length=100)] = None,
        admin: Annotated[str | None, Form(max_length=100)] = None,
    ) -> Response:
        """Admins: each role's default view (an empty choice clears it)."""
        user = who(request)
        if not same_origin(request):
            return listing(request, user, 403, error="defaults must be set from this site")
        sent = {"viewer": viewer, "analyst": analyst, "admin": admin}
        chosen = {role: (slug or None) for role, slug in sent.items() if slug is not None}
        try:
            state.ws.views.set_defaults(chosen, caller(user))
        except CXError as exc:
            return listing(request, user, 403 if user.role != "admin" else 400, error=str(exc))
        return RedirectResponse("/views", status_code=303)


def _summary(view: SavedView) -> str:
    """The query in words: ``preset 30d · region = West · metric nps``."""
    parts = []
    for key, value in view.query.items():
        if key == "filter":
            for raw in value:
                attr, _, v = raw.partition(":")
                parts.append(f"{attr} = {v if v != '' else '(missing)'}")
        elif isinstance(value, list):
            parts.append(f"{key} {', '.join(value)}")
        else:
            parts.append(f"{key} {value}")
    return " · ".join(parts) or "no filters"
