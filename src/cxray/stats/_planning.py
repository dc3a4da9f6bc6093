"""Sample-size planning for comparing two independent groups (periods, segments).

Two questions, each for NPS and for a proportion (CSAT top-2-box, resolution
rate):

* how many responses per group are needed to detect a change of D points
  with a two-sided test at level ``alpha`` and the given ``power``
  (:func:`nps_sample_size`, :func:`proportion_sample_size`);
* which change is detectable with n responses per group
  (:func:`nps_detectable_difference`, :func:`proportion_detectable_difference`).

Shares (promoters, detractors, baseline) are fractions from 0 to 1; changes
are in points (NPS points, or percentage points for a proportion).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import optimize, special

from cxray.stats._validate import check_count, check_probability, invalid, z_value

__all__ = [
    "PowerPlan",
    "nps_detectable_difference",
    "nps_sample_size",
    "proportion_detectable_difference",
    "proportion_sample_size",
]

NPSShift = Literal["split", "promoters", "detractors"]
Direction = Literal["increase", "decrease"]


@dataclass(frozen=True)
class PowerPlan:
    """The answer of a planning function.

    ``n_per_group`` responses in each of the two groups detect a change of
    ``delta_points`` with a two-sided test at level ``alpha`` with
    probability ``power``.
    """

    metric: str
    n_per_group: int
    delta_points: float
    alpha: float
    power: float
    method: str
    assumptions: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        unit = "NPS points" if self.metric == "NPS" else "percentage points"
        return (
            f"{self.metric}: {self.n_per_group:,} responses per group detect a change of "
            f"{self.delta_points:+.1f} {unit} (two-sided alpha {self.alpha:g}, power "
            f"{self.power:.0%}; {self.method}; {self.assumptions})"
        )


def _check_design(alpha: float, power: float) -> tuple[float, float]:
    """Normal quantiles ``z_{1-α/2}`` and ``z_{power}`` of a two-sided design."""
    alpha = check_probability("alpha", alpha, open_interval=True)
    power = check_probability("power", power, open_interval=True)
    return z_value(1.0 - alpha), float(special.ndtri(power))


def _trinomial_variance(promoters: float, detractors: float) -> float:
    return promoters + detractors - (promoters - detractors) ** 2


def _check_nps_shares(promoter_share: float, detractor_share: float) -> tuple[float, float]:
    p = check_probability("promoter_share", promoter_share)
    d = check_probability("detractor_share", detractor_share)
    if p + d > 1.0 + 1e-12:
        raise invalid("promoter_share + detractor_share must not exceed 1")
    return p, d


def _shifted(p: float, d: float, delta: float, shift: NPSShift) -> tuple[float, float]:
    """Promoter and detractor shares after the NPS moves by ``delta`` (on -1..1)."""
    if shift == "split":
        p1, d1 = p + delta / 2.0, d - delta / 2.0
    elif shift == "promoters":
        p1, d1 = p + delta, d
    elif shift == "detractors":
        p1, d1 = p, d - delta
    else:
        raise invalid(f"shift must be 'split', 'promoters' or 'detractors', got {shift!r}")
    tol = 1e-12
    if min(p1, d1) < -tol or max(p1, d1) > 1.0 + tol or p1 + d1 > 1.0 + tol:
        raise invalid(
            f"a change of {100 * delta:+.1f} points is impossible from these shares with "
            f"shift={shift!r}"
        )
    return min(max(p1, 0.0), 1.0), min(max(d1, 0.0), 1.0)


def _max_nps_delta(p: float, d: float, shift: NPSShift, sign: float) -> float:
    """Largest feasible size of an NPS change (on -1..1) in the direction ``sign``."""
    if shift == "split":
        return 2.0 * d if sign > 0 else 2.0 * p
    if shift == "promoters":
        return (1.0 - p - d) if sign > 0 else p
    if shift == "detractors":
        return d if sign > 0 else 1.0 - p - d
    raise invalid(f"shift must be 'split', 'promoters' or 'detractors', got {shift!r}")


def _nps_n(p: float, d: float, delta: float, shift: NPSShift, z_a: float, z_b: float) -> float:
    p1, d1 = _shifted(p, d, delta, shift)
    variance = _trinomial_variance(p, d) + _trinomial_variance(p1, d1)
    return (z_a + z_b) ** 2 * variance / delta**2


_NPS_METHOD = "Wald z, unpooled trinomial variances"


def nps_sample_size(
    promoter_share: float,
    detractor_share: float,
    delta_points: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    shift: NPSShift = "split",
) -> PowerPlan:
    """Responses per group to detect an NPS change of ``delta_points``.

    ``promoter_share`` and ``detractor_share`` describe the baseline (e.g.
    0.45 and 0.20 for NPS 25). ``shift`` says where the change comes from:
    ``"split"`` (default) moves half of it into promoters and half out of
    detractors; ``"promoters"`` moves passives into promoters;
    ``"detractors"`` moves detractors into passives. The formula is the
    normal approximation for the unpooled z test of two independent NPS:
    ``n = (z_{1-α/2} + z_{1-β})² (σ₀² + σ₁²) / Δ²`` with ``σ² = p + d − (p − d)²``.
    """
    p, d = _check_nps_shares(promoter_share, detractor_share)
    delta = float(delta_points) / 100.0
    if delta == 0.0 or not math.isfinite(delta):
        raise invalid("delta_points must be a non-zero number of NPS points")
    z_a, z_b = _check_design(alpha, power)
    n = _nps_n(p, d, delta, shift, z_a, z_b)
    return PowerPlan(
        metric="NPS",
        n_per_group=max(2, math.ceil(n - 1e-9)),
        delta_points=float(delta_points),
        alpha=float(alpha),
        power=float(power),
        method=_NPS_METHOD,
        assumptions=_nps_assumptions(p, d, shift),
    )


def _nps_assumptions(p: float, d: float, shift: NPSShift) -> str:
    return f"baseline {p:.0%} promoters, {d:.0%} detractors; change via {shift!r}"


def nps_detectable_difference(
    n_per_group: int,
    promoter_share: float,
    detractor_share: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    shift: NPSShift = "split",
    direction: Direction = "increase",
) -> PowerPlan:
    """Smallest NPS change (points) detectable with ``n_per_group`` responses per group.

    The inverse of :func:`nps_sample_size`: solves ``n(Δ) = n_per_group`` for Δ
    in the given ``direction``. Raises ``ValueError`` when no feasible change
    is detectable with so few responses.
    """
    n = check_count("n_per_group", n_per_group)
    if n < 2:
        raise invalid("n_per_group must be at least 2")
    p, d = _check_nps_shares(promoter_share, detractor_share)
    z_a, z_b = _check_design(alpha, power)
    sign = _direction_sign(direction)
    limit = _max_nps_delta(p, d, shift, sign)

    def gap(size: float) -> float:
        p1, d1 = _shifted(p, d, sign * size, shift)
        variance = _trinomial_variance(p, d) + _trinomial_variance(p1, d1)
        return size * math.sqrt(n) - (z_a + z_b) * math.sqrt(variance)

    size = _solve(gap, limit, "NPS")
    return PowerPlan(
        metric="NPS",
        n_per_group=n,
        delta_points=sign * 100.0 * size,
        alpha=float(alpha),
        power=float(power),
        method=_NPS_METHOD,
        assumptions=_nps_assumptions(p, d, shift),
    )


def _direction_sign(direction: Direction) -> float:
    if direction == "increase":
        return 1.0
    if direction == "decrease":
        return -1.0
    raise invalid(f"direction must be 'increase' or 'decrease', got {direction!r}")


def _solve(gap: Any, limit: float, metric: str) -> float:
    """Root of an increasing ``gap`` on (0, limit]."""
    if limit <= 0.0 or gap(limit) < 0.0:
        raise invalid(
            f"no feasible {metric} change is detectable with this many responses; "
            "increase n_per_group or lower the power"
        )
    tiny = min(1e-9, limit / 2.0)
    return float(optimize.brentq(gap, tiny, limit, xtol=1e-12))


# ------------------------------------------------------------------- proportion
_PROPORTION_METHOD = "pooled z (Fleiss), no continuity correction"


def _proportion_n(p0: float, p1: float, z_a: float, z_b: float) -> float:
    mean_p = (p0 + p1) / 2.0
    null_sd = math.sqrt(2.0 * mean_p * (1.0 - mean_p))
    alt_sd = math.sqrt(p0 * (1.0 - p0) + p1 * (1.0 - p1))
    return (z_a * null_sd + z_b * alt_sd) ** 2 / (p1 - p0) ** 2


def proportion_sample_size(
    baseline_share: float,
    delta_points: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerPlan:
    """Responses per group to detect a change of ``delta_points`` percentage points.

    For the pooled two-proportion z test (Fleiss, Levin & Paik 2003):
    ``n = [z_{1-α/2} √(2 p̄ q̄) + z_{1-β} √(p₀q₀ + p₁q₁)]² / Δ²`` with
    ``p₁ = p₀ + Δ`` and ``p̄ = (p₀ + p₁) / 2``.
    """
    p0 = check_probability("baseline_share", baseline_share)
    delta = float(delta_points) / 100.0
    if delta == 0.0 or not math.isfinite(delta):
        raise invalid("delta_points must be a non-zero number of percentage points")
    p1 = p0 + delta
    if not 0.0 <= p1 <= 1.0:
        raise invalid(f"baseline {p0:.1%} {delta_points:+g} points leaves [0%, 100%]")
    z_a, z_b = _check_design(alpha, power)
    n = _proportion_n(p0, p1, z_a, z_b)
    return PowerPlan(
        metric="proportion",
        n_per_group=max(2, math.ceil(n - 1e-9)),
        delta_points=float(delta_points),
        alpha=float(alpha),
        power=float(power),
        method=_PROPORTION_METHOD,
        assumptions=f"baseline {p0:.1%}",
    )


def proportion_detectable_difference(
    n_per_group: int,
    baseline_share: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    direction: Direction = "increase",
) -> PowerPlan:
    """Smallest change (percentage points) detectable with ``n_per_group`` per group."""
    n = check_count("n_per_group", n_per_group)
    if n < 2:
        raise invalid("n_per_group must be at least 2")
    p0 = check_probability("baseline_share", baseline_share)
    z_a, z_b = _check_design(alpha, power)
    sign = _direction_sign(direction)
    limit = (1.0 - p0) if sign > 0 else p0

    def gap(size: float) -> float:
        p1 = p0 + sign * size
        mean_p = (p0 + p1) / 2.0
        null_sd = math.sqrt(2.0 * mean_p * (1.0 - mean_p))
        alt_sd = math.sqrt(p0 * (1.0 - p0) + p1 * (1.0 - p1))
        return size * math.sqrt(n) - (z_a * null_sd + z_b * alt_sd)

    size = _solve(gap, limit, "proportion")
    return PowerPlan(
        metric="proportion",
        n_per_group=n,
        delta_points=sign * 100.0 * size,
        alpha=float(alpha),
        power=float(power),
        method=_PROPORTION_METHOD,
        assumptions=f"baseline {p0:.1%}",
    )
