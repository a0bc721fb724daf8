"""Sliding windows over a ring of time buckets: O(1) amortised work and fixed memory per key.

A `BucketRing` keeps, for its last `size` time buckets (numbered by the caller: minutes, hours
or days since 1970), three integer measures: a count, a sum and a mark count. An activity ring
counts payments, sums their amounts (minor units) and marks the unusual ones; a label ring
counts labelled payments, marks the frauds and sums the frauds at amounts usual for the
customer. A window
is a span of whole buckets relative to the newest ("head") bucket, `(near, length)`: buckets
`head - near - length + 1 .. head - near`. On a day ring `(0, 7)` is "today and the six days
before" and `(8, 7)` the seven days that ended eight days ago. Each window keeps running
totals, so reading one is O(1); moving the head subtracts the buckets that leave and adds the
ones that enter.

All arithmetic is on integers, so the totals equal a naive recount exactly (the unit tests
compare them with one).
"""

from __future__ import annotations

from hazina.kernel.invariant import invariant


class BucketRing:
    """Counts, sums and marks per bucket, and running totals per window span."""

    __slots__ = (
        "counts",
        "head",
        "marks",
        "size",
        "spans",
        "sums",
        "window_counts",
        "window_marks",
        "window_sums",
    )

    def __init__(self, size: int, spans: tuple[tuple[int, int], ...]) -> None:
        invariant(size >= 1, "a ring has at least one bucket")
        invariant(len(spans) >= 1, "a ring serves at least one window")
        for near, length in spans:
            invariant(near >= 0 and length >= 1, "a window span is (near >= 0, length >= 1)")
            invariant(near + length <= size, "every window fits inside the ring")
        self.size = size
        self.spans = spans
        self.head = -(2**62)  # no bucket yet: the first advance starts afresh
        self.counts = [0] * size
        self.sums = [0] * size
        self.marks = [0] * size
        self.window_counts = [0] * len(spans)
        self.window_sums = [0] * len(spans)
        self.window_marks = [0] * len(spans)

    def advance(self, bucket: int) -> None:
        """Make `bucket` the head; buckets that fall out of the ring are emptied."""
        head = self.head
        if bucket <= head:
            return
        size = self.size
        steps = bucket - head
        if steps >= size:
            # Every stored bucket is older than the ring: start afresh.
            self.counts = [0] * size
            self.sums = [0] * size
            self.marks = [0] * size
            spans_count = len(self.spans)
            self.window_counts = [0] * spans_count
            self.window_sums = [0] * spans_count
            self.window_marks = [0] * spans_count
            self.head = bucket
            return
        counts = self.counts
        sums = self.sums
        marks = self.marks
        window_counts = self.window_counts
        window_sums = self.window_sums
        window_marks = self.window_marks
        if steps == 1:
            for index, (near, length) in enumerate(self.spans):
                if near > 0:
                    entering = (bucket - near) % size
                    window_counts[index] += counts[entering]
                    window_sums[index] += sums[entering]
                    window_marks[index] += marks[entering]
                leaving = (bucket - near - length) % size
                window_counts[index] -= counts[leaving]
                window_sums[index] -= sums[leaving]
                window_marks[index] -= marks[leaving]
            slot = bucket % size
            counts[slot] = 0
            sums[slot] = 0
            marks[slot] = 0
        else:
            recount = []
            for index, (near, length) in enumerate(self.spans):
                if steps >= length or (0 < near < steps):
                    recount.append(index)  # the window moves past buckets not yet stored
                    continue
                # Buckets `head - near - length + 1 ..` leave, `head - near + 1 ..` enter:
                # all of them are stored buckets at or before the head.
                first = (head - near - length + 1) % size
                window_counts[index] -= _ring_sum(counts, first, steps, size)
                window_sums[index] -= _ring_sum(sums, first, steps, size)
                window_marks[index] -= _ring_sum(marks, first, steps, size)
                if near > 0:
                    first = (head - near + 1) % size
                    window_counts[index] += _ring_sum(counts, first, steps, size)
                    window_sums[index] += _ring_sum(sums, first, steps, size)
                    window_marks[index] += _ring_sum(marks, first, steps, size)
            first = (head + 1) % size
            _ring_clear(counts, first, steps, size)
            _ring_clear(sums, first, steps, size)
            _ring_clear(marks, first, steps, size)
            for index in recount:
                near, length = self.spans[index]
                first = (bucket - near - length + 1) % size
                window_counts[index] = _ring_sum(counts, first, length, size)
                window_sums[index] = _ring_sum(sums, first, length, size)
                window_marks[index] = _ring_sum(marks, first, length, size)
        self.head = bucket

    def add_to_head(self, value: int, mark: int) -> None:
        """One item in the head bucket (the caller advanced to it first)."""
        slot = self.head % self.size
        self.counts[slot] += 1
        self.sums[slot] += value
        self.marks[slot] += mark
        window_counts = self.window_counts
        window_sums = self.window_sums
        window_marks = self.window_marks
        for index, (near, _length) in enumerate(self.spans):
            if near == 0:
                window_counts[index] += 1
                window_sums[index] += value
                window_marks[index] += mark

    def add_to_past(self, bucket: int, count: int, value: int, mark: int) -> bool:
        """Add to a bucket still in the ring (at or before the head); False when it is not."""
        offset = self.head - bucket
        if offset < 0 or offset >= self.size:
            return False
        slot = bucket % self.size
        self.counts[slot] += count
        self.sums[slot] += value
        self.marks[slot] += mark
        window_counts = self.window_counts
        window_sums = self.window_sums
        window_marks = self.window_marks
        for index, (near, length) in enumerate(self.spans):
            if near <= offset < near + length:
                window_counts[index] += count
                window_sums[index] += value
                window_marks[index] += mark
        return True


def _ring_sum(values: list[int], first: int, count: int, size: int) -> int:
    """Sum of `count` slots from `first`, wrapping around the ring."""
    end = first + count
    if end <= size:
        return sum(values[first:end])
    return sum(values[first:]) + sum(values[: end - size])


def _ring_clear(values: list[int], first: int, count: int, size: int) -> None:
    """Zero `count` slots from `first`, wrapping around the ring."""
    end = first + count
    if end <= size:
        values[first:end] = [0] * count
    else:
        values[first:] = [0] * (size - first)
        values[: end - size] = [0] * (end - size)
