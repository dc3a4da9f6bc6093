"""The *Reports* page (``/reports``): the archive of executive digests, each to open or
download (or delete, for an admin), the ``[reports.NAME]`` schedules with their next run,
and "generate now".

Generating is an analyst's (as ``POST /api/reports``); a digest made with personal data
shown opens only for a key with ``pii``, and one made from this page shows personal data
only when the key has ``pii`` and asks for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxray.access import role_allows
from cxray.exceptions import CXError, PermissionDeniedError
from cxray.web._context import ServerState, View, same_site

__all__ = ["add_reports_routes"]

#: the periods offered by the form (any the API takes may be typed)
PERIODS = ("last-week", "last-month", "last-quarter")


def _schedules(ws: Any) -> list[dict[str, Any]]:
    from zoneinfo import ZoneInfo

    from cxray.reports import next_run

    zone = ws.config.program.timezone
    now = dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    return [
        {
            "name": name,
            "every": s.every,
            "period": s.period,
            "format": s.format,
            "to": ", ".join(s.to) or "—",
            "enabled": s.enabled,
            "next": next_run(s.every, now).strftime("%Y-%m-%d %H:%M") + f" {zone}",
        }
        for name, s in ws.config.reports.items()
    ]


def add_reports_routes(
    router: APIRouter,
    state: ServerState,
    *,
    who: Callable[[Request], Any],
    render: Callable[..., HTMLResponse],
    failed: Callable[..., Response],
) -> None:
    """Add ``GET /reports``, ``GET /reports/{id}``, ``POST /reports`` and
    ``POST /reports/{id}/delete``."""

    def page(request: Request, user: Any, status: int = 200, **extra: Any) -> HTMLResponse:
        with state.reader() as ws:
            rows = ws.reports.list(limit=200)
        return render(
            request,
            "reports.html",
            status,
            user=user,
            view=View(),
            rows=[{"r": r, "d": r.to_dict(), "open": user.pii or not r.pii} for r in rows],
            schedules=_schedules(state.ws),
            periods=PERIODS,
            can_generate=role_allows(user.role, "analyst"),
            can_delete=role_allows(user.role, "admin"),
            **extra,
        )

    def refused(request: Request, user: Any, message: str) -> HTMLResponse:
        return render(request, "error.html", 403, user=user, view=View(), message=message)

    @router.get("/reports", response_class=HTMLResponse)
    def reports_page(
        request: Request, done: str | None = None, deleted: str | None = None
    ) -> Response:
        user = who(request)
        return page(request, user, done=done, deleted=deleted)

    @router.get("/reports/{report_id}")
    def report_file(request: Request, report_id: str, download: bool = False) -> Response:
        user = who(request)
        try:
            with state.reader() as ws:
                r = ws.reports.get(report_id)
            if r.pii and not user.pii:
                raise PermissionDeniedError(
                    f"report {report_id} shows personal data; it needs the pii permission"
                )
        except PermissionDeniedError as exc:
            return refused(request, user, str(exc))
        except CXError as exc:
            return failed(request, user, exc)
        how = "attachment" if download or r.format == "md" else "inline"
        return Response(
            r.content,
            media_type=r.media_type + ("; charset=utf-8" if r.format != "pdf" else ""),
            headers={"Content-Disposition": f'{how}; filename="{r.filename}"'},
        )

    @router.post("/reports", response_class=HTMLResponse)
    def generate(
        request: Request,
        period: Annotated[str, Form(max_length=40)] = "last-week",
        format: Annotated[str, Form(max_length=8)] = "pdf",
        pii: Annotated[str, Form(max_length=5)] = "",
    ) -> Response:
        user = who(request)
        if not same_site(request):
            return refused(request, user, "a report must be asked for from this site's own page")
        if not role_allows(user.role, "analyst"):
            return refused(
                request,
                user,
                f"a {user.role} key may not generate reports; it needs the analyst role or higher",
            )
        show = bool(pii) and user.pii
        try:
            writer = state.ws.reports
            p = writer.period(period.strip())
            with state.reader() as ws:
                digest = ws.reports.digest(p, pii=show)
            r = writer.generate(p, format, pii=show, actor=user.name, digest=digest)
        except CXError as exc:
            return page(request, user, 400, error=str(exc), asked=period)
        return RedirectResponse(f"/reports?done={quote(r.report_id)}", status_code=303)

    @router.post("/reports/{report_id}/delete", response_class=HTMLResponse)
    def delete(request: Request, report_id: str) -> Response:
        user = who(request)
        if not same_site(request):
            return refused(request, user, "a digest must be deleted from this site's own page")
        if not role_allows(user.role, "admin"):
            return refused(
                request, user, f"a {user.role} key may not delete reports; it needs the admin role"
            )
        try:
            gone = state.ws.reports.delete(report_id)
        except CXError as exc:
            return failed(request, user, exc)
        return RedirectResponse(f"/reports?deleted={quote(gone.report_id)}", status_code=303)
