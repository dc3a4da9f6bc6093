"""The program config: one ``cxray.toml`` that a CX team keeps under version control.

It holds what the team decided (scales, time zone, targets and action
thresholds, journeys, the business calendar, health-score weights, the
minimum sample size); never data. Every section is a typed model: an unknown
key is an error with its location, not silently ignored. Definitions of the
KPIs these settings apply to: ``docs/metrics.md``.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from cxray.config._benchmarks import BenchmarkFigure, BenchmarkSet, check_benchmarks
from cxray.config._imports import ImportsConfig
from cxray.config._kpis import CustomKPI, check_kpi_names
from cxray.config._loop import LoopConfig
from cxray.config._privacy import PrivacyConfig
from cxray.config._reports import ReportSchedule
from cxray.config._sources import Sources
from cxray.config._surveys import SurveysConfig
from cxray.config._views import ViewsConfig
from cxray.exceptions import ConfigError

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_THEMES",
    "KPI_DIRECTIONS",
    "BusinessHours",
    "FeaturesConfig",
    "HealthConfig",
    "JourneyConfig",
    "MeasurementConfig",
    "PrivacyConfig",
    "ProgramConfig",
    "ScaleConfig",
    "TextConfig",
    "ThemeConfig",
    "Threshold",
    "load_program_config",
]

Direction = Literal["higher_is_better", "lower_is_better"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleConfig(_Model):
    """An integer answer scale, such as CSAT 1–5 or CES 1–7."""

    min: int = 1
    max: int = 5
    #: ``higher_is_better`` (CSAT, CES agreement "made it easy") or
    #: ``lower_is_better`` (an effort scale where 1 = very low effort)
    direction: Direction = "higher_is_better"
    #: how many of the best answers count as the "top box" (CSAT top-2-box: 4 and 5 on 1–5;
    #: for a lower-is-better scale the best answers are the lowest)
    top_box: int = 2

    @model_validator(mode="after")
    def _ordered(self) -> ScaleConfig:
        if self.min >= self.max:
            raise ValueError(f"scale min ({self.min}) must be below max ({self.max})")
        points = self.max - self.min + 1
        if not 1 <= self.top_box < points:
            raise ValueError(
                f"top_box ({self.top_box}) must be between 1 and {points - 1} "
                f"for a {self.min}–{self.max} scale"
            )
        return self

    @property
    def best(self) -> int:
        return self.max if self.direction == "higher_is_better" else self.min

    @property
    def span(self) -> int:
        return self.max - self.min

    def top_box_values(self) -> tuple[int, int]:
        """The inclusive range of answers in the top box."""
        if self.direction == "higher_is_better":
            return self.max - self.top_box + 1, self.max
        return self.min, self.min + self.top_box - 1


class Scales(_Model):
    csat: ScaleConfig = ScaleConfig(min=1, max=5, top_box=2)
    ces: ScaleConfig = ScaleConfig(min=1, max=7, top_box=3)


class ProgramSection(_Model):
    name: str = "Customer experience program"
    #: the zone naive timestamps in imported files are read in, and periods are cut in
    timezone: str = "UTC"
    currency: str = "USD"
    #: the benchmark set (``retail``, ``saas``, ... or a ``[benchmarks.NAME]``) whose
    #: targets apply where ``[targets]`` sets none, and whose figures the KPIs are shown
    #: against (docs/benchmarks.md)
    industry: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return _check_zone(v)


def _check_zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {v!r} (use an IANA name such as 'Europe/Berlin')"
        ) from None
    return v


class MeasurementConfig(_Model):
    """How results are computed and shown."""

    #: below this many responses (cases, customers) a result is suppressed
    min_n: int = Field(default=30, ge=1)
    #: confidence level of every interval
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    #: false discovery rate for Benjamini–Hochberg across the segments compared
    fdr: float = Field(default=0.05, gt=0.0, lt=1.0)


#: the direction of every KPI that can have a target (its name in ``[targets]``)
KPI_DIRECTIONS: dict[str, Direction] = {
    "nps": "higher_is_better",
    "csat": "higher_is_better",
    "ces_mean": "higher_is_better",  # replaced by the CES scale's direction
    "ces_easy": "higher_is_better",
    "fcr": "higher_is_better",
    "first_response_mean": "lower_is_better",
    "first_response_median": "lower_is_better",
    "resolution_mean": "lower_is_better",
    "resolution_median": "lower_is_better",
    "resolution_business_mean": "lower_is_better",
    "resolution_business_median": "lower_is_better",
    "completion": "higher_is_better",
    "abandonment": "lower_is_better",
    "churn_rate": "lower_is_better",
    "referral_rate": "higher_is_better",
    "health": "higher_is_better",
    "revenue_per_customer": "higher_is_better",
    "clv": "higher_is_better",
    "response_rate": "higher_is_better",
    # the closed loop (cxray.loop)
    "followup_rate": "higher_is_better",
    "time_to_contact": "lower_is_better",
    "sla_met": "higher_is_better",
    "recovery_rate": "higher_is_better",
}


class Threshold(_Model):
    """A target (the goal) and an action threshold (worse than this needs action).

    Between the two a result is on ``watch``. Either may be left out.
    """

    target: float | None = None
    action: float | None = None


def _t(target: float | None, action: float | None) -> Threshold:
    return Threshold(target=target, action=action)


class Targets(_Model):
    """Targets and action thresholds per KPI, in the KPI's unit (points, %, hours, ...).

    Defaults follow common industry benchmarks; the CES defaults depend on the
    CES scale (see :meth:`ProgramConfig.threshold`).
    """

    nps: Threshold = _t(50, 0)
    csat: Threshold = _t(80, 70)
    ces_mean: Threshold | None = None
    ces_easy: Threshold = _t(80, 70)
    fcr: Threshold = _t(70, 65)
    first_response_mean: Threshold = _t(2, 4)
    first_response_median: Threshold = _t(2, 4)
    resolution_mean: Threshold = _t(None, None)
    resolution_median: Threshold = _t(None, None)
    resolution_business_mean: Threshold = _t(None, None)
    resolution_business_median: Threshold = _t(None, None)
    completion: Threshold = _t(85, 80)
    abandonment: Threshold = _t(10, 15)
    churn_rate: Threshold = _t(None, None)
    referral_rate: Threshold = _t(None, None)
    health: Threshold = _t(70, 60)
    revenue_per_customer: Threshold = _t(None, None)
    clv: Threshold = _t(None, None)
    response_rate: Threshold = _t(None, None)
    #: the closed loop: no default targets (set what your team commits to)
    followup_rate: Threshold = _t(None, None)
    time_to_contact: Threshold = _t(None, None)
    sla_met: Threshold = _t(None, None)
    recovery_rate: Threshold = _t(None, None)

    @model_validator(mode="after")
    def _consistent(self) -> Targets:
        for name, direction in KPI_DIRECTIONS.items():
            th = getattr(self, name)
            if name == "ces_mean" or th is None or th.target is None or th.action is None:
                continue
            if direction == "higher_is_better" and th.action > th.target:
                raise ValueError(
                    f"{name}: action ({th.action:g}) must not be above target ({th.target:g}); "
                    "higher is better"
                )
            if direction == "lower_is_better" and th.action < th.target:
                raise ValueError(
                    f"{name}: action ({th.action:g}) must not be below target ({th.target:g}); "
                    "lower is better"
                )
        return self


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessHours(_Model):
    """The business calendar for times counted in business hours."""

    #: opening and closing time, local ``HH:MM``
    start: str = "09:00"
    end: str = "17:00"
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    )
    #: dates (``YYYY-MM-DD``) on which the business is closed all day
    holidays: tuple[dt.date, ...] = ()
    #: zone of the business calendar; default the program's time zone
    timezone: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        try:
            dt.time.fromisoformat(v)
        except ValueError:
            raise ValueError(f"expected a local time HH:MM, got {v!r}") from None
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else _check_zone(v)

    @model_validator(mode="after")
    def _open_before_close(self) -> BusinessHours:
        if dt.time.fromisoformat(self.start) >= dt.time.fromisoformat(self.end):
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        if not self.days:
            raise ValueError("days must name at least one weekday")
        return self

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Open weekdays, Monday = 0."""
        return tuple(sorted({_WEEKDAYS.index(d) for d in self.days}))


class JourneyConfig(_Model):
    """A funnel: a start touchpoint, and the success touchpoint that must follow in time."""

    start: str
    success: str
    #: success must come within this many hours of the start (by the same customer)
    window_hours: float = Field(default=24.0, gt=0)
    title: str | None = None


class HealthConfig(_Model):
    """The Customer Health Score: a weighted mean of components scored 0–1, times 100."""

    #: weight per component: survey (latest NPS answer), recency (of orders and events),
    #: frequency (orders), support (open or repeated cases)
    weights: dict[Literal["survey", "recency", "frequency", "support"], float] = {
        "survey": 0.4,
        "recency": 0.2,
        "frequency": 0.2,
        "support": 0.2,
    }
    #: look-back in days for recency, frequency and support
    horizon_days: int = Field(default=90, ge=1)
    #: this many orders in the horizon give full frequency marks
    orders_for_full_frequency: int = Field(default=3, ge=1)

    @field_validator("weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        return v


def _default_journeys() -> dict[str, JourneyConfig]:
    return {
        "checkout": JourneyConfig(
            start="checkout_started", success="order_placed", window_hours=2, title="Checkout"
        )
    }


_THEME_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ThemeConfig(_Model):
    """A theme of the taxonomy: what customers talk about, found by keywords.

    A keyword is a word or a phrase, matched on word boundaries after light
    stemming ("charge" matches "charged", "charges", "charging"); a keyword
    ending in ``*`` matches words that start with it ("deliver*": "delivery",
    "delivered"). Matching ignores case. ``examples`` are texts the theme must
    match: ``cxray text themes`` reports those its keywords miss.

    Context rules, checked per clause (a text is split at sentence ends, ``;``
    and contrast words such as "but"): ``require`` lists words or phrases of
    which one must be in the same clause for a keyword to count ("hold" is
    support only next to "call", "line", "agent"...); ``exclude`` lists words
    or phrases that veto the theme in that clause.
    """

    label: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    require: tuple[str, ...] = ()

    @field_validator("keywords")
    @classmethod
    def _some_keywords(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or any(not k.strip(" *") for k in v):
            raise ValueError("keywords must list at least one non-empty word or phrase")
        return v

    @field_validator("exclude", "require")
    @classmethod
    def _no_empty_rule(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k.strip(" *") for k in v):
            raise ValueError("exclude and require words must not be empty")
        return v


def _split(words: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in words.split(",") if k.strip())


def _theme(label: str, keywords: str, require: str = "", exclude: str = "") -> ThemeConfig:
    return ThemeConfig(
        label=label, keywords=_split(keywords), require=_split(require), exclude=_split(exclude)
    )


#: words that make a remark about replies or waiting one about contacting support
_CONTACT = (
    "customer service, customer services, customer support, customer care, support, "
    "support team, help desk, helpdesk, helpline, hotline, call centre, call center, "
    "call*, phone*, phoned, chat, live chat, on hold, ticket*, agent*, "
    "representative*, email*, e-mail*, contact*, complain*, complaint*"
)

#: the default CX taxonomy: id -> label, keywords and optional context rules, each a
#: comma-separated string (``require``: one of these in the same clause; ``exclude``:
#: none of these in the same clause); see :class:`ThemeConfig`
DEFAULT_THEMES: dict[str, dict[str, str]] = {
    "delivery": {
        "label": "Delivery",
        "keywords": "deliver*, shipping, shipment*, shipped, parcel*, courier*, tracking number, "
        "tracking, dispatch*, where is my order, wrong address, order stuck, arrived late, "
        "came late, days late, week late, weeks late, never arrived, not arrived, "
        "hasn't arrived, has not arrived, not received, never received, in transit",
        "exclude": "flight*, plane, boarding, baggage, luggage",
    },
    "price_billing": {
        "label": "Price & billing",
        "keywords": "price*, pricing, expensive, overpriced, cost*, charge, overcharg*, bill, "
        "billed, billing, invoice*, payment*, paid, fee*, discount*, promo*, coupon*, "
        "value for money, subscription",
    },
    "product_quality": {
        "label": "Product quality",
        "keywords": "quality, broken, broke, break, breaks, defect*, faulty, fault, faults, "
        "battery, batteries, stopped working, doesn't work, does not work, malfunction*, "
        "flimsy, poorly made, cheaply made, fell apart, damaged, overheat*, swollen, sturdy, "
        "well made, flaw*, missing part*, missing from the box, firmware, freez*",
        "exclude": "food, meal*, service",
    },
    "support": {
        "label": "Customer support",
        "keywords": _CONTACT + ", reply, replied, replies, respon*, answer*, waiting, waited, "
        "wait, chase*, chasing, call back, unhelpful, no help, resolve*, sorted",
        "require": _CONTACT,
    },
    "staff": {
        "label": "Staff attitude",
        # a member of staff and a judgement of them in one clause ("great staff", "the crew
        # were rude"), not "the crew served drinks" or "support was rude" (a contact)
        "keywords": "staff, crew, employee*, receptionist*, waiter*, waitress*, server*, "
        "attendant*, steward*, personnel, agent*, representative*, colleague*, manager*, "
        "driver*, host, hostess, hosts, advisor*, adviser*, person, people, team, guy, lady, "
        "concierge, cashier*, cabin crew",
        "require": "rude, rudely, friendly, unfriendly, helpful, unhelpful, polite, impolite, "
        "courteous, attentive, welcoming, professional, unprofessional, arrogant, dismissive, "
        "condescending, patient, kind, caring, smiling, smile, attitude, great, good, "
        "excellent, lovely, amazing, fantastic, wonderful, brilliant, superb, nice, "
        "terrible, awful, bad, poor, horrible, worst, best, efficient, hospitable, "
        "incompetent, useless, obnoxious, grumpy, cold, warm, pleasant, unpleasant",
    },
    "waiting": {
        "label": "Waiting & delays",
        "keywords": "delay*, late, wait*, queue*, queuing, took forever, takes forever, "
        "hours later, still waiting, slow, slowly, on hold, behind schedule, overdue",
        "exclude": "can't wait, cannot wait, can not wait, wait to, late night, late checkout, "
        "late check out, latest, slow cooker",
    },
    "cancellation": {
        "label": "Cancellations",
        "keywords": "cancel, cancels, cancelled, canceled, cancelling, canceling, cancellation*, "
        "called off",
    },
    "communication": {
        "label": "Communication & updates",
        "keywords": "no information, no info, not informed, never informed, kept informed, "
        "kept me informed, kept us informed, kept me updated, kept us updated, no update*, "
        "notif*, announce*, announcement*, communicat*, explanation, no explanation, "
        "nobody told, no one told, told us nothing, misinform*, text message",
    },
    "digital": {
        "label": "Website & app",
        "keywords": "app, apps, website*, web site, site, checkout, crash*, bug, bugs, buggy, "
        "glitch*, browser*, clunky, error message, error code, won't load, doesn't load, "
        "not loading, order history, log in, login",
        "exclude": "bed bug*, bedbug*",
    },
    "account": {
        "label": "Account & login",
        "keywords": "account*, login, log in, logged in, sign in, password*, verification code, "
        "locked out, personal data, my data, update my address, change my address",
    },
    "returns_refunds": {
        "label": "Returns & refunds",
        "keywords": "return, returns, returned, returning, refund*, exchange*, send it back, "
        "sent it back, return label, send back, sent back, replacement*, wrong item, "
        "wrong size, wrong colo*, didn't order",
        "exclude": "return flight*, return journey*, return trip*, return leg, return ticket*, "
        "on return, on our return, on my return, exchange rate*, return home",
    },
    "cleanliness": {
        "label": "Cleanliness",
        "keywords": "dirty, filthy, clean, cleaned, cleaning, cleanliness, unclean, spotless, "
        "stain*, smell*, smelly, stink*, stank, dust*, hygien*, unhygienic, mould*, mold, "
        "moldy, mouldy, cockroach*, bed bug*, bedbug*, sticky, grime, grimy, hair in",
        "exclude": "clean lines, clean look, clean cut, cleaning instructions",
    },
    "food": {
        "label": "Food & drink",
        "keywords": "food, meal*, breakfast*, dinner*, lunch*, snack*, menu*, dish, dishes, "
        "drink*, coffee, tea, wine, beverage*, catering, tasty, tasteless, delicious, bland, "
        "stale, undercooked, overcooked, portion*, cuisine",
    },
    "comfort": {
        "label": "Seat & room comfort",
        "keywords": "seat*, legroom, leg room, bed, beds, mattress*, pillow*, recline*, "
        "comfort*, uncomfortable, cramped, spacious, noisy, noise, air conditioning, "
        "too hot, too cold",
        "require": "seat*, legroom, leg room, bed, beds, bedroom*, mattress*, pillow*, "
        "recline*, room, rooms, cabin, chair*, sofa, sleep*, slept, noisy, noise, "
        "air conditioning, too hot, too cold",
    },
    "payments": {
        "label": "Payments & transfers",
        "keywords": "transfer*, top up, top-up, topped up, topup, card payment*, declined, "
        "pending, atm, cash withdrawal*, withdraw*, direct debit*, standing order*, "
        "exchange rate*",
        "exclude": "airport transfer*, transfer flight*, transfer desk, transfer passenger*",
    },
    "cards": {
        "label": "Cards",
        "keywords": "card, cards, pin, contactless, virtual card*, debit card*, credit card*",
        "exclude": "boarding card*, boarding pass*, gift card*, sim card*, card table*",
    },
    "fit_size": {
        "label": "Fit & size",
        "keywords": "fit, fits, fitted, fitting, size*, sizing, too small, too big, too large, "
        "too tight, too loose, runs small, runs large, runs big, "
        "true to size",
        "exclude": "seat*, legroom, room, cabin, bed, beds, checkout, queue*, wait*",
    },
    "range_stock": {
        "label": "Range & availability",
        "keywords": "range, selection, out of stock, in stock, availab*, sold out, "
        "back in stock, stock",
        "exclude": "range of motion",
    },
    "product_help": {
        "label": "Product questions & setup",
        "keywords": "warranty, set up, setup, setting up, assembl*, instruction*, manual, "
        "compatib*, install*, work with, how do i",
    },
}


def _default_themes() -> dict[str, ThemeConfig]:
    """The default taxonomy; any ``[themes.*]`` section in cxray.toml replaces it whole."""
    return {key: _theme(**spec) for key, spec in DEFAULT_THEMES.items()}


class TextConfig(_Model):
    """Text analytics: when sentiment is scored."""

    #: score the new and changed texts of every import right after it commits, and match
    #: their taxonomy themes (``cxray text enrich`` does the same for the whole store)
    enrich_on_import: bool = True
    #: ... for imports that add or change at most this many rows (0: any number); a bulk
    #: load above it is left to ``cxray text enrich``, which its report says
    enrich_on_import_max_rows: int = Field(default=200_000, ge=0)


class FeaturesConfig(_Model):
    """The feature layer (``docs/drivers.md``): what happened to a customer, and when."""

    #: a response's features count what happened to its customer in this many days before it
    window_days: float = Field(default=30, gt=0)
    #: a customer's features count what happened in this many days before the as-of date
    lookback_days: float = Field(default=90, gt=0)
    #: the churn outcome: the customer churned within this many days after the as-of date
    churn_horizon_days: float = Field(default=90, gt=0)
    #: a case waited "too long" for its first response beyond this many hours
    slow_first_response_hours: float = Field(default=24, gt=0)


class ProgramConfig(_Model):
    """The typed contents of ``cxray.toml``. Unknown keys are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    program: ProgramSection = ProgramSection()
    scales: Scales = Scales()
    measurement: MeasurementConfig = MeasurementConfig()
    targets: Targets = Targets()
    business_hours: BusinessHours = BusinessHours()
    journeys: dict[str, JourneyConfig] = Field(default_factory=_default_journeys)
    health: HealthConfig = HealthConfig()
    #: the text taxonomy: theme id -> label, keywords, examples (defaults: ``_default_themes``)
    themes: dict[str, ThemeConfig] = Field(default_factory=_default_themes)
    text: TextConfig = TextConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    features: FeaturesConfig = FeaturesConfig()
    #: the closed loop: rules, follow-ups and notifications (``docs/loop.md``)
    loop: LoopConfig = LoopConfig()
    #: survey definitions (``[surveys.NAME]``) and the fatigue rule (``docs/surveys.md``)
    surveys: SurveysConfig = SurveysConfig()
    #: named sources (``[sources.NAME]``): how a kind of file is imported (docs/importing.md)
    sources: Sources = Field(default_factory=dict)
    #: ``[imports.limits]``: the most one imported file may hold (docs/importing.md)
    imports: ImportsConfig = ImportsConfig()
    #: ``[views]``: the saved view each role's overview opens with (docs/dashboard.md)
    views: ViewsConfig = ViewsConfig()
    #: scheduled executive digests (``[reports.NAME]``, docs/reports.md)
    reports: dict[str, ReportSchedule] = Field(default_factory=dict)
    #: KPIs as code (``[kpis.NAME]``, docs/metrics.md "KPIs as code")
    kpis: dict[str, CustomKPI] = Field(default_factory=dict)
    #: the file it was read from, if any
    path: Path | None = Field(default=None, exclude=True)
    #: ``[benchmarks.NAME]``: benchmark sets of your own (docs/benchmarks.md)
    benchmarks: dict[str, BenchmarkSet] = Field(default_factory=dict)
    _benchmark_sets: dict[str, BenchmarkSet] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_benchmarks(self) -> ProgramConfig:
        self._benchmark_sets = check_benchmarks(
            self.benchmarks,
            self.program.industry,
            self.path.parent if self.path is not None else None,
            [*KPI_DIRECTIONS, *self.kpis],
            self.direction,
        )
        return self

    @property
    def benchmark_sets(self) -> dict[str, BenchmarkSet]:
        """Every benchmark set: the shipped ones and ``[benchmarks.NAME]``."""
        return self._benchmark_sets

    def benchmark(self, kpi: str) -> BenchmarkFigure | None:
        """The ``[program] industry`` set's figure for a KPI (None without one)."""
        industry = self.program.industry
        if industry is None:
            return None
        return self._benchmark_sets[industry].kpis.get(kpi.split(":", 1)[0])

    @field_validator("kpis")
    @classmethod
    def _kpi_names(cls, v: dict[str, CustomKPI]) -> dict[str, CustomKPI]:
        return check_kpi_names(v, set(KPI_DIRECTIONS))

    @field_validator("themes")
    @classmethod
    def _theme_ids(cls, v: dict[str, ThemeConfig]) -> dict[str, ThemeConfig]:
        for key in v:
            if not _THEME_ID.match(key):
                raise ValueError(f"theme id {key!r}: use lower-case letters, digits, '_' and '-'")
        return v

    def scale(self, name: str) -> ScaleConfig:
        return getattr(self.scales, name)

    def direction(self, kpi: str) -> Direction:
        """Whether higher or lower values of a KPI are better."""
        if kpi == "ces_mean":
            return self.scales.ces.direction
        if kpi in self.kpis:
            return self.kpis[kpi].direction
        return KPI_DIRECTIONS[kpi]

    def threshold(self, kpi: str) -> Threshold:
        """The target and action threshold of a KPI (empty when it has none).

        ``ces_mean`` defaults from the CES scale: the target lies a quarter of
        the scale's span from its best end, the action threshold half-way.
        On a 1–5 effort scale that is the benchmark "below 2.0" (action above
        3.0); on the default 1–7 agreement scale, 5.5 (action below 4.0).
        """
        if kpi in self.kpis:  # a KPI defined in config carries its own
            return Threshold(target=self.kpis[kpi].target, action=self.kpis[kpi].action)
        base = kpi.split(":", 1)[0]
        bench = self.benchmark(base) if base not in self.targets.model_fields_set else None
        if bench is not None and (bench.target is not None or bench.action is not None):
            return Threshold(target=bench.target, action=bench.action)  # the industry's
        th = getattr(self.targets, base, None) if base in KPI_DIRECTIONS else None
        if base == "ces_mean" and th is None:
            s = self.scales.ces
            sign = -1 if s.direction == "higher_is_better" else 1
            return Threshold(target=s.best + sign * s.span / 4, action=s.best + sign * s.span / 2)
        return th or Threshold()


DEFAULT_CONFIG_TEXT = """\
# cxray program config: what your CX team decided. Keep it under version control.
# Every key is optional; the values below are the defaults. docs/metrics.md defines the KPIs.

[program]
name = "Customer experience program"
# Naive timestamps in imported files are read in this zone; periods are cut in it.
timezone = "UTC"
currency = "USD"
# Industry benchmarks (docs/benchmarks.md; `cxray benchmarks` lists them): each KPI is shown
# against the industry's figure, and the industry's targets apply where [targets] sets none.
# industry = "retail"   # financial_services, healthcare, insurance, saas, telecom,
#                       # travel_hospitality, utilities, or a [benchmarks.NAME] of your own

[scales.csat]
# CSAT answers are integers from min to max; higher is better.
# CSAT is reported as the share of answers in the top box (top-2-box: 4 or 5).
min = 1
max = 5
top_box = 2

[scales.ces]
# Default: 1-7 agreement with "the company made it easy" (7 = easiest); "% easy" counts
# the top 3 answers (5-7). For an effort scale where 1 = very low effort, set
# direction = "lower_is_better" (then the top box is the lowest answers).
min = 1
max = 7
direction = "higher_is_better"
top_box = 3

[measurement]
min_n = 30          # fewer responses (cases, customers): the value is suppressed
confidence = 0.95   # of every interval
fdr = 0.05          # Benjamini-Hochberg false discovery rate across segments compared

# Targets and action thresholds, in the KPI's unit. Status: on_target when the target is
# met; action when worse than the action threshold; watch in between. The defaults are shown
# commented out: a line set here wins over the [program] industry's target for that KPI.
[targets]
# nps = { target = 50, action = 0 }                      # points
# csat = { target = 80, action = 70 }                    # % top box
# ces_easy = { target = 80, action = 70 }                # % of answers in the top box
# ces_mean defaults from the CES scale: 5.5 (action below 4.0) on 1-7 agreement;
# on a 1-5 effort scale 2.0 (action above 3.0).
# ces_mean = { target = 5.5, action = 4.0 }
# fcr = { target = 70, action = 65 }                     # % of resolved cases
# first_response_mean = { target = 2, action = 4 }       # hours
# first_response_median = { target = 2, action = 4 }     # hours
# completion = { target = 85, action = 80 }              # % of journeys started
# abandonment = { target = 10, action = 15 }             # % of journeys started
# health = { target = 70, action = 60 }                  # 0-100
# resolution_mean, resolution_median, resolution_business_mean, resolution_business_median,
# churn_rate, referral_rate, revenue_per_customer, clv, response_rate and the closed loop's
# followup_rate, time_to_contact, sla_met, recovery_rate: no default targets; add your own,
# e.g. churn_rate = { target = 2, action = 4 }, sla_met = { target = 90, action = 75 }

# KPIs as code (docs/metrics.md "KPIs as code"): KPIs of your own, computed like the built-in
# ones (interval, change between periods with Benjamini-Hochberg, slices, status against
# target and action, drill-down to rows, overview tiles, the API). kind: nps | share | mean |
# median | rate | ratio. table: responses (survey answers are its columns), cases, orders,
# events, customers, mentions. value, filter (and a ratio's denominator): expressions over
# the table's columns (comparisons, arithmetic, AND/OR/NOT, IN, IS NULL, CASE, COALESCE, ...).
# time_column: default the table's own time (submitted_at, opened_at, ordered_at, ...).
# Examples (each needs the survey question it names; uncomment and adapt):
#
# Likelihood to repurchase or renew: the top-2-box share of a 1-5 question
# [kpis.repurchase_intent]
# title = "Likelihood to repurchase (top-2-box)"
# kind = "share"
# table = "responses"
# value = "repurchase >= 4"
# filter = "repurchase IS NOT NULL"
# target = 70
# action = 55
#
# Likelihood to renew as a mean on its 1-5 scale
# [kpis.renewal_intent]
# title = "Likelihood to renew (mean, 1-5)"
# kind = "mean"
# table = "responses"
# value = "renew"
# unit = "score"
#
# Perceived value: mean answer to "value for money" on a 1-7 scale
# [kpis.perceived_value]
# title = "Perceived value (mean, 1-7)"
# kind = "mean"
# table = "responses"
# value = "value_for_money"
# unit = "score"
# target = 5.5
# action = 4.5
#
# Temkin Experience Rating (Temkin Group): three 7-point questions, success (could you do
# what you wanted?), effort (how easy was it?) and emotion (how did you feel?); each scores
# % of 6-7 answers minus % of 1-3; the rating is the average of the three (-100 to 100).
# Per response: +100 for a 6-7, -100 for a 1-3, 0 otherwise, averaged over the three, then
# the mean over responses that answered all three.
# [kpis.txr]
# title = "Temkin Experience Rating"
# kind = "mean"
# table = "responses"
# value = '''(
#     (CASE WHEN txr_success >= 6 THEN 100 WHEN txr_success <= 3 THEN -100 ELSE 0 END)
#   + (CASE WHEN txr_effort >= 6 THEN 100 WHEN txr_effort <= 3 THEN -100 ELSE 0 END)
#   + (CASE WHEN txr_emotion >= 6 THEN 100 WHEN txr_emotion <= 3 THEN -100 ELSE 0 END)
# ) / 3'''
# filter = "txr_success IS NOT NULL AND txr_effort IS NOT NULL AND txr_emotion IS NOT NULL"
# unit = "points"
#
# Employee NPS: the 0-10 answers of an employee survey
# [kpis.enps]
# title = "Employee NPS"
# kind = "nps"
# table = "responses"
# value = "enps"
# filter = "survey = 'employee'"
# target = 20
# action = 0
#
# A rate and a ratio of totals
# [kpis.reopened_per_1000]
# title = "Reopened cases per 1,000"
# kind = "rate"
# table = "cases"
# value = "reopened"
# per = 1000
# direction = "lower_is_better"
# [kpis.late_revenue_share]
# title = "Revenue delivered late"
# kind = "ratio"
# table = "orders"
# value = "CASE WHEN delivered_at > promised_at THEN 100 * amount ELSE 0 END"
# denominator = "amount"
# filter = "delivered_at IS NOT NULL AND promised_at IS NOT NULL"
# unit = "%"
# direction = "lower_is_better"

[business_hours]
# For times in business hours (resolution_business_*): open days, local opening hours,
# closed dates.
start = "09:00"
end = "17:00"
days = ["mon", "tue", "wed", "thu", "fri"]
holidays = []       # e.g. ["2026-12-25", "2027-01-01"]
# timezone = "America/New_York"   # default: [program] timezone

# Journeys (funnels): a start touchpoint, and the success touchpoint the same customer
# must reach within window_hours. Completion and abandonment are measured per start.
[journeys.checkout]
title = "Checkout"
start = "checkout_started"
success = "order_placed"
window_hours = 2

[health]
# Customer Health Score 0-100: weighted mean of components scored 0-1.
weights = { survey = 0.4, recency = 0.2, frequency = 0.2, support = 0.2 }
horizon_days = 90                  # look-back for recency, frequency and support
orders_for_full_frequency = 3

# Text themes (`cxray text themes`): a built-in CX taxonomy (delivery, price & billing,
# product quality, support & staff, website & app, account & login, returns & refunds,
# range & availability, product questions & setup) is used until you define your own;
# any [themes.*] section replaces it whole. Keywords are words or phrases (light stemming:
# "charge" matches "charged"); "deliver*" matches words starting with "deliver".
# docs/text-analytics.md lists the defaults.
# [themes.delivery]
# label = "Delivery"
# keywords = ["deliver*", "parcel*", "courier*", "late", "where is my order"]
# examples = ["My parcel arrived a week late"]

[text]
# Score the sentiment of new and changed comments, case texts and mentions on every import
# (right after it commits) and match their themes. Off: only `cxray text enrich` does.
enrich_on_import = true
# A bulk load that adds or changes more rows than this is left to `cxray text enrich`
# (scoring a million new comments takes about a minute on two cores); 0: no limit.
enrich_on_import_max_rows = 200000

[features]
# What happened to a customer before an answer, for key drivers and moments of truth
# (`cxray drivers`): a response's features count the customer's orders, deliveries, cases and
# journeys in the window_days before it; a customer's, those in the lookback_days before the
# as-of date, and churn is leaving within churn_horizon_days after it.
window_days = 30
lookback_days = 90
churn_horizon_days = 90
slow_first_response_hours = 24     # a first response later than this is "slow"

[privacy]
# For callers without the pii permission (viewer and analyst keys by default; docs/privacy.md):
# personal columns (customer e-mail and name, mention author, ...) are masked, and e-mail
# addresses, phone numbers and card numbers inside free text (comments, survey text answers,
# case subjects and descriptions, mentions) are redacted, in the dashboard, API rows,
# CSV/Parquet exports, text reports and loop notifications.
redact = true
# More personal columns, TABLE.COLUMN (a contract or attribute column, a survey question):
personal = []       # e.g. ["customers.loyalty_card", "responses.extra_note"]
# Days raw text is kept before the retention purge removes it (absent: kept until erased);
# one number for every table, or per table: [privacy.retain_days] responses = 365
# retain_days = 365

[views]
# The saved view (its slug: cxray views list) each role's overview opens with when no
# filters are given; an admin may set them over the API too (docs/dashboard.md).
# default.viewer = "weekly-exec"

# Executive digests cxray serve makes, archives and e-mails (docs/reports.md); the SMTP
# server is CXRAY_SMTP_HOST/_PORT/_USER/_PASSWORD, the sender [surveys] sender.
# [reports.weekly]
# every = "monday 08:00"        # daily HH:MM | <weekday> HH:MM | monthly D HH:MM
# period = "last-week"          # last-week | last-month | last-quarter | 2026-Q3 | A..B
# format = "pdf"                # pdf | html | md
# to = ["cx-lead@example.com"]

[imports.limits]
# The most one imported file may hold; a file over a limit is refused before it is parsed,
# and nothing is written (docs/importing.md). 0 turns a limit off.
max_columns = 2000        # columns (header cells; JSON fields; Parquet columns)
max_line_kb = 1024        # KiB in one line of a CSV or JSON Lines file
max_cells = 1000000000    # rows x columns
max_file_mb = 8192        # MiB of one file (its text, for a .gz file)
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
    if unknown := [k for k in data if k not in known]:
        raise ConfigError(
            f"{p}: unknown section(s) or key(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    try:
        return ProgramConfig(**data, path=p)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]).replace("surveys.define.", "surveys.")
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        if loc.startswith("benchmarks."):
            loc = loc.replace(".kpis.", ".")
        raise ConfigError(f"{p}: [{loc}] {msg}" if loc else f"{p}: {msg}") from exc
