"""Where the shared public datasets live: `HAZINA_DATASETS`, else `../shared/datasets`.

The datasets are read in place and never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from hazina.kernel.invariant import invariant

DATASETS_ENVIRONMENT_VARIABLE = "HAZINA_DATASETS"


class DatasetMissingError(FileNotFoundError):
    """A dataset the caller asked for is not where the datasets root says it should be."""


def datasets_root() -> Path:
    """The datasets folder: `$HAZINA_DATASETS`, else `../shared/datasets` beside the project,
    else the nearest `shared/datasets` above the working directory."""
    configured = os.environ.get(DATASETS_ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    project_root = Path(__file__).resolve().parents[3]
    beside = project_root.parent / "shared" / "datasets"
    if beside.exists():
        return beside
    for ancestor in (Path.cwd(), *Path.cwd().parents):  # a checkout placed deeper
        candidate = ancestor / "shared" / "datasets"
        if candidate.exists():
            return candidate
    return beside


def dataset_path(*parts: str) -> Path:
    """A path inside the datasets folder; raises `DatasetMissingError` naming it when absent."""
    invariant(len(parts) > 0, "dataset_path needs at least one path part")
    path = datasets_root().joinpath(*parts)
    if not path.exists():
        raise DatasetMissingError(
            f"dataset {'/'.join(parts)!r} not found at {path}; "
            f"set {DATASETS_ENVIRONMENT_VARIABLE} to the folder holding the shared datasets"
        )
    return path
