"""The per-customer purchase summary, computed in the store as one portable Ibis expression.

As Fader, Hardie & Lee (2005) define it (and as Hardie's CDNOW summary files hold it):

- a *purchase* is a day with at least one order (several orders on one day are one purchase;
  cancelled and returned orders are not purchases), its value the day's total amount;
- ``frequency`` (x): repeat purchases in the calibration period = purchase days - 1;
- ``recency`` (t_x): time from the first to the last purchase day, in the unit;
- ``T``: time from the first purchase day to the calibration end day, in the unit;
- ``monetary`` (zbar): the mean value of the repeat purchases (the first one left out);
  0 without repeat purchases;
- with a holdout period (a calibration end before the data ends): ``holdout_purchases`` and
  ``holdout_spend``, the purchase days and their value after the calibration end.

Customers whose first purchase falls after the calibration end are not in the summary.
Only this compact table leaves the database; DuckDB, PostgreSQL and Spark run the same
expression.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from cxray.features import NOT_REVENUE

__all__ = ["UNITS", "purchase_days", "purchase_summary", "purchases"]

#: days per unit of time
UNITS = {"day": 1.0, "week": 7.0}


def purchases(orders: ir.Table) -> ir.Table:
    """The orders that are purchases: not cancelled or returned, with a customer, a time
    and an amount."""
    o = orders
    if "status" in o.columns:
        o = o.filter(~o.status.lower().fill_null("").isin(NOT_REVENUE))
    return o.filter(o.customer_id.notnull() & o.ordered_at.notnull() & o.amount.notnull())


def purchase_days(orders: ir.Table) -> ir.Table:
    """One row per customer and purchase day: ``customer_id``, ``day``, ``spend``."""
    o = purchases(orders)
    return o.group_by(customer_id=o.customer_id, day=o.ordered_at.date()).aggregate(
        spend=o.amount.cast("float64").sum()
    )


def purchase_summary(
    orders: ir.Table,
    calibration_end: dt.date,
    *,
    unit: str = "week",
    holdout: bool = False,
) -> ir.Table:
    """The summary per customer (see the module's docstring) as an Ibis expression; with
    ``holdout`` also the purchases after the calibration end."""
    per_unit = UNITS[unit]
    days = purchase_days(orders)
    end = ibis.date(calibration_end)
    cal = days.filter(days.day <= end)
    s = cal.group_by("customer_id").aggregate(
        first_purchase=cal.day.min(),
        last_purchase=cal.day.max(),
        n_days=cal.count(),
        total=cal.spend.sum(),
        # the first purchase day's value (arg_min in DuckDB, an ordered array in PostgreSQL)
        first_spend=cal.spend.argmin(cal.day),
    )
    x = (s.n_days - 1).cast("int64")
    out = s.select(
        customer_id=s.customer_id,
        frequency=x,
        recency=s.last_purchase.delta(s.first_purchase, unit="day").cast("float64") / per_unit,
        T=end.delta(s.first_purchase, unit="day").cast("float64") / per_unit,
        monetary=ibis.ifelse(x > 0, (s.total - s.first_spend) / x.cast("float64"), 0.0),
        first_purchase=s.first_purchase,
    )
    if not holdout:
        return out
    hold = days.filter(days.day > end)
    h = hold.group_by(_c=hold.customer_id).aggregate(
        holdout_purchases=hold.count(), holdout_spend=hold.spend.sum()
    )
    out = out.left_join(h, out.customer_id == h._c).drop("_c")
    return out.mutate(
        holdout_purchases=out.holdout_purchases.fill_null(0).cast("int64"),
        holdout_spend=out.holdout_spend.fill_null(0.0),
    )
