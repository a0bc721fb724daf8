"""OAuth2 client-credentials access tokens: short-lived JWTs signed with rotating keys.

Tokens are signed ES256 (ECDSA P-256) with the newest active key of the installation's home
database; each carries its key id (`kid`) so verification picks the right public key after a
rotation. Rotating makes a new key current and retires keys older than the previous one once
no token they signed can still be valid (a token lives `oauth_token_lifetime_s`). The public
keys are published as a JWK set (`/.well-known/jwks.json`).

Claims: `iss` "hazina", `aud` "hazina-api", `sub` the client id, `tenant` the operator whose
data the token opens, `scope` (space-separated), `jti` (unique, for revocation), `iat`, `exp`.
Verification checks the signature against our keys only (a token signed with any other key,
or with `alg: none`, or another algorithm, is refused), the issuer, the audience, expiry and
the revocation list. Errors say only "invalid token", to tell a forger nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, GuestProtocol, KeySet

from hazina.kernel.clock import Clock
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import oauth_signing_keys_max, oauth_token_lifetime_s
from hazina.ledger.service import LedgerService, LedgerUnit
from hazina.partners.schema import SCHEMA

issuer = "hazina"
audience = "hazina-api"
algorithm = "ES256"
_ns = 1_000_000_000


class InvalidTokenError(Exception):
    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    client_id: str
    tenant: str
    scopes: tuple[str, ...]
    jti: str
    expires_in_s: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    tenant: str
    scopes: frozenset[str]
    jti: str
    expires_at_s: int


class TokenService:
    """Signing keys, token issue, verification and revocation, in the home database."""

    def __init__(self, ledger: LedgerService, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock
        ledger.store.ensure_schema("partners", SCHEMA)
        self._keys: dict[str, ECKey] = {}
        self._current: str | None = None
        self._revoked: set[str] = set()
        self._revoked_checked_ns = -1
        self._load_keys()
        if self._current is None:
            self.rotate_keys()

    # -- keys ----------------------------------------------------------------------------------

    def _load_keys(self) -> None:
        rows = self._ledger.store.reader().fetch_all(
            "SELECT kid, private_jwk FROM oauth_signing_keys WHERE retired_at_ns IS NULL"
            " ORDER BY kid"
        )
        self._keys = {str(kid): ECKey.import_key(json.loads(jwk)) for kid, jwk in rows}
        self._current = str(rows[-1][0]) if rows else None

    def rotate_keys(self) -> str:
        """Make a new key current; retire keys older than the previous current one (every token
        they signed has expired by the time the next rotation comes)."""
        now_ns = self._clock.now_ns()

        def work(unit: LedgerUnit) -> str:
            row = unit.sql.fetch_one("SELECT count(*) FROM oauth_signing_keys")
            made = 0 if row is None else int(row[0])
            # The number of keys ever made orders them even when the clock has not moved.
            kid = f"k{made + 1:06d}-{secrets.token_hex(4)}"
            key = ECKey.generate_key("P-256", parameters={"kid": kid})
            unit.sql.execute(
                "INSERT INTO oauth_signing_keys (kid, private_jwk, created_at_ns) VALUES (?, ?, ?)",
                (kid, json.dumps(key.as_dict(private=True)), now_ns),
            )
            active = unit.sql.fetch_all(
                "SELECT kid FROM oauth_signing_keys WHERE retired_at_ns IS NULL ORDER BY kid DESC"
            )
            for (old,) in active[oauth_signing_keys_max:]:
                unit.sql.execute(
                    "UPDATE oauth_signing_keys SET retired_at_ns = ? WHERE kid = ?", (now_ns, old)
                )
            return kid

        kid = self._ledger.run(work)
        self._load_keys()
        invariant(self._current == kid, "the new key is current")
        return kid

    def jwks(self) -> dict[str, Any]:
        """The public keys that verify live tokens, as a JWK set."""
        self._load_keys()
        keys = KeySet([ECKey.import_key(key.as_dict(private=False)) for key in self._keys.values()])
        return dict(keys.as_dict())

    # -- tokens --------------------------------------------------------------------------------

    def issue(self, client_id: str, tenant: str, scopes: tuple[str, ...]) -> AccessToken:
        invariant(self._current is not None, "a signing key exists")
        now_s = self._clock.now_ns() // _ns
        jti = secrets.token_urlsafe(16)
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": client_id,
            "tenant": tenant,
            "scope": " ".join(scopes),
            "jti": jti,
            "iat": now_s,
            "exp": now_s + oauth_token_lifetime_s,
        }
        kid = str(self._current)
        token = jwt.encode(
            {"alg": algorithm, "kid": kid, "typ": "at+jwt"},
            claims,
            self._keys[kid],
            algorithms=[algorithm],
        )
        return AccessToken(token, client_id, tenant, scopes, jti, oauth_token_lifetime_s)

    def verify(self, token: str) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self._key_for, algorithms=[algorithm])
            jwt.JWTClaimsRegistry(
                now=lambda: self._clock.now_ns() // _ns,
                leeway=0,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": audience},
                sub={"essential": True},
                jti={"essential": True},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, KeyError, TypeError):
            raise InvalidTokenError("invalid token") from None
        claims = decoded.claims
        now_s = self._clock.now_ns() // _ns
        if int(claims["exp"]) <= now_s or int(claims.get("iat", now_s)) > now_s + 60:
            raise InvalidTokenError("invalid token")
        if self.is_revoked(str(claims["jti"])):
            raise InvalidTokenError("invalid token")
        return TokenClaims(
            str(claims["sub"]),
            str(claims.get("tenant", "")),
            frozenset(str(claims.get("scope", "")).split()),
            str(claims["jti"]),
            int(claims["exp"]),
        )

    def _key_for(self, token: GuestProtocol) -> ECKey:
        kid = token.headers().get("kid")
        key = self._keys.get(str(kid))
        if key is None:
            self._load_keys()  # another process may have rotated
            key = self._keys.get(str(kid))
        if key is None:
            raise InvalidTokenError("invalid token")
        return key

    def revoke(self, token: str) -> bool:
        """Revoke a token (RFC 7009): True if it was one of ours and is now revoked. An invalid
        or expired token needs nothing and answers False (the endpoint answers 200 either way).
        """
        try:
            claims = self.verify(token)
        except InvalidTokenError:
            return False
        now_ns = self._clock.now_ns()

        def work(unit: LedgerUnit) -> None:
            unit.sql.execute(
                "INSERT INTO oauth_revoked_tokens (jti, expires_at_s, revoked_at_ns)"
                " VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING",
                (claims.jti, claims.expires_at_s, now_ns),
            )
            unit.sql.execute(
                "DELETE FROM oauth_revoked_tokens WHERE expires_at_s < ?", (now_ns // _ns,)
            )

        self._ledger.run(work)
        self._revoked.add(claims.jti)
        return True

    def is_revoked(self, jti: str) -> bool:
        if jti in self._revoked:
            return True
        row = self._ledger.store.reader().fetch_one(
            "SELECT 1 FROM oauth_revoked_tokens WHERE jti = ?", (jti,)
        )
        if row is not None:
            self._revoked.add(jti)
        return row is not None
