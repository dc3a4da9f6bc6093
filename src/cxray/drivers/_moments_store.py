"""One pass over the rows in the store: the sums that correlations and bootstraps need.

The rows an analysis reads are cut into ``groups`` random-like groups: up to
``RANKED_ROWS`` rows by the row's rank on its key modulo ``groups`` (so with
fewer rows than groups each row is a group of its own), beyond that by the
MD5 digest of the key (its first three hex digits, modulo 1,024), which needs
no sort and so no memory that grows with the rows. Both are deterministic and
give the same groups on DuckDB, PostgreSQL and Spark.
For every group (and slice) the store returns the row count, the sum of
every variable, the sum of every pair's product, each variable's minimum,
maximum and count of zeros: a few hundred numbers per group, however many
rows there are. Summed over groups they give the correlation matrix;
resampled groups give bootstrap replicates (:func:`bootstrap_moments`).

With fewer rows than groups every row is a group of its own, so the
bootstrap is the ordinary one over rows; with more, resampling groups of
rows estimates the same variance (the groups are exchangeable samples of
the rows), at a cost that does not grow with the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pyarrow as pa

from cxray.stats import CrossMoments

__all__ = ["GroupedMoments", "bootstrap_moments", "grouped_moments"]

#: groups of rows a bootstrap resamples (16³ = 4 × 1,024: three hex digits of a digest
#: spread evenly over them)
GROUPS = 1024
#: up to this many rows, groups follow the rows' rank on their key; beyond, a digest
RANKED_ROWS = 200_000
_HEX = "0123456789abcdef"


@ibis.udf.scalar.builtin(name="md5")
def _md5(text: str) -> str:  # DuckDB, PostgreSQL and Spark all have md5(), in lower-case hex
    ...


def _digest_group(key: ibis.Value, groups: int) -> ibis.IntegerValue:
    """A group from the first three hex digits of the key's MD5 digest."""
    digest = _md5(key.cast("string"))
    value: ibis.IntegerValue = ibis.literal(0)
    for i in range(3):
        value = value * 16 + ibis.literal(_HEX).find(digest.substr(i, 1))
    return value % groups


@dataclass(frozen=True)
class GroupedMoments:
    """Per-group sums of ``variables`` for one slice."""

    variables: tuple[str, ...]
    n: np.ndarray  # (g,)
    s: np.ndarray  # (g, p)
    ss: np.ndarray  # (g, p, p)
    minimum: np.ndarray  # (p,)
    maximum: np.ndarray  # (p,)
    zeros: np.ndarray  # (p,)
    #: what was subtracted from each variable before summing (``s`` and ``ss`` are of the
    #: shifted values, which keeps the sums of squares well conditioned)
    shift: np.ndarray  # (p,)

    @property
    def total(self) -> CrossMoments:
        return CrossMoments(float(self.n.sum()), self.s.sum(axis=0), self.ss.sum(axis=0))

    @property
    def mean(self) -> np.ndarray:
        """The mean of each variable, in its own units."""
        return self.total.mean + self.shift

    @property
    def rows(self) -> int:
        return int(self.n.sum())


def grouped_moments(
    t: ibis.Table,
    variables: Sequence[str],
    *,
    key: str,
    slice_column: str | None = None,
    groups: int = GROUPS,
    shift: Sequence[float] | None = None,
    rows: int | None = None,
) -> dict[str | None, GroupedMoments]:
    """Sums of ``variables`` (numeric columns of ``t`` without missing values) per group,
    for each value of ``slice_column`` (``None`` when not sliced). ``shift``: a value near
    the centre of each variable (such as the middle of its range), subtracted first.
    ``rows``: about how many rows there are (more than ``RANKED_ROWS``: digest groups)."""
    cols = list(variables)
    p = len(cols)
    centre = np.zeros(p) if shift is None else np.asarray(shift, float)
    x = t.select(
        *(
            [t[slice_column].cast("string").name("_slice")]
            if slice_column
            else [ibis.literal("").name("_slice")]
        ),
        _k=t[key],
        **{f"_v{i}": t[c].cast("float64") - float(centre[i]) for i, c in enumerate(cols)},
    )
    if rows is not None and rows > RANKED_ROWS:
        x = x.mutate(_g=_digest_group(x._k, groups))
    else:
        rank = ibis.row_number().over(ibis.window(group_by=x._slice, order_by=x._k))
        x = x.mutate(_g=rank % groups)
    aggs: dict[str, ibis.Value] = {"_n": x.count()}
    for i in range(p):
        v = x[f"_v{i}"]
        aggs[f"_s{i}"] = v.sum()
        aggs[f"_lo{i}"] = v.min()
        aggs[f"_hi{i}"] = v.max()
        aggs[f"_z{i}"] = ibis.ifelse(v == -float(centre[i]), 1, 0).sum()
        for j in range(i, p):
            aggs[f"_p{i}_{j}"] = (v * x[f"_v{j}"]).sum()
    table: pa.Table = x.group_by(["_slice", "_g"]).aggregate(**aggs).to_pyarrow()
    frame = table.to_pandas().sort_values(["_slice", "_g"], kind="stable")
    out: dict[str | None, GroupedMoments] = {}
    for value, part in frame.groupby("_slice", sort=True, dropna=False):
        n = part["_n"].to_numpy(float)
        s = np.column_stack([part[f"_s{i}"].to_numpy(float) for i in range(p)])
        ss = np.empty((len(part), p, p))
        for i in range(p):
            for j in range(i, p):
                ss[:, i, j] = ss[:, j, i] = part[f"_p{i}_{j}"].to_numpy(float)
        lo = np.array([part[f"_lo{i}"].min() for i in range(p)], float) + centre
        hi = np.array([part[f"_hi{i}"].max() for i in range(p)], float) + centre
        zeros = np.array([part[f"_z{i}"].sum() for i in range(p)], float)
        out[value if slice_column else None] = GroupedMoments(
            tuple(cols), n, s, ss, lo, hi, zeros, centre
        )
    return out


def bootstrap_moments(gm: GroupedMoments, replicates: int, seed: int) -> list[CrossMoments]:
    """``replicates`` bootstrap samples of the moments: groups drawn with replacement."""
    rng = np.random.default_rng(seed)
    g = len(gm.n)
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=replicates).astype(float)
    n = counts @ gm.n
    s = counts @ gm.s
    ss = np.einsum("bg,gij->bij", counts, gm.ss)
    return [CrossMoments(float(n[b]), s[b], ss[b]) for b in range(replicates)]
