"""Planted questions for the FAQ tests: three recurring questions, one rising, and chatter."""

from __future__ import annotations

import pandas as pd

PASSWORD = [
    "How do I reset my password?",
    "How can I reset my password please?",
    "I forgot my password, how do I reset it?",
    "Can I reset my password from the app?",
    "Where do I reset my password?",
]
REFUND = [
    "Where is my refund?",
    "When will I get my refund?",
    "How long does a refund take to arrive?",
    "Can you tell me when my refund arrives?",
    "Why has my refund not arrived yet?",
]
ADDRESS = [
    "How do I change my delivery address?",
    "Can I change the delivery address of my order?",
    "I need to change my delivery address",
    "Is it possible to change the delivery address?",
]
CHATTER = [
    "Great service, thank you.",
    "The parcel came on time and the sofa is lovely.",
    "Lovely staff at the shop.",
    "All good with the order.",
]
#: questions per month (January, February, March 2026): password rises in March
PLAN = {"password": (10, 10, 60), "refund": (15, 15, 15), "address": (8, 8, 8)}
POOLS = {"password": PASSWORD, "refund": REFUND, "address": ADDRESS}


def cases() -> pd.DataFrame:
    rows = []
    n = 0
    for kind, per_month in PLAN.items():
        for month, count in enumerate(per_month, 1):
            for i in range(count):
                n += 1
                rows.append(
                    {
                        "case_id": f"C{n:04d}",
                        "opened_at": f"2026-{month:02d}-{1 + i % 27:02d}T10:00:00",
                        "subject": POOLS[kind][i % len(POOLS[kind])],
                        "description": f"Order {n}. Mail me at jo{n}@example.com",
                    }
                )
    for month in (1, 2, 3):
        for i in range(20):
            n += 1
            rows.append(
                {
                    "case_id": f"C{n:04d}",
                    "opened_at": f"2026-{month:02d}-{1 + i % 27:02d}T10:00:00",
                    "subject": CHATTER[i % len(CHATTER)],
                    "description": f"Order {n}.",
                }
            )
    return pd.DataFrame(rows)


def n_questions() -> int:
    return sum(sum(v) for v in PLAN.values())
