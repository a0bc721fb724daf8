"""Reading any credit table: which value means default, features, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest

from hazina.credit.data import CreditDataError, default_flag, load_table
from tests.unit.credit.synthetic import write_applicants


def test_numeric_zero_one_target_means_one_is_default() -> None:
    assert default_flag(pd.Series([0, 1, 1, 0], name="y")).tolist() == [0, 1, 1, 0]


def test_text_target_reads_the_default_label_whatever_its_case() -> None:
    flags = default_flag(pd.Series(["Good", "Bad", " bad", "Good"], name="y"))
    assert flags.tolist() == [0, 1, 1, 0]


def test_bad_value_given_wins_and_unknown_labels_are_refused() -> None:
    column = pd.Series(["paid", "charged off", "paid"], name="outcome")
    with pytest.raises(CreditDataError, match="cannot tell"):
        default_flag(column)
    assert default_flag(column, "charged off").tolist() == [0, 1, 0]
    with pytest.raises(CreditDataError, match="no row"):
        default_flag(column, "written off")


def test_load_table_types_columns_and_drops_ids(tmp_path: Path) -> None:
    path = write_applicants(tmp_path / "applicants.csv", rows=300)
    dataset = load_table(path, "status", drop=["applicant_id"], special_codes=[-9])
    assert "applicant_id" not in dataset.feature_names
    assert dataset.categorical_names == ("region",)
    assert len(dataset.target) == 300
    assert 0.0 < dataset.default_rate < 1.0
    assert dataset.special_codes == (-9.0,)


def test_load_table_refuses_a_missing_target_or_drop_column(tmp_path: Path) -> None:
    path = write_applicants(tmp_path / "applicants.csv", rows=50)
    with pytest.raises(CreditDataError, match="no column 'defaulted'"):
        load_table(path, "defaulted")
    with pytest.raises(CreditDataError, match="to drop"):
        load_table(path, "status", drop=["customer"])
