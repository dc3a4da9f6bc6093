"""The layers import only the layers before them (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import cxray

PKG = Path(cxray.__file__).parent

#: layer rank: a module may import only cxray packages of equal or lower rank
RANK = {
    "exceptions": 0,
    "config": 0,
    "stats": 0,
    "_background": 0,
    "schema": 1,
    "ingest": 2,
    "demo": 2,
    "store": 3,
    "metrics": 4,
    "features": 4,
    "text": 4,
    "drivers": 5,
    "journeys": 5,
    "loop": 5,
    "churn": 5,
    "value": 5,
    "maturity": 5,
    "reports": 5,
    "surveys": 5,
    "access": 5,
    "views": 5,
    "explore": 4,
    "privacy": 4,
    "workspace": 6,
    "cli": 7,
    "api": 7,
    "web": 7,
    "app": 8,
}
INTERFACES = {"cli", "api", "web"}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "cxray" else None


def test_layers_import_only_earlier_layers():
    problems = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        owner = rel.parts[0].removesuffix(".py")
        if owner in ("__init__", "__main__", "_version"):
            continue
        assert owner in RANK, f"{rel}: new top-level module; give it a layer in this test"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _part(name)
                if target is None or target == owner:
                    continue
                if RANK.get(target, 99) > RANK[owner] or (
                    owner in INTERFACES and target in INTERFACES
                ):
                    problems.append(f"{rel} imports {name}")
    assert problems == []
