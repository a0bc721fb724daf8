"""Product validation and the ranges an application must fall in."""

from __future__ import annotations

import dataclasses

import pytest

from hazina.credit.loans.domain.products import (
    InterestMethod,
    LoanProduct,
    ProductError,
    check_application,
    validate_product,
)

PRODUCT = LoanProduct(
    1, "Biashara 30", "KES", 100_000, 5_000_000, 1, 6, 30, InterestMethod.declining,
    500, 150, 0, 20_000, 5, 2_000, 1,
)  # fmt: skip


def test_a_sensible_product_is_valid_and_prices_its_fee_half_up() -> None:
    assert validate_product(PRODUCT) is PRODUCT
    assert PRODUCT.upfront_fee(1_000_000) == 15_000
    assert PRODUCT.upfront_fee(100_001) == 1_500  # 1500.015 -> 1500


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": " "}, "product_name_missing"),
        ({"amount_min": 0}, "product_amounts_invalid"),
        ({"amount_min": 6_000_000}, "product_amounts_invalid"),
        ({"term_max": 121}, "product_terms_invalid"),
        ({"period_days": 0}, "product_period_invalid"),
        ({"rate_bps": 10_001}, "product_rate_invalid"),
        ({"fee_bps": 10_000}, "product_fee_invalid"),
        ({"grace_installments": 1}, "product_grace_invalid"),
        ({"penalty_fee": -1}, "product_penalty_invalid"),
        ({"max_default_probability_bps": 0}, "product_cutoff_invalid"),
        ({"min_kyc_tier": 4}, "product_kyc_invalid"),
    ],
)
def test_each_invalid_product_names_its_fault(change: dict[str, object], code: str) -> None:
    with pytest.raises(ProductError) as caught:
        validate_product(dataclasses.replace(PRODUCT, **change))  # type: ignore[arg-type]
    assert caught.value.code == code


def test_applications_outside_the_ranges_are_named() -> None:
    assert check_application(PRODUCT, 100_000, 1) is None
    assert check_application(PRODUCT, 5_000_000, 6) is None
    assert check_application(PRODUCT, 99_999, 3) is not None
    assert check_application(PRODUCT, 99_999, 3)[0] == "amount_outside_product"  # type: ignore[index]
    assert check_application(PRODUCT, 5_000_001, 3)[0] == "amount_outside_product"  # type: ignore[index]
    assert check_application(PRODUCT, 100_000, 7)[0] == "term_outside_product"  # type: ignore[index]
    assert check_application(PRODUCT, 100_000, 0)[0] == "term_outside_product"  # type: ignore[index]
