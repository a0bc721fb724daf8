"""goAML export: well-formed, required elements in schema order, values round-trip."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ElementTree
from datetime import datetime

import pytest

from hazina.risk.aml.case_model import (
    CaseEvidence,
    CaseOutcome,
    CaseStatus,
    EvidenceAccount,
    EvidenceTransaction,
)
from hazina.risk.aml.cases import Case, CaseAlert, CaseDetail
from hazina.risk.aml.goaml import (
    ACCOUNT_ORDER,
    REPORT_ORDER,
    REPORT_REQUIRED,
    TRANSACTION_ORDER,
    GoamlError,
    ReportAccount,
    ReportCodes,
    ReportingEntity,
    ReportingPerson,
    parse_report,
    platform_account,
    render_report,
    report_from_case,
)

ENTITY = ReportingEntity(
    rentity_id=4711,
    institution_name="Hazina Mobile Money",
    institution_code="HZMM",
    country="KE",
    currency_code_local="KES",
    rentity_branch="HQ",
)
PERSON = ReportingPerson("Wanjiru", "Otieno", title="MLRO", email="mlro@example.org")
CODES = ReportCodes()
SECOND = 1_000_000_000


def _detail() -> CaseDetail:
    case = Case(
        id=900,
        subject_account=2,
        status=CaseStatus.closed,
        typology="cycle",
        scenarios=("cycle", "structuring"),
        summary="s",
        assignee="analyst",
        outcome=CaseOutcome.escalated_str_filed,
        report_reference="draft",
        neighbourhood_truncated=False,
        opened_by="monitor",
        opened_at_ns=0,
        updated_at_ns=0,
        closed_at_ns=1,
        version=5,
    )
    transactions = (
        EvidenceTransaction(11, 1, 2, 125_050, "KES", 1_700_000_000 * SECOND),
        EvidenceTransaction(12, 2, 3, 125_000, "KES", 1_700_003_600 * SECOND + 999),
    )
    alerts = (
        CaseAlert("cycle", "Cycle: on 1 cycle & <more>.", (11, 12), (1, 3), 0),
        CaseAlert("structuring", "Split transfers: sent 2.", (12,), (3,), 0),
    )
    accounts = (EvidenceAccount(2, 0), EvidenceAccount(1, 1), EvidenceAccount(3, 1))
    return CaseDetail(case, alerts, (), CaseEvidence(transactions, accounts, False))


def _account_of(account_id: int) -> ReportAccount:
    if account_id == 3:  # held elsewhere
        return ReportAccount("Other Bank", "OTHRKENA", "0033", my_client=False)
    return platform_account(ENTITY, account_id, CODES, name=f"Customer {account_id}")


def _report() -> bytes:
    report = report_from_case(
        _detail(), ENTITY, PERSON, 1_700_100_000 * SECOND, "Account frozen", _account_of
    )
    return render_report(report)


def _in_order(tags: list[str], order: tuple[str, ...]) -> bool:
    positions = [order.index(tag) for tag in tags]
    return positions == sorted(positions)


def test_the_report_is_well_formed_xml_with_the_required_elements_in_schema_order() -> None:
    document = _report()
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ElementTree.fromstring(document)
    assert root.tag == "report"
    tags = [child.tag for child in root]
    assert set(REPORT_REQUIRED) <= set(tags)
    assert set(tags) <= set(REPORT_ORDER)
    assert _in_order(tags, REPORT_ORDER)
    assert root.findtext("report_code") == "STR"
    assert root.findtext("submission_code") == "E"
    assert root.findtext("rentity_id") == "4711"
    assert root.findtext("currency_code_local") == "KES"
    assert root.findtext("submission_date") == "2023-11-16T02:00:00"
    assert root.findtext("entity_reference") == "900"
    for transaction in root.findall("transaction"):
        assert _in_order([child.tag for child in transaction], TRANSACTION_ORDER)
        for account in transaction.iter():
            if account.tag in ("from_account", "to_account"):
                assert _in_order([child.tag for child in account], ACCOUNT_ORDER)
    first, second = root.findall("transaction")
    assert first.findtext("amount_local") == "1250.50"
    assert first.findtext("date_transaction") == "2023-11-14T22:13:20"
    assert first.find("t_from_my_client/from_account/account") is not None
    assert second.find("t_to/to_account/institution_name") is not None  # not our client
    assert second.find("t_to_my_client") is None
    assert [node.text for node in root.findall("report_indicators/indicator")] == [
        "ROUND_TRIPPING",
        "STRUCTURING",
    ]


def test_values_round_trip_through_the_xml() -> None:
    report = report_from_case(
        _detail(), ENTITY, PERSON, 1_700_100_000 * SECOND, "Account frozen", _account_of
    )
    again = parse_report(render_report(report))
    assert again == report
    assert again.reason == "Cycle: on 1 cycle & <more>. Split transfers: sent 2."
    assert again.transactions[1].source.opened == datetime(1970, 1, 1)


def test_what_goaml_cannot_hold_is_refused() -> None:
    detail = _detail()
    foreign = dataclasses.replace(
        detail,
        evidence=dataclasses.replace(
            detail.evidence,
            transactions=(dataclasses.replace(detail.evidence.transactions[0], currency="USD"),),
        ),
    )
    with pytest.raises(GoamlError, match="foreign-currency"):
        report_from_case(foreign, ENTITY, PERSON, 0, "a", _account_of)
    empty = dataclasses.replace(
        detail, evidence=dataclasses.replace(detail.evidence, transactions=())
    )
    with pytest.raises(GoamlError, match="no evidence"):
        report_from_case(empty, ENTITY, PERSON, 0, "a", _account_of)

    def incomplete(account_id: int) -> ReportAccount:
        return ReportAccount("Hazina", "HZMM", str(account_id), my_client=True)

    report = report_from_case(detail, ENTITY, PERSON, 0, "a", incomplete)
    with pytest.raises(GoamlError, match="lacks currency_code"):
        render_report(report)
    with pytest.raises(GoamlError, match="at most 4000"):
        render_report(dataclasses.replace(report, action="x" * 4_001))
    with pytest.raises(GoamlError, match="not well-formed"):
        parse_report(b"<report><rentity_id>1</report>")
    with pytest.raises(GoamlError, match="lacks <reporting_person>"):
        parse_report(b"<report><rentity_id>1</rentity_id></report>")
