"""An independent reference model of the ledger's semantics, for checking the real one.

Written from the rules (the precedence order of `CreateAccountStatus` and
`CreateTransferStatus`, the module docs and TigerBeetle's documented behaviour), not from
`apply.py`. It trades speed for being obviously right:

- state is plain dictionaries of plain values;
- every chain of events (a lone event is a chain of one) is applied to a deep copy of the state,
  which replaces the state only if every event of the chain succeeded;
- each event's status is found by checking the rules one by one in the enum's order, and only
  an event whose every rule holds changes the copy.

Timestamps: event `i` of a batch gets `timestamp_first + i`, failed events included. Pending
transfers with a timeout expire at `timestamp + timeout seconds`; `expire(now)` voids those due at
or before `now`, oldest expiry first, stamping them `now, now + 1, ...`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from hazina.kernel.limits import (
    ledger_amount_max,
    ledger_code_max,
    ledger_id_max,
    ledger_ledger_max,
    ledger_timeout_seconds_max,
    ledger_user_data_32_max,
    ledger_user_data_64_max,
    ledger_user_data_128_max,
)
from hazina.ledger.domain.model import (
    Account,
    AccountBalance,
    AccountRequest,
    CreateResult,
    PendingStatus,
    Transfer,
    TransferRequest,
)
from hazina.ledger.domain.results import CreateAccountStatus as A
from hazina.ledger.domain.results import CreateTransferStatus as T

# Flag bits, spelled out here rather than imported, so a renumbering in src is caught.
LINKED = 1
# accounts
DEBITS_MUST_NOT_EXCEED_CREDITS = 2
CREDITS_MUST_NOT_EXCEED_DEBITS = 4
HISTORY = 8
CLOSED = 16
ACCOUNT_FLAGS_KNOWN = LINKED | 2 | 4 | 8 | 16
# transfers
PENDING = 2
POST = 4
VOID = 8
BALANCING_DEBIT = 16
BALANCING_CREDIT = 32
CLOSING_DEBIT = 64
CLOSING_CREDIT = 128
TRANSFER_FLAGS_KNOWN = 255

NS_PER_SECOND = 1_000_000_000

# Failures that depend on the ledger's state: the id is remembered even though nothing was
# created (and even when its chain was undone), and a retry answers `id_already_failed`, so a
# re-sent batch never changes anything (docs/ledger.md, TigerBeetle 0.16).
REMEMBERED = frozenset(
    {
        T.debit_account_not_found,
        T.credit_account_not_found,
        T.pending_transfer_not_found,
        T.debit_account_already_closed,
        T.credit_account_already_closed,
        T.overflows_debits_pending,
        T.overflows_credits_pending,
        T.overflows_debits_posted,
        T.overflows_credits_posted,
        T.overflows_debits,
        T.overflows_credits,
        T.exceeds_credits,
        T.exceeds_debits,
    }
)

# Pending states, as `PendingState` numbers them.
STATE_PENDING = 1
STATE_POSTED = 2
STATE_VOIDED = 3
STATE_EXPIRED = 4


def is_integer(value: object) -> bool:
    """An int or an int-valued enum member; never a bool, float or string."""
    return isinstance(value, int) and not isinstance(value, bool)


def in_range(value: object, maximum: int) -> bool:
    return is_integer(value) and 0 <= value <= maximum  # type: ignore[operator]


def is_linked(flags: object) -> bool:
    return is_integer(flags) and bool(flags & LINKED)  # type: ignore[operator]


class ReferenceLedger:
    def __init__(self) -> None:
        # id -> dict with the creation request's fields, balances and `closed`
        self.accounts: dict[int, dict[str, Any]] = {}
        # id -> dict of the committed transfer's fields
        self.transfers: dict[int, dict[str, Any]] = {}
        # pending transfer id -> {"state": STATE_*, "expires_at": ns (0: never)}
        self.pending: dict[int, dict[str, int]] = {}
        # (account_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted)
        self.history: list[tuple[int, int, int, int, int, int]] = []
        # transfer ids whose attempt failed with a REMEMBERED status
        self.failed_ids: set[int] = set()

    # -- batches ---------------------------------------------------------------------------

    def create_accounts(
        self, batch: Sequence[AccountRequest], timestamp_first: int
    ) -> list[CreateResult]:
        return self._run_batch(
            batch, timestamp_first, ReferenceLedger._account_status, ReferenceLedger._add_account, A
        )

    def create_transfers(
        self, batch: Sequence[TransferRequest], timestamp_first: int
    ) -> list[CreateResult]:
        return self._run_batch(
            batch,
            timestamp_first,
            ReferenceLedger._transfer_status,
            ReferenceLedger._add_transfer,
            T,
        )

    def _run_batch(
        self,
        batch: Sequence[Any],
        timestamp_first: int,
        status_of: Callable[[ReferenceLedger, Any, int], Any],
        apply: Callable[[ReferenceLedger, Any, int], None],
        statuses: Any,
    ) -> list[CreateResult]:
        results: list[CreateResult] = []
        start = 0
        while start < len(batch):
            # A chain runs from `start` through the first event without `linked`.
            end = start
            while end < len(batch) and is_linked(batch[end].flags):
                end += 1
            chain_is_open = end == len(batch)
            last = len(batch) - 1 if chain_is_open else end
            trial = copy.deepcopy(self)
            failure: tuple[int, Any] | None = None
            for index in range(start, last + 1):
                timestamp = timestamp_first + index
                if chain_is_open and index == last:
                    status = statuses.linked_event_chain_open
                else:
                    status = status_of(trial, batch[index], timestamp)
                if status != statuses.ok:
                    failure = (index, status)
                    break
                apply(trial, batch[index], timestamp)
            if failure is None:
                self.__dict__.update(trial.__dict__)
            else:
                if statuses is T and failure[1] in REMEMBERED:
                    self.failed_ids.add(int(batch[failure[0]].id))
                for index in range(start, last + 1):
                    if index == failure[0]:
                        results.append(CreateResult(index, failure[1]))
                    else:
                        results.append(CreateResult(index, statuses.linked_event_failed))
            start = last + 1
        return results

    # -- accounts ----------------------------------------------------------------------------

    def _account_status(self, request: AccountRequest, timestamp: int) -> A:
        r = request
        if not (is_integer(r.timestamp) and r.timestamp == 0):
            return A.timestamp_must_be_zero
        if not in_range(r.flags, ACCOUNT_FLAGS_KNOWN):
            return A.reserved_flag
        if not in_range(r.id, ledger_id_max):
            return A.id_out_of_range
        if not (
            in_range(r.user_data_128, ledger_user_data_128_max)
            and in_range(r.user_data_64, ledger_user_data_64_max)
            and in_range(r.user_data_32, ledger_user_data_32_max)
        ):
            return A.user_data_out_of_range
        if not in_range(r.ledger, ledger_ledger_max):
            return A.ledger_out_of_range
        if not in_range(r.code, ledger_code_max):
            return A.code_out_of_range
        if r.id == 0:
            return A.id_must_not_be_zero
        if r.id == ledger_id_max:
            return A.id_must_not_be_int_max
        existing = self.accounts.get(r.id)
        if existing is not None:
            for name, status in (
                ("flags", A.exists_with_different_flags),
                ("user_data_128", A.exists_with_different_user_data_128),
                ("user_data_64", A.exists_with_different_user_data_64),
                ("user_data_32", A.exists_with_different_user_data_32),
                ("ledger", A.exists_with_different_ledger),
                ("code", A.exists_with_different_code),
            ):
                if existing[name] != getattr(r, name):
                    return status
            return A.exists
        both_limits = DEBITS_MUST_NOT_EXCEED_CREDITS | CREDITS_MUST_NOT_EXCEED_DEBITS
        if r.flags & both_limits == both_limits:
            return A.flags_are_mutually_exclusive
        if r.ledger == 0:
            return A.ledger_must_not_be_zero
        if r.code == 0:
            return A.code_must_not_be_zero
        return A.ok

    def _add_account(self, request: AccountRequest, timestamp: int) -> None:
        self.accounts[request.id] = {
            "id": int(request.id),
            "ledger": int(request.ledger),
            "code": int(request.code),
            "flags": int(request.flags),
            "user_data_128": int(request.user_data_128),
            "user_data_64": int(request.user_data_64),
            "user_data_32": int(request.user_data_32),
            "debits_pending": 0,
            "debits_posted": 0,
            "credits_pending": 0,
            "credits_posted": 0,
            "timestamp": timestamp,
            "closed": bool(request.flags & CLOSED),
        }

    # -- transfers ---------------------------------------------------------------------------

    def _transfer_status(self, request: TransferRequest, timestamp: int) -> T:
        r = request
        if not (is_integer(r.timestamp) and r.timestamp == 0):
            return T.timestamp_must_be_zero
        if not in_range(r.flags, TRANSFER_FLAGS_KNOWN):
            return T.reserved_flag
        for name, status in (
            ("id", T.id_out_of_range),
            ("debit_account_id", T.debit_account_id_out_of_range),
            ("credit_account_id", T.credit_account_id_out_of_range),
            ("pending_id", T.pending_id_out_of_range),
        ):
            if not in_range(getattr(r, name), ledger_id_max):
                return status
        if is_integer(r.amount) and r.amount < 0:
            return T.amount_must_not_be_negative
        if not in_range(r.amount, ledger_amount_max):
            return T.amount_out_of_range
        if not (
            in_range(r.user_data_128, ledger_user_data_128_max)
            and in_range(r.user_data_64, ledger_user_data_64_max)
            and in_range(r.user_data_32, ledger_user_data_32_max)
        ):
            return T.user_data_out_of_range
        if not in_range(r.timeout, ledger_timeout_seconds_max):
            return T.timeout_out_of_range
        if not in_range(r.ledger, ledger_ledger_max):
            return T.ledger_out_of_range
        if not in_range(r.code, ledger_code_max):
            return T.code_out_of_range
        if r.id == 0:
            return T.id_must_not_be_zero
        if r.id == ledger_id_max:
            return T.id_must_not_be_int_max

        existing = self.transfers.get(r.id)
        if existing is not None:
            return self._exists_status(r, existing)
        if r.id in self.failed_ids:
            return T.id_already_failed

        is_post = bool(r.flags & POST)
        is_void = bool(r.flags & VOID)
        if (is_post or is_void) and (
            (is_post and is_void)
            or r.flags
            & (PENDING | BALANCING_DEBIT | BALANCING_CREDIT | CLOSING_DEBIT | CLOSING_CREDIT)
        ):
            return T.flags_are_mutually_exclusive
        if not (is_post or is_void):
            if r.debit_account_id == 0:
                return T.debit_account_id_must_not_be_zero
            if r.debit_account_id == ledger_id_max:
                return T.debit_account_id_must_not_be_int_max
            if r.credit_account_id == 0:
                return T.credit_account_id_must_not_be_zero
            if r.credit_account_id == ledger_id_max:
                return T.credit_account_id_must_not_be_int_max
            if r.debit_account_id == r.credit_account_id:
                return T.accounts_must_be_different
            if r.pending_id != 0:
                return T.pending_id_must_be_zero
        else:
            if r.pending_id == 0:
                return T.pending_id_must_not_be_zero
            if r.pending_id == ledger_id_max:
                return T.pending_id_must_not_be_int_max
            if r.pending_id == r.id:
                return T.pending_id_must_be_different
        if r.timeout != 0 and not r.flags & PENDING:
            return T.timeout_reserved_for_pending_transfer
        if r.flags & (CLOSING_DEBIT | CLOSING_CREDIT) and not r.flags & PENDING:
            return T.closing_transfer_must_be_pending
        if is_post or is_void:
            return self._post_or_void_status(r, timestamp)

        balancing = bool(r.flags & (BALANCING_DEBIT | BALANCING_CREDIT))
        if r.amount == 0 and not balancing:
            return T.amount_must_not_be_zero
        if r.ledger == 0:
            return T.ledger_must_not_be_zero
        if r.code == 0:
            return T.code_must_not_be_zero
        debit = self.accounts.get(r.debit_account_id)
        if debit is None:
            return T.debit_account_not_found
        credit = self.accounts.get(r.credit_account_id)
        if credit is None:
            return T.credit_account_not_found
        if debit["ledger"] != credit["ledger"]:
            return T.accounts_must_have_the_same_ledger
        if r.ledger != debit["ledger"]:
            return T.transfer_must_have_the_same_ledger_as_accounts
        if debit["closed"]:
            return T.debit_account_already_closed
        if credit["closed"]:
            return T.credit_account_already_closed
        amount = self._balanced_amount(r)
        if r.flags & PENDING:
            if debit["debits_pending"] + amount > ledger_amount_max:
                return T.overflows_debits_pending
            if credit["credits_pending"] + amount > ledger_amount_max:
                return T.overflows_credits_pending
        else:
            if debit["debits_posted"] + amount > ledger_amount_max:
                return T.overflows_debits_posted
            if credit["credits_posted"] + amount > ledger_amount_max:
                return T.overflows_credits_posted
        if debit["debits_pending"] + debit["debits_posted"] + amount > ledger_amount_max:
            return T.overflows_debits
        if credit["credits_pending"] + credit["credits_posted"] + amount > ledger_amount_max:
            return T.overflows_credits
        if r.timeout and timestamp + r.timeout * NS_PER_SECOND > ledger_amount_max:
            return T.overflows_timeout
        if debit["flags"] & DEBITS_MUST_NOT_EXCEED_CREDITS and (
            debit["debits_pending"] + debit["debits_posted"] + amount > debit["credits_posted"]
        ):
            return T.exceeds_credits
        if credit["flags"] & CREDITS_MUST_NOT_EXCEED_DEBITS and (
            credit["credits_pending"] + credit["credits_posted"] + amount > credit["debits_posted"]
        ):
            return T.exceeds_debits
        return T.ok

    def _exists_status(self, r: TransferRequest, e: dict[str, Any]) -> T:
        post_or_void = bool(r.flags & (POST | VOID))
        balancing = bool(r.flags & (BALANCING_DEBIT | BALANCING_CREDIT))

        def same(name: str, taken_from_pending: bool = False) -> bool:
            value = getattr(r, name)
            # A post or void may leave these zero: the pending transfer supplies them.
            return value == e[name] or (taken_from_pending and post_or_void and value == 0)

        if not same("flags"):
            return T.exists_with_different_flags
        if not same("pending_id"):
            return T.exists_with_different_pending_id
        if not same("timeout"):
            return T.exists_with_different_timeout
        if not same("debit_account_id", True):
            return T.exists_with_different_debit_account_id
        if not same("credit_account_id", True):
            return T.exists_with_different_credit_account_id
        # A balancing transfer stores what the clamp allowed: any request at least that large.
        amount_matches = r.amount >= e["amount"] if balancing else same("amount", True)
        if not amount_matches:
            return T.exists_with_different_amount
        if not same("user_data_128"):
            return T.exists_with_different_user_data_128
        if not same("user_data_64"):
            return T.exists_with_different_user_data_64
        if not same("user_data_32"):
            return T.exists_with_different_user_data_32
        if not same("ledger", True):
            return T.exists_with_different_ledger
        if not same("code", True):
            return T.exists_with_different_code
        return T.exists

    def _post_or_void_status(self, r: TransferRequest, timestamp: int) -> T:
        p = self.transfers.get(r.pending_id)
        if p is None:
            return T.pending_transfer_not_found
        if not p["flags"] & PENDING:
            return T.pending_transfer_not_pending
        if r.debit_account_id not in (0, p["debit_account_id"]):
            return T.pending_transfer_has_different_debit_account_id
        if r.credit_account_id not in (0, p["credit_account_id"]):
            return T.pending_transfer_has_different_credit_account_id
        if r.ledger not in (0, p["ledger"]):
            return T.pending_transfer_has_different_ledger
        if r.code not in (0, p["code"]):
            return T.pending_transfer_has_different_code
        posting = bool(r.flags & POST)
        if posting and r.amount > p["amount"]:
            return T.exceeds_pending_transfer_amount
        if not posting and r.amount not in (0, p["amount"]):
            return T.pending_transfer_has_different_amount
        state = self.pending[r.pending_id]
        if state["state"] == STATE_POSTED:
            return T.pending_transfer_already_posted
        if state["state"] == STATE_VOIDED:
            return T.pending_transfer_already_voided
        if state["state"] == STATE_EXPIRED or 0 < state["expires_at"] <= timestamp:
            return T.pending_transfer_expired
        if posting:
            debit = self.accounts[p["debit_account_id"]]
            credit = self.accounts[p["credit_account_id"]]
            # The pending transfer that closed an account may still be posted.
            if debit["closed"] and not p["flags"] & CLOSING_DEBIT:
                return T.debit_account_already_closed
            if credit["closed"] and not p["flags"] & CLOSING_CREDIT:
                return T.credit_account_already_closed
            amount = r.amount or p["amount"]
            if debit["debits_posted"] + amount > ledger_amount_max:
                return T.overflows_debits_posted
            if credit["credits_posted"] + amount > ledger_amount_max:
                return T.overflows_credits_posted
        return T.ok

    def _balanced_amount(self, r: TransferRequest) -> int:
        amount: int = r.amount
        if r.flags & BALANCING_DEBIT:
            d = self.accounts[r.debit_account_id]
            amount = min(
                amount, max(0, d["credits_posted"] - d["debits_posted"] - d["debits_pending"])
            )
        if r.flags & BALANCING_CREDIT:
            c = self.accounts[r.credit_account_id]
            amount = min(
                amount, max(0, c["debits_posted"] - c["credits_posted"] - c["credits_pending"])
            )
        return amount

    def _add_transfer(self, r: TransferRequest, timestamp: int) -> None:
        flags = int(r.flags)
        record = {
            "id": int(r.id),
            "pending_id": int(r.pending_id),
            "user_data_128": int(r.user_data_128),
            "user_data_64": int(r.user_data_64),
            "user_data_32": int(r.user_data_32),
            "flags": flags,
            "timestamp": timestamp,
        }
        if flags & (POST | VOID):
            p = self.transfers[r.pending_id]
            debit = self.accounts[p["debit_account_id"]]
            credit = self.accounts[p["credit_account_id"]]
            amount = (r.amount or p["amount"]) if flags & POST else p["amount"]
            # The whole pending amount is released; a post then books what it posts.
            debit["debits_pending"] -= p["amount"]
            credit["credits_pending"] -= p["amount"]
            if flags & POST:
                debit["debits_posted"] += amount
                credit["credits_posted"] += amount
                self.pending[r.pending_id]["state"] = STATE_POSTED
            else:
                self.pending[r.pending_id]["state"] = STATE_VOIDED
                self._reopen(p)
            record.update(
                debit_account_id=p["debit_account_id"],
                credit_account_id=p["credit_account_id"],
                amount=amount,
                timeout=0,
                ledger=p["ledger"],
                code=p["code"],
            )
        else:
            debit = self.accounts[r.debit_account_id]
            credit = self.accounts[r.credit_account_id]
            amount = self._balanced_amount(r)
            if flags & PENDING:
                debit["debits_pending"] += amount
                credit["credits_pending"] += amount
                expires_at = timestamp + r.timeout * NS_PER_SECOND if r.timeout else 0
                self.pending[int(r.id)] = {"state": STATE_PENDING, "expires_at": expires_at}
                if flags & CLOSING_DEBIT:
                    debit["closed"] = True
                if flags & CLOSING_CREDIT:
                    credit["closed"] = True
            else:
                debit["debits_posted"] += amount
                credit["credits_posted"] += amount
            record.update(
                debit_account_id=int(r.debit_account_id),
                credit_account_id=int(r.credit_account_id),
                amount=amount,
                timeout=int(r.timeout),
                ledger=int(r.ledger),
                code=int(r.code),
            )
        self.transfers[int(r.id)] = record
        self._remember_history(debit, timestamp)
        self._remember_history(credit, timestamp)

    def _reopen(self, pending_transfer: dict[str, Any]) -> None:
        """Voiding or expiring a closing transfer reopens the account it closed."""
        if pending_transfer["flags"] & CLOSING_DEBIT:
            self.accounts[pending_transfer["debit_account_id"]]["closed"] = False
        if pending_transfer["flags"] & CLOSING_CREDIT:
            self.accounts[pending_transfer["credit_account_id"]]["closed"] = False

    def _remember_history(self, account: dict[str, Any], timestamp: int) -> None:
        if account["flags"] & HISTORY:
            self.history.append(
                (
                    account["id"],
                    timestamp,
                    account["debits_pending"],
                    account["debits_posted"],
                    account["credits_pending"],
                    account["credits_posted"],
                )
            )

    # -- expiry ------------------------------------------------------------------------------

    def due(self, now: int) -> list[int]:
        """Pending transfers whose timeout has passed at `now`, in expiry order."""
        due = [
            (state["expires_at"], pending_id)
            for pending_id, state in self.pending.items()
            if state["state"] == STATE_PENDING and 0 < state["expires_at"] <= now
        ]
        return [pending_id for _, pending_id in sorted(due)]

    def expire(self, now: int) -> int:
        """Void every pending transfer due at `now`; returns how many timestamps that used."""
        due = self.due(now)
        for offset, pending_id in enumerate(due):
            p = self.transfers[pending_id]
            debit = self.accounts[p["debit_account_id"]]
            credit = self.accounts[p["credit_account_id"]]
            debit["debits_pending"] -= p["amount"]
            credit["credits_pending"] -= p["amount"]
            self.pending[pending_id]["state"] = STATE_EXPIRED
            self._reopen(p)
            self._remember_history(debit, now + offset)
            self._remember_history(credit, now + offset)
        return len(due)

    # -- views, in the service's record types ------------------------------------------------

    def account_records(self) -> dict[int, Account]:
        return {
            account_id: Account(
                a["id"],
                a["ledger"],
                a["code"],
                (a["flags"] & ~CLOSED) | (CLOSED if a["closed"] else 0),
                a["user_data_128"],
                a["user_data_64"],
                a["user_data_32"],
                a["debits_pending"],
                a["debits_posted"],
                a["credits_pending"],
                a["credits_posted"],
                a["timestamp"],
            )
            for account_id, a in self.accounts.items()
        }

    def transfer_records(self) -> dict[int, Transfer]:
        return {
            transfer_id: Transfer(**{name: t[name] for name in Transfer._fields})
            for transfer_id, t in self.transfers.items()
        }

    def pending_records(self) -> dict[int, PendingStatus]:
        return {
            pending_id: PendingStatus(pending_id, p["state"], p["expires_at"])
            for pending_id, p in self.pending.items()
        }

    def balance_records(self) -> list[AccountBalance]:
        return [AccountBalance(*entry) for entry in self.history]
