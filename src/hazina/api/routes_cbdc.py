"""CBDC routes under /v1/cbdc: the central bank's issuance (scope `cbdc_issuance:write`, held
by the central_bank role alone), distribution by participants, wallets, payments with the
holding-limit waterfall, conversions, conditional payments, offline devices, and the central
bank's overview and audit. Money-moving POSTs take an Idempotency-Key. No business rules here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from hazina.api.amounts import AmountString, format_amount, parse_amount
from hazina.api.app import Caller, Context, IdempotencyKey, idempotency_for, parse_id
from hazina.api.pagination import Page, PageParameters, page_from
from hazina.api.problems import ProblemError
from hazina.api.routing import api_router
from hazina.api.schemas import Strict, rfc3339
from hazina.cbdc.domain.chart import ParticipantKind, Tier
from hazina.cbdc.offline import OfflineError, note_from_json, note_to_json
from hazina.cbdc.records import (
    AuditReport,
    CbdcWallet,
    ConditionalPayment,
    Device,
    Load,
    Operation,
    Overview,
    Participant,
    Sync,
)
from hazina.cbdc.service import CbdcService
from hazina.identity.roles import Scope
from hazina.kernel.ids import prefixed
from hazina.kernel.limits import (
    cbdc_escrow_expiry_max_s,
    cbdc_offline_hops_max,
    cbdc_offline_sync_tokens_max,
)
from hazina.payments.service import IdempotencyRequest

_u64_max = 2**64 - 1

ParticipantId = Annotated[
    str, Field(pattern=r"^cbp_[0-9a-f]{16}$", examples=["cbp_0000018c2a1b3c4d"])
]
CbdcWalletId = Annotated[
    str, Field(pattern=r"^cbw_[0-9a-f]{16}$", examples=["cbw_0000018c2a1b3c4d"])
]
WalletIdOfEmoney = Annotated[str, Field(pattern=r"^wal_[0-9a-f]{16}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="32 bytes, lower-case hex.")]
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{128}$", description="64 bytes, lower-case hex.")]
U64 = Annotated[int, Field(ge=0, le=_u64_max)]


def cbdc_of(context: Context) -> CbdcService:
    """The CBDC service of the caller's platform (tenant), made on first use and kept."""
    return context.platform.service(
        "cbdc", lambda p: CbdcService(p.ledger, p.clock, p.ids, p.payments)
    )


# -- bodies ---------------------------------------------------------------------------------------


class ParticipantCreate(Strict):
    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    name: Name
    kind: ParticipantKind


class AmountToParticipant(Strict):
    participant: ParticipantId
    amount: AmountString


class Amount(Strict):
    amount: AmountString


class WalletCreate(Strict):
    participant: ParticipantId = Field(description="The distributing bank or operator.")
    holder: Name
    tier: Tier
    linked_account: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="The holder's account at the participant; turns on the waterfall."
    )
    emoney_wallet: WalletIdOfEmoney | None = Field(
        None, description="The holder's e-money wallet, for conversions."
    )


class WalletAmount(Strict):
    wallet: CbdcWalletId
    amount: AmountString


class PaymentCreate(Strict):
    from_wallet: CbdcWalletId
    to_wallet: CbdcWalletId
    amount: AmountString


class ConversionCreate(Strict):
    wallet: CbdcWalletId
    direction: Literal["to_cbdc", "to_emoney"]
    amount: AmountString


class ConditionalCreate(Strict):
    from_wallet: CbdcWalletId
    to_wallet: CbdcWalletId
    amount: AmountString
    release_at: AwareDatetime | None = Field(None, description="Not released before this.")
    confirmer: Name | None = Field(
        None, description="Who must confirm, as `api_key:<key id>` or `operator:<username>`."
    )
    expires_in_s: int = Field(ge=1, le=cbdc_escrow_expiry_max_s)


class DeviceCreate(Strict):
    wallet: CbdcWalletId
    public_key: Hex32 = Field(description="The device's Ed25519 public key.")


class TokenIn(Strict):
    id: U64
    amount: U64
    owner: Hex32
    expires_at_s: U64
    signature: Hex64


class HopIn(Strict):
    index: U64
    previous: Hex32
    to: Hex32
    counter: U64
    signature: Hex64


class NoteIn(Strict):
    token: TokenIn
    hops: list[HopIn] = Field(max_length=cbdc_offline_hops_max)


class SyncCreate(Strict):
    notes: list[NoteIn] = Field(min_length=1, max_length=cbdc_offline_sync_tokens_max)


class NoBody(Strict):
    """Operations that need nothing but the id in the path."""


# -- responses ------------------------------------------------------------------------------------


class ParticipantOut(BaseModel):
    id: str
    code: str
    name: str
    kind: ParticipantKind
    asset: str
    holding: str | None = None
    reserves: str | None = None
    conversion: str | None = None
    created_at: str


class WalletOut(BaseModel):
    id: str
    participant: str
    holder: str
    tier: Tier
    linked_account: str | None
    emoney_wallet: str | None
    asset: str
    balance: str | None = None
    held: str | None = None
    holding_max: str | None = None
    created_at: str


class OperationOut(BaseModel):
    id: str
    kind: str
    participant: str | None
    from_wallet: str | None
    to_wallet: str | None
    amount: str
    swept: str = Field(description="What the waterfall moved on to the payee's linked bank.")
    asset: str
    created_at: str


class ConditionalOut(BaseModel):
    id: str
    from_wallet: str
    to_wallet: str
    amount: str
    asset: str
    release_at: str | None
    confirmer: str | None
    confirmed: bool
    expires_at: str
    status: Literal["pending", "released", "cancelled", "expired"]
    swept: str
    created_at: str


class DeviceOut(BaseModel):
    id: str
    wallet: str
    public_key: str
    status: Literal["active", "revoked"]
    offline_outstanding: str
    created_at: str


class LoadOut(BaseModel):
    operation: OperationOut
    device: str
    notes: list[dict[str, Any]] = Field(description="Signed tokens, to hand to the device.")


class NoteOutcomeOut(BaseModel):
    token: int
    status: str
    amount: str
    offender: str | None
    flagged: str


class SyncOut(BaseModel):
    device: str
    credited: str
    swept: str
    outcomes: list[NoteOutcomeOut]


class IssuerKeyOut(BaseModel):
    algorithm: Literal["Ed25519"]
    public_key: str


class CirculationOut(BaseModel):
    label: str
    amount: str


class OverviewOut(BaseModel):
    asset: str
    issued: str
    redeemed: str
    circulation: str
    by_tier: list[CirculationOut]
    by_participant: list[CirculationOut]
    held_in_escrow: str
    payments_value: str
    velocity_window_s: int
    velocity: str = Field(description="Payments value over the window / circulation.")
    reserves: str
    backing: str


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class AuditOut(BaseModel):
    ok: bool
    issued: str
    redeemed: str
    circulation: str
    checks: list[CheckOut]


# -- rendering ------------------------------------------------------------------------------------


class _Render:
    """Renders records in the service's asset."""

    def __init__(self, service: CbdcService) -> None:
        self.asset = service.config.code
        self.fiat = service.config.fiat

    def money(self, minor: int) -> str:
        return format_amount(minor, self.fiat)

    def operation(self, op: Operation) -> OperationOut:
        return OperationOut(
            id=prefixed("cbo", op.id),
            kind=op.kind,
            participant=_maybe("cbp", op.participant_id),
            from_wallet=_maybe("cbw", op.from_wallet),
            to_wallet=_maybe("cbw", op.to_wallet),
            amount=self.money(op.amount),
            swept=self.money(op.swept),
            asset=self.asset,
            created_at=rfc3339(op.created_at_ns),
        )

    def wallet(self, wallet: CbdcWallet) -> WalletOut:
        return WalletOut(
            id=prefixed("cbw", wallet.id),
            participant=prefixed("cbp", wallet.participant_id),
            holder=wallet.holder,
            tier=wallet.tier,
            linked_account=wallet.linked_account,
            emoney_wallet=_maybe("wal", wallet.emoney_wallet_id),
            asset=self.asset,
            created_at=rfc3339(wallet.created_at_ns),
        )

    def participant(self, participant: Participant) -> ParticipantOut:
        return ParticipantOut(
            id=prefixed("cbp", participant.id),
            code=participant.code,
            name=participant.name,
            kind=participant.kind,
            asset=self.asset,
            created_at=rfc3339(participant.created_at_ns),
        )

    def conditional(self, payment: ConditionalPayment) -> ConditionalOut:
        status: Literal["pending", "released", "cancelled", "expired"] = (
            "released" if payment.status == "released"
            else "cancelled" if payment.status == "cancelled"
            else "expired" if payment.status == "expired"
            else "pending"
        )  # fmt: skip
        return ConditionalOut(
            id=prefixed("cbe", payment.id),
            from_wallet=prefixed("cbw", payment.from_wallet),
            to_wallet=prefixed("cbw", payment.to_wallet),
            amount=self.money(payment.amount),
            asset=self.asset,
            release_at=rfc3339(payment.release_at_ns) if payment.release_at_ns else None,
            confirmer=payment.confirmer,
            confirmed=payment.confirmed,
            expires_at=rfc3339(payment.expires_at_ns),
            status=status,
            swept=self.money(payment.swept),
            created_at=rfc3339(payment.created_at_ns),
        )

    def load(self, load: Load) -> LoadOut:
        return LoadOut(
            operation=self.operation(load.operation),
            device=prefixed("cbd", load.device_id),
            notes=[note_to_json(note) for note in load.notes],
        )

    def sync(self, sync: Sync) -> SyncOut:
        return SyncOut(
            device=prefixed("cbd", sync.device_id),
            credited=self.money(sync.credited),
            swept=self.money(sync.swept),
            outcomes=[
                NoteOutcomeOut(
                    token=o.token_id,
                    status=o.status,
                    amount=self.money(o.amount),
                    offender=None if o.offender is None else o.offender.hex(),
                    flagged=self.money(o.flagged),
                )
                for o in sync.outcomes
            ],
        )

    def overview(self, view: Overview) -> OverviewOut:
        return OverviewOut(
            asset=self.asset,
            issued=self.money(view.issued),
            redeemed=self.money(view.redeemed),
            circulation=self.money(view.circulation),
            by_tier=[
                CirculationOut(label=c.label, amount=self.money(c.amount)) for c in view.by_tier
            ],
            by_participant=[
                CirculationOut(label=c.label, amount=self.money(c.amount))
                for c in view.by_participant
            ],
            held_in_escrow=self.money(view.held_in_escrow),
            payments_value=self.money(view.payments_value),
            velocity_window_s=view.velocity_window_s,
            velocity=view.velocity,
            reserves=self.money(view.reserves),
            backing=self.money(view.backing),
        )

    def audit(self, report: AuditReport) -> AuditOut:
        return AuditOut(
            ok=report.ok,
            issued=self.money(report.issued),
            redeemed=self.money(report.redeemed),
            circulation=self.money(report.circulation),
            checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks],
        )


def _maybe(prefix: str, value: int | None) -> str | None:
    return None if value is None else prefixed(prefix, value)


def _device_out(render: _Render, service: CbdcService, device: Device) -> DeviceOut:
    return DeviceOut(
        id=prefixed("cbd", device.id),
        wallet=prefixed("cbw", device.wallet_id),
        public_key=device.public_key.hex(),
        status="revoked" if device.status == "revoked" else "active",
        offline_outstanding=render.money(service.offline_outstanding(device.id)),
        created_at=rfc3339(device.created_at_ns),
    )


# -- routes ---------------------------------------------------------------------------------------

router = api_router(prefix="/cbdc", tags=["cbdc"])


def _money_call(
    context: Caller,
    key: str,
    body: BaseModel,
    status: int,
    call: Callable[[CbdcService, _Render, Any], Any],
    render: Callable[[_Render, Any], BaseModel],
) -> Any:
    """Run a money-moving call with its Idempotency-Key and render what it returns."""
    service = cbdc_of(context)
    renderer = _Render(service)
    idempotency = idempotency_for(context, key, body, status, lambda r: render(renderer, r))
    return render(renderer, call(service, renderer, idempotency))


def _operation(
    context: Caller,
    key: str,
    body: BaseModel,
    amount: str,
    call: Callable[[CbdcService, int, IdempotencyRequest], Operation],
) -> OperationOut:
    """A money-moving call that answers with the operation it recorded (201)."""
    result: OperationOut = _money_call(
        context, key, body, 201, lambda s, r, i: call(s, parse_amount(amount, r.fiat), i),
        _Render.operation,
    )  # fmt: skip
    return result


@router.post("/participants", status_code=201, response_model=ParticipantOut)
def register_participant(body: ParticipantCreate, context: Caller) -> ParticipantOut:
    """Admit a bank or operator to distribute the CBDC (central bank only)."""
    context.require(Scope.cbdc_issuance_write)
    service = cbdc_of(context)
    return _Render(service).participant(
        service.register_participant(body.code, body.name, body.kind)
    )


@router.get("/participants", response_model=Page[ParticipantOut])
def list_participants(
    context: Caller, page: Annotated[PageParameters, Depends()]
) -> Page[ParticipantOut]:
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    after = 0 if page.starting_after is None else parse_id("cbp", page.starting_after, "cursor")
    render = _Render(service)
    items = [render.participant(p) for p in service.list_participants(after, page.limit + 1)]
    return page_from(items, page.limit, lambda p: p.id)


@router.get("/participants/{participant_id}", response_model=ParticipantOut)
def get_participant(participant_id: str, context: Caller) -> ParticipantOut:
    """A participant with its CBDC holding, its reserves and its e-money conversion position."""
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    view = service.get_participant(parse_id("cbp", participant_id, "participant"))
    render = _Render(service)
    return render.participant(view.participant).model_copy(
        update={
            "holding": render.money(view.holding),
            "reserves": render.money(view.reserves),
            "conversion": render.money(view.conversion),
        }
    )


@router.post("/reserve-deposits", status_code=201, response_model=OperationOut)
def deposit_reserves(
    body: AmountToParticipant, context: Caller, key: IdempotencyKey
) -> OperationOut:
    """Fiat settled into a participant's reserve account (central bank only)."""
    context.require(Scope.cbdc_issuance_write)
    participant = parse_id("cbp", body.participant, "participant")
    return _operation(
        context,
        key,
        body,
        body.amount,
        lambda s, amount, i: s.deposit_reserves(participant, amount, i),
    )


@router.post("/mints", status_code=201, response_model=OperationOut)
def mint(body: AmountToParticipant, context: Caller, key: IdempotencyKey) -> OperationOut:
    """Issue CBDC into a participant's holding against its reserves (central bank only).
    Reserves short: 422 `insufficient_reserves`."""
    context.require(Scope.cbdc_issuance_write)
    participant = parse_id("cbp", body.participant, "participant")
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.mint(participant, amount, i)
    )


@router.post("/redemptions", status_code=201, response_model=OperationOut)
def redeem(body: AmountToParticipant, context: Caller, key: IdempotencyKey) -> OperationOut:
    """Burn CBDC a participant returns and give back its reserves (central bank only)."""
    context.require(Scope.cbdc_issuance_write)
    participant = parse_id("cbp", body.participant, "participant")
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.redeem(participant, amount, i)
    )


@router.post("/wallets", status_code=201, response_model=WalletOut)
def open_wallet(body: WalletCreate, context: Caller) -> WalletOut:
    """Open a customer's CBDC wallet at a participant, in a tier with a holding limit."""
    context.require(Scope.cbdc_write)
    service = cbdc_of(context)
    emoney = None if body.emoney_wallet is None else parse_id("wal", body.emoney_wallet, "wallet")
    wallet = service.open_wallet(
        parse_id("cbp", body.participant, "participant"),
        body.holder,
        body.tier,
        body.linked_account,
        emoney,
    )
    return _wallet_detail(service, wallet.id)


def _wallet_detail(service: CbdcService, wallet_id: int) -> WalletOut:
    view = service.get_wallet(wallet_id)
    render = _Render(service)
    return render.wallet(view.wallet).model_copy(
        update={
            "balance": render.money(view.balance),
            "held": render.money(view.held),
            "holding_max": render.money(view.holding_max),
        }
    )


@router.get("/wallets", response_model=Page[WalletOut])
def list_wallets(
    context: Caller,
    page: Annotated[PageParameters, Depends()],
    participant: Annotated[ParticipantId | None, Query()] = None,
) -> Page[WalletOut]:
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    after = 0 if page.starting_after is None else parse_id("cbw", page.starting_after, "cursor")
    owner = None if participant is None else parse_id("cbp", participant, "participant")
    render = _Render(service)
    wallets = service.list_wallets(owner, after, page.limit + 1)
    return page_from([render.wallet(w) for w in wallets], page.limit, lambda w: w.id)


@router.get("/wallets/{wallet_id}", response_model=WalletOut)
def get_wallet(wallet_id: str, context: Caller) -> WalletOut:
    """A wallet with its balance, what conditional payments hold, and its limit."""
    context.require(Scope.cbdc_read)
    return _wallet_detail(cbdc_of(context), parse_id("cbw", wallet_id, "cbdc_wallet"))


@router.post("/distributions", status_code=201, response_model=OperationOut)
def distribute(body: WalletAmount, context: Caller, key: IdempotencyKey) -> OperationOut:
    """The wallet's participant pays CBDC into it (the holder draws on a deposit). Over the
    holding limit: 422 `holding_limit_exceeded`."""
    context.require(Scope.cbdc_write)
    wallet = parse_id("cbw", body.wallet, "cbdc_wallet")
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.distribute(wallet, amount, i)
    )


@router.post("/deposits", status_code=201, response_model=OperationOut)
def deposit(body: WalletAmount, context: Caller, key: IdempotencyKey) -> OperationOut:
    """The holder moves CBDC back to a deposit at the wallet's participant."""
    context.require(Scope.cbdc_write)
    wallet = parse_id("cbw", body.wallet, "cbdc_wallet")
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.deposit(wallet, amount, i)
    )


@router.post("/payments", status_code=201, response_model=OperationOut)
def pay(body: PaymentCreate, context: Caller, key: IdempotencyKey) -> OperationOut:
    """Wallet to wallet; what would exceed the payee's limit is swept on to its linked bank
    (`swept`). No linked bank: 422 `holding_limit_exceeded`."""
    context.require(Scope.cbdc_write)
    payer = parse_id("cbw", body.from_wallet, "cbdc_wallet")
    payee = parse_id("cbw", body.to_wallet, "cbdc_wallet")
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.pay(payer, payee, amount, i)
    )


@router.post("/conversions", status_code=201, response_model=OperationOut)
def convert(body: ConversionCreate, context: Caller, key: IdempotencyKey) -> OperationOut:
    """Between the holder's linked e-money wallet and the CBDC wallet, both ledgers at once."""
    context.require(Scope.cbdc_write)
    wallet = parse_id("cbw", body.wallet, "cbdc_wallet")
    to_cbdc = body.direction == "to_cbdc"
    return _operation(
        context, key, body, body.amount, lambda s, amount, i: s.convert(wallet, amount, to_cbdc, i)
    )


@router.post("/conditional-payments", status_code=201, response_model=ConditionalOut)
def create_conditional(
    body: ConditionalCreate, context: Caller, key: IdempotencyKey
) -> ConditionalOut:
    """Hold a payment in escrow until its time comes and/or its confirmer confirms; it
    returns to the payer if it expires first."""
    context.require(Scope.cbdc_write)
    payer = parse_id("cbw", body.from_wallet, "cbdc_wallet")
    payee = parse_id("cbw", body.to_wallet, "cbdc_wallet")
    release_at_ns = 0 if body.release_at is None else _ns(body.release_at)
    result: ConditionalOut = _money_call(
        context, key, body, 201,
        lambda s, r, i: s.create_conditional(
            payer, payee, parse_amount(body.amount, r.fiat), release_at_ns=release_at_ns,
            confirmer=body.confirmer, expires_in_s=body.expires_in_s, created_by=context.actor,
            idempotency=i,
        ),
        _Render.conditional,
    )  # fmt: skip
    return result


def _ns(moment: datetime) -> int:
    seconds = int(moment.timestamp())
    if not 0 < seconds < 2**32:
        raise ProblemError(
            422, "release_time_invalid", "The release time is out of range", "use a time after 1970"
        )
    return seconds * 1_000_000_000 + moment.microsecond * 1_000


@router.get("/conditional-payments/{payment_id}", response_model=ConditionalOut)
def get_conditional(payment_id: str, context: Caller) -> ConditionalOut:
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    found = service.get_conditional(parse_id("cbe", payment_id, "conditional_payment"))
    return _Render(service).conditional(found)


@router.post("/conditional-payments/{payment_id}/confirmation", response_model=ConditionalOut)
def confirm(payment_id: str, context: Caller) -> ConditionalOut:
    """The named confirmer (this caller) confirms; released now if its time has come.
    Anyone else: 422 `not_the_confirmer`."""
    context.require(Scope.cbdc_write)
    service = cbdc_of(context)
    done = service.confirm(parse_id("cbe", payment_id, "conditional_payment"), context.actor)
    return _Render(service).conditional(done)


@router.post("/conditional-payments/{payment_id}/cancellation", response_model=ConditionalOut)
def cancel(payment_id: str, context: Caller) -> ConditionalOut:
    """Its creator or its confirmer calls it off; the hold returns to the payer."""
    context.require(Scope.cbdc_write)
    service = cbdc_of(context)
    done = service.cancel(parse_id("cbe", payment_id, "conditional_payment"), context.actor)
    return _Render(service).conditional(done)


class ReleasesOut(BaseModel):
    released: list[ConditionalOut]


@router.post("/conditional-payments/releases", response_model=ReleasesOut)
def release_due(context: Caller) -> ReleasesOut:
    """Release every payment whose conditions hold now. A second call releases nothing, so
    it needs no Idempotency-Key."""
    context.require(Scope.cbdc_write)
    service = cbdc_of(context)
    render = _Render(service)
    return ReleasesOut(released=[render.conditional(p) for p in service.release_due()])


@router.get("/issuer-key", response_model=IssuerKeyOut)
def issuer_key(context: Caller) -> IssuerKeyOut:
    """The public key that signs offline tokens: devices verify notes with it offline."""
    context.require(Scope.cbdc_read)
    key = cbdc_of(context).issuer_public_key().public_bytes_raw().hex()
    return IssuerKeyOut(algorithm="Ed25519", public_key=key)


@router.post("/devices", status_code=201, response_model=DeviceOut)
def register_device(body: DeviceCreate, context: Caller) -> DeviceOut:
    """A device that will hold value offline, by its Ed25519 public key."""
    context.require(Scope.cbdc_write)
    service = cbdc_of(context)
    device = service.register_device(
        parse_id("cbw", body.wallet, "cbdc_wallet"), bytes.fromhex(body.public_key)
    )
    return _device_out(_Render(service), service, device)


@router.get("/devices/{device_id}", response_model=DeviceOut)
def get_device(device_id: str, context: Caller) -> DeviceOut:
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    device = service.get_device(parse_id("cbd", device_id, "device"))
    return _device_out(_Render(service), service, device)


@router.post("/devices/{device_id}/loads", status_code=201, response_model=LoadOut)
def load_device(device_id: str, body: Amount, context: Caller, key: IdempotencyKey) -> LoadOut:
    """Move value from the device's wallet into signed tokens for the device. Over the
    offline cap: 422 `offline_cap_exceeded`."""
    context.require(Scope.cbdc_write)
    device = parse_id("cbd", device_id, "device")
    result: LoadOut = _money_call(
        context, key, body, 201,
        lambda s, r, i: s.load_device(device, parse_amount(body.amount, r.fiat), i),
        _Render.load,
    )  # fmt: skip
    return result


@router.post("/devices/{device_id}/syncs", response_model=SyncOut)
def sync_device(device_id: str, body: SyncCreate, context: Caller, key: IdempotencyKey) -> SyncOut:
    """Redeem the notes a device holds into its wallet, on reconnection. Each note has its
    own outcome: `redeemed`, `replayed`, `recovered` (a double spend paid from the
    offender's balance, `flagged` what it could not), or why it was refused."""
    context.require(Scope.cbdc_write)
    device = parse_id("cbd", device_id, "device")
    try:
        notes = [note_from_json(note.model_dump()) for note in body.notes]
    except OfflineError as error:
        raise ProblemError(422, error.code, "The note is malformed", error.message) from None
    result: SyncOut = _money_call(
        context, key, body, 200, lambda s, r, i: s.sync_device(device, notes, i), _Render.sync
    )
    return result


@router.get("/overview", response_model=OverviewOut)
def overview(context: Caller) -> OverviewOut:
    """The central bank's view: issued, redeemed, circulation by tier and by participant,
    escrow, payments value and velocity."""
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    return _Render(service).overview(service.overview())


@router.get("/audit", response_model=AuditOut)
def audit(context: Caller) -> AuditOut:
    """Recompute the invariants (circulation = issued - redeemed = balances held = fiat
    backing; offline pool = outstanding tokens; holding limits). `ok` false: investigate."""
    context.require(Scope.cbdc_read)
    service = cbdc_of(context)
    return _Render(service).audit(service.audit())
