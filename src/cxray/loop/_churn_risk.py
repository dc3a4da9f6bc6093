"""Churn-risk rules (``on = "churn_risk"``): a valuable customer whose churn risk rises.

A check scores every customer active at the end of the data with the kept churn-risk model
(``ws.churn.risk.score()``: probability, delta-method interval, top reasons; see
:mod:`cxray.churn._risk`) and values them as the money of CX does
(:meth:`cxray.value._money.Money.values`: the predictive CLV when a CLV fit is kept, else
revenue to date). A customer *qualifies* when their probability is at or above the rule's
``min_risk`` and their value at or above ``min_value``; with ``top = N`` only the N riskiest
qualifying customers are considered.

A customer fires **once per crossing**: the rule keeps the customers that are above (in the
loop's state table, ``rule:NAME:above``). Who qualifies and is not kept fires; who is kept
and still qualifies does not fire again; who no longer qualifies is dropped from the kept
set, so rising again fires again. The alert's subject is
``churn_risk:CUSTOMER:MODEL_ID:AS_OF`` (``AS_OF``: the end of the data the scores are as
of), so a new crossing is a new alert while recording the same crossing twice writes
nothing (alert ids are digests of rule and subject, :mod:`cxray.loop._records`). The kept
set is written in the same transaction as the alerts.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from cxray.config import LoopRule
from cxray.exceptions import AnalysisError
from cxray.loop._records import Trigger

__all__ = ["churn_risk_triggers", "state_key"]

#: reasons an alert's details carry
REASONS = 3


def state_key(rule: LoopRule) -> str:
    """The loop-state key of the customers a churn-risk rule holds as above."""
    return f"rule:{rule.name}:above"


def _number(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _values(store: Any, config: Any, lock: Any, needed: bool) -> tuple[pd.Series | None, str]:
    """Each active customer's value (customer_id -> value) and where it comes from. Without
    orders and with ``min_value`` 0 the value is unknown (``None``), not 0."""
    from cxray.value import Value
    from cxray.value._money import Money

    try:
        frame, source = Money(Value(store, config, lock=lock)).values()
    except AnalysisError as exc:
        if needed:
            raise AnalysisError(f"min_value needs each customer's value: {exc}") from None
        return None, f"no value: {exc}"
    return frame.set_index("customer_id")["clv"].astype("float64"), source


def churn_risk_triggers(
    rule: LoopRule,
    store: Any,
    config: Any,
    lock: Any,
    kept: list[str] | None,
    customer_attribute: Any = None,
) -> tuple[list[Trigger], list[str], str | None]:
    """The new crossings of one churn-risk rule, and the customers it now holds as above.

    ``kept``: the customers held as above at the last check (``None``: never checked).
    Returns ``(triggers, above, note)``; ``note`` says why nothing could fire (no customer
    active). ``AnalysisError`` when no churn-risk model is kept (the caller reports it).
    ``customer_attribute(name, ids)``: the rule's ``route_by`` attribute per customer.
    """
    from cxray.churn import Churn

    scores = Churn(store, config, lock=lock).risk.score(reasons=REASONS)
    frame = scores.customers
    if frame.empty:
        return [], [], f"no customer is active at {scores.as_of[:10]}: nothing to score"
    min_risk = float(rule.min_risk if rule.min_risk is not None else 1.0)
    min_value = float(rule.min_value or 0.0)
    values, source = _values(store, config, lock, needed=min_value > 0)
    frame = frame[frame.probability >= min_risk]
    if values is not None:
        value = frame.customer_id.map(values).astype("float64").fillna(0.0)
        frame = frame.assign(value=value)
        frame = frame[frame.value >= min_value]
    else:
        frame = frame.assign(value=math.nan)
    # already ordered most at risk first (ties by customer id)
    qualifying = set(frame.customer_id)
    if rule.top is not None:
        frame = frame.head(rule.top)
    held = set(kept or ()) & qualifying
    new = frame[~frame.customer_id.isin(held)]
    routes: dict[str, Any] = {}
    if rule.route_by and customer_attribute is not None and not new.empty:
        routes = customer_attribute(rule.route_by, list(new.customer_id))
    label = "High-value customer" if min_value > 0 else "Customer"
    triggers = []
    for r in new.itertuples(index=False):
        p = float(r.probability)
        v = _number(r.value)
        worth = f" (value {v:,.0f})" if v is not None else ""
        title = rule.title or f"{label} {r.customer_id} at {p:.0%} churn risk{worth}"
        details = {
            "customer_id": r.customer_id,
            "probability": p,
            "ci_low": _number(r.ci_low),
            "ci_high": _number(r.ci_high),
            "reasons": [
                {"feature": x["feature"], "contribution": x["contribution"]}
                for x in (r.reasons or [])[:REASONS]
            ],
            "value": v,
            "value_source": source,
            "model_id": scores.model_id,
            "as_of": scores.as_of,
            "horizon_days": scores.horizon_days,
            "min_risk": min_risk,
            "min_value": min_value,
        }
        route = routes.get(r.customer_id)
        triggers.append(
            Trigger(
                rule,
                f"churn_risk:{r.customer_id}:{scores.model_id}:{scores.as_of}",
                str(r.customer_id),
                title,
                details,
                None if route is None else str(route),
            )
        )
    above = sorted(held | set(new.customer_id))
    return triggers, above, None


def dumps(customers: list[str]) -> str:
    return json.dumps(customers, separators=(",", ":"))


def loads(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        got = json.loads(text)
    except ValueError:
        return None
    return [str(x) for x in got] if isinstance(got, list) else None
