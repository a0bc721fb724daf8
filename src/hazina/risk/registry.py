"""The model registry: every trained fraud model, what it was trained on, how it measured.

On disk, one folder:

```
registry.json          versions in order, and which one is champion and which challenger
v0001/model.json       the model (features, feature config, parameters) and its boosters
v0001/member_0.txt ...
v0001/entry.json       the version's record: metrics, training data, drift profile, time
```

The champion is the model the payment path uses; a challenger is scored alongside it (shadow)
until an operator promotes it. The first model registered becomes champion, later ones
challenger. `registry.json` is replaced atomically (written aside, then renamed), so a reader
never sees half of it. Asking for a version that is not there is an `UnknownModelVersionError`,
raised when the version is chosen, never at payment time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import risk_model_check_timeout_s, risk_registry_versions_max
from hazina.risk.data import file_fingerprint
from hazina.risk.drift import DriftProfile
from hazina.risk.model import FraudModel

registry_format_version = 1


class RegistryError(ValueError):
    """A registry folder that cannot be read or changed as asked."""


class UnknownModelVersionError(RegistryError, LookupError):
    """No model of that version in the registry."""

    code = "model_version_unknown"


class ModelUnreadableError(RegistryError):
    """A registered version whose files cannot be read back into a working model (missing,
    truncated or corrupt boosters, a broken `model.json` or drift profile)."""

    code = "model_unreadable"


@dataclass(frozen=True, slots=True)
class TrainingData:
    """What a model was trained on: enough to find the same data again and tell it apart."""

    description: str
    path: str
    fingerprint: str  # SHA-256 of the dataset file
    payments: int
    frauds: int
    train_from_s: int
    train_until_s: int
    test_from_s: int
    test_until_s: int

    def to_json(self) -> dict[str, object]:
        return {
            "description": self.description,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "payments": self.payments,
            "frauds": self.frauds,
            "train_from_s": self.train_from_s,
            "train_until_s": self.train_until_s,
            "test_from_s": self.test_from_s,
            "test_until_s": self.test_until_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingData:
        return cls(
            description=str(data["description"]),
            path=str(data["path"]),
            fingerprint=str(data["fingerprint"]),
            payments=int(data["payments"]),
            frauds=int(data["frauds"]),
            train_from_s=int(data["train_from_s"]),
            train_until_s=int(data["train_until_s"]),
            test_from_s=int(data["test_from_s"]),
            test_until_s=int(data["test_until_s"]),
        )


@dataclass(frozen=True, slots=True)
class ModelVersion:
    version: str
    created_at: str  # ISO 8601 with offset
    metrics: dict[str, float | int]
    feature_names: tuple[str, ...]
    data: TrainingData
    role: str  # champion, challenger or retired
    # SHA-256 of each file of the model (model.json, member_<n>.txt) as registered: LightGBM
    # aborts the whole process on a damaged booster file, so files are checked before it reads
    # them. Empty for versions registered before fingerprints were kept.
    files: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "created_at": self.created_at,
            "metrics": self.metrics,
            "feature_names": list(self.feature_names),
            "data": self.data.to_json(),
            "role": self.role,
            "files": dict(self.files),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], role: str) -> ModelVersion:
        return cls(
            version=str(data["version"]),
            created_at=str(data["created_at"]),
            metrics=dict(data["metrics"]),
            feature_names=tuple(data["feature_names"]),
            data=TrainingData.from_json(data["data"]),
            role=role,
            files=tuple(sorted((str(k), str(v)) for k, v in dict(data.get("files", {})).items())),
        )


class VersionedScorer:
    """A registered model as the payment path's scorer: a version, its features, and
    `score(values) -> (probability, contributions)`."""

    def __init__(self, version: str, model: FraudModel) -> None:
        self._version = version
        self.model = model

    @property
    def version(self) -> str:
        return self._version

    @property
    def feature_names(self) -> Sequence[str]:
        return self.model.feature_names

    def score(self, values: Sequence[float]) -> tuple[float, Sequence[float]]:
        probability, contributions = self.model.score_with_contributions(values)
        return probability, contributions.tolist()


class RegistryIndex:
    """A registry folder's `registry.json`: the versions in order, which is champion and which
    challenger. Read with its format checked, replaced atomically. Shared by the fraud and the
    credit model registries, whose entries and model files differ."""

    def __init__(self, root: Path, versions_max: int, what: str) -> None:
        self.root = root
        self.versions_max = versions_max
        self.what = what  # "model", "credit model": for messages

    def read(self) -> dict[str, Any]:
        path = self.root / "registry.json"
        if not path.exists():
            return {
                "format_version": registry_format_version,
                "versions": [],
                "champion": None,
                "challenger": None,
            }
        try:
            index: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise RegistryError(f"{path} is not valid JSON: {error}") from error
        if index.get("format_version") != registry_format_version:
            raise RegistryError(f"{path}: registry format {index.get('format_version')}")
        return index

    def write(self, index: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "registry.json"
        aside = self.root / "registry.json.writing"
        aside.write_text(json.dumps(index, indent=2) + "\n")
        os.replace(aside, path)

    @staticmethod
    def role(index: dict[str, Any], version: str) -> str:
        if index["champion"] == version:
            return "champion"
        if index["challenger"] == version:
            return "challenger"
        return "retired"

    def require(self, index: dict[str, Any], version: str) -> None:
        if version not in index["versions"]:
            known = ", ".join(index["versions"]) or "none"
            raise UnknownModelVersionError(
                f"no {self.what} version {version!r} (registered: {known})"
            )

    def next_version(self, index: dict[str, Any]) -> str:
        if len(index["versions"]) >= self.versions_max:
            raise RegistryError(f"the registry holds {self.versions_max} versions, its limit")
        return f"v{len(index['versions']) + 1:04d}"

    def add(self, index: dict[str, Any], version: str) -> None:
        """Record a new version: champion when there is none yet, else challenger."""
        index["versions"].append(version)
        if index["champion"] is None:
            index["champion"] = version
        else:
            index["challenger"] = version
        self.write(index)

    def make_champion(self, index: dict[str, Any], version: str) -> None:
        """`version` becomes champion; the old champion retires."""
        self.require(index, version)
        if index["challenger"] == version:
            index["challenger"] = None
        index["champion"] = version
        self.write(index)


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._file = RegistryIndex(root, risk_registry_versions_max, "model")

    # -- reading -------------------------------------------------------------------------------

    def _index(self) -> dict[str, Any]:
        return self._file.read()

    def _role(self, index: dict[str, Any], version: str) -> str:
        return RegistryIndex.role(index, version)

    def versions(self) -> tuple[ModelVersion, ...]:
        index = self._index()
        return tuple(self._entry(index, version) for version in index["versions"])

    def _entry(self, index: dict[str, Any], version: str) -> ModelVersion:
        path = self.root / version / "entry.json"
        return ModelVersion.from_json(json.loads(path.read_text()), self._role(index, version))

    def get(self, version: str) -> ModelVersion:
        index = self._index()
        self._file.require(index, version)
        return self._entry(index, version)

    def champion(self) -> ModelVersion | None:
        index = self._index()
        return None if index["champion"] is None else self._entry(index, index["champion"])

    def challenger(self) -> ModelVersion | None:
        index = self._index()
        return None if index["challenger"] is None else self._entry(index, index["challenger"])

    def load(self, version: str) -> FraudModel:
        """The model of `version`, checked: its boosters load and score a row of missing
        values to a probability. Anything else is a `ModelUnreadableError` (never deferred to
        payment time)."""
        entry = self.get(version)
        folder = self.root / version
        if entry.files:
            _check_fingerprints(folder, entry.files, version)
        else:
            _check_loads_apart(folder, version)
        try:
            model = FraudModel.load(folder)
            probability = model.score([float("nan")] * len(model.feature_names))
        except Exception as error:  # lightgbm, JSON, OS and format errors alike
            raise ModelUnreadableError(
                f"model {version} in {self.root} cannot be loaded: {type(error).__name__}: {error}"
            ) from error
        if tuple(model.feature_names) != entry.feature_names:
            raise ModelUnreadableError(
                f"model {version} in {self.root}: its model.json and entry.json name other features"
            )
        if not 0.0 <= probability <= 1.0:
            raise ModelUnreadableError(f"model {version} scores outside [0, 1]: {probability}")
        return model

    def scorer(self, version: str | None = None) -> VersionedScorer:
        """The champion (or `version`) ready for the payment path."""
        chosen = version
        if chosen is None:
            champion = self.champion()
            if champion is None:
                raise UnknownModelVersionError(f"the registry at {self.root} has no champion")
            chosen = champion.version
        return VersionedScorer(chosen, self.load(chosen))

    def drift_profile(self, version: str) -> DriftProfile:
        self.get(version)
        path = self.root / version / "drift.json"
        try:
            return DriftProfile.from_json(json.loads(path.read_text()))
        except (OSError, ValueError) as error:  # DriftProfileError and JSON errors are both
            raise ModelUnreadableError(
                f"the drift profile of model {version} cannot be read: {error}"
            ) from error

    # -- writing -------------------------------------------------------------------------------

    def register(
        self,
        model: FraudModel,
        *,
        metrics: dict[str, float | int],
        data: TrainingData,
        drift: DriftProfile,
        created_at: datetime,
    ) -> ModelVersion:
        """Store a new version: champion when there is none yet, else challenger."""
        invariant(created_at.tzinfo is not None, "registry times carry their UTC offset")
        index = self._index()
        version = self._file.next_version(index)
        folder = self.root / version
        if folder.exists():
            raise RegistryError(f"{folder} exists but is not in the registry index")
        model.save(folder)
        entry = ModelVersion(
            version=version,
            created_at=created_at.isoformat(),
            metrics=dict(metrics),
            feature_names=model.feature_names,
            data=data,
            role="",
            files=tuple(
                (path.name, file_fingerprint(path))
                for path in sorted(folder.iterdir())
                if path.name == "model.json" or path.name.startswith("member_")
            ),
        )
        (folder / "entry.json").write_text(json.dumps(entry.to_json(), indent=2) + "\n")
        (folder / "drift.json").write_text(json.dumps(drift.to_json()) + "\n")
        self._file.add(index, version)
        return self.get(version)

    def promote(self, version: str) -> ModelVersion:
        """Make `version` the champion; the old champion retires. A version whose files do not
        load into a working model is refused here (`ModelUnreadableError`), so a server never
        meets it."""
        index = self._index()
        self.load(version)
        self.drift_profile(version)
        self._file.make_champion(index, version)
        return self.get(version)

    def set_challenger(self, version: str | None) -> None:
        index = self._index()
        if version is not None:
            self.get(version)
            invariant(index["champion"] != version, "the champion cannot challenge itself")
        index["challenger"] = version
        self._file.write(index)


def _check_fingerprints(folder: Path, files: tuple[tuple[str, str], ...], version: str) -> None:
    """Every file of the model as registered, before LightGBM reads any of them."""
    for name, expected in files:
        path = folder / name
        if not path.is_file():
            raise ModelUnreadableError(f"model {version} cannot be loaded: {name} is missing")
        if file_fingerprint(path) != expected:
            raise ModelUnreadableError(
                f"model {version} cannot be loaded: {name} changed since it was registered "
                "(damaged or replaced)"
            )


def _check_loads_apart(folder: Path, version: str) -> None:
    """A version without fingerprints is loaded once in a child process first: a damaged
    booster aborts that process, not this one."""
    program = "import sys; from pathlib import Path; from hazina.risk.model import FraudModel; "
    program += "FraudModel.load(Path(sys.argv[1]))"
    try:
        child = subprocess.run(
            [sys.executable, "-c", program, str(folder)],
            capture_output=True,
            text=True,
            errors="replace",  # LightGBM echoes the damaged bytes
            timeout=risk_model_check_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ModelUnreadableError(f"model {version} took too long to load") from error
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        raise ModelUnreadableError(f"model {version} cannot be loaded: {last}")


def compare_on(
    champion: FraudModel, challenger: FraudModel, matrix: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """Both models' scores on the same payments (rows: champion, challenger), for shadow
    comparison before a promotion."""
    invariant(champion.feature_names == challenger.feature_names, "the same features")
    return np.vstack([champion.score_batch(matrix), challenger.score_batch(matrix)])
