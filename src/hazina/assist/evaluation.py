"""Measuring the intent model: settings chosen on a validation split of Banking77's training
set, accuracy measured once on its test set, and reply latency (intent and retrieval) with a
warm model. `bench/assist.py` prints these; the tests run a small version."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hazina.assist.knowledge import KnowledgeIndex, packaged_articles
from hazina.assist.model import (
    Encoder,
    IntentModel,
    MiniLmEncoder,
    ModelKind,
    Settings,
    Vectors,
    train,
)
from hazina.assist.training import Labelled, accuracy, hazina, split
from hazina.kernel.invariant import invariant


class CachingEncoder:
    """Remembers every sentence's vector: a settings search encodes each sentence once."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._vectors: dict[str, Vectors] = {}

    @property
    def name(self) -> str:
        return self._encoder.name

    def encode(self, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._encoder.encode(missing), strict=True):
                self._vectors[text] = vector
        return np.stack([self._vectors[text] for text in texts])


@dataclass(frozen=True, slots=True)
class Trial:
    settings: Settings
    validation_accuracy: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    kind: ModelKind
    settings: Settings
    trials: tuple[Trial, ...]
    test_accuracy: float
    training_examples: int
    test_examples: int
    training_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)


def grid(kind: ModelKind) -> list[Settings]:
    """The settings tried on the validation split."""
    if kind is ModelKind.tfidf:
        return [Settings(regularisation=c) for c in (5.0, 10.0, 30.0)]
    return [
        Settings(regularisation=c, embedding_weight=w) for c in (10.0, 30.0) for w in (1.0, 2.0)
    ]


def choose(
    training: Labelled,
    kind: ModelKind,
    candidates: Sequence[Settings],
    encoder: Encoder | None,
    validation_share: float = 0.2,
    seed: int = 0,
) -> tuple[Settings, tuple[Trial, ...]]:
    """The settings with the best accuracy on a stratified validation split of `training`."""
    invariant(len(candidates) > 0, "something to choose from")
    fitting, validation = split(training, validation_share, seed)
    trials = []
    for settings in candidates:
        model = train(fitting.texts, fitting.labels, kind, settings, encoder)
        trials.append(Trial(settings, accuracy(model, validation)))
    best = max(trials, key=lambda trial: trial.validation_accuracy)
    return best.settings, tuple(trials)


def evaluate(
    training: Labelled,
    testing: Labelled,
    kind: ModelKind,
    candidates: Sequence[Settings],
    encoder: Encoder | None = None,
    seed: int = 0,
) -> tuple[Evaluation, IntentModel]:
    """Choose settings on the training set's validation split, train on all of it, measure
    on the test set once."""
    settings, trials = choose(training, kind, candidates, encoder, seed=seed)
    started = time.perf_counter()
    model = train(training.texts, training.labels, kind, settings, encoder)
    training_s = time.perf_counter() - started
    evaluation = Evaluation(
        kind,
        settings,
        trials,
        accuracy(model, testing),
        len(training.texts),
        len(testing.texts),
        training_s,
    )
    return evaluation, model


def reply_latency_ms(
    model: IntentModel, index: KnowledgeIndex, questions: Sequence[str], warm_up: int = 10
) -> dict[str, float]:
    """Milliseconds per reply, one question at a time: the intent, then the passage."""
    invariant(len(questions) > warm_up, "more questions than warm-up rounds")
    for question in questions[:warm_up]:
        prediction = model.predict([question])[0]
        index.retrieve(question, prediction.label)
    timings = []
    for question in questions[warm_up:]:
        started = time.perf_counter_ns()
        prediction = model.predict([question])[0]
        index.retrieve(question, prediction.label)
        timings.append((time.perf_counter_ns() - started) / 1e6)
    values = np.asarray(timings)
    return {
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "mean": float(values.mean()),
        "replies": float(len(values)),
    }


def serving_model(
    kind: ModelKind,
    settings: Settings,
    training: Labelled,
    encoder: Encoder | None = None,
    encoder_folder: Path | None = None,
) -> IntentModel:
    """The model the assistant serves: Banking77's training set and Hazina's examples. With
    a caching `encoder` for training, it serves through MiniLM itself (the fine-tuned one in
    `encoder_folder` when given)."""
    combined = training + hazina()
    model = train(combined.texts, combined.labels, kind, settings, encoder)
    if kind is ModelKind.embedding:
        model = model.with_encoder(MiniLmEncoder(folder=encoder_folder))
    return model


def serving_latency_ms(model: IntentModel, questions: Sequence[str]) -> dict[str, float]:
    """Reply latency of `model` over the packaged knowledge base."""
    index = KnowledgeIndex(packaged_articles(), model.encoder)
    return reply_latency_ms(model, index, questions)


def service_latency_ms(model: IntentModel, questions: Sequence[str], warm_up: int = 10) -> float:
    """p95 milliseconds of a whole reply through the service (model, retrieval and the
    conversation's writes) on a fresh SQLite platform, one new conversation per question."""
    import tempfile

    from hazina.assist.service import AssistService
    from hazina.bootstrap import build_platform

    invariant(len(questions) > warm_up, "more questions than warm-up rounds")
    with tempfile.TemporaryDirectory() as folder:
        platform = build_platform(str(Path(folder) / "assist.sqlite3"))
        try:
            service = AssistService.on(platform, model)
            timings = []
            for number, question in enumerate(questions):
                conversation = service.start(None, "api", "bench").conversation.id
                started = time.perf_counter_ns()
                service.send(conversation, question)
                if number >= warm_up:
                    timings.append((time.perf_counter_ns() - started) / 1e6)
        finally:
            platform.close()
    return float(np.percentile(np.asarray(timings), 95))
