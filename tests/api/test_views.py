"""Saved views over the API: CRUD, who sees and may change what, role defaults, errors."""

from __future__ import annotations

from tests.api.conftest import assert_envelope


def _save(api, role: str, **body):
    return api.post("/api/views", role=role, json=body)


def test_save_get_list_update_delete(api):
    r = _save(api, "analyst", name="NPS by region", page="segments",
              query={"metric": "nps", "by": "region", "preset": "90d",
                     "from": "2024-01-01", "filter": "plan:plus"},
              visibility="shared")  # fmt: skip
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["slug"] == "nps-by-region" and v["link"] == "/v/nps-by-region"
    # a preset wins over dates; a single filter becomes a list
    assert v["query"] == {"metric": "nps", "by": "region", "preset": "90d", "filter": ["plan:plus"]}
    assert v["url"] == "/segments?metric=nps&by=region&preset=90d&filter=plan%3Aplus"
    assert v["owner"]["name"] == "test analyst" and v["visibility"] == "shared"
    assert api.get("/api/views/nps-by-region").json() == v  # a viewer reads a shared view
    assert [x["slug"] for x in api.get("/api/views").json()] == ["nps-by-region"]
    r = api.client.put("/api/views/nps-by-region", headers=api.auth("analyst"),
                       json={"name": "NPS by plan", "query": {"metric": "nps", "by": "plan"}})  # fmt: skip
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["slug"] == "nps-by-region"  # the link stays
    assert changed["name"] == "NPS by plan" and changed["query"] == {"metric": "nps", "by": "plan"}
    assert changed["created_at"] == v["created_at"]
    r = api.client.delete("/api/views/nps-by-region", headers=api.auth("analyst"))
    assert r.status_code == 200 and r.json()["slug"] == "nps-by-region"
    assert_envelope(api.get("/api/views/nps-by-region"), 404, "not_found")
    assert api.get("/api/views").json() == []


def test_private_views_and_who_may_change_what(api):
    assert (
        _save(api, "viewer", name="Mine", page="overview", query={"preset": "7d"}).status_code
        == 201
    )
    assert (
        _save(api, "analyst", name="Team", page="overview", visibility="shared").status_code == 201
    )
    # a viewer may not share
    err = assert_envelope(_save(api, "viewer", name="Ours", page="overview", visibility="shared"),
                          403, "forbidden")  # fmt: skip
    assert "sharing a view needs the analyst role" in err["message"]
    # someone else's private view does not exist for them, not even for an admin
    for role in ("analyst", "admin"):
        assert [x["slug"] for x in api.get("/api/views", role=role).json()] == ["team"]
        assert_envelope(api.get("/api/views/mine", role=role), 404, "not_found")
        assert_envelope(
            api.client.delete("/api/views/mine", headers=api.auth(role)), 404, "not_found"
        )
    assert [x["slug"] for x in api.get("/api/views").json()] == ["mine", "team"]
    # only the owner changes a view; an admin may delete a shared one
    err = assert_envelope(api.client.put("/api/views/team", headers=api.auth("admin"),
                                         json={"name": "Boss"}), 403, "forbidden")  # fmt: skip
    assert "only its owner" in err["message"]
    assert_envelope(api.client.delete("/api/views/team", headers=api.auth("viewer")),
                    403, "forbidden")  # fmt: skip
    assert api.client.delete("/api/views/team", headers=api.auth("admin")).status_code == 200


def test_role_defaults(api):
    _save(api, "analyst", name="Weekly exec", page="overview", query={"preset": "7d"},
          visibility="shared")  # fmt: skip
    _save(api, "analyst", name="Private", page="overview")
    put = api.client.put
    err = assert_envelope(put("/api/views/defaults", headers=api.auth("analyst"),
                              json={"viewer": "weekly-exec"}), 403, "forbidden")  # fmt: skip
    r = put("/api/views/defaults", headers=api.auth("admin"), json={"viewer": "weekly-exec"})
    assert r.status_code == 200, r.text
    assert r.json() == {"viewer": {"slug": "weekly-exec", "source": "store", "exists": True}}
    assert api.get("/api/views/defaults").json() == r.json()
    err = assert_envelope(put("/api/views/defaults", headers=api.auth("admin"),
                              json={"analyst": "private"}), 422, "invalid_request")  # fmt: skip
    assert "not a shared view" in err["message"]
    assert_envelope(put("/api/views/defaults", headers=api.auth("admin"), json={"boss": "x"}),
                    422, "invalid_request")  # fmt: skip
    # making the view private drops it as a default; null clears one
    api.client.put("/api/views/weekly-exec", headers=api.auth("analyst"),
                   json={"visibility": "private"})  # fmt: skip
    assert api.get("/api/views/defaults").json() == {}
    r = put("/api/views/defaults", headers=api.auth("admin"), json={"viewer": None})
    assert r.status_code == 200 and r.json() == {}


def test_bad_input_is_one_envelope_and_writes_nothing(api):
    cases = [
        ({"name": "", "page": "overview"}, "view name: empty"),
        ({"name": "x", "page": "wallboard"}, "page 'wallboard': unknown"),
        ({"name": "x", "page": "overview", "query": {"period": "fortnight"}}, "query.period"),
        ({"name": "x", "page": "overview", "query": {"to": "yesterday"}}, "not a date"),
        (
            {"name": "x", "page": "overview", "query": {"from": "2024-03-01", "to": "2024-02-01"}},
            "is after",
        ),
        ({"name": "x", "page": "overview", "query": {"filter": ["West"]}}, "ATTRIBUTE:VALUE"),
        ({"name": "x", "page": "overview", "query": {"Bad Key": "1"}}, "query key"),
        ({"name": "x", "page": "rows", "query": {}}, "needs a table"),
        ({"name": "defaults", "page": "overview"}, "reserved"),
        ({"name": "a" * 81, "page": "overview"}, "at most 80"),
    ]
    for body, message in cases:
        err = assert_envelope(_save(api, "analyst", **body), 422, "invalid_request")
        assert message in err["message"], (body, err)
    assert_envelope(_save(api, "analyst", name="x", page="overview", color="red"), 422,
                    "invalid_request")  # fmt: skip
    assert api.get("/api/views").json() == []
    assert _save(api, "analyst", name="Dup", page="overview").status_code == 201
    assert_envelope(_save(api, "analyst", name="DUP!", page="trends"), 409, "conflict")
    # a key without pii may not keep a slice by a column it sees masked
    err = assert_envelope(_save(api, "viewer", name="Mail", page="rows",
                                query={"table": "responses", "filter": "email:a@b.c"}),
                          403, "forbidden")  # fmt: skip
    assert "personal data" in err["message"]
    assert [v["slug"] for v in api.get("/api/views", role="analyst").json()] == ["dup"]
    assert_envelope(api.client.get("/api/views"), 401, "unauthenticated")
