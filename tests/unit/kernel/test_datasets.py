from pathlib import Path

import pytest

from hazina.kernel.datasets import DatasetMissingError, dataset_path, datasets_root


def test_environment_variable_names_the_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "banking77").mkdir()
    monkeypatch.setenv("HAZINA_DATASETS", str(tmp_path))
    assert datasets_root() == tmp_path
    assert dataset_path("banking77") == tmp_path / "banking77"


def test_missing_dataset_names_the_path_and_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAZINA_DATASETS", str(tmp_path))
    with pytest.raises(DatasetMissingError, match="HAZINA_DATASETS") as raised:
        dataset_path("no_such_dataset", "x.csv")
    assert str(tmp_path / "no_such_dataset" / "x.csv") in str(raised.value)


def test_default_root_is_the_shared_folder_beside_the_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HAZINA_DATASETS", raising=False)
    root = datasets_root()
    assert root.parts[-2:] == ("shared", "datasets")
    assert root.is_absolute()
