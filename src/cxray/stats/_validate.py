"""Input checks and small numeric helpers shared by the statistics modules.

Every bad argument is reported through :func:`invalid`, so the error type of
the whole package can be changed in one place.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "DEFAULT_MIN_N",
    "REMEDY",
    "as_pair",
    "check_confidence",
    "check_count",
    "check_min_n",
    "check_probability",
    "check_sample",
    "invalid",
    "small_sample_reason",
    "z_value",
]

#: below this many responses an estimate is suppressed unless told otherwise
DEFAULT_MIN_N = 30

#: what a reader can do about a suppressed estimate
REMEDY = "widen the period or merge segments"


def invalid(message: str) -> ValueError:
    """The error raised for an argument outside a function's domain."""
    return ValueError(message)


def check_count(name: str, value: Any) -> int:
    """A non-negative whole number (numpy integers and integral floats accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(f"{name} must be a non-negative whole number, got {value!r}")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float < 0 or as_float != math.floor(as_float):
        raise invalid(f"{name} must be a non-negative whole number, got {value!r}")
    return int(as_float)


def check_confidence(confidence: float) -> float:
    """A confidence level strictly between 0 and 1."""
    level = float(confidence)
    if not 0.0 < level < 1.0:
        raise invalid(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return level


def check_probability(name: str, value: float, *, open_interval: bool = False) -> float:
    """A share in [0, 1], or in (0, 1) when ``open_interval``."""
    share = float(value)
    inside = 0.0 < share < 1.0 if open_interval else 0.0 <= share <= 1.0
    if not inside:
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise invalid(f"{name} must lie in {bounds}, got {value!r}")
    return share


def check_sample(sample: ArrayLike, name: str = "sample") -> NDArray[np.float64]:
    """A one-dimensional array of finite numbers, returned sorted.

    Sorting makes every result computed from raw values independent of the
    order of the rows, down to the last bit of floating point.
    """
    values = np.asarray(sample, dtype=np.float64)
    if values.ndim != 1:
        raise invalid(f"{name} must be one-dimensional, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise invalid(f"{name} must not contain NaN or infinite values; drop them first")
    return np.sort(values)


def z_value(confidence: float) -> float:
    """The two-sided standard normal critical value for ``confidence``."""
    return float(special.ndtri(1.0 - (1.0 - confidence) / 2.0))


def small_sample_reason(n: int, min_n: int) -> str | None:
    """Why an estimate from ``n`` responses is suppressed, or ``None``."""
    if n == 0:
        return "no responses"
    if n < min_n:
        return f"n={n} < {min_n}; {REMEDY}"
    return None


def check_min_n(min_n: int) -> int:
    """The suppression threshold: a non-negative whole number."""
    return check_count("min_n", min_n)


def as_pair(name: str, value: Sequence[Any], size: int) -> tuple[Any, ...]:
    """A group given as a tuple of ``size`` aggregates."""
    try:
        items = tuple(value)
    except TypeError:
        raise invalid(f"{name} must be a tuple of {size} numbers, got {value!r}") from None
    if len(items) != size:
        raise invalid(f"{name} must be a tuple of {size} numbers, got {len(items)}")
    return items
