"""Sliding windows over transactions grouped by a key (an account, a pair of accounts).

The arrays handed in are sorted by (group, seconds). Each group is laid out on its own stretch
of one integer axis, far enough from the next that no window reaches across, so one
`searchsorted` finds every window's bounds at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant

Int64Array = npt.NDArray[np.int64]

_key_max = 2**62


def group_axis(groups: Int64Array, seconds: Int64Array, window_s: int) -> Int64Array:
    """One key per element: (rank of its group) * stride + seconds, ascending."""
    invariant(groups.size == seconds.size, "one group per element")
    if groups.size == 0:
        return np.zeros(0, dtype=np.int64)
    changes = np.concatenate(([0], (np.diff(groups) != 0).astype(np.int64)))
    ranks = np.cumsum(changes)
    stride = int(seconds.max()) + window_s + 1
    invariant(int(ranks[-1]) < _key_max // stride, "window keys fit in 62 bits")
    keys = ranks * stride + seconds
    invariant(bool(np.all(np.diff(keys) >= 0)), "elements are sorted by group, then time")
    return keys


def window_starts(keys: Int64Array, window_s: int) -> Int64Array:
    """For each element, the first element of its group at most `window_s` earlier."""
    return np.searchsorted(keys, keys - window_s, side="left").astype(np.int64)


def window_ends(keys: Int64Array, window_s: int) -> Int64Array:
    """For each element, one past the last element of its group at most `window_s` later."""
    return np.searchsorted(keys, keys + window_s, side="right").astype(np.int64)


def prefix_sums(values: Int64Array) -> Int64Array:
    """Sums of the first k values for k = 0..n, so a range sum is two look-ups."""
    sums = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(values, out=sums[1:])
    return sums
