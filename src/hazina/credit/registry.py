"""Credit model governance: versioned models, the data they came from, PSI drift, champion and
challenger.

The layout and rules are the risk registry's (`hazina.risk.registry`): one folder,
`registry.json` naming the versions in order and which is champion and which challenger
(replaced atomically), and per version a folder with `entry.json` (metrics, training data:
path, SHA-256, rows, defaults; the drift profile) and the model. The first version registered is
champion, later ones challenger until promoted. It reuses that module's errors, the dataset
fingerprint and the PSI drift profile (`hazina.risk.drift`); the risk registry's own model and
training-data types are fraud-specific (boosters, payments, time windows), so they are not.

The model is stored with `pickle` (an optbinning binning process and a logistic regression, or a
LightGBM booster), and the file's SHA-256 is kept in the entry and checked before unpickling, so
a changed or damaged file is refused instead of being loaded.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hazina.credit.data import CreditDataset
from hazina.credit.model import CreditModel
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_registry_versions_max
from hazina.risk.data import file_fingerprint
from hazina.risk.drift import DriftProfile, DriftReport
from hazina.risk.registry import ModelUnreadableError, RegistryIndex

model_file_name = "model.pickle"


@dataclass(frozen=True, slots=True)
class CreditTrainingData:
    path: str
    fingerprint: str  # SHA-256 of the dataset file
    rows: int
    defaults: int
    target: str

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "defaults": self.defaults,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class CreditModelVersion:
    version: str
    family: str
    created_at: str
    metrics: dict[str, float | int]
    feature_names: tuple[str, ...]
    data: dict[str, Any]
    role: str  # champion, challenger or retired
    model_sha256: str


def numeric_matrix(features: Any, names: tuple[str, ...]) -> npt.NDArray[np.float64]:
    """Columns as floats for PSI; a categorical column becomes its category's code."""
    columns = []
    for name in names:
        column = features[name]
        if column.dtype == np.float64:
            columns.append(column.to_numpy(dtype=np.float64))
        else:
            codes = column.astype(str).astype("category").cat.codes.to_numpy()
            columns.append(codes.astype(np.float64))
    return np.column_stack(columns) if columns else np.empty((len(features), 0))


class CreditModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._file = RegistryIndex(root, credit_registry_versions_max, "credit model")

    def _index(self) -> dict[str, Any]:
        return self._file.read()

    def get(self, version: str) -> CreditModelVersion:
        index = self._index()
        self._file.require(index, version)
        entry = json.loads((self.root / version / "entry.json").read_text())
        return CreditModelVersion(
            version=version,
            family=str(entry["family"]),
            created_at=str(entry["created_at"]),
            metrics=dict(entry["metrics"]),
            feature_names=tuple(entry["feature_names"]),
            data=dict(entry["data"]),
            role=RegistryIndex.role(index, version),
            model_sha256=str(entry["model_sha256"]),
        )

    def versions(self) -> tuple[CreditModelVersion, ...]:
        return tuple(self.get(version) for version in self._index()["versions"])

    def champion(self) -> CreditModelVersion | None:
        champion = self._index()["champion"]
        return None if champion is None else self.get(str(champion))

    def register(
        self,
        model: CreditModel,
        dataset: CreditDataset,
        target: str,
        metrics: dict[str, float | int],
        created_at: str,
    ) -> CreditModelVersion:
        index = self._index()
        version = self._file.next_version(index)
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=False)
        payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        (folder / model_file_name).write_bytes(payload)
        probability = model.probability_of_default(dataset.features)
        profile = DriftProfile.of(
            numeric_matrix(dataset.features, model.feature_names), model.feature_names, probability
        )
        data = CreditTrainingData(
            path=str(dataset.path),
            fingerprint=file_fingerprint(dataset.path),
            rows=len(dataset.target),
            defaults=int(dataset.target.sum()),
            target=target,
        )
        entry = {
            "version": version,
            "family": model.family,
            "created_at": created_at,
            "metrics": metrics,
            "feature_names": list(model.feature_names),
            "data": data.to_json(),
            "model_sha256": hashlib.sha256(payload).hexdigest(),
            "drift_profile": profile.to_json(),
        }
        (folder / "entry.json").write_text(json.dumps(entry, indent=2))
        self._file.add(index, version)
        registered = self.get(version)
        invariant(registered.model_sha256 == entry["model_sha256"], "read back as written")
        return registered

    def load(self, version: str) -> CreditModel:
        entry = self.get(version)
        path = self.root / version / model_file_name
        try:
            payload = path.read_bytes()
        except OSError as error:
            raise ModelUnreadableError(f"{path}: {error}") from error
        if hashlib.sha256(payload).hexdigest() != entry.model_sha256:
            raise ModelUnreadableError(f"{path} is not the file that was registered")
        model: CreditModel = pickle.loads(payload)
        invariant(model.feature_names == entry.feature_names, "the registered features")
        return model

    def promote(self, version: str) -> CreditModelVersion:
        self._file.make_champion(self._index(), version)
        promoted = self.get(version)
        invariant(promoted.role == "champion", "promoted")
        return promoted

    def drift(self, version: str, features: Any) -> DriftReport:
        """PSI of each feature and of the predicted PD against the version's training data."""
        entry = json.loads((self.root / version / "entry.json").read_text())
        profile = DriftProfile.from_json(entry["drift_profile"])
        model = self.load(version)
        matrix = numeric_matrix(features, model.feature_names)
        return profile.report(matrix, model.probability_of_default(features))
