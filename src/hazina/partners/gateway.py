"""Where the API meets the partners context: which tenant's platform a request goes to, who is
calling (a partner's access token, an API key or an operator session), and the partner's
rate limit, daily quota and usage meter.

Routing: a partner's access token names its tenant (the header `Hazina-Tenant`, if sent, must
agree: `403 tenant_mismatch`); any other credential goes to the tenant the header names (the
home tenant without it) and is checked against that tenant's own users and keys, so a key of
one tenant is unknown to every other (`401`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable

from hazina.bootstrap import Platform
from hazina.identity.roles import Scope
from hazina.identity.service import Principal
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import rate_limit_keys_max
from hazina.kernel.rate import TokenBuckets
from hazina.partners.apps import (
    ApprovedApp,
    AppTerms,
    PartnerApp,
    PartnerAppService,
)
from hazina.partners.errors import GatewayError, PartnerAppError, TenantError
from hazina.partners.tenants import Brand, TenantDirectory, home_slug
from hazina.partners.tokens import AccessToken, InvalidTokenError, TokenService

_day_ns = 86_400 * 1_000_000_000
currencies = ("KES",)


class PartnerLimiter:
    """Per app: a token bucket (its granted rate and burst) and its daily quota, in memory,
    with the day's count started from what the usage table already holds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets = TokenBuckets(rate_limit_keys_max)
        self._lock = threading.Lock()

    def take(self, app: PartnerApp) -> None:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.refilled(app.client_id, now, app.rate_per_second, app.burst)
            if bucket.tokens < 1.0:
                wait_s = max(1, math.ceil((1.0 - bucket.tokens) / app.rate_per_second))
                raise GatewayError(
                    429,
                    "rate_limited",
                    f"this app may make {app.rate_per_second} requests a second; "
                    f"retry after {wait_s} second(s)",
                    {"Retry-After": str(wait_s)},
                )
            bucket.tokens -= 1.0


class UsageMeter:
    """Requests per app and day, counted in memory and added to the tenant's usage table by
    `flush` (the server does so every `partner_usage_flush_interval_s`, and before reads)."""

    def __init__(self) -> None:
        self._pending: dict[str, Counter[tuple[str, int]]] = {}
        self._known: dict[tuple[str, int], int] = {}  # (client, day) -> count including stored
        self._lock = threading.Lock()

    def count(self, tenant: str, client_id: str, day: int, stored: Callable[[], int]) -> int:
        """Count one request; returns the app's requests today including this one."""
        with self._lock:
            key = (client_id, day)
            if key not in self._known:
                self._known[key] = stored()
            self._known[key] += 1
            self._pending.setdefault(tenant, Counter())[key] += 1
            return self._known[key]

    def take_pending(self) -> dict[str, Counter[tuple[str, int]]]:
        with self._lock:
            pending, self._pending = self._pending, {}
            return pending


class Partners:
    """Tenants, partner apps, tokens, limits and metering for one installation."""

    def __init__(self, home: Platform, home_database: str) -> None:
        self.home = home
        self.tenants = TenantDirectory(home, home_database)
        self.tokens = TokenService(home.ledger, home.clock)
        self.limiter = PartnerLimiter()
        self.meter = UsageMeter()

    def close(self) -> None:
        self.flush_usage()
        self.tenants.close()

    # -- routing -------------------------------------------------------------------------------

    def platform_for(self, tenant: str | None) -> tuple[str, Platform]:
        slug = tenant or home_slug
        try:
            return slug, self.tenants.platform(slug)
        except TenantError as error:
            raise GatewayError(error.status, error.code, error.message) from None

    def apps(self, tenant: str | None) -> PartnerAppService:
        """The partner apps of a tenant, a service kept with the tenant's platform."""
        slug, platform = self.platform_for(tenant)
        return platform.service(
            "partner_apps",
            lambda p: PartnerAppService(p.ledger, p.clock, p.ids, p.payments, slug, currencies),
        )

    # -- partner requests ----------------------------------------------------------------------

    def authenticate_token(self, token: str, tenant: str | None) -> tuple[Principal, Platform]:
        try:
            claims = self.tokens.verify(token)
        except InvalidTokenError:
            raise GatewayError(401, "unauthenticated", "the access token is not valid") from None
        if tenant is not None and tenant != claims.tenant:
            raise GatewayError(
                403, "tenant_mismatch", "the token was issued for another tenant than the "
                "Hazina-Tenant header names",
            )  # fmt: skip
        slug, platform = self.platform_for(claims.tenant)
        service = self.apps(slug)
        app = service.by_client_id(claims.client_id)
        if app is None or app.status != "approved":
            raise GatewayError(401, "unauthenticated", "the app is not approved or was revoked")
        self.limiter.take(app)
        day = platform.clock.now_ns() // _day_ns
        used = self.meter.count(
            slug,
            app.client_id,
            day,
            lambda: sum(requests for _, requests in service.usage(app.client_id, day, day)),
        )
        if used > app.daily_quota:
            seconds_left = max(1, math.ceil(((day + 1) * _day_ns - platform.clock.now_ns()) / 1e9))
            raise GatewayError(
                429,
                "quota_exceeded",
                f"this app's quota is {app.daily_quota} requests a day (UTC)",
                {"Retry-After": str(seconds_left)},
            )
        granted = frozenset(Scope(s) for s in claims.scopes if s in app.scopes)
        return Principal("partner", app.client_id, granted), platform

    def flush_usage(self) -> None:
        for slug, counts in self.meter.take_pending().items():
            self.apps(slug).record_usage(dict(counts))

    # -- onboarding ----------------------------------------------------------------------------

    def authenticate_client(self, client_id: str, client_secret: str) -> PartnerApp:
        """The approved app of these credentials (its tenant is the client id's prefix); one
        error, `invalid_client`, for an unknown tenant, app or secret alike."""
        slug = client_id.split(".", 1)[0] if "." in client_id else ""
        try:
            return self.apps(slug).authenticate_client(client_id, client_secret)
        except (GatewayError, PartnerAppError):
            raise GatewayError(401, "invalid_client", "client authentication failed") from None

    def token_for(
        self, client_id: str, client_secret: str, requested: frozenset[Scope] | None
    ) -> AccessToken:
        app = self.authenticate_client(client_id, client_secret)
        slug = client_id.split(".", 1)[0]
        scopes = app.scopes if requested is None else requested
        if not scopes <= app.scopes:
            raise GatewayError(400, "invalid_scope", "the app was not granted every scope asked")
        return self.tokens.issue(app.client_id, slug, tuple(sorted(s.value for s in scopes)))

    def approve(
        self, tenant: str | None, app_id: int, approved_by: str, sandbox_customers: int
    ) -> tuple[ApprovedApp, ApprovedApp | None]:
        """Approve an app; for an app of a live tenant, also make its sandbox tenant (seeded
        with `sandbox_customers` simulated customers and their traffic) and approve the same
        app there, so the partner gets sandbox credentials too."""
        from hazina.cli.demo import seed_traffic

        service = self.apps(tenant)
        app = service.get(app_id)
        sandbox_slug = None
        if service.tenant == home_slug or self.tenants.get(service.tenant).kind == "operator":
            sandbox_slug = f"sbx-{app.client_id.split('.', 1)[1][:12]}"
        approved = service.approve(app_id, approved_by, sandbox_slug)
        if sandbox_slug is None:
            return approved, None
        self.tenants.create(
            sandbox_slug,
            f"Sandbox of {app.name}"[:80],
            Brand(display_name=f"{app.name} sandbox"[:80]),
            approved_by,
            kind="sandbox",
            owner_app=app.client_id,
        )
        _, platform = self.platform_for(sandbox_slug)
        for currency_code in currencies:
            platform.payments.setup_currency(currency_code)
        if sandbox_customers:
            seed_traffic(platform, sandbox_customers, sandbox_customers * 3, seed=11)
        sandbox = self.apps(sandbox_slug)
        terms = AppTerms(
            app.name, app.contact_email, app.scopes, app.rate_per_second, app.burst,
            app.daily_quota, app.revenue_share_bps,
        )  # fmt: skip
        pending = sandbox.register(terms, f"sandbox-of:{app.client_id}")
        sandbox_approved = sandbox.approve(pending.id, approved_by, None)
        invariant(sandbox_approved.app.status == "approved", "sandbox app approved")
        return approved, sandbox_approved
