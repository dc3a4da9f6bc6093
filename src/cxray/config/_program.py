"""The program config: one ``cxray.toml`` that a CX team keeps under version control.

It holds what the team decided (scales, time zone, and, as the measurement
framework grows, targets, thresholds, journeys and weights); never data.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxray.exceptions import ConfigError

__all__ = ["DEFAULT_CONFIG_TEXT", "ProgramConfig", "ScaleConfig", "load_program_config"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleConfig(_Model):
    """An integer answer scale, such as CSAT 1–5 or CES 1–7."""

    min: int = 1
    max: int = 5
    #: ``higher_is_better`` (CSAT, CES agreement "made it easy") or
    #: ``lower_is_better`` (an effort scale where 1 = very low effort)
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"

    @model_validator(mode="after")
    def _ordered(self) -> ScaleConfig:
        if self.min >= self.max:
            raise ValueError(f"scale min ({self.min}) must be below max ({self.max})")
        return self


class Scales(_Model):
    csat: ScaleConfig = ScaleConfig(min=1, max=5)
    ces: ScaleConfig = ScaleConfig(min=1, max=7)


class ProgramSection(_Model):
    name: str = "Customer experience program"
    #: the zone naive timestamps in imported files are read in, and periods are cut in
    timezone: str = "UTC"
    currency: str = "USD"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name such as 'Europe/Berlin')"
            ) from None
        return v


class ProgramConfig(_Model):
    """The typed contents of ``cxray.toml``. Unknown keys are an error, not ignored."""

    model_config = ConfigDict(extra="allow", frozen=True)

    program: ProgramSection = ProgramSection()
    scales: Scales = Scales()
    #: the file it was read from, if any
    path: Path | None = Field(default=None, exclude=True)

    def scale(self, name: str) -> ScaleConfig:
        return getattr(self.scales, name)


DEFAULT_CONFIG_TEXT = """\
# cxray program config: what your CX team decided. Keep it under version control.

[program]
name = "Customer experience program"
# Naive timestamps in imported files are read in this zone; periods are cut in it.
timezone = "UTC"
currency = "USD"

[scales.csat]
# CSAT answers are integers from min to max; higher is better.
min = 1
max = 5

[scales.ces]
# Default: 1-7 agreement with "the company made it easy" (7 = easiest).
# For an effort scale where 1 = very low effort, set direction = "lower_is_better".
min = 1
max = 7
direction = "higher_is_better"
"""


def load_program_config(path: str | Path | None) -> ProgramConfig:
    """Read ``cxray.toml``; a missing file gives the defaults, a bad one a clear error."""
    if path is None:
        return ProgramConfig()
    p = Path(path)
    if not p.exists():
        return ProgramConfig()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    known = set(ProgramConfig.model_fields) - {"path"}
    if unknown := [k for k in data if k not in known and not isinstance(data[k], dict)]:
        raise ConfigError(f"{p}: unknown top-level key(s): {', '.join(unknown)}")
    try:
        return ProgramConfig(**data, path=p)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{p}: [{loc}] {first['msg']}") from exc
