"""What each feature means: its name, title, unit, and which way is the better experience.

Some features exist for every store (orders, deliveries, cases); some are made
from the store's own data: one count per case channel (``cases_via_email``),
two per configured journey (``journey_started_checkout``,
``journey_abandoned_checkout``) and one flag per taxonomy theme of a response's
comment (``theme_delivery``). :class:`Moment` pairs a feature that marks a bad
touchpoint experience with the feature that marks the touchpoint itself, which
is what moments of truth compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Feature", "Moment", "slug"]

Better = Literal["lower", "higher"]


def slug(value: str) -> str:
    """A column-name fragment of a value: lower case, runs of other characters as ``_``."""
    out = re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")
    return out or "blank"


@dataclass(frozen=True)
class Feature:
    """One column of the feature layer."""

    name: str
    title: str
    description: str
    #: count, days, hours, amount, flag, score, rating
    unit: str
    #: which way is the better experience (``None``: neither, e.g. how many orders)
    better: Better | None
    #: the table it is computed from
    table: str
    #: chosen as a driver when none are named (a count that is 0 without the touchpoint)
    auto: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "unit": self.unit,
            "better": self.better,
            "table": self.table,
        }


@dataclass(frozen=True)
class Moment:
    """A touchpoint experience: units where ``exposed > 0`` against units that had the
    touchpoint (``base > 0``) without it (``exposed == 0``)."""

    name: str
    title: str
    exposed: str
    base: str
    #: what the comparison group is, in words
    against: str

    def to_dict(self) -> dict[str, str]:
        return {
            "moment": self.name,
            "title": self.title,
            "exposed": self.exposed,
            "base": self.base,
            "against": self.against,
        }
