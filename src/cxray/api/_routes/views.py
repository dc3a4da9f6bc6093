"""Saved views over HTTP: ``GET/POST /views``, ``GET/PUT/DELETE /views/{slug}``,
``GET/PUT /views/defaults`` over ``Workspace.views`` (``docs/dashboard.md``, Saved views).

Any key lists the views it may see (its own and the shared ones) and saves private
ones; sharing needs the analyst role; only a view's owner changes it; an admin may also
delete a shared one and sets the role defaults. Someone else's private view answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from cxray.api._auth import Principal, admin, viewer
from cxray.api._errors import ERROR_RESPONSES
from cxray.api._state import ApiContext, context
from cxray.exceptions import NotFoundError
from cxray.views import Caller, SavedView

router = APIRouter(tags=["views"], responses=ERROR_RESPONSES)

QueryValue = str | list[str]


class NewView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    #: overview, trends, segments, rows, text, drivers, journeys, churn_value, inbox, alerts
    page: str = Field(max_length=40)
    #: the page's query: ``{"preset": "30d", "filter": ["region:West"], "metric": "nps"}``
    query: dict[str, QueryValue] = Field(default_factory=dict)
    visibility: Literal["private", "shared"] = "private"


class ViewChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    page: str | None = Field(None, max_length=40)
    query: dict[str, QueryValue] | None = None
    visibility: Literal["private", "shared"] | None = None


class RoleDefaults(BaseModel):
    """Each role's default view (a slug; null clears it, back to ``[views]`` in the
    config); roles left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    viewer: str | None = Field(None, max_length=100)
    analyst: str | None = Field(None, max_length=100)
    admin: str | None = Field(None, max_length=100)


def _caller(who: Principal) -> Caller:
    return Caller(who.key_id, who.name or f"key #{who.key_id}", who.role)


def _out(view: SavedView) -> dict[str, Any]:
    out = view.to_dict()
    out["url"] = _page_url(view)
    return out


def _page_url(view: SavedView) -> str | None:
    """The dashboard URL the link opens (None: a page the dashboard no longer has)."""
    try:
        path = view.path()
    except NotFoundError:
        return None
    query = urlencode(view.params())
    return f"{path}?{query}" if query else path


def _check_masked(cx: ApiContext, who: Principal, query: dict[str, Any] | None) -> None:
    """A key without ``pii`` may not keep a slice by what it sees masked."""
    if query and not who.pii:
        pairs = [(k, x) for k, v in query.items() for x in (v if isinstance(v, list) else [v])]
        who.masking(cx.ws.config).check_query(pairs)


@router.get("/views", summary="Saved views this key may open: its own and the shared ones")
def list_views(
    cx: Annotated[ApiContext, Depends(context)], who: Annotated[Principal, Depends(viewer)]
) -> list[dict[str, Any]]:
    with cx.reader() as ws:
        return [_out(v) for v in ws.views.list(_caller(who))]


@router.post("/views", status_code=201, summary="Save a view (shared: analyst or admin)")
def save_view(
    body: NewView,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> dict[str, Any]:
    _check_masked(cx, who, body.query)
    view = cx.ws.views.save(
        body.name, body.page, body.query, visibility=body.visibility, caller=_caller(who)
    )
    return _out(view)


@router.get("/views/defaults", summary="Each role's default view and where it is set")
def get_defaults(
    cx: Annotated[ApiContext, Depends(context)], _: Annotated[Principal, Depends(viewer)]
) -> dict[str, Any]:
    with cx.reader() as ws:
        return ws.views.defaults()


@router.put("/views/defaults", summary="Set or clear role defaults (admin)")
def set_defaults(
    body: RoleDefaults,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(admin)],
) -> dict[str, Any]:
    chosen = {role: getattr(body, role) for role in body.model_fields_set}
    return cx.ws.views.set_defaults(chosen, _caller(who))


@router.get("/views/{slug}", summary="One saved view, with the dashboard URL it opens")
def get_view(
    slug: str,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> dict[str, Any]:
    with cx.reader() as ws:
        return _out(ws.views.get(slug, _caller(who)))


@router.put("/views/{slug}", summary="Change a saved view (its owner); its link stays")
def update_view(
    slug: str,
    body: ViewChange,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> dict[str, Any]:
    _check_masked(cx, who, body.query)
    view = cx.ws.views.update(
        slug, name=body.name, page=body.page, query=body.query, visibility=body.visibility,
        caller=_caller(who),
    )  # fmt: skip
    return _out(view)


@router.delete("/views/{slug}", summary="Delete a saved view (its owner; admin: shared ones)")
def delete_view(
    slug: str,
    cx: Annotated[ApiContext, Depends(context)],
    who: Annotated[Principal, Depends(viewer)],
) -> dict[str, Any]:
    return _out(cx.ws.views.delete(slug, _caller(who)))
