"""The evaluation's parts: the caching encoder, settings chosen on validation, latency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from hazina.assist import model as model_module
from hazina.assist.evaluation import CachingEncoder, choose, grid, reply_latency_ms
from hazina.assist.knowledge import KnowledgeIndex, packaged_articles
from hazina.assist.model import ModelKind, ModelUnavailableError, Settings, Vectors, load, train
from hazina.assist.training import hazina


class CountingEncoder:
    """Two numbers per sentence (its length and its count of 'a'), counting the sentences."""

    name = "counting"

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encoded += len(texts)
        rows = [[len(text) / 100, text.count("a") / 10] for text in texts]
        return np.asarray(rows, dtype=np.float32)


def test_the_cache_encodes_each_sentence_once() -> None:
    inner = CountingEncoder()
    cached = CachingEncoder(inner)
    first = cached.encode(["a b", "c", "a b"])
    again = cached.encode(["c", "a b", "dd"])
    assert inner.encoded == 3
    assert first.shape == (3, 2)
    assert np.array_equal(first[0], again[1])
    assert cached.name == "counting"


def test_settings_are_chosen_on_the_validation_split() -> None:
    candidates = [Settings(regularisation=0.01), Settings(regularisation=10.0)]
    chosen, trials = choose(hazina(), ModelKind.tfidf, candidates, None, seed=2)
    assert [trial.settings for trial in trials] == candidates
    best = max(trials, key=lambda trial: trial.validation_accuracy)
    assert chosen == best.settings
    assert all(0.0 <= trial.validation_accuracy <= 1.0 for trial in trials)
    assert len(grid(ModelKind.tfidf)) >= 2
    assert all(s.embedding_weight > 0 for s in grid(ModelKind.embedding))


def test_an_embedding_model_trained_through_a_cache_serves_through_another_encoder() -> None:
    data = hazina()
    inner = CountingEncoder()
    model = train(data.texts, data.labels, ModelKind.embedding, Settings(), CachingEncoder(inner))
    serving = model.with_encoder(CountingEncoder())
    assert serving.encoder is not None
    assert np.allclose(serving.probabilities(["hello"]), model.probabilities(["hello"]))
    tfidf = train(data.texts, data.labels, ModelKind.tfidf)
    with pytest.raises(Exception, match="only an embedding model"):
        tfidf.with_encoder(inner)


def test_reply_latency_is_measured_per_question() -> None:
    data = hazina()
    model = train(data.texts, data.labels, ModelKind.tfidf)
    index = KnowledgeIndex(packaged_articles(), None)
    latency = reply_latency_ms(model, index, data.texts[:30], warm_up=5)
    assert latency["replies"] == 25
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]


def test_an_embedding_model_on_disk_needs_the_extra_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = hazina()
    model = train(data.texts, data.labels, ModelKind.embedding, Settings(), CountingEncoder())
    model.save(tmp_path)
    assert load(tmp_path, CountingEncoder()).kind is ModelKind.embedding
    monkeypatch.setattr(model_module, "embedding_available", lambda: False)
    with pytest.raises(ModelUnavailableError, match="optional extra"):
        load(tmp_path)
