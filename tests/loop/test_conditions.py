"""A rule's condition means the same in memory and in the store: SQL's three-valued logic.

A survey commit evaluates response rules on its rows in memory (``evaluate``); every other
run evaluates them in the store (``to_filter``). The property test draws random rows with
missing values and random conditions (comparisons of every kind joined by and, or, not,
parsed from their text) and checks that both give the same truth value for every row:
true, false or unknown.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxray.config import Comparison, Condition, parse_condition
from cxray.loop import evaluate, to_filter

#: the columns of the random rows: name -> (Arrow type, values a row may hold)
COLUMNS = {
    "n": (pa.int64(), [-2, 0, 1, 3, 6, 10]),
    "x": (pa.float64(), [-1.5, 0.0, 0.5, 2.25, 6.0]),
    "s": (pa.string(), ["a", "b", "email", "Chat", ""]),
    "f": (pa.bool_(), [True, False]),
    # derived names: the row's sentiment label and its taxonomy themes (stored as |id|id|)
    "sentiment": (pa.string(), ["negative", "neutral", "positive"]),
    "theme": (pa.string(), ["|delivery|", "|price|staff|", "||"]),
}
#: the store holds derived names under these columns (``with_derived`` joins them in)
STORED = {"sentiment": "_d_sentiment", "theme": "_d_theme"}
NUMBERS = [-2, -1.5, 0, 0.5, 1, 3, 6, 6.0, 10, 11]
TEXTS = {"s": ["a", "b", "email", "chat", "", "zzz"], "sentiment": ["negative", "positive"]}

_CON = ibis.duckdb.connect()


def _literal(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    return repr(v)


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(COLUMNS)))
    if name == "theme":
        op = draw(st.sampled_from(["==", "!=", "in", "not in"]))
        themes = ["delivery", "price", "staff", "quality"]
        if op in ("in", "not in"):
            vals = draw(
                st.lists(st.one_of(st.sampled_from(themes), st.none()), min_size=1, max_size=3)
            )
            return f"theme {op} [{', '.join(_literal(v) for v in vals)}]"
        return f"theme {op} {_literal(draw(st.one_of(st.sampled_from(themes), st.none())))}"
    if name in ("n", "x"):
        values = st.sampled_from(NUMBERS)
        ops = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    elif name == "f":
        values = st.booleans()
        ops = ["==", "!=", "in", "not in"]
    else:
        values = st.sampled_from(TEXTS[name])
        ops = ["==", "!=", "in", "not in"]
    op = draw(st.sampled_from(ops))
    if op in ("in", "not in"):
        vals = draw(st.lists(st.one_of(values, st.none()), min_size=1, max_size=4))
        return f"{name} {op} [{', '.join(_literal(v) for v in vals)}]"
    if op in ("==", "!=") and draw(st.integers(0, 5)) == 0:
        return f"{name} {op} null"
    value = draw(values)
    if op in ("<", "<=", ">", ">=") and draw(st.booleans()):  # the constant on the left
        flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        return f"{_literal(value)} {flipped} {name}"
    return f"{name} {op} {_literal(value)}"


def conditions(depth: int = 3) -> st.SearchStrategy[str]:
    return st.recursive(
        comparisons(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]}) {t[1]} ({t[2]})"
            ),
            inner.map(lambda c: f"not ({c})"),
        ),
        max_leaves=6,
    )


def rows() -> st.SearchStrategy[list[dict]]:
    row = st.fixed_dictionaries(
        {name: st.one_of(st.none(), st.sampled_from(vals)) for name, (_, vals) in COLUMNS.items()}
    )
    return st.lists(row, min_size=1, max_size=12)


def in_store(cond: Condition, data: list[dict]) -> list[bool | None]:
    arrow = pa.table(
        {
            STORED.get(name, name): pa.array([r[name] for r in data], typ)
            for name, (typ, _) in COLUMNS.items()
        }
        | {"_i": pa.array(range(len(data)), pa.int64())}
    )
    t = ibis.memtable(arrow)
    out = _CON.to_pyarrow(t.select("_i", v=to_filter(t, cond)).order_by("_i"))
    return out.column("v").to_pylist()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=conditions(), data=rows())
def test_memory_and_store_agree_on_every_row(text, data):
    cond = parse_condition(text)
    want = in_store(cond, data)
    got = [evaluate(cond, r) for r in data]
    assert got == want, text


@pytest.mark.parametrize(
    ("text", "row", "want"),
    [
        ("nps <= 6", {"nps": None}, None),  # unknown: not a match
        ("not (nps <= 6)", {"nps": None}, None),
        ("nps <= 6 and channel == 'email'", {"nps": None, "channel": "chat"}, False),
        ("nps <= 6 or channel == 'email'", {"nps": None, "channel": "email"}, True),
        ("nps == null", {"nps": None}, True),
        ("nps != null", {"nps": 3}, True),
        ("channel in ['email', null]", {"channel": "chat"}, None),  # x IN (..., NULL)
        ("channel not in ['email', null]", {"channel": "chat"}, None),
        ("channel in ['email', null]", {"channel": "email"}, True),
        ("channel not in ['email']", {"channel": None}, None),
        ("theme == 'delivery'", {"theme": "|price|delivery|"}, True),
        ("theme != 'delivery'", {"theme": None}, None),
        ("theme == null", {"theme": None}, True),
        ("6 >= nps", {"nps": 6}, True),
        ("reopened == true", {"reopened": False}, False),
    ],
)
def test_three_valued_logic_by_hand(text, row, want):
    cond = parse_condition(text.replace("'", '"'))
    assert evaluate(cond, row) == want
    data = [row]
    names = {p.name for p in _comparisons(cond)}
    arrow = {}
    for name in names:
        typ = {"nps": pa.int64(), "reopened": pa.bool_()}.get(name, pa.string())
        arrow[STORED.get(name, name)] = pa.array([row.get(name)], typ)
    t = ibis.memtable(pa.table(arrow))
    assert _CON.to_pyarrow(t.select(v=to_filter(t, cond))).column("v").to_pylist() == [want]
    assert data == [row]


def _comparisons(cond: Condition) -> list[Comparison]:
    out: list[Comparison] = []
    for p in cond.parts:
        out += _comparisons(p) if isinstance(p, Condition) else [p]
    return out


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("nps <= 6", Condition("and", (Comparison("nps", "<=", 6),))),
        ("6 >= nps", Condition("and", (Comparison("nps", "<=", 6),))),
        ("1 < nps <= 6", Condition("and", (Comparison("nps", ">", 1), Comparison("nps", "<=", 6)))),
        ('channel in ["email", "chat"]',
         Condition("and", (Comparison("channel", "in", ("email", "chat")),))),
        ("reopened == true and not contacts > 2",
         Condition("and", (Comparison("reopened", "==", True),
                           Condition("not", (Comparison("contacts", ">", 2),))))),
        ("nps == null", Condition("and", (Comparison("nps", "==", None),))),
        ("rating >= -1.5", Condition("and", (Comparison("rating", ">=", -1.5),))),
    ],
)  # fmt: skip
def test_parsed_from_text(text, parsed):
    assert parse_condition(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nps <=", "not a condition"),
        ("nps <= 'low'", "needs a number"),
        ('channel in "email"', "needs a list"),
        ("len(comment) > 3", "column name on one side"),
        ("nps <= other", "compare a column with"),
        ("nps is None", "unknown comparison"),
        ("nps + 1", "use comparisons"),
    ],
)
def test_a_bad_condition_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_condition(text)
