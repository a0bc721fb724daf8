"""Credit model governance: versions, their data, champion and challenger, checks, PSI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hazina.credit import scorecard
from hazina.credit.data import CreditDataset, load_table
from hazina.credit.registry import CreditModelRegistry
from hazina.risk.data import file_fingerprint
from hazina.risk.registry import ModelUnreadableError, UnknownModelVersionError
from tests.unit.credit.synthetic import write_applicants


@pytest.fixture(scope="module")
def applicants(tmp_path_factory: pytest.TempPathFactory) -> CreditDataset:
    path = write_applicants(tmp_path_factory.mktemp("credit") / "applicants.csv", rows=1_500)
    return load_table(path, "status", drop=["applicant_id"])


def test_first_is_champion_later_challenger_then_promoted(
    applicants: CreditDataset, tmp_path: Path
) -> None:
    registry = CreditModelRegistry(tmp_path / "models")
    model = scorecard.fit(applicants)
    first = registry.register(model, applicants, "status", {"holdout_roc_auc": 0.8}, "2026-12-06")
    second = registry.register(model, applicants, "status", {"holdout_roc_auc": 0.81}, "2026-12-07")
    assert (first.version, first.role) == ("v0001", "champion")
    assert (second.version, second.role) == ("v0002", "challenger")
    assert first.data["fingerprint"] == file_fingerprint(applicants.path)
    assert first.data["defaults"] == int(applicants.target.sum())
    registry.promote("v0002")
    roles = {entry.version: entry.role for entry in registry.versions()}
    assert roles == {"v0001": "retired", "v0002": "champion"}
    loaded = registry.load("v0002")
    sample = applicants.features.iloc[:20]
    assert np.allclose(loaded.probability_of_default(sample), model.probability_of_default(sample))
    with pytest.raises(UnknownModelVersionError):
        registry.load("v0009")


def test_a_changed_model_file_is_refused_before_it_is_unpickled(
    applicants: CreditDataset, tmp_path: Path
) -> None:
    registry = CreditModelRegistry(tmp_path / "models")
    registry.register(scorecard.fit(applicants), applicants, "status", {}, "2026-12-06")
    path = tmp_path / "models" / "v0001" / "model.pickle"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelUnreadableError, match="not the file"):
        registry.load("v0001")


def test_drift_is_stable_on_training_data_and_flags_a_shifted_population(
    applicants: CreditDataset, tmp_path: Path
) -> None:
    registry = CreditModelRegistry(tmp_path / "models")
    registry.register(scorecard.fit(applicants), applicants, "status", {}, "2026-12-06")
    same = registry.drift("v0001", applicants.features)
    assert same.score_psi < 0.01
    shifted = applicants.features.copy()
    shifted["utilisation"] = shifted["utilisation"] + 0.5
    report = registry.drift("v0001", shifted)
    assert report.most_shifted(1)[0][0] == "utilisation"
    assert report.score_psi > 0.1
