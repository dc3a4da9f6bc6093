"""Fast, vectorized builders for the Arrow columns of the demo world.

Everything here turns numpy arrays into Arrow arrays without a Python loop per
row: identifiers are written digit by digit into one byte buffer, timestamps
and decimals are reinterpreted from int64, labels are taken from a small
dictionary of strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "AMOUNT",
    "DAY_US",
    "TIMESTAMP",
    "decimal_amounts",
    "identifiers",
    "join",
    "labels",
    "optional_take",
    "timestamps",
]

#: microseconds in one day
DAY_US = 86_400_000_000
TIMESTAMP = pa.timestamp("us")
AMOUNT = pa.decimal128(18, 4)


def identifiers(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` followed by each number zero-padded to ``width`` digits (``C000123``).

    A number with more than ``width`` digits keeps all its digits, like ``str.zfill``.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    if n and int(numbers.max()) >= 10**width:
        return pa.array([f"{prefix}{int(x):0{width}d}" for x in numbers], pa.string())
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    size = len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = head
    rest = numbers.copy()
    for j in range(size - 1, len(head) - 1, -1):
        buf[:, j] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes())]
    )


def timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Naive UTC ``timestamp('us')`` from int64 microseconds since the epoch."""
    micros = np.asarray(micros, dtype=np.int64)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(micros, type=TIMESTAMP, mask=mask)


def decimal_amounts(cents: np.ndarray) -> pa.Array:
    """``decimal128(18, 4)`` amounts from non-negative int64 cents."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents * 100  # four decimal places; the high word stays 0 (amounts >= 0)
    return pa.Array.from_buffers(AMOUNT, len(cents), [None, pa.py_buffer(words.tobytes())])


def labels(
    values: list[str] | tuple[str, ...], codes: np.ndarray, valid: np.ndarray | None = None
) -> pa.Array:
    """Strings ``values[code]`` for each code; null where ``valid`` is False."""
    dictionary = pa.array(list(values), pa.string())
    codes = np.asarray(codes, dtype=np.int32)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return dictionary.take(pa.array(codes, pa.int32(), mask=mask))


def optional_take(array: pa.Array, index: np.ndarray, valid: np.ndarray) -> pa.Array:
    """``array[index]`` where ``valid``, null elsewhere."""
    index = np.where(valid, index, 0).astype(np.int64)
    return array.take(pa.array(index, pa.int64(), mask=~np.asarray(valid, dtype=bool)))


def join(parts: list[pa.Array], sep: str = " ") -> pa.Array:
    """Join string arrays element-wise, dropping empty parts and doubled spaces."""
    out = pc.binary_join_element_wise(*parts, sep)
    if sep == " ":
        out = pc.replace_substring_regex(out, pattern=r"\s{2,}", replacement=" ")
        out = pc.utf8_trim_whitespace(out)
    return out
