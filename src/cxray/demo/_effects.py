"""The effects planted in the demo world: their strength, and their description.

The numbers in :class:`Strengths` drive the simulation; :func:`planted_effects`
describes each effect as a :class:`PlantedEffect` that names the tables and
columns to look at, the statistic that shows it and its expected size in the
default world, so tests and analyses can check that it is findable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["STRENGTHS", "PlantedEffect", "Strengths", "planted_effects", "recovery_effect"]


@dataclass(frozen=True)
class Strengths:
    """Causal strengths of the planted effects (on the latent satisfaction scale).

    One unit of latent satisfaction is about 2.2 points of NPS answer (0–10) and
    1 point of CSAT (1–5).
    """

    #: latent drop right after a late delivery; decays with ``late_decay_days``
    late_penalty: float = 1.3
    late_decay_days: float = 35.0
    #: extra drop per day late, in the survey about the late order itself (max 7 days)
    late_per_day: float = 0.12
    #: latent lift of a case solved at first contact (one contact, not reopened)
    fcr_lift: float = 0.75
    #: direct latent drop of a support case handled by email, on top of slower times
    email_penalty: float = 0.3
    #: latent drop per log-day of resolution time
    resolution_penalty: float = 0.2
    #: churn hazard multipliers after the latest NPS answer
    detractor_hazard: float = 3.0
    passive_hazard: float = 1.15
    promoter_hazard: float = 0.6
    #: latent lift of referral-acquired customers, and their order-rate and spend lift
    referral_lift: float = 0.55
    referral_orders: float = 1.3
    referral_spend: float = 1.12
    #: share of smart-home orders delivered near the fault month whose battery fails
    fault_rate: float = 0.35
    #: latent change over the whole period in the improving region
    region_trend: float = 1.2
    improving_region: str = "Southwest"
    slow_channel: str = "email"
    #: the closed loop (``cxray demo --loop`` only): answer points added to a customer's next
    #: NPS and CSAT answers after a follow-up that reached them within its SLA (capped at
    #: the top of the scale); later or no contact adds nothing
    recovery_nps_points: int = 3
    recovery_csat_points: int = 1


STRENGTHS = Strengths()

#: the recovery difference on the default world (seed 42), measured by ``Loop.measure``
EXPECTED_RECOVERY = 33.0

Direction = Literal["increase", "decrease"]


@dataclass(frozen=True)
class PlantedEffect:
    """One effect built into the demo world on purpose.

    ``statistic`` says how to measure it, ``direction`` which way it goes,
    ``expected`` about how big it is in the default world (seed 42, 20,000
    customers, 24 months), and ``at_least`` a conservative floor that the
    cxray test suite checks on smaller worlds.
    """

    name: str
    description: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]
    statistic: str
    direction: Direction
    expected: float
    at_least: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


def planted_effects(fault_month: dt.date, s: Strengths = STRENGTHS) -> list[PlantedEffect]:
    """The planted effects of a world whose product fault falls in ``fault_month``."""
    month = fault_month.strftime("%Y-%m")
    return [
        PlantedEffect(
            name="late_delivery_hurts_scores",
            description=(
                "A late delivery (delivered_at after promised_at) lowers the customer's "
                "following survey answers; the drop fades over about a month."
            ),
            tables=("orders", "responses"),
            columns=(
                "orders.promised_at",
                "orders.delivered_at",
                "responses.nps",
                "responses.csat",
                "responses.submitted_at",
            ),
            statistic=(
                "mean NPS answer of responses submitted within 30 days after one of the "
                "customer's late deliveries, minus the mean of the other responses "
                "(0–10 points)"
            ),
            direction="decrease",
            expected=-2.6,
            at_least=-1.0,
            details={"window_days": 30, "decay_days": s.late_decay_days, "csat_difference": -1.2},
        ),
        PlantedEffect(
            name="product_fault_spike",
            description=(
                f"In {month} a faulty battery batch in the Glow 2 smart thermostat "
                "(product_category smart_home) makes product_defect cases with root_cause "
                "faulty_battery_batch jump, and negative mentions of the thermostat follow."
            ),
            tables=("cases", "mentions", "orders"),
            columns=(
                "cases.category",
                "cases.root_cause",
                "cases.opened_at",
                "mentions.text",
                "mentions.posted_at",
                "orders.product_category",
            ),
            statistic=(
                "product_defect cases opened in the fault month divided by the median "
                "monthly count of the other months"
            ),
            direction="increase",
            expected=13.0,
            at_least=3.0,
            details={
                "month": month,
                "root_cause": "faulty_battery_batch",
                "product": "Glow 2 smart thermostat",
                "product_category": "smart_home",
                "mention_keywords": ("Glow 2", "thermostat"),
            },
        ),
        PlantedEffect(
            name="slow_email_support",
            description=(
                f"Cases handled by {s.slow_channel} wait much longer for a first response "
                "and a resolution than other channels, breach the SLA more often and get "
                "lower CSAT."
            ),
            tables=("cases", "responses"),
            columns=(
                "cases.channel",
                "cases.first_response_at",
                "cases.resolved_at",
                "cases.sla_breached",
                "responses.csat",
                "responses.case_id",
            ),
            statistic=(
                "median hours to first response of email cases divided by the median of "
                "the slowest other channel (web forms)"
            ),
            direction="increase",
            expected=4.1,
            at_least=2.5,
            details={
                "channel": s.slow_channel,
                "csat_difference": -0.6,
                "median_first_response_hours": 19.0,
            },
        ),
        PlantedEffect(
            name="detractors_churn",
            description=(
                "After an NPS answer of 0–6 the customer's churn hazard is about "
                f"{s.detractor_hazard:g} times the base rate (promoters "
                f"{s.promoter_hazard:g} times) until their next NPS answer."
            ),
            tables=("responses", "customers"),
            columns=("responses.nps", "responses.submitted_at", "customers.churned_at"),
            statistic=(
                "share of detractor responses followed by churn within 90 days divided by "
                "the same share for promoter responses"
            ),
            direction="increase",
            expected=3.9,
            at_least=2.0,
            details={"window_days": 90, "hazard_ratio": s.detractor_hazard / s.promoter_hazard},
        ),
        PlantedEffect(
            name="first_contact_resolution_lifts_csat",
            description=(
                "Cases solved at first contact (contacts = 1 and not reopened) get higher "
                "CSAT and CES in the post-case survey."
            ),
            tables=("cases", "responses"),
            columns=(
                "cases.contacts",
                "cases.reopened",
                "responses.csat",
                "responses.ces",
                "responses.case_id",
            ),
            statistic="mean CSAT of FCR cases minus mean CSAT of the other cases (1–5 points)",
            direction="increase",
            expected=1.25,
            at_least=0.5,
            details={"survey": "support_csat"},
        ),
        PlantedEffect(
            name="referrals_are_better_customers",
            description=(
                "Customers acquired by referral answer NPS higher and spend more per month "
                "of tenure (they order more often and a little more per order)."
            ),
            tables=("customers", "responses", "orders"),
            columns=("customers.acquisition_channel", "responses.nps", "orders.amount"),
            statistic=(
                "mean NPS answer of referral customers minus that of the others (0–10 points)"
            ),
            direction="increase",
            expected=0.75,
            at_least=0.4,
            details={"consumer_spend_per_month_ratio": 1.3},
        ),
        PlantedEffect(
            name="holiday_seasonality",
            description=(
                "Orders per active customer peak in November and December; late deliveries "
                "are also more frequent in the peak."
            ),
            tables=("orders",),
            columns=("orders.ordered_at", "orders.promised_at", "orders.delivered_at"),
            statistic=(
                "orders per customer-day in November–December divided by the rest of the year"
            ),
            direction="increase",
            expected=1.56,
            at_least=1.25,
        ),
        PlantedEffect(
            name="region_nps_trend",
            description=(
                f"NPS in the {s.improving_region} region starts below the others and "
                "improves steadily over the period; the other regions stay flat."
            ),
            tables=("responses", "customers"),
            columns=("responses.nps", "responses.submitted_at", "customers.region"),
            statistic=(
                f"NPS (promoters % minus detractors %) of {s.improving_region} in the last "
                "third of the period minus the first third"
            ),
            direction="increase",
            expected=49.0,
            at_least=12.0,
            details={"region": s.improving_region},
        ),
        PlantedEffect(
            name="parcelwing_runs_late",
            description=(
                "The carrier ParcelWing delivers late about twice as often as the other "
                "parcel carriers."
            ),
            tables=("orders",),
            columns=("orders.carrier", "orders.promised_at", "orders.delivered_at"),
            statistic="late-delivery rate of ParcelWing divided by that of SwiftLane",
            direction="increase",
            expected=1.9,
            at_least=1.4,
            details={"carrier": "ParcelWing"},
        ),
    ]


def recovery_effect(s: Strengths = STRENGTHS) -> PlantedEffect:
    """The closed loop's planted effect (``cxray demo --loop``; not in :func:`planted_effects`,
    which describes the world every demo has)."""
    return PlantedEffect(
        name="followup_recovers_detractors",
        description=(
            "A detractor whom the demo's agents reach within the follow-up's SLA answers "
            f"better next time: the next NPS answer after the contact is {s.recovery_nps_points} "
            f"points higher and the next CSAT answer {s.recovery_csat_points} point higher "
            "(capped at the top of the scale). Customers reached late, or not at all, answer "
            "as they would have. Churn is not changed (the world's churn is simulated before "
            "the follow-ups)."
        ),
        tables=("followups", "responses", "customers"),
        columns=(
            "followups.subject",
            "followups.contacted_at",
            "followups.due_at",
            "responses.nps",
            "responses.csat",
        ),
        statistic=(
            "recovery rate (next NPS answer 7 or more) of the detractors rule's follow-ups "
            "contacted within the SLA minus that of those not contacted (percentage points; "
            "Loop.measure, outcome nps)"
        ),
        direction="increase",
        expected=EXPECTED_RECOVERY,
        at_least=10.0,
        details={
            "nps_points": s.recovery_nps_points,
            "csat_points": s.recovery_csat_points,
            "rule": "detractors",
        },
    )
