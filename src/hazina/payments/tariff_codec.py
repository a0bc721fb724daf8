"""Tariffs to and from JSON, for storage and for the HTTP API (amounts in minor units)."""

from __future__ import annotations

import json
from typing import Any

from hazina.payments.domain.tariffs import (
    FeeRule,
    Tariff,
    TariffError,
    TransactionTariff,
    TransactionType,
)


def _rule_to_dict(rule: FeeRule) -> dict[str, Any]:
    return {
        "amount_from": rule.amount_from,
        "amount_to": rule.amount_to,
        "flat": rule.flat,
        "percent_basis_points": rule.percent_basis_points,
        "minimum": rule.minimum,
        "maximum": rule.maximum,
    }


def tariff_to_dict(tariff: Tariff) -> dict[str, Any]:
    return {
        "version": tariff.version,
        "effective_from_ns": tariff.effective_from_ns,
        "currency": tariff.currency,
        "transactions": [
            {
                "transaction_type": entry.transaction_type.value,
                "customer_fee_rules": [_rule_to_dict(r) for r in entry.customer_fee_rules],
                "agent_commission_rules": [_rule_to_dict(r) for r in entry.agent_commission_rules],
                "merchant_discount_basis_points": entry.merchant_discount_basis_points,
                "biller_commission_basis_points": entry.biller_commission_basis_points,
            }
            for entry in tariff.transactions
        ],
    }


def _rule_from_dict(data: dict[str, Any]) -> FeeRule:
    return FeeRule(
        data["amount_from"],
        data["amount_to"],
        flat=data.get("flat", 0),
        percent_basis_points=data.get("percent_basis_points", 0),
        minimum=data.get("minimum", 0),
        maximum=data.get("maximum"),
    )


def tariff_from_dict(data: dict[str, Any]) -> Tariff:
    """Build a tariff; `TariffError` (code `tariff_invalid`) for anything malformed."""
    try:
        return Tariff(
            data["version"],
            data["effective_from_ns"],
            data["currency"],
            tuple(
                TransactionTariff(
                    TransactionType(entry["transaction_type"]),
                    tuple(_rule_from_dict(r) for r in entry["customer_fee_rules"]),
                    tuple(_rule_from_dict(r) for r in entry.get("agent_commission_rules", [])),
                    entry.get("merchant_discount_basis_points", 0),
                    entry.get("biller_commission_basis_points"),
                )
                for entry in data["transactions"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, TariffError):
            raise
        raise TariffError(f"malformed tariff: {error!r}") from None


def tariff_to_json(tariff: Tariff) -> str:
    return json.dumps(tariff_to_dict(tariff), sort_keys=True)


def tariff_from_json(text: str) -> Tariff:
    loaded: dict[str, Any] = json.loads(text)
    return tariff_from_dict(loaded)
