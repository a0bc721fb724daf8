"""Intent models: the TF-IDF model learns, saves and loads; a small-data Banking77 run gives
the full evaluation's shape in seconds; the MiniLM embedding model where PyTorch is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hazina.assist.intents import Action, action_of, describe, hazina_label
from hazina.assist.model import ModelKind, Settings, embedding_available, load, train
from hazina.assist.training import accuracy, banking77, hazina, per_label, split, starter_model


def test_hazina_labels_name_their_actions() -> None:
    assert action_of(hazina_label(Action.block_wallet)) is Action.block_wallet
    assert action_of("card_arrival") is None
    assert action_of("hazina_unknown") is None
    assert describe("reverted_card_payment?") == "reverted card payment"
    assert describe(hazina_label(Action.loan_balance)) == "loan balance"


def test_the_starter_model_knows_hazinas_intents(tmp_path: Path) -> None:
    model = starter_model()
    held_out = {
        "how much money is left in my wallet": Action.balance,
        "please freeze my wallet, my phone is gone": Action.block_wallet,
        "I sent money to the wrong person by mistake": Action.reverse_transfer,
        "how much do I still owe on the loan": Action.loan_balance,
        "where is the closest agent": Action.agent_locator,
        "let me talk to a real person": Action.human_agent,
    }
    predictions = model.predict(list(held_out))
    assert [action_of(p.label) for p in predictions] == list(held_out.values())
    assert all(0.0 < p.confidence <= 1.0 for p in predictions)
    assert all(
        p.confidence >= alternative for p in predictions for _, alternative in p.alternatives
    )
    model.save(tmp_path)
    again = load(tmp_path)
    assert np.allclose(again.probabilities(list(held_out)), model.probabilities(list(held_out)))
    assert model.predict([]) == []


def test_a_model_needs_two_intents_and_one_label_per_text() -> None:
    with pytest.raises(Exception, match="two intents"):
        train(["a", "b"], ["x", "x"], ModelKind.tfidf)
    with pytest.raises(Exception, match="one label per text"):
        train(["a", "b"], ["x"], ModelKind.tfidf)


def test_banking77_small_data_evaluation() -> None:
    """The benchmark's evaluation (bench/assist.py) on 12 questions per intent: it trains on
    the training split and measures on the test split, with a floor far above chance (1/77)."""
    training = per_label(banking77("train"), 12, seed=1)
    testing = per_label(banking77("test"), 4, seed=1)
    assert len(set(training.labels)) == 77
    model = train(training.texts, training.labels, ModelKind.tfidf, Settings(regularisation=10))
    assert accuracy(model, testing) >= 0.55


def test_split_is_stratified_and_disjoint() -> None:
    data = hazina()
    kept, held = split(data, 0.2, seed=3)
    assert len(kept.texts) + len(held.texts) == len(data.texts)
    assert not set(kept.texts) & set(held.texts)
    assert set(held.labels) == set(data.labels)


@pytest.mark.skipif(not embedding_available(), reason="needs the assist extra (PyTorch)")
def test_the_embedding_model_reads_paraphrases(tmp_path: Path) -> None:
    data = hazina()
    model = train(data.texts, data.labels, ModelKind.embedding)
    assert model.encoder is not None
    vectors = model.encoder.encode(["hello", "what is my balance"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    predictions = model.predict(["how many shillings do I have", "lock everything, I was robbed"])
    assert [action_of(p.label) for p in predictions] == [Action.balance, Action.block_wallet]
    model.save(tmp_path)
    assert load(tmp_path).kind is ModelKind.embedding
