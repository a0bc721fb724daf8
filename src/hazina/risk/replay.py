"""Replay labelled payments through the online feature engine, in time order, as training does.

Training features come from exactly the code that scores live payments: each payment is
`observe`d (features from everything before it, it included in its own windows), then its
fraud label is recorded as known `label_known_after_s` later (the handbook's assumption: every
fraud is known once the delay has passed). The engine applies a label only when time reaches
that moment, so no payment's features see a label that was not yet known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.risk.data import LabelledPayments
from hazina.risk.features.engine import FeatureEngine
from hazina.risk.features.events import FeatureConfig

replay_chunk_rows = 8_192  # rows gathered as Python lists before one copy into the matrix

FloatMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """One row of features per payment, in the payments' order."""

    values: FloatMatrix
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        invariant(self.values.ndim == 2, "a feature matrix has rows and columns")
        invariant(self.values.shape[1] == len(self.names), "one name per column")

    def column(self, name: str) -> npt.NDArray[np.float32]:
        return self.values[:, self.names.index(name)]


def replay(
    payments: LabelledPayments,
    config: FeatureConfig,
    *,
    stop: int | None = None,
    label_known_after_s: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[FeatureMatrix, FeatureEngine]:
    """Features of `payments[:stop]`, and the engine as it stands after them."""
    size = len(payments) if stop is None else stop
    invariant(0 <= size <= len(payments), "stop lies inside the payments")
    known_after_s = config.label_delay_s if label_known_after_s is None else label_known_after_s
    invariant(known_after_s >= 0, "a label cannot be known before its payment")
    engine = FeatureEngine(config)
    matrix = np.empty((size, len(engine.names)), dtype=np.float32)
    is_fraud = payments.is_fraud[:size].tolist()
    chunk: list[list[float]] = []
    start = 0
    observe = engine.observe
    record_label = engine.record_label
    for index, event in enumerate(payments.events()):
        if index >= size:
            break
        chunk.append(observe(event))
        record_label(event, is_fraud[index] == 1, event.timestamp_s + known_after_s)
        if len(chunk) == replay_chunk_rows:
            matrix[start : start + len(chunk)] = np.asarray(chunk, dtype=np.float32)
            start += len(chunk)
            chunk = []
            if progress is not None:
                progress(start, size)
    if chunk:
        matrix[start : start + len(chunk)] = np.asarray(chunk, dtype=np.float32)
        start += len(chunk)
    invariant(start == size, "every payment replayed")
    if progress is not None:
        progress(size, size)
    return FeatureMatrix(values=matrix, names=engine.names), engine
