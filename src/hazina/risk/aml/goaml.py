"""Suspicious-transaction reports in the goAML XML format of the UNODC (financial intelligence
units' intake format), built from a case and written with `xml.etree.ElementTree`.

A faithful subset of the goAML 4/5 `report` schema: the elements below, in the schema's
order, with the schema's names; everything optional that the platform does not know is left
out. Transactions are bi-party (`t_from_my_client`/`t_from` then `t_to_my_client`/`t_to`),
each side an account. Lookup values (submission, transmode, funds, account type and status
codes, indicators) come from the FIU's own lists and are passed in; the defaults are examples.

    report: rentity_id, rentity_branch?, submission_code, report_code, entity_reference?,
            submission_date, currency_code_local, reporting_person, reason, action,
            transaction+, report_indicators?
    reporting_person: title?, first_name, last_name, email?, occupation?
    transaction: transactionnumber, internal_ref_number?, transaction_description?,
                 date_transaction, transmode_code, amount_local,
                 (t_from_my_client | t_from), (t_to_my_client | t_to), comments?
    t_from_my_client / t_from: from_funds_code, from_account, from_country
    t_to_my_client / t_to: to_funds_code, to_account, to_country
    from_account / to_account: institution_name, institution_code, non_bank_institution?,
                 account, currency_code?, account_name?, client_number?,
                 personal_account_type?, opened?, status_code?
                 (a my-client account must carry currency_code, client_number,
                  personal_account_type, opened and status_code)
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hazina.kernel.invariant import invariant
from hazina.kernel.limits import aml_report_transactions_max
from hazina.kernel.money import currency as currency_of
from hazina.risk.aml.case_model import EvidenceTransaction
from hazina.risk.aml.cases import CaseDetail

REPORT_ORDER = (
    "rentity_id",
    "rentity_branch",
    "submission_code",
    "report_code",
    "entity_reference",
    "submission_date",
    "currency_code_local",
    "reporting_person",
    "reason",
    "action",
    "transaction",
    "report_indicators",
)
REPORT_REQUIRED = (
    "rentity_id",
    "submission_code",
    "report_code",
    "submission_date",
    "currency_code_local",
    "reporting_person",
    "reason",
    "action",
    "transaction",
)
PERSON_ORDER = ("title", "first_name", "last_name", "email", "occupation")
TRANSACTION_ORDER = (
    "transactionnumber",
    "internal_ref_number",
    "transaction_description",
    "date_transaction",
    "transmode_code",
    "amount_local",
    "t_from_my_client",
    "t_from",
    "t_to_my_client",
    "t_to",
    "comments",
)
ACCOUNT_ORDER = (
    "institution_name",
    "institution_code",
    "non_bank_institution",
    "account",
    "currency_code",
    "account_name",
    "client_number",
    "personal_account_type",
    "opened",
    "status_code",
)
MY_CLIENT_ACCOUNT_REQUIRED = (
    "currency_code",
    "client_number",
    "personal_account_type",
    "opened",
    "status_code",
)
TEXT_LENGTH_MAX = 4_000  # characters of reason, action, description and comments (goAML)


class GoamlError(ValueError):
    """A report that cannot be written (or read) as goAML; the message says why."""


@dataclass(frozen=True, slots=True)
class ReportingEntity:
    rentity_id: int  # the reporting entity's number at the FIU
    institution_name: str
    institution_code: str
    country: str  # ISO 3166-1 alpha-2
    currency_code_local: str  # ISO 4217
    rentity_branch: str | None = None
    non_bank_institution: bool = True  # a mobile-money operator is not a bank


@dataclass(frozen=True, slots=True)
class ReportingPerson:
    first_name: str
    last_name: str
    title: str | None = None
    email: str | None = None
    occupation: str | None = None


@dataclass(frozen=True, slots=True)
class ReportAccount:
    institution_name: str
    institution_code: str
    account: str
    my_client: bool  # held at the reporting entity: t_*_my_client, more fields required
    non_bank_institution: bool | None = None
    currency_code: str | None = None
    account_name: str | None = None
    client_number: str | None = None
    personal_account_type: str | None = None
    opened: datetime | None = None
    status_code: str | None = None


@dataclass(frozen=True, slots=True)
class ReportTransaction:
    transactionnumber: str
    date_transaction: datetime  # UTC, written without zone as goAML wants
    transmode_code: str
    amount_local: str  # decimal string in the local currency, e.g. "1250.00"
    source: ReportAccount
    source_funds_code: str
    source_country: str
    destination: ReportAccount
    destination_funds_code: str
    destination_country: str
    internal_ref_number: str | None = None
    transaction_description: str | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class StrReport:
    rentity_id: int
    submission_code: str  # "E" electronic, "M" manual
    report_code: str  # "STR"
    submission_date: datetime
    currency_code_local: str
    reporting_person: ReportingPerson
    reason: str
    action: str
    transactions: tuple[ReportTransaction, ...]
    rentity_branch: str | None = None
    entity_reference: str | None = None  # the reporting entity's own reference: the case
    indicators: tuple[str, ...] = ()


# -- writing ------------------------------------------------------------------------------------


def _date(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _text(parent: ElementTree.Element, tag: str, value: str | None) -> None:
    if value is None:
        return
    element = ElementTree.SubElement(parent, tag)
    element.text = value


def _long_text(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > TEXT_LENGTH_MAX:
        raise GoamlError(f"{name} holds at most {TEXT_LENGTH_MAX} characters")
    return value


def _account(parent: ElementTree.Element, tag: str, account: ReportAccount) -> None:
    if account.my_client:
        missing = [name for name in MY_CLIENT_ACCOUNT_REQUIRED if getattr(account, name) is None]
        if missing:
            raise GoamlError(f"my-client account {account.account} lacks {', '.join(missing)}")
    node = ElementTree.SubElement(parent, tag)
    _text(node, "institution_name", account.institution_name)
    _text(node, "institution_code", account.institution_code)
    if account.non_bank_institution is not None:
        _text(node, "non_bank_institution", "true" if account.non_bank_institution else "false")
    _text(node, "account", account.account)
    _text(node, "currency_code", account.currency_code)
    _text(node, "account_name", account.account_name)
    _text(node, "client_number", account.client_number)
    _text(node, "personal_account_type", account.personal_account_type)
    _text(node, "opened", _date(account.opened) if account.opened is not None else None)
    _text(node, "status_code", account.status_code)


def _side(
    parent: ElementTree.Element,
    direction: str,
    account: ReportAccount,
    funds_code: str,
    country: str,
) -> None:
    wrapper = f"t_{direction}_my_client" if account.my_client else f"t_{direction}"
    node = ElementTree.SubElement(parent, wrapper)
    _text(node, f"{direction}_funds_code", funds_code)
    _account(node, f"{direction}_account", account)
    _text(node, f"{direction}_country", country)


def report_element(report: StrReport) -> ElementTree.Element:
    """The `<report>` element, children in schema order."""
    if not report.transactions:
        raise GoamlError("an STR needs at least one transaction")
    if len(report.transactions) > aml_report_transactions_max:
        raise GoamlError(f"at most {aml_report_transactions_max} transactions per report")
    root = ElementTree.Element("report")
    _text(root, "rentity_id", str(report.rentity_id))
    _text(root, "rentity_branch", report.rentity_branch)
    _text(root, "submission_code", report.submission_code)
    _text(root, "report_code", report.report_code)
    _text(root, "entity_reference", report.entity_reference)
    _text(root, "submission_date", _date(report.submission_date))
    _text(root, "currency_code_local", report.currency_code_local)
    person = ElementTree.SubElement(root, "reporting_person")
    for name in PERSON_ORDER:
        _text(person, name, getattr(report.reporting_person, name))
    _text(root, "reason", _long_text("reason", report.reason))
    _text(root, "action", _long_text("action", report.action))
    for item in report.transactions:
        node = ElementTree.SubElement(root, "transaction")
        _text(node, "transactionnumber", item.transactionnumber)
        _text(node, "internal_ref_number", item.internal_ref_number)
        _text(
            node,
            "transaction_description",
            _long_text("transaction_description", item.transaction_description),
        )
        _text(node, "date_transaction", _date(item.date_transaction))
        _text(node, "transmode_code", item.transmode_code)
        _text(node, "amount_local", item.amount_local)
        _side(node, "from", item.source, item.source_funds_code, item.source_country)
        _side(node, "to", item.destination, item.destination_funds_code, item.destination_country)
        _text(node, "comments", _long_text("comments", item.comments))
    if report.indicators:
        indicators = ElementTree.SubElement(root, "report_indicators")
        for code in report.indicators:
            _text(indicators, "indicator", code)
    invariant(
        [child.tag for child in root if child.tag in REPORT_REQUIRED][:7]
        == list(REPORT_REQUIRED[:7]),
        "the header comes in schema order",
    )
    return root


def render_report(report: StrReport) -> bytes:
    """The report as a UTF-8 XML document with its declaration, indented."""
    root = report_element(report)
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


# -- reading (for round trips and for checking a file before it is sent) -------------------------


def _child(parent: ElementTree.Element, tag: str) -> ElementTree.Element:
    node = parent.find(tag)
    if node is None:
        raise GoamlError(f"<{parent.tag}> lacks <{tag}>")
    return node


def _required(parent: ElementTree.Element, tag: str) -> str:
    return _child(parent, tag).text or ""


def _optional(parent: ElementTree.Element, tag: str) -> str | None:
    node = parent.find(tag)
    return None if node is None else (node.text or "")


def _parse_date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise GoamlError(f"not a goAML date: {text!r}") from None


def _parse_account(node: ElementTree.Element, my_client: bool) -> ReportAccount:
    non_bank = _optional(node, "non_bank_institution")
    opened = _optional(node, "opened")
    return ReportAccount(
        institution_name=_required(node, "institution_name"),
        institution_code=_required(node, "institution_code"),
        account=_required(node, "account"),
        my_client=my_client,
        non_bank_institution=None if non_bank is None else non_bank == "true",
        currency_code=_optional(node, "currency_code"),
        account_name=_optional(node, "account_name"),
        client_number=_optional(node, "client_number"),
        personal_account_type=_optional(node, "personal_account_type"),
        opened=_parse_date(opened) if opened is not None else None,
        status_code=_optional(node, "status_code"),
    )


def _parse_side(node: ElementTree.Element, direction: str) -> tuple[ReportAccount, str, str]:
    mine = node.find(f"t_{direction}_my_client")
    side = mine if mine is not None else _child(node, f"t_{direction}")
    account = _parse_account(_child(side, f"{direction}_account"), mine is not None)
    return (
        account,
        _required(side, f"{direction}_funds_code"),
        _required(side, f"{direction}_country"),
    )


def parse_report(data: bytes) -> StrReport:
    """Read a report written by `render_report` back (a subset reader, not a validator)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise GoamlError(f"not well-formed XML: {error}") from None
    if root.tag != "report":
        raise GoamlError(f"the root element is <{root.tag}>, not <report>")
    person_node = _child(root, "reporting_person")
    person = ReportingPerson(
        first_name=_required(person_node, "first_name"),
        last_name=_required(person_node, "last_name"),
        title=_optional(person_node, "title"),
        email=_optional(person_node, "email"),
        occupation=_optional(person_node, "occupation"),
    )
    transactions = []
    for node in root.findall("transaction"):
        source, source_funds, source_country = _parse_side(node, "from")
        destination, destination_funds, destination_country = _parse_side(node, "to")
        transactions.append(
            ReportTransaction(
                transactionnumber=_required(node, "transactionnumber"),
                date_transaction=_parse_date(_required(node, "date_transaction")),
                transmode_code=_required(node, "transmode_code"),
                amount_local=_required(node, "amount_local"),
                source=source,
                source_funds_code=source_funds,
                source_country=source_country,
                destination=destination,
                destination_funds_code=destination_funds,
                destination_country=destination_country,
                internal_ref_number=_optional(node, "internal_ref_number"),
                transaction_description=_optional(node, "transaction_description"),
                comments=_optional(node, "comments"),
            )
        )
    indicators_node = root.find("report_indicators")
    indicators = (
        tuple(node.text or "" for node in indicators_node.findall("indicator"))
        if indicators_node is not None
        else ()
    )
    try:
        rentity_id = int(_required(root, "rentity_id"))
    except ValueError:
        raise GoamlError("rentity_id must be a number") from None
    return StrReport(
        rentity_id=rentity_id,
        submission_code=_required(root, "submission_code"),
        report_code=_required(root, "report_code"),
        submission_date=_parse_date(_required(root, "submission_date")),
        currency_code_local=_required(root, "currency_code_local"),
        reporting_person=person,
        reason=_required(root, "reason"),
        action=_required(root, "action"),
        transactions=tuple(transactions),
        rentity_branch=_optional(root, "rentity_branch"),
        entity_reference=_optional(root, "entity_reference"),
        indicators=indicators,
    )


# -- from a case --------------------------------------------------------------------------------

# Example indicator codes per scenario; each FIU publishes its own list.
DEFAULT_INDICATORS = {
    "structuring": "STRUCTURING",
    "rapid_pass_through": "RAPID_MOVEMENT_OF_FUNDS",
    "fan_in": "MULTIPLE_DEPOSITORS",
    "fan_out": "MULTIPLE_BENEFICIARIES",
    "cycle": "ROUND_TRIPPING",
    "dormant_then_active": "DORMANT_ACCOUNT_ACTIVITY",
    "model": "UNUSUAL_ACTIVITY",
}


@dataclass(frozen=True, slots=True)
class ReportCodes:
    """The FIU lookup values the report uses (examples by default)."""

    submission_code: str = "E"
    transmode_code: str = "MOBILE"  # mobile-money transfer
    funds_code: str = "E"  # electronic transfer
    personal_account_type: str = "W"  # a wallet
    status_code: str = "A"  # active
    indicators: tuple[tuple[str, str], ...] = tuple(DEFAULT_INDICATORS.items())


def utc_datetime(timestamp_ns: int) -> datetime:
    """Nanoseconds since the epoch as a naive UTC time to the second (goAML has no zones)."""
    seconds = timestamp_ns // 1_000_000_000
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _amount(item: EvidenceTransaction, local_currency: str) -> str:
    if item.currency != local_currency:
        raise GoamlError(
            f"transaction {item.transaction_id} is in {item.currency}, not {local_currency}:"
            " foreign-currency amounts are not in this subset"
        )
    digits = currency_of(item.currency).minor_units
    whole, fraction = divmod(item.amount, 10**digits)
    return f"{whole}.{fraction:0{digits}d}" if digits else str(whole)


def platform_account(
    entity: ReportingEntity,
    account_id: int,
    codes: ReportCodes,
    *,
    name: str | None = None,
    client_number: str | None = None,
    opened: datetime | None = None,
) -> ReportAccount:
    """A wallet held at the reporting entity (a my-client account)."""
    return ReportAccount(
        institution_name=entity.institution_name,
        institution_code=entity.institution_code,
        account=str(account_id),
        my_client=True,
        non_bank_institution=entity.non_bank_institution,
        currency_code=entity.currency_code_local,
        account_name=name,
        client_number=client_number if client_number is not None else str(account_id),
        personal_account_type=codes.personal_account_type,
        opened=opened if opened is not None else datetime(1970, 1, 1),
        status_code=codes.status_code,
    )


def report_from_case(
    detail: CaseDetail,
    entity: ReportingEntity,
    person: ReportingPerson,
    submitted_at_ns: int,
    action: str,
    account_of: Callable[[int], ReportAccount],
    codes: ReportCodes | None = None,
) -> StrReport:
    """The STR for a case: its alerts' sentences as the reason, its evidence transactions
    (up to `aml_report_transactions_max`, earliest first), its scenarios as indicators."""
    codes = codes or ReportCodes()
    invariant(submitted_at_ns >= 0, "a submission time is after the epoch")
    if not detail.evidence.transactions:
        raise GoamlError(f"case {detail.case.id} has no evidence transactions to report")
    indicator_of = dict(codes.indicators)
    transactions = []
    for item in detail.evidence.transactions[:aml_report_transactions_max]:
        transactions.append(
            ReportTransaction(
                transactionnumber=str(item.transaction_id),
                date_transaction=utc_datetime(item.timestamp_ns),
                transmode_code=codes.transmode_code,
                amount_local=_amount(item, entity.currency_code_local),
                source=account_of(item.source),
                source_funds_code=codes.funds_code,
                source_country=entity.country,
                destination=account_of(item.destination),
                destination_funds_code=codes.funds_code,
                destination_country=entity.country,
                internal_ref_number=f"case-{detail.case.id}",
            )
        )
    reason = " ".join(alert.reason for alert in detail.alerts)[:TEXT_LENGTH_MAX]
    indicators = tuple(
        dict.fromkeys(indicator_of[s] for s in detail.case.scenarios if s in indicator_of)
    )
    report = StrReport(
        rentity_id=entity.rentity_id,
        submission_code=codes.submission_code,
        report_code="STR",
        submission_date=utc_datetime(submitted_at_ns),
        currency_code_local=entity.currency_code_local,
        reporting_person=person,
        reason=reason,
        action=action,
        transactions=tuple(transactions),
        rentity_branch=entity.rentity_branch,
        entity_reference=str(detail.case.id),
        indicators=indicators,
    )
    return report
