"""The demo world keeps the data contract, is deterministic and streams in chunks."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pytest

from cxray.demo import (
    BLOCK_CUSTOMERS,
    DEFAULT_END,
    TABLES,
    PlantedEffect,
    World,
    combine,
    generate,
    generate_chunks,
)
from cxray.schema import CONTRACT

ARROW_TYPES = {
    "string": pa.string(),
    "timestamp": pa.timestamp("us"),
    "integer": pa.int64(),
    "decimal": pa.decimal128(18, 4),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return sink.getvalue()


def _df(world: World, table: str) -> pd.DataFrame:
    return world.tables()[table].to_pandas()


# ---------------------------------------------------------------- schema


def test_world_has_the_six_tables(small_world: World) -> None:
    assert set(small_world.tables()) == set(CONTRACT) == set(TABLES)
    counts = small_world.row_counts()
    assert counts["customers"] == 2_000
    assert all(n > 0 for n in counts.values())


@pytest.mark.parametrize("table", list(CONTRACT))
def test_contract_columns_types_and_order(small_world: World, table: str) -> None:
    spec = CONTRACT[table]
    schema = small_world.tables()[table].schema
    # contract columns first, in contract order, then attributes
    assert schema.names[: len(spec.columns)] == spec.column_names
    for col in spec.columns:
        assert schema.field(col.name).type == ARROW_TYPES[col.type], (table, col.name)
    for name in schema.names:
        assert name == name.strip().lower() and re.fullmatch(r"[a-z][a-z0-9_]*", name)


@pytest.mark.parametrize("table", list(CONTRACT))
def test_required_values_and_unique_keys(small_world: World, table: str) -> None:
    spec = CONTRACT[table]
    data = small_world.tables()[table]
    for name in spec.required:
        assert data[name].null_count == 0, (table, name)
    keys = data[spec.key]
    assert keys.null_count == 0
    assert pc.count_distinct(keys).as_py() == data.num_rows


def test_every_column_has_values(small_world: World) -> None:
    for table, data in small_world.tables().items():
        for name in data.column_names:
            assert data[name].null_count < data.num_rows, (table, name)


def test_identifier_formats(small_world: World) -> None:
    patterns = {
        ("customers", "customer_id"): r"C\d{6}",
        ("orders", "order_id"): r"O\d{8}",
        ("cases", "case_id"): r"T\d{7}",
        ("responses", "response_id"): r"R\d{8}",
        ("events", "event_id"): r"E\d{9}",
        ("events", "session_id"): r"S\d{8}",
        ("mentions", "mention_id"): r"M\d{7}",
    }
    for (table, column), pattern in patterns.items():
        values = small_world.tables()[table][column].drop_null()
        assert pc.all(pc.match_substring_regex(values, f"^{pattern}$")).as_py(), (table, column)
    ids = small_world.customers["customer_id"].to_pylist()
    assert ids[0] == "C000001" and ids == sorted(ids)


def test_scores_and_amounts_in_range(small_world: World) -> None:
    r = _df(small_world, "responses")
    assert r.nps.dropna().between(0, 10).all()
    assert r.csat.dropna().between(1, 5).all()
    assert r.ces.dropna().between(1, 7).all()
    answered = r[["nps", "csat", "ces", "comment"]].notna().any(axis=1)
    assert answered.all()
    assert set(r.nps.dropna().astype(int)) == set(range(11))
    assert set(r.ces.dropna().astype(int)) == set(range(1, 8))
    c = _df(small_world, "cases")
    assert (c.contacts >= 1).all()
    amount = small_world.orders["amount"]
    assert pc.min(amount).as_py() >= 0
    m = _df(small_world, "mentions")
    rated = m.rating.notna()
    assert m.rating[rated].between(1, 5).all()
    assert set(m.platform[rated]) == {"trustpilot", "google_reviews", "app_store"}


def test_time_order_within_rows(small_world: World) -> None:
    c = _df(small_world, "cases")
    assert (c.first_response_at.dropna() >= c.opened_at[c.first_response_at.notna()]).all()
    solved = c.resolved_at.notna()
    assert (c.resolved_at[solved] >= c.opened_at[solved]).all()
    assert (c.resolved_at[solved] >= c.first_response_at[solved]).all()
    assert ((c.status.isin(["solved", "closed"])) == solved).all()
    assert (~solved).sum() > 0  # some cases are still open
    o = _df(small_world, "orders")
    delivered = o.delivered_at.notna()
    assert (o.delivered_at[delivered] >= o.ordered_at[delivered]).all()
    assert (o.promised_at >= o.ordered_at).all()
    assert set(o.status[~delivered]) <= {"cancelled", "shipped", "processing"}
    assert set(o.status[delivered]) <= {"completed", "returned"}


def test_everything_happens_inside_the_period(small_world: World) -> None:
    lo = pd.Timestamp(small_world.start)
    hi = pd.Timestamp(small_world.end) + pd.Timedelta(days=1)
    columns = {
        "events": ["timestamp"],
        "responses": ["submitted_at"],
        "cases": ["opened_at", "first_response_at", "resolved_at"],
        "orders": ["ordered_at", "delivered_at"],
        "mentions": ["posted_at"],
        "customers": ["churned_at"],
    }
    for table, cols in columns.items():
        df = _df(small_world, table)
        for col in cols:
            values = df[col].dropna()
            assert values.between(lo, hi, inclusive="left").all(), (table, col)
    created = _df(small_world, "customers").created_at
    assert created.max() < hi
    assert (created < lo).any() and (created >= lo).any()  # an existing base, and growth


def test_references_point_at_existing_rows(small_world: World) -> None:
    w = small_world
    customers = set(w.customers["customer_id"].to_pylist())
    orders = set(w.orders["order_id"].to_pylist())
    cases = set(w.cases["case_id"].to_pylist())
    for table in ("events", "responses", "cases", "orders", "mentions"):
        refs = set(w.tables()[table]["customer_id"].drop_null().to_pylist())
        assert refs <= customers, table
    for table in ("events", "responses", "cases"):
        assert set(w.tables()[table]["order_id"].drop_null().to_pylist()) <= orders
    for table in ("events", "responses"):
        assert set(w.tables()[table]["case_id"].drop_null().to_pylist()) <= cases


def test_nothing_happens_after_churn_or_before_joining(small_world: World) -> None:
    cu = _df(small_world, "customers").set_index("customer_id")
    churned = cu.churned_at.dropna()
    assert 0.05 < len(churned) / len(cu) < 0.5
    assert (churned > cu.created_at[churned.index]).all()
    assert cu.churn_reason[cu.churned_at.isna()].isna().all()
    assert cu.churn_reason[cu.churned_at.notna()].notna().mean() > 0.7
    for table, col in (
        ("events", "timestamp"),
        ("orders", "ordered_at"),
        ("responses", "submitted_at"),
        ("cases", "opened_at"),
    ):
        df = _df(small_world, table).dropna(subset=["customer_id"])
        limit = df.customer_id.map(cu.churned_at)
        assert not (df[col] > limit).any(), table
        assert (df[col] >= df.customer_id.map(cu.created_at)).all(), table


def test_realistic_shape(small_world: World) -> None:
    w = small_world
    cu = _df(w, "customers")
    assert set(cu.segment) == {"consumer", "smb", "enterprise"}
    assert "referral" in set(cu.acquisition_channel)
    assert cu.age_band[cu.segment != "consumer"].isna().all()
    ev = _df(w, "events")
    assert {"onboarding", "checkout", "support", "delivery"} <= set(ev.journey)
    assert {"web", "app", "email", "phone", "chat", "store"} <= set(ev.channel)
    online = ev[ev.channel.isin(["web", "app"]) & (ev.journey == "checkout")]
    funnel = online.groupby("touchpoint").session_id.nunique()  # sessions reaching each step
    steps = ["product_viewed", "added_to_cart", "checkout_started", "payment_submitted"]
    counts = [
        funnel["visit_site"] + funnel["app_opened"],
        *(funnel[s] for s in steps),
        funnel["order_placed"],
    ]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    placed = ev[ev.touchpoint == "order_placed"]
    assert len(placed) == w.orders.num_rows
    assert set(placed.order_id) == set(w.orders["order_id"].to_pylist())
    c = _df(w, "cases")
    assert {"delivery", "billing", "product_defect", "account", "returns"} <= set(c.category)
    r = _df(w, "responses")
    assert 0.3 < r.comment.notna().mean() < 0.6
    assert r.customer_id.isna().any()  # anonymous answers
    assert {"en", "es", "fr"} <= set(r.language.dropna())
    per_customer = w.orders.num_rows / len(cu)
    assert 3 < per_customer < 12


def test_text_follows_what_happened(small_world: World) -> None:
    w = small_world
    r = _df(w, "responses")
    o = _df(w, "orders").set_index("order_id")
    delivery = r[(r.survey == "post_delivery") & (r.language == "en")].copy()
    late = delivery.order_id.map(o.delivered_at > o.promised_at)
    says_late = delivery.comment.str.contains(r"\blate\b|delay|promised date", case=False)
    assert says_late[late].mean() > 0.6 > 0.1 > says_late[~late].mean()
    en = r[r.language == "en"]
    praise = en.comment.str.contains(r"helpful|great|love|excellent|easy|fantastic", case=False)
    assert praise[en.nps >= 9].mean() > 0.5 > 0.15 > praise[en.nps <= 4].mean()
    # a naive keyword rule recovers the case category from the ticket text
    c = _df(w, "cases")
    text = (c.subject + " " + c.description).str.lower()
    rules = [
        ("product_defect", r"glow 2|stopped working|faulty|missing|disconnect|crash|won't"),
        ("billing", r"charged|invoice|declined|discount|promo|payment"),
        ("returns", r"return|refund|wrong item|received the wrong"),
        ("delivery", r"deliver|parcel|courier|shipped|tracking|address can't|damaged"),
        ("account", r"password|log in|login|account|address|verification"),
        ("product_question", r"compatible|stock|install|warranty|assembly|setup"),
    ]
    guess = pd.Series("", index=c.index)
    for category, pattern in reversed(rules):
        guess[text.str.contains(pattern)] = category
    assert (guess == c.category).mean() > 0.8


def test_text_has_variety(small_world: World) -> None:
    from cxray.demo._text import phrase_count

    assert phrase_count() > 700
    r = _df(small_world, "responses")
    comments = r.comment.dropna()
    assert comments.nunique() > 0.6 * len(comments)
    c = _df(small_world, "cases")
    assert c.description.nunique() > 0.8 * len(c)
    assert c.subject.nunique() > 60


# ---------------------------------------------------------------- determinism and chunks


def test_same_seed_gives_identical_tables() -> None:
    a = generate(seed=11, customers=600, months=6)
    b = generate(seed=11, customers=600, months=6)
    for name in TABLES:
        assert _ipc_bytes(getattr(a, name)) == _ipc_bytes(getattr(b, name)), name
    assert a.effects == b.effects


def test_different_seed_gives_different_tables() -> None:
    a = generate(seed=11, customers=600, months=6)
    b = generate(seed=12, customers=600, months=6)
    for name in TABLES:
        assert not getattr(a, name).equals(getattr(b, name)), name


def test_default_end_is_fixed() -> None:
    w = generate(customers=50, months=3)
    assert w.end == DEFAULT_END == dt.date(2026, 10, 31)
    assert w.start == dt.date(2026, 8, 1)
    later = generate(customers=50, months=3, end=dt.date(2027, 1, 15))
    assert later.start == dt.date(2026, 10, 16) and later.end == dt.date(2027, 1, 15)


def test_chunks_concatenate_to_the_one_shot_world() -> None:
    customers = 2 * BLOCK_CUSTOMERS + 300
    whole = generate(seed=5, customers=customers, months=4)
    chunks = list(generate_chunks(seed=5, customers=customers, months=4, chunk_customers=1))
    assert len(chunks) == 3
    assert [c.customers.num_rows for c in chunks] == [BLOCK_CUSTOMERS, BLOCK_CUSTOMERS, 300]
    for chunk in chunks:
        assert chunk.effects == whole.effects
        owned = set(chunk.customers["customer_id"].to_pylist())
        for name in ("events", "orders"):
            assert set(chunk.tables()[name]["customer_id"].to_pylist()) <= owned
    joined = combine(chunks)
    for name in TABLES:
        assert joined.tables()[name].equals(whole.tables()[name]), name
    two = combine(
        generate_chunks(seed=5, customers=customers, months=4, chunk_customers=2 * BLOCK_CUSTOMERS)
    )
    assert two.row_counts() == whole.row_counts()


def test_tiny_worlds_work() -> None:
    w = generate(customers=1, months=1)
    assert w.customers.num_rows == 1
    for name, table in w.tables().items():
        assert table.schema.names[: len(CONTRACT[name].columns)] == CONTRACT[name].column_names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customers": 0},
        {"months": 0},
        {"seed": -1},
        {"customers": 1.5},
        {"end": "2026-01-01"},
        {"end": dt.datetime(2026, 1, 1)},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)
    with pytest.raises(ValueError):
        next(generate_chunks(**{"customers": 10, **kwargs}))


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        next(generate_chunks(customers=10, chunk_customers=0))


def test_effects_are_frozen_descriptions(small_world: World) -> None:
    e = small_world.effects[0]
    assert isinstance(e, PlantedEffect)
    with pytest.raises(AttributeError):
        e.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.details["x"] = 1  # type: ignore[index]
    with pytest.raises(KeyError):
        small_world.effect("no_such_effect")


# ---------------------------------------------------------------- the ingest pipeline


@pytest.mark.slow
def test_default_world_validates_against_the_contract() -> None:
    from cxray.ingest import read_frame

    world = generate()
    for name, table in world.tables().items():
        batch = read_frame(name, table)
        assert batch.num_rows == table.num_rows, name
        assert batch.present == CONTRACT[name].column_names, name
        extra = [c for c in table.column_names if c not in CONTRACT[name]]
        assert list(batch.attributes) == extra, name
    counts = world.row_counts()
    assert counts["customers"] == 20_000
    assert np.clip(counts["events"] / 20_000, 30, 120) == counts["events"] / 20_000
