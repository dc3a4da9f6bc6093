"""``[views]`` in ``cxray.toml``: the saved view each role's overview opens with.

::

    [views]
    default.viewer = "weekly-exec"      # the slug of a shared saved view (cxray views list)
    default.analyst = "nps-by-region"

A default an admin sets over the API (``PUT /api/views/defaults``) wins over the file's;
a slug that names no shared view is ignored when the overview opens (``cxray views list``
marks it missing). ``docs/dashboard.md`` (Saved views).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["ViewsConfig"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ViewsConfig(BaseModel):
    """Saved views: each role's default (``default.ROLE = "SLUG"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: role (viewer, analyst, admin) -> the slug of the shared view its overview opens with
    default: dict[Literal["viewer", "analyst", "admin"], str] = {}

    @field_validator("default")
    @classmethod
    def _slugs(cls, v: dict[str, str]) -> dict[str, str]:
        for role, slug in v.items():
            if not _SLUG.match(slug):
                raise ValueError(
                    f"default.{role} = {slug!r}: not a view slug; slugs are lower-case letters "
                    "and digits joined by '-' (cxray views list shows them)"
                )
        return v
