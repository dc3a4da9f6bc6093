"""docs/security.md's roles table is true: every API route, with the least role it needs.

The table under "## Roles and permissions" has one column per role (after ``anonymous``)
and lists routes as `METHOD /api/...`; the least role of a route is the first column that
does not say ``–`` (none: the store's local owner only). The app's routes are read from
``cxray serve``'s app: a route that depends on ``require_viewer`` / ``_analyst`` /
``_admin`` needs that role, one that depends on the serve file's owner check needs the local
owner, any other is public. A route added, removed or re-guarded without the table being
changed fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from cxray.access import PERMISSIONS, ROLES
from cxray.app import create_app

DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"
_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s]*)`")
_COLUMNS = ("anonymous", *ROLES)


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table(section: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "").replace("-", "").strip()) <= {""}, lines[1]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return header, rows


def documented() -> dict[tuple[str, str], str]:
    """(method, path) -> least role, as the doc's table says."""
    header, rows = _table(_section(DOC.read_text(encoding="utf-8"), "Roles and permissions"))
    assert header[1:5] == list(_COLUMNS), header  # the roles, least privileged first
    assert header[5] == "+ " + PERMISSIONS[0] and len(PERMISSIONS) == 1, header
    out: dict[tuple[str, str], str] = {}
    for row in rows:
        assert len(row) == len(header), row
        for cell in row[1:5]:
            assert cell in ("✓", "–", "masked"), (row[0], cell)
        allowed = [col for col, cell in zip(_COLUMNS, row[1:5], strict=True) if cell != "–"]
        # once a role may, every higher one may too
        assert allowed == list(_COLUMNS[len(_COLUMNS) - len(allowed) :]), row[0]
        least = allowed[0] if allowed else "local owner"
        for method, path in _ROUTE.findall(row[6]):
            assert (method, path) not in out, f"{method} {path} is in two rows"
            out[(method, path)] = least
    return out


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path, r
        elif hasattr(r, "original_router"):  # FastAPI's included router (lazy form)
            yield from _walk(r.original_router.routes, prefix + r.include_context.prefix)


def _dependencies(dependant: Any) -> Iterator[str]:
    for sub in dependant.dependencies:
        yield getattr(sub.call, "__name__", "")
        yield from _dependencies(sub)


def in_code(tmp_path: Path) -> dict[tuple[str, str], str]:
    """(method, path) -> least role, as the routes' dependencies say."""
    app = create_app(tmp_path / "cx.duckdb", tmp_path / "cxray.toml")
    app.state.cx.close()  # only its routes are read
    out: dict[tuple[str, str], str] = {}
    for path, route in _walk(app.routes):
        if not path.startswith("/api/"):
            continue
        deps = set(_dependencies(route.dependant))
        roles = [r for r in ROLES if f"require_{r}" in deps]
        if roles:
            least = roles[-1]  # a route guarded twice needs the stronger
        elif "_owner" in deps or "local_owner" in deps:
            least = "local owner"
        else:
            least = "anonymous"
        for method in route.methods:
            if method != "HEAD":
                out[(method, path)] = least
    return out


def test_the_roles_table_names_every_api_route_with_its_least_role(tmp_path):
    doc, code = documented(), in_code(tmp_path)
    assert len(code) > 40  # the walk found the API's routes
    missing = sorted(f"{m} {p} ({code[(m, p)]})" for m, p in code.keys() - doc.keys())
    extra = sorted(f"{m} {p}" for m, p in doc.keys() - code.keys())
    wrong = sorted(
        f"{m} {p}: code {code[(m, p)]}, doc {doc[(m, p)]}"
        for m, p in code.keys() & doc.keys()
        if code[(m, p)] != doc[(m, p)]
    )
    assert not missing, f"routes not in docs/security.md's roles table: {missing}"
    assert not extra, f"docs/security.md lists routes the API does not have: {extra}"
    assert not wrong, f"roles in docs/security.md differ from the code: {wrong}"


def test_the_table_reader_catches_a_drift(tmp_path, monkeypatch):
    """The check above can fail: a doc that says viewers may import is caught."""
    text = DOC.read_text(encoding="utf-8")
    row = next(ln for ln in text.splitlines() if "`POST /api/imports/{table}`" in ln)
    drifted = row.replace("| – | – | ✓ | ✓ |", "| – | ✓ | ✓ | ✓ |", 1)
    assert drifted != row
    fake = tmp_path / "security.md"
    fake.write_text(text.replace(row, drifted), encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.DOC", fake)
    assert documented()[("POST", "/api/imports/{table}")] == "viewer"
    assert in_code(tmp_path)[("POST", "/api/imports/{table}")] == "analyst"


def test_readme_links_the_security_page():
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "(docs/security.md)" in readme
    text = DOC.read_text(encoding="utf-8")
    for title in ("Threat model", "Roles and permissions", "Deployment checklist"):
        assert f"\n## {title}\n" in text, title
