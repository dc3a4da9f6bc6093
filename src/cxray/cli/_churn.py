"""``cxray churn``: churn reasons, survival curves, the churn-risk model and scores.

This module makes the ``churn`` command group; ``reasons`` and ``survival`` live here,
``model`` and ``risk`` in :mod:`cxray.cli._churn_risk` (registered after this one).
"""

from __future__ import annotations

import typer

from cxray.cli._app import app

churn_app = typer.Typer(
    name="churn",
    help="Why and when customers leave: reasons, survival curves, churn risk per customer.",
    no_args_is_help=True,
)
app.add_typer(churn_app, name="churn")
