"""Industry benchmarks: per KPI a typical figure of an industry, with a default target and
action threshold (``[program] industry``, ``[benchmarks.NAME]``; ``docs/benchmarks.md``).

A benchmark set is a TOML table: an optional ``title`` and ``description`` (and, in
``cxray.toml``, an optional ``file`` to read the set from), then one table per KPI::

    title = "Retail"
    [nps]
    value = 29                # the industry's typical figure, on the KPI's own scale
    target = 39               # the default target when [targets] does not set one
    action = 19               # the default action threshold
    scale = "NPS points, -100 to 100 (0-10 likelihood to recommend)"
    source = "publisher, report, year"

The sets shipped with cxray are the files in ``config/benchmarks/``; a set of the same name
in ``cxray.toml`` replaces a shipped one.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "BenchmarkFigure",
    "BenchmarkSet",
    "check_benchmarks",
    "read_set",
    "shipped_sets",
]

#: keys of a set that are not KPIs
_RESERVED = ("title", "description", "file")
_SHIPPED = Path(__file__).with_name("benchmarks")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BenchmarkFigure(_Model):
    """One KPI of a benchmark set, in the KPI's unit (points, %, hours, ...)."""

    #: the industry's typical (median or average) figure
    value: float | None = None
    #: the default target and action threshold for this industry
    target: float | None = None
    action: float | None = None
    #: where the figure comes from: publisher, report, year (or "cxray default ...")
    source: str = Field(min_length=1)
    #: the scale and definition the figure is on
    scale: str | None = None
    #: anything that limits the comparison (a different definition, a narrower population)
    note: str | None = None

    @model_validator(mode="after")
    def _something(self) -> BenchmarkFigure:
        if self.value is None and self.target is None and self.action is None:
            raise ValueError("give at least one of value, target and action")
        return self


class BenchmarkSet(_Model):
    """A named set of benchmark figures, one per KPI."""

    title: str | None = None
    description: str = ""
    #: read the figures from this TOML file (relative to cxray.toml) instead
    file: str | None = None
    kpis: dict[str, BenchmarkFigure] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _kpi_tables(cls, data: Any) -> Any:
        """Every key other than title, description and file is a KPI."""
        if not isinstance(data, Mapping) or "kpis" in data:
            return data
        out: dict[str, Any] = {k: data[k] for k in _RESERVED if k in data}
        out["kpis"] = {k: v for k, v in data.items() if k not in _RESERVED}
        return out

    @model_validator(mode="after")
    def _has_figures(self) -> BenchmarkSet:
        if self.file is not None and self.kpis:
            raise ValueError("give either file or KPI figures, not both")
        if self.file is None and not self.kpis:
            raise ValueError("a benchmark set needs at least one KPI (or a file)")
        return self

    def label(self, name: str) -> str:
        """How the set is named in a sentence ("retail", "financial services")."""
        return (self.title or name.replace("_", " ")).lower()


def read_set(path: Path) -> BenchmarkSet:
    """A benchmark set from a TOML file; ``ValueError`` says what is wrong and where."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"benchmark file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"benchmark file {path}: not valid TOML: {exc}") from None
    if "file" in data:
        raise ValueError(f"benchmark file {path}: 'file' is only for cxray.toml")
    try:
        return BenchmarkSet.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"] if x != "kpis")
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ValueError(f"benchmark file {path}: [{loc}] {msg}") from None


@functools.cache
def shipped_sets() -> dict[str, BenchmarkSet]:
    """The benchmark sets that ship with cxray, by name (the file's stem)."""
    return {p.stem: read_set(p) for p in sorted(_SHIPPED.glob("*.toml"))}


def check_benchmarks(
    user: Mapping[str, BenchmarkSet],
    industry: str | None,
    base: Path | None,
    known_kpis: Iterable[str],
    direction: Callable[[str], str],
) -> dict[str, BenchmarkSet]:
    """Every set (shipped, then the user's, files read), each checked; ``ValueError`` when a
    KPI is unknown, an action threshold is on the wrong side of its target, or ``industry``
    names no set."""
    sets = dict(shipped_sets())
    known = set(known_kpis)
    for name, bench in user.items():
        where = f"[benchmarks.{name}]"
        if bench.file is not None:
            path = Path(bench.file).expanduser()
            if not path.is_absolute() and base is not None:
                path = base / path
            try:
                read = read_set(path)
            except ValueError as exc:
                raise ValueError(f"{where} {exc}") from None
            bench = read.model_copy(update={"title": bench.title or read.title})
        sets[name] = bench
    for name, bench in sets.items():
        where = f"[benchmarks.{name}]"
        for kpi, fig in bench.kpis.items():
            if kpi not in known:
                raise ValueError(f"{where} unknown KPI {kpi!r}; known: {', '.join(sorted(known))}")
            if fig.target is None or fig.action is None:
                continue
            if direction(kpi) == "higher_is_better" and fig.action > fig.target:
                raise ValueError(
                    f"{where} {kpi}: action ({fig.action:g}) must not be above target "
                    f"({fig.target:g}); higher is better"
                )
            if direction(kpi) == "lower_is_better" and fig.action < fig.target:
                raise ValueError(
                    f"{where} {kpi}: action ({fig.action:g}) must not be below target "
                    f"({fig.target:g}); lower is better"
                )
    if industry is not None and industry not in sets:
        raise ValueError(
            f"[program] industry: no benchmark set {industry!r}; known: {', '.join(sorted(sets))}"
            " (or define [benchmarks." + industry + "])"
        )
    return sets
