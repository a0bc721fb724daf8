"""Training sets and evaluation for the intent model.

Banking77 (Casanueva et al. 2020; 10,003 training and 3,080 test questions, 77 intents) is
read in place from the shared datasets (`HAZINA_DATASETS`). The model the assistant serves
learns Banking77's training set and Hazina's own examples together; the accuracy reported
is that of a model trained on Banking77's training set alone, measured on its test set, so
it compares with the published figures.

Without a trained model on disk the assistant starts with a small one: Hazina's examples and
the knowledge base's own sentences, each labelled with the first intent its article names.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hazina.assist.intents import HAZINA_INTENT_PREFIX, hazina_examples
from hazina.assist.knowledge import Article, packaged_articles, passages_of
from hazina.assist.model import IntentModel, ModelKind, Settings, train
from hazina.kernel.datasets import dataset_path
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import assist_training_texts_max

default_model_folder: Final = Path("var/models/assist")


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    labels: list[str]

    def __post_init__(self) -> None:
        invariant(len(self.texts) == len(self.labels), "one label per text")

    def __add__(self, other: Labelled) -> Labelled:
        return Labelled(self.texts + other.texts, self.labels + other.labels)


def banking77(split: str) -> Labelled:
    """Banking77's `train` or `test` split, as the CSV has it (columns text, category)."""
    invariant(split in ("train", "test"), "Banking77 has a train and a test split")
    path = dataset_path("banking77", f"banking77_{split}.csv")
    texts: list[str] = []
    labels: list[str] = []
    with path.open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            texts.append(row["text"])
            labels.append(row["category"])
            invariant(len(texts) <= assist_training_texts_max, "the dataset fits the limit")
    return Labelled(texts, labels)


def hazina() -> Labelled:
    texts, labels = hazina_examples()
    return Labelled(texts, labels)


def article_sentences(articles: Sequence[Article]) -> Labelled:
    """Each sentence of an article that answers a Banking77 intent, labelled with it."""
    texts: list[str] = []
    labels: list[str] = []
    for article in articles:
        if not article.intents or article.intents[0].startswith(HAZINA_INTENT_PREFIX):
            continue
        for passage in passages_of(article):
            for sentence in re.split(r"(?<=[.!?])\s+", passage.text):
                if sentence.strip():
                    texts.append(f"{article.title}: {sentence.strip()}")
                    labels.append(article.intents[0])
    return Labelled(texts, labels)


def per_label(data: Labelled, count: int, seed: int) -> Labelled:
    """At most `count` examples of each label, drawn at random (seeded)."""
    by_label: dict[str, list[str]] = {}
    for text, label in zip(data.texts, data.labels, strict=True):
        by_label.setdefault(label, []).append(text)
    chooser = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for label in sorted(by_label):
        chosen = by_label[label]
        chosen = chooser.sample(chosen, min(count, len(chosen)))
        texts.extend(chosen)
        labels.extend([label] * len(chosen))
    return Labelled(texts, labels)


def split(data: Labelled, validation_share: float, seed: int) -> tuple[Labelled, Labelled]:
    """A stratified (training, validation) split."""
    invariant(0.0 < validation_share < 1.0, "a share is a fraction")
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(index)
    chooser = random.Random(seed)
    held: set[int] = set()
    for indexes in by_label.values():
        held.update(chooser.sample(indexes, round(len(indexes) * validation_share)))
    keep = [i for i in range(len(data.texts)) if i not in held]
    out = sorted(held)
    return (
        Labelled([data.texts[i] for i in keep], [data.labels[i] for i in keep]),
        Labelled([data.texts[i] for i in out], [data.labels[i] for i in out]),
    )


def accuracy(model: IntentModel, data: Labelled) -> float:
    invariant(len(data.texts) > 0, "accuracy over no examples")
    predictions = model.predict(data.texts)
    right = sum(p.label == label for p, label in zip(predictions, data.labels, strict=True))
    return right / len(data.texts)


def starter_model() -> IntentModel:
    """The small TF-IDF model the assistant starts with when no trained one is on disk."""
    return train(
        *_pair(hazina() + article_sentences(packaged_articles())), ModelKind.tfidf, Settings()
    )


def _pair(data: Labelled) -> tuple[list[str], list[str]]:
    return data.texts, data.labels
