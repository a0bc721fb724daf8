"""The demo's console operators: one per role, so each role's view can be tried, and two
people for maker-checker (the supervisor is a second admin, the checker of admin changes).
They share the demo administrator's TOTP secret (a demo, not a deployment: real operators
each get their own secret from `create_operator`)."""

from __future__ import annotations

from dataclasses import dataclass

from hazina.bootstrap import Platform
from hazina.identity.roles import Role


@dataclass(frozen=True, slots=True)
class DemoOperator:
    username: str
    display_name: str
    password: str
    role: Role


DEMO_OPERATORS = (
    DemoOperator(
        "supervisor", "Demo supervisor (second admin)", "hazina-demo-supervisor", Role.admin
    ),
    DemoOperator("ops", "Demo operations officer", "hazina-demo-ops", Role.operations),
    DemoOperator("risk", "Demo risk analyst", "hazina-demo-risk", Role.risk_analyst),
    DemoOperator("auditor", "Demo auditor", "hazina-demo-auditor", Role.auditor),
    DemoOperator("agents", "Demo agent manager", "hazina-demo-agents", Role.agent_manager),
)


def seed_console_operators(platform: Platform, totp_secret: str) -> list[DemoOperator]:
    """Create the demo operators that do not exist yet; returns those created."""
    created = []
    for demo in DEMO_OPERATORS:
        if platform.identity.get_operator(demo.username) is None:
            platform.identity.create_operator(
                demo.username,
                demo.display_name,
                demo.password,
                [demo.role],
                "demo",
                totp_secret=totp_secret,
            )
            created.append(demo)
    return created
