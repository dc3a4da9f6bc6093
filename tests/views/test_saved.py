"""Saved views in the store: round trips on DuckDB and PostgreSQL, config defaults, checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxray.config import load_program_config
from cxray.exceptions import ConfigError, ConflictError, NotFoundError, QueryError
from cxray.views import PRESETS, Caller, check_query, slug_for
from cxray.workspace import Workspace
from tests._backends import POSTGRES_URL, fresh_postgres, needs_postgres

LEAD = Caller(2, "lead", "analyst")
WALL = Caller(3, "wall", "viewer")
BOSS = Caller(1, "boss", "admin")


def _round_trip(ws: Workspace) -> None:
    views = ws.views
    saved = views.save("Weekly exec: NPS / West", "trends",
                       {"metric": "nps", "period": "week", "preset": "30d",
                        "filter": ["region:West", "plan:"]},
                       visibility="shared", caller=LEAD)  # fmt: skip
    assert saved.slug == "weekly-exec-nps-west"
    got = views.get("weekly-exec-nps-west", WALL)
    assert got == saved  # every field, the empty filter value (missing) and times included
    assert got.params() == [("metric", "nps"), ("period", "week"), ("preset", "30d"),
                            ("filter", "region:West"), ("filter", "plan:")]  # fmt: skip
    assert got.path() == "/trends"
    # stored as JSON text, never a pickle
    raw = ws.store.backend.table("_cx_views").to_pyarrow().to_pylist()[0]
    assert json.loads(raw["query"]) == saved.query
    views.save("It's mine", "rows", {"table": "cases", "sort": ["-opened_at"]}, caller=WALL)
    assert views.get("it-s-mine", WALL).path() == "/rows/cases"
    assert [v.slug for v in views.list(LEAD)] == ["weekly-exec-nps-west"]
    assert [v.slug for v in views.list(WALL)] == ["it-s-mine", "weekly-exec-nps-west"]
    with pytest.raises(NotFoundError):
        views.get("it-s-mine", BOSS)
    with pytest.raises(ConflictError, match="exists already"):
        views.save("weekly exec -- NPS, West", "overview", caller=BOSS)
    assert views.set_defaults({"viewer": "weekly-exec-nps-west"}, BOSS)["viewer"]["exists"]
    assert views.default_for("viewer") == saved
    views.delete("weekly-exec-nps-west", BOSS)  # an admin, a shared view
    assert views.default_for("viewer") is None and views.defaults() == {}
    assert [v.slug for v in views.list()] == ["it-s-mine"]  # the local owner sees all


def test_round_trip_on_duckdb(ws):
    _round_trip(ws)


@needs_postgres
def test_round_trip_on_postgres(tmp_path):
    assert POSTGRES_URL
    with Workspace.open(fresh_postgres(), tmp_path / "cxray.toml") as ws:
        _round_trip(ws)


def test_config_defaults_and_the_store_wins(tmp_path):
    config = tmp_path / "cxray.toml"
    config.write_text('[views]\ndefault.viewer = "weekly-exec"\ndefault.analyst = "gone"\n')
    with Workspace.open(tmp_path / "cx.duckdb", config) as ws:
        views = ws.views
        assert views.default_for("viewer") is None  # no such view yet
        views.save("Weekly exec", "overview", {"preset": "7d"}, visibility="shared", caller=LEAD)
        views.save("Other", "overview", {}, visibility="shared", caller=LEAD)
        assert views.default_for("viewer").slug == "weekly-exec"
        assert views.defaults() == {
            "viewer": {"slug": "weekly-exec", "source": "config", "exists": True},
            "analyst": {"slug": "gone", "source": "config", "exists": False},
        }
        views.set_defaults({"viewer": "other"}, BOSS)
        assert views.default_for("viewer").slug == "other"
        views.set_defaults({"viewer": None}, BOSS)  # cleared: back to the file's
        assert views.default_for("viewer").slug == "weekly-exec"
        views.update("weekly-exec", visibility="private", caller=LEAD)
        assert views.default_for("viewer") is None  # a private view is no default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[views]\ndefault.boss = "x"\n', "views.default.boss"),
        ('[views]\ndefault.viewer = "Weekly Exec"\n', "not a view slug"),
        ('[views]\ndefaults.viewer = "x"\n', "views.defaults"),
    ],
)
def test_bad_config_says_where(tmp_path, text, message):
    path = tmp_path / "cxray.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_program_config(path)


def test_presets_are_the_dashboards():
    from cxray.web._morning import PRESETS as WEB_PRESETS

    assert tuple(WEB_PRESETS) == PRESETS


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_a_slug_is_url_safe_or_the_name_is_refused(name):
    try:
        slug = slug_for(name)
    except QueryError as exc:
        assert "letter or digit" in str(exc) or "reserved" in str(exc)
        return
    assert slug and len(slug) <= 60
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert not slug.startswith("-") and not slug.endswith("-") and "--" not in slug
    assert slug_for(slug) == slug  # a slug names itself


def test_a_checked_query_checks_again_to_itself():
    q = check_query("overview", {"preset": "7d", "from": "2024-01-01", "to": "2024-01-31",
                                 "filter": "region:West", "empty": ""})  # fmt: skip
    assert q == {"preset": "7d", "filter": ["region:West"]}
    assert check_query("overview", q) == q
