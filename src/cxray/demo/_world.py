"""The demo world: generation in blocks of customers, and assembly into Arrow tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxray.demo import _sim as sim
from cxray.demo._arrow import (
    decimal_amounts,
    identifiers,
    join,
    labels,
    optional_take,
    timestamps,
)
from cxray.demo._calendar import DEFAULT_END, Calendar
from cxray.demo._effects import STRENGTHS, PlantedEffect, planted_effects
from cxray.demo._text import (
    CASE_CATEGORIES,
    LANGUAGES,
    ROOT_CAUSES,
    agent_names,
    case_descriptions,
    case_subjects,
    comment_texts,
    mention_texts,
    person_names,
    reviewer_names,
)

__all__ = ["BLOCK_CUSTOMERS", "TABLES", "World", "combine", "generate", "generate_chunks"]

#: customers simulated together with one random stream; a world is defined block by block
BLOCK_CUSTOMERS = 4096
TABLES = ("customers", "events", "responses", "cases", "orders", "mentions")
COMPANY = "Hearthwell"
CURRENCY = "USD"

#: digits of the zero-padded number in each kind of identifier (more when needed)
_WIDTH = {"orders": 8, "cases": 7, "responses": 8, "events": 9, "mentions": 7, "sessions": 8}
_PREFIX = {
    "orders": "O",
    "cases": "T",
    "responses": "R",
    "events": "E",
    "mentions": "M",
    "sessions": "S",
}


@dataclass(frozen=True)
class World:
    """A synthetic company's CX data: the six canonical tables and the effects planted in them.

    Timestamps are naive UTC ``timestamp('us')``, amounts ``decimal128(18, 4)``
    in US dollars, identifiers strings. Columns beyond the data contract are
    attributes for slicing (see ``docs/demo-world.md``).
    """

    customers: pa.Table
    events: pa.Table
    responses: pa.Table
    cases: pa.Table
    orders: pa.Table
    mentions: pa.Table
    effects: list[PlantedEffect]
    seed: int
    start: dt.date
    end: dt.date

    def tables(self) -> dict[str, pa.Table]:
        """The six tables by canonical name."""
        return {name: getattr(self, name) for name in TABLES}

    def row_counts(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables().items()}

    def effect(self, name: str) -> PlantedEffect:
        """The planted effect called ``name``."""
        for e in self.effects:
            if e.name == name:
                return e
        raise KeyError(
            f"no planted effect {name!r}; they are: {', '.join(e.name for e in self.effects)}"
        )


def _check(seed: int, customers: int, months: int, end: dt.date | None) -> dt.date:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not isinstance(customers, int | np.integer) or customers < 1:
        raise ValueError(f"customers must be a positive integer, not {customers!r}")
    if not isinstance(months, int | np.integer) or not 1 <= months <= 600:
        raise ValueError(f"months must be an integer from 1 to 600, not {months!r}")
    end = DEFAULT_END if end is None else end
    if isinstance(end, dt.datetime) or not isinstance(end, dt.date):
        raise ValueError(f"end must be a datetime.date, not {end!r}")
    return end


def _calendar(seed: int, months: int, end: dt.date) -> Calendar:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    lo = int(months * 0.4)
    hi = max(lo + 1, int(np.ceil(months * 0.8)))
    return Calendar.build(end, months, int(rng.integers(lo, hi)))


def generate_chunks(
    *,
    seed: int = 42,
    customers: int = 20_000,
    months: int = 24,
    end: dt.date | None = None,
    chunk_customers: int = 100_000,
) -> Iterator[World]:
    """Generate the demo world in chunks of about ``chunk_customers`` customers.

    Each chunk is a :class:`World` holding some customers and every row about
    them (plus their share of anonymous responses and unattributed mentions).
    ``chunk_customers`` is rounded up to a multiple of :data:`BLOCK_CUSTOMERS`.
    The chunks, concatenated in order (:func:`combine`), are exactly
    :func:`generate` with the same arguments, whatever the chunk size: the
    same rows, in the same order, with the same identifiers.
    """
    end = _check(seed, customers, months, end)
    if not isinstance(chunk_customers, int | np.integer) or chunk_customers < 1:
        raise ValueError(f"chunk_customers must be a positive integer, not {chunk_customers!r}")
    cal = _calendar(seed, months, end)
    effects = planted_effects(cal.month_date(cal.fault_month))
    per_chunk = -(-chunk_customers // BLOCK_CUSTOMERS)
    blocks = -(-customers // BLOCK_CUSTOMERS)
    counters = dict.fromkeys(_PREFIX, 0)
    width = max(6, len(str(customers)))
    for b0 in range(0, blocks, per_chunk):
        # built in a helper so that no block of this chunk stays referenced after the yield
        yield _chunk(
            cal, seed, customers, range(b0, min(b0 + per_chunk, blocks)), counters, width, effects
        )


def _chunk(
    cal: Calendar,
    seed: int,
    customers: int,
    blocks: range,
    counters: dict[str, int],
    width: int,
    effects: list[PlantedEffect],
) -> World:
    parts = []
    for b in blocks:
        first = b * BLOCK_CUSTOMERS
        n = min(BLOCK_CUSTOMERS, customers - first)
        block = sim.simulate_block(cal, STRENGTHS, seed, b, first, n, customers)
        parts.append(_assemble(block, cal, seed, b, counters, width))
        del block
    tables = {name: pa.concat_tables([p[name] for p in parts]) for name in TABLES}
    return World(**tables, effects=effects, seed=seed, start=cal.start, end=cal.end)


def generate(
    *,
    seed: int = 42,
    customers: int = 20_000,
    months: int = 24,
    end: dt.date | None = None,
) -> World:
    """Generate the demo company: ``customers`` customers over the ``months`` ending ``end``.

    The same arguments always give the same tables, byte for byte. ``end``
    defaults to a fixed date (2026-10-31). For worlds too big for memory use
    :func:`generate_chunks`.
    """
    chunks = generate_chunks(
        seed=seed,
        customers=customers,
        months=months,
        end=end,
        chunk_customers=max(int(customers), 1),
    )
    return combine(chunks)


def combine(chunks: Iterable[World]) -> World:
    """One world from chunks of :func:`generate_chunks`, in order."""
    chunks = list(chunks)
    if not chunks:
        raise ValueError("no chunks to combine")
    head = chunks[0]
    tables = {name: pa.concat_tables([getattr(c, name) for c in chunks]) for name in TABLES}
    return World(**tables, effects=head.effects, seed=head.seed, start=head.start, end=head.end)


# ---------------------------------------------------------------- assembly


def _ids(kind: str, count: int, counters: dict[str, int]) -> pa.Array:
    start = counters[kind]
    counters[kind] = start + count
    return identifiers(_PREFIX[kind], np.arange(start + 1, start + count + 1), _WIDTH[kind])


def _ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=mask)


def _ts(cal: Calendar, t: np.ndarray) -> pa.Array:
    valid = ~np.isnan(t)
    return timestamps(cal.micros(np.where(valid, t, 0.0)), valid)


def _assemble(
    block: sim.Block, cal: Calendar, seed: int, b: int, counters: dict[str, int], width: int
) -> dict[str, pa.Table]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b, 1)))
    cu, od, cs, rs, ev, mn = (
        block.customers,
        block.orders,
        block.cases,
        block.responses,
        block.events,
        block.mentions,
    )
    n = len(cu["seg"])
    cust_ids = identifiers("C", np.arange(block.first + 1, block.first + n + 1), width)
    first, last, name, email, handle = person_names(
        rng, cu["lang"], np.arange(block.first, block.first + n)
    )

    def cust_ref(c: np.ndarray) -> pa.Array:
        return optional_take(cust_ids, c, c >= 0)

    churned = ~np.isnan(cu["churned"])
    customers = pa.table(
        {
            "customer_id": cust_ids,
            "created_at": _ts(cal, cu["created"]),
            "email": email,
            "name": name,
            "segment": labels(sim.SEGMENTS, cu["seg"]),
            "region": labels(sim.REGIONS, cu["region"]),
            "plan": labels(sim.PLANS, cu["plan"]),
            "acquisition_channel": labels(sim.ACQUISITION, cu["acq"]),
            "churned_at": _ts(cal, cu["churned"]),
            "churn_reason": labels(
                sim.CHURN_REASONS, np.maximum(cu["reason"], 0), churned & (cu["reason"] >= 0)
            ),
            "age_band": labels(sim.AGE_BANDS, np.maximum(cu["age"], 0), cu["age"] >= 0),
            "language": labels(LANGUAGES, cu["lang"]),
            "marketing_opt_in": pa.array(cu["opt_in"], pa.bool_()),
        }
    )

    m = len(od["t"])
    order_ids = _ids("orders", m, counters)
    home = od["carrier"] >= 0
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": cust_ids.take(pa.array(od["cust"])),
            "ordered_at": _ts(cal, od["t"]),
            "amount": decimal_amounts(od["cents"]),
            "currency": pa.array(np.full(m, CURRENCY, dtype=object), pa.string()),
            "status": labels(sim.ORDER_STATUSES, od["status"]),
            "promised_at": _ts(cal, od["promised"]),
            "delivered_at": _ts(cal, od["delivered"]),
            "channel": labels(sim.ORDER_CHANNELS, od["channel"]),
            "fulfillment": labels(sim.FULFILLMENT, od["fulfil"]),
            "product_category": labels(sim.CATEGORIES, od["cat"]),
            "items": _ints(od["items"]),
            "carrier": labels(sim.CARRIERS, np.maximum(od["carrier"], 0), home),
        }
    )

    k = len(cs["t"])
    case_ids = _ids("cases", k, counters)
    has_order = cs["order"] >= 0
    order_ref = optional_take(order_ids, cs["order"], has_order)
    cases = pa.table(
        {
            "case_id": case_ids,
            "customer_id": cust_ref(cs["cust"]),
            "opened_at": _ts(cal, cs["t"]),
            "first_response_at": _ts(cal, cs["first_response"]),
            "resolved_at": _ts(cal, cs["resolved"]),
            "channel": labels(sim.CASE_CHANNELS, cs["channel"]),
            "category": labels(CASE_CATEGORIES, cs["category"]),
            "priority": labels(sim.PRIORITIES, cs["priority"]),
            "status": labels(sim.CASE_STATUSES, cs["status"]),
            "contacts": _ints(cs["contacts"]),
            "reopened": pa.array(cs["reopened"], pa.bool_()),
            "subject": case_subjects(rng, cs["root"], cs["priority"] == 3),
            "description": case_descriptions(
                rng, cs["root"], order_ref, first.take(pa.array(cs["cust"]))
            ),
            "team": labels(sim.TEAMS, cs["team"]),
            "agent": labels(agent_names(len(sim.TEAMS) * sim.AGENTS_PER_TEAM), cs["agent"]),
            "root_cause": labels(ROOT_CAUSES, cs["root"]),
            "sla_breached": pa.array(cs["sla_breached"], pa.bool_()),
            "order_id": order_ref,
            "product_category": optional_take(
                labels(sim.CATEGORIES, od["cat"]), cs["order"], has_order
            ),
        }
    )

    r = len(rs["t"])
    has = rs["has_comment"]
    rows = np.flatnonzero(has)
    texts = comment_texts(rng, rs["topic"][rows], rs["sentiment"][rows], rs["lang"][rows])
    index = np.full(r, 0)
    index[rows] = np.arange(len(rows))
    comment = optional_take(texts, index, has) if len(rows) else pa.nulls(r, pa.string())
    responses = pa.table(
        {
            "response_id": _ids("responses", r, counters),
            "submitted_at": _ts(cal, rs["t"]),
            "customer_id": cust_ref(rs["cust"]),
            "survey": labels(sim.SURVEYS, rs["survey"]),
            "touchpoint": labels(sim.RESPONSE_TOUCHPOINTS, rs["touch"]),
            "channel": labels(sim.RESPONSE_CHANNELS, rs["channel"]),
            "nps": _ints(rs["nps"], rs["nps"] >= 0),
            "csat": _ints(rs["csat"], rs["csat"] >= 0),
            "ces": _ints(rs["ces"], rs["ces"] >= 0),
            "comment": comment,
            "language": labels(LANGUAGES, rs["lang"], has),
            "order_id": optional_take(order_ids, rs["order"], rs["order"] >= 0),
            "case_id": optional_take(case_ids, rs["case"], rs["case"] >= 0),
        }
    )

    e = len(ev["t"])
    has_session = ev["session"] >= 0
    start = counters["sessions"]
    counters["sessions"] += int(ev["session"].max()) + 1 if has_session.any() else 0
    session_ids = identifiers(
        _PREFIX["sessions"], start + 1 + np.maximum(ev["session"], 0), _WIDTH["sessions"]
    )
    events = pa.table(
        {
            "event_id": _ids("events", e, counters),
            "customer_id": cust_ids.take(pa.array(ev["cust"])),
            "timestamp": _ts(cal, ev["t"]),
            "touchpoint": labels(sim.TOUCHPOINTS, ev["tp"]),
            "channel": labels(sim.EVENT_CHANNELS, ev["channel"]),
            "journey": labels(sim.JOURNEYS, ev["journey"]),
            "session_id": pc.if_else(
                pa.array(has_session), session_ids, pa.scalar(None, pa.string())
            ),
            "order_id": optional_take(order_ids, ev["order"], ev["order"] >= 0),
            "case_id": optional_take(case_ids, ev["case"], ev["case"] >= 0),
        }
    )

    q = len(mn["t"])
    mention_ids = _ids("mentions", q, counters)
    known = mn["cust"] >= 0
    kind = mn["kind"]
    strangers = person_names(rng, np.zeros(q, np.int64), rng.integers(0, 10**6, q))
    c = pa.array(np.maximum(mn["cust"], 0))
    pick = pa.array(np.where(known, np.arange(q) + q, np.arange(q)))
    social_name = pa.concat_arrays([strangers[4], handle.take(c)]).take(pick)
    review_name = pa.concat_arrays(
        [
            reviewer_names(strangers[0], strangers[1]),
            reviewer_names(first.take(c), last.take(c)),
        ]
    ).take(pick)
    author = pc.if_else(pa.array(kind == 1), review_name, social_name)
    platform = labels(sim.PLATFORMS, mn["platform"])
    url = join(
        [
            pa.array(np.full(q, "https://mentions.example.com/", dtype=object), pa.string()),
            platform,
            pa.array(np.full(q, "/", dtype=object), pa.string()),
            mention_ids,
        ],
        "",
    )
    mentions = pa.table(
        {
            "mention_id": mention_ids,
            "posted_at": _ts(cal, mn["t"]),
            "text": mention_texts(rng, mn["topic"], mn["sentiment"], mn["lang"], kind),
            "platform": platform,
            "author": author,
            "url": url,
            "customer_id": cust_ref(mn["cust"]),
            "rating": pa.array(
                mn["rating"].astype(np.float64), pa.float64(), mask=mn["rating"] < 0
            ),
            "language": labels(LANGUAGES, mn["lang"]),
            "likes": _ints(mn["likes"]),
        }
    )
    return {
        "customers": customers,
        "events": events,
        "responses": responses,
        "cases": cases,
        "orders": orders,
        "mentions": mentions,
    }
