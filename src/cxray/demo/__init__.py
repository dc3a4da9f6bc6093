"""A realistic synthetic company to try cxray on, with effects planted to be found.

Hearthwell is an invented North American retailer of home goods, furniture and
electronics that sells online, in its app and in stores, to consumers, small
businesses and enterprises. :func:`generate` builds its customer experience
data as the six canonical tables (customers, events, responses, cases, orders,
mentions), with free text that follows what happened to each customer and with
documented effects (:class:`PlantedEffect`) that analyses should find.

>>> from cxray.demo import generate
>>> world = generate(customers=2_000, months=12)    # doctest: +SKIP
>>> world.row_counts()                              # doctest: +SKIP

:func:`generate_chunks` yields the same world in chunks of customers, for
benchmark-sized worlds that do not fit in memory at once. See
``docs/demo-world.md`` for the company, its columns and its planted effects.
"""

from cxray.demo._calendar import DEFAULT_END
from cxray.demo._effects import STRENGTHS, PlantedEffect, Strengths, recovery_effect
from cxray.demo._world import BLOCK_CUSTOMERS, TABLES, World, combine, generate, generate_chunks

__all__ = [
    "BLOCK_CUSTOMERS",
    "DEFAULT_END",
    "STRENGTHS",
    "TABLES",
    "PlantedEffect",
    "Strengths",
    "World",
    "combine",
    "generate",
    "generate_chunks",
    "recovery_effect",
]
