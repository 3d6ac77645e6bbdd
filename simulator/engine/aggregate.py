"""Exact int64 sums by group code, the aggregation every level of a plan and the event engine use.

No Python loop over rows: sorted segments (``np.add.reduceat``) where the codes are sorted or one
code holds nearly every row, else ``np.bincount`` while its float64 sums stay exact, else
``np.add.at`` in int64.
"""

from __future__ import annotations

import numpy as np

#: Arrays at least this long try group_sum's faster exact paths first (_group_sum_long).
_LONG = 1 << 16


def group_sum(codes: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group code 0..size-1 (no Python loop).

    ``values`` None counts the members of each group (every value 1). Long arrays of integers
    take an exact faster path where one applies (:func:`_group_sum_long`); the rest np.bincount.
    """
    if len(codes) >= _LONG and (values is None or np.asarray(values).dtype.kind in "iu"):
        fast = _group_sum_long(np.asarray(codes), None if values is None else np.asarray(values), size)
        if fast is not None:
            return fast
    if values is None:
        return np.bincount(codes, minlength=size).astype(np.int64)
    values = np.asarray(values)
    if values.dtype == bool:
        return np.bincount(codes[values], minlength=size).astype(np.int64)
    if not len(values):
        return np.zeros(size, dtype=np.int64)
    # bincount sums in float64, exact while every partial sum is below 2**53.
    bound = max(abs(int(values.min())), abs(int(values.max()))) * len(values)
    if bound < 2**53:
        return np.bincount(codes, weights=values, minlength=size).round().astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, codes, values.astype(np.int64))
    return out


def _group_sum_long(codes: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray | None:
    """:func:`group_sum` over long integer arrays by sorted segments, or None where that does
    not apply (then np.bincount does the work).

    Codes in sorted order (a registry sorted by district, and its subsets) are summed by
    segments (``np.add.reduceat``, in int64). Integer values that are nearly all 1 (a registry's
    weights) are the rows counted per code plus the few other rows' excess over 1. When one code
    holds nearly every row (households not affected), only the other rows are summed and that
    code gets the rest of the total.
    Sums are exact in int64 whenever ``max|value| * n`` stays below 2**63 (else None).
    """
    n = len(codes)
    if codes.dtype.kind not in "iu" or codes.ndim != 1 or (values is not None and values.shape != codes.shape):
        return None
    if values is not None and _abs_bound(values) * n >= 2**63:
        return None
    probe = codes[:: max(n // 4096, 1)].astype(np.int64)
    if bool((probe[1:] >= probe[:-1]).all()):
        # Where the code changes; the codes are sorted if it only ever rises there.
        starts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        starts = np.concatenate([np.zeros(1, starts.dtype), starts])
        keys = codes[starts].astype(np.int64)
        if keys[0] >= 0 and keys[-1] < size and bool((keys[1:] > keys[:-1]).all()):
            out = np.zeros(size, dtype=np.int64)
            out[keys] = np.diff(np.append(starts, n)) if values is None else np.add.reduceat(values, starts, dtype=np.int64)
            return out
    if probe.min() < 0:
        return None
    top = int(np.bincount(probe).argmax())
    if top >= size or n - np.count_nonzero(codes == top) > n // 8:
        return _mostly_ones(codes, values, size, probe)
    rest = np.flatnonzero(codes != top)
    rest_codes = codes[rest].astype(np.int64)
    if len(rest) and (rest_codes.min() < 0 or rest_codes.max() >= size):
        return None
    if values is None:
        out = np.bincount(rest_codes, minlength=size).astype(np.int64)
        out[top] = n - len(rest)
        return out
    out = group_sum(rest_codes, values[rest], size)
    out[top] = int(values.sum(dtype=np.int64)) - int(out.sum())
    return out


def _mostly_ones(codes: np.ndarray, values: np.ndarray | None, size: int, probe: np.ndarray) -> np.ndarray | None:
    """Sums of integer values that are nearly all 1 (a registry's weights): the rows counted
    per code, plus the few other rows' excess over 1; None for other values."""
    if values is None or values.dtype.kind != "i" or probe.max() >= size:
        return None
    other = values != 1
    if np.count_nonzero(other) > len(codes) // 8:
        return None
    out = np.bincount(codes, minlength=size).astype(np.int64)
    if len(out) > size:
        return None
    at = np.flatnonzero(other)
    return out + group_sum(codes[at], values[at] - 1, size)


def _abs_bound(values: np.ndarray) -> int:
    """An upper bound on ``|value|`` (integers): from the dtype for up to 32 bits, else one pass
    (the bitwise or of non-negative values is below twice their largest) or two."""
    if values.dtype.itemsize <= 4:
        return 2**32
    if values.dtype.kind == "i":
        bits = int(np.bitwise_or.reduce(values)) if len(values) else 0
        if bits >= 0:
            return bits
    return max(abs(int(values.min())), abs(int(values.max())))


def flag_sums(codes: np.ndarray, flags: list[np.ndarray], values: np.ndarray | None, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per group code and per combination of boolean flags, in
    one pass (one :func:`group_sum` over a combined code; no Python loop over rows).

    Parameters
    ----------
    codes
        Group code of each row, 0..size-1 (integers).
    flags
        A few boolean arrays as long as ``codes`` (at most 8).
    values
        Integers to sum (e.g. row weights [households]); None counts rows (every value 1).
    size
        Number of group codes.

    Returns
    -------
    numpy.ndarray
        int64 of shape ``(size, 2 ** len(flags))``: ``out[g, c]`` sums the rows of group ``g``
        whose flag ``f`` is ``(c >> f) & 1`` for every ``f``. Sum a column selection to get any
        flag's (or flags' conjunction's) total per group: the columns add up to
        ``group_sum(codes, values, size)``.

    Raises
    ------
    ValueError
        More than 8 flags.
    """
    width = len(flags)
    if width > 8:
        raise ValueError(f"flag_sums takes at most 8 flags (got {width}); sum in several calls.")
    codes = np.asarray(codes)
    bits = np.zeros(codes.shape, np.uint8)  # the flags of a row, one byte
    for bit, flag in enumerate(flags):  # a handful of flags, each vectorized
        bits |= np.asarray(flag, dtype=bool).view(np.uint8) << np.uint8(bit)
    key = np.left_shift(codes.astype(np.int32 if (size << width) < 2**31 else np.int64), width)
    key |= bits
    return group_sum(key, values, size << width).reshape(size, 1 << width)
