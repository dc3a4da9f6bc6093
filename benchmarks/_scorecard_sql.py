"""The floor: hand-written DuckDB SQL for the scorecard's numbers by segment x month.

Each KPI's count and point estimate, written directly for DuckDB (one scan per
table where the KPIs share one, ``FILTER`` counts, ``median``), with the
definitions of ``docs/metrics.md`` for the default program (UTC, the checkout
journey, top boxes 4-5 of 5 and 5-7 of 7). No intervals, tests or statuses:
the numbers a scorecard rests on, as fast as DuckDB computes them.
"""

from __future__ import annotations

from typing import Any

import duckdb

__all__ = ["scorecard_sql"]

Key = tuple[str, Any, str]

REVENUE = "lower(coalesce(o.status, '')) NOT IN ('cancelled', 'returned')"


def _business(a: str, b: str, calendar: tuple[int, int, tuple[int, ...]]) -> str:
    """Business hours from ``a`` to ``b`` (UTC, no holidays): the closed form of docs/metrics.md."""
    s0, s1, days = calendar
    before = [sum(1 for w in range(i) if w in days) for i in range(7)]

    def parts(ts: str) -> tuple[str, str, str]:
        day = f"(epoch({ts})::BIGINT // 86400)"
        wd = f"(isodow({ts}) - 1)"
        count = f"(({day} + 3) // 7 * {len(days)} + list_extract({before}, {wd} + 1))"
        is_open = f"({wd} IN ({', '.join(map(str, days))}))::INT"
        clock = f"(least(greatest(epoch({ts})::BIGINT - {day} * 86400, {s0}), {s1}) - {s0})"
        return count, is_open, clock

    (ca, oa, ta), (cb, ob, tb) = parts(a), parts(b)
    return f"(({cb} - {ca}) * {s1 - s0} - {oa} * {ta} + {ob} * {tb}) / 3600.0"


def scorecard_sql(
    con: duckdb.DuckDBPyConnection,
    journey: tuple[str, str, float],
    calendar: tuple[int, int, tuple[int, ...]],
) -> dict[Key, tuple[int, float]]:
    """``{(metric, segment, 'YYYY-MM'): (n, estimate)}``.

    ``calendar``: opening and closing second of the day and the open weekdays.
    """
    start_tp, success_tp, hours = journey
    business = _business("opened_at", "resolved_at", calendar)
    window = f"INTERVAL {round(hours * 3600)} SECOND"
    out: dict[Key, tuple[int, float]] = {}

    def put(metric: str, rows: list[tuple]) -> None:
        for seg, month, n, est in rows:
            if n:
                out[(metric, seg, month.strftime("%Y-%m"))] = (int(n), float(est))

    first, last = con.execute(
        """
        SELECT min(a), max(b) FROM (
          SELECT min(submitted_at) a, max(submitted_at) b FROM responses UNION ALL
          SELECT min(opened_at), max(opened_at) FROM cases UNION ALL
          SELECT min(ordered_at), max(ordered_at) FROM orders UNION ALL
          SELECT min(timestamp), max(timestamp) FROM events)
        """
    ).fetchone()

    r = con.execute(
        """
        SELECT c.segment, date_trunc('month', r.submitted_at) m,
               count(r.nps), count(*) FILTER (r.nps >= 9), count(*) FILTER (r.nps <= 6),
               count(r.csat), count(*) FILTER (r.csat BETWEEN 4 AND 5),
               count(r.ces), avg(r.ces), count(*) FILTER (r.ces BETWEEN 5 AND 7)
        FROM responses r LEFT JOIN customers c ON c.customer_id = r.customer_id
        GROUP BY ALL
        """
    ).fetchall()
    for seg, m, nps_n, p, d, csat_n, csat_x, ces_n, ces_avg, ces_x in r:
        put("nps", [(seg, m, nps_n, 100.0 * (p - d) / nps_n if nps_n else 0)])
        put("csat", [(seg, m, csat_n, 100.0 * csat_x / csat_n if csat_n else 0)])
        put("ces_mean", [(seg, m, ces_n, ces_avg)])
        put("ces_easy", [(seg, m, ces_n, 100.0 * ces_x / ces_n if ces_n else 0)])

    k = con.execute(
        f"""
        SELECT c.segment, date_trunc('month', k.opened_at) m,
               count(*) FILTER (k.resolved_at IS NOT NULL),
               count(*) FILTER (k.resolved_at IS NOT NULL AND coalesce(k.contacts = 1, true)
                                AND NOT coalesce(k.reopened, false)),
               count(k.fr), avg(k.fr), median(k.fr), count(k.res), avg(k.res), median(k.res),
               avg(k.bres), median(k.bres)
        FROM (SELECT *,
                CASE WHEN resolved_at >= opened_at THEN {business} END bres,
                CASE WHEN first_response_at >= opened_at
                     THEN (epoch(first_response_at) - epoch(opened_at)) / 3600.0 END fr,
                CASE WHEN resolved_at >= opened_at
                     THEN (epoch(resolved_at) - epoch(opened_at)) / 3600.0 END res
              FROM cases) k
        LEFT JOIN customers c ON c.customer_id = k.customer_id
        GROUP BY ALL
        """
    ).fetchall()
    put("fcr", [(s, m, n, 100.0 * x / n if n else 0) for s, m, n, x, *_ in k])
    put("first_response_mean", [(row[0], row[1], row[4], row[5]) for row in k])
    put("first_response_median", [(row[0], row[1], row[4], row[6]) for row in k])
    put("resolution_mean", [(row[0], row[1], row[7], row[8]) for row in k])
    put("resolution_median", [(row[0], row[1], row[7], row[9]) for row in k])
    put("resolution_business_mean", [(row[0], row[1], row[7], row[10]) for row in k])
    put("resolution_business_median", [(row[0], row[1], row[7], row[11]) for row in k])

    j = con.execute(
        f"""
        WITH s AS (
          SELECT event_id, customer_id, timestamp FROM events
          WHERE touchpoint = $start
            AND timestamp + {window} <= (SELECT max(timestamp) FROM events)),
        done AS (
          SELECT DISTINCT s.event_id FROM s JOIN events d
            ON d.customer_id = s.customer_id AND d.touchpoint = $success
           AND d.timestamp >= s.timestamp AND d.timestamp <= s.timestamp + {window})
        SELECT c.segment, date_trunc('month', s.timestamp) m, count(*), count(done.event_id)
        FROM s LEFT JOIN done ON done.event_id = s.event_id
        LEFT JOIN customers c ON c.customer_id = s.customer_id
        GROUP BY ALL
        """,
        {"start": start_tp, "success": success_tp},
    ).fetchall()
    put("completion:checkout", [(s, m, n, 100.0 * x / n) for s, m, n, x in j])
    put("abandonment:checkout", [(s, m, n, 100.0 * (n - x) / n) for s, m, n, x in j])

    churn = con.execute(
        """
        WITH p AS (
          SELECT ps, ps + INTERVAL 1 MONTH AS pe
          FROM range(date_trunc('month', $first::TIMESTAMP),
                     date_trunc('month', $last::TIMESTAMP) + INTERVAL 1 MONTH,
                     INTERVAL 1 MONTH) t(ps)),
        k AS (
          SELECT segment, date_trunc('month', created_at) AS cm,
                 date_trunc('month', churned_at) AS xm, count(*) AS k
          FROM customers GROUP BY ALL)
        SELECT segment, ps,
               sum(k) FILTER (cm < ps AND (xm IS NULL OR xm >= ps)),
               sum(k) FILTER (cm < ps AND xm >= ps AND xm < pe)
        FROM k CROSS JOIN p GROUP BY ALL
        """,
        {"first": first, "last": last},
    ).fetchall()
    put("churn_rate", [(s, m, n, 100.0 * (x or 0) / n if n else 0) for s, m, n, x in churn])

    ref = con.execute(
        """
        SELECT segment, date_trunc('month', created_at),
               count(*), count(*) FILTER (lower(acquisition_channel) = 'referral')
        FROM customers WHERE acquisition_channel IS NOT NULL AND created_at >= $first
        GROUP BY ALL
        """,
        {"first": first},
    ).fetchall()
    put("referral_rate", [(s, m, n, 100.0 * x / n) for s, m, n, x in ref])

    rev = con.execute(
        f"""
        SELECT segment, m, count(*), avg(rev) FROM (
          SELECT c.segment, date_trunc('month', o.ordered_at) m, o.customer_id,
                 sum(o.amount::DOUBLE) rev
          FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id
          WHERE {REVENUE} AND o.customer_id IS NOT NULL
          GROUP BY ALL)
        GROUP BY ALL
        """
    ).fetchall()
    put("revenue_per_customer", rev)

    clv = con.execute(
        f"""
        WITH spend AS (
          SELECT o.customer_id, sum(o.amount::DOUBLE) rev FROM orders o WHERE {REVENUE}
          GROUP BY ALL)
        SELECT c.segment, date_trunc('month', c.created_at), count(*), avg(coalesce(s.rev, 0))
        FROM customers c LEFT JOIN spend s ON s.customer_id = c.customer_id
        WHERE c.created_at >= $first
        GROUP BY ALL
        """,
        {"first": first},
    ).fetchall()
    put("clv", clv)
    return out
