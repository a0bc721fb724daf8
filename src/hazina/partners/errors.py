"""One error type for the partners context: an HTTP status, a stable code and a message (and
headers, such as Retry-After), which the API turns into a problem response."""

from __future__ import annotations


class PartnersError(ValueError):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class PartnerAppError(PartnersError):
    """A refused partner-app operation."""


class TenantError(PartnersError):
    """A refused tenant operation, or a tenant that does not exist."""


class GatewayError(PartnersError):
    """A request refused on its way in: credentials, tenant, rate limit or quota."""
