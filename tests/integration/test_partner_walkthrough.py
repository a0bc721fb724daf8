"""The developer portal's getting-started guide, run as written: its shell blocks, with the
real `curl`, against a real server on a free port (SQLite). If the guide and the API drift
apart, this fails. Also: the portal page renders the guide and links the API reference."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from hazina.api.app import create_app
from hazina.bootstrap import Platform, build_platform
from hazina.identity.roles import Scope
from hazina.partners.gateway import Partners
from tests.integration.platform_world import Parties

GUIDE = Path(__file__).resolve().parents[2] / "src/hazina/partners/portal/getting-started.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Platform]]:
    platform = build_platform(str(tmp_path / "hazina.sqlite3"))
    partners = Partners(platform, platform.database)
    port = free_port()
    config = uvicorn.Config(
        create_app(platform, partners=partners), host="127.0.0.1", port=port, log_level="error"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", platform
    finally:
        running.should_exit = True
        thread.join(timeout=10)
        partners.close()
        platform.close()


def shell_blocks(markdown: str) -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL))


def test_the_getting_started_guide_runs_as_written(server: tuple[str, Platform]) -> None:
    base, platform = server
    parties = Parties(platform)
    agent = parties.agent("AG001", 10_000_000)
    alice = parties.customer("Alice")
    bob = parties.customer("Bob")
    parties.fund(agent, alice, 200_000, 50_000)
    identity = platform.identity
    environment = {
        **os.environ,
        "HAZINA": base,
        "ADMIN_KEY": identity.issue_key("maker", "ops", list(Scope), "tests").plaintext,
        "CHECKER_KEY": identity.issue_key("checker", "ops", list(Scope), "tests").plaintext,
        "WALLET": f"wal_{alice:016x}",
        "PHONE": parties.phones[bob],
    }
    script = shell_blocks(GUIDE.read_text())
    assert script.count("curl ") >= 7
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr + ran.stdout
    lines = ran.stdout.splitlines()
    # Printed, in order: a sandbox customer's name, the payment's status, today's requests
    # (token calls are not metered: the sandbox listing is another app; so one payment and
    # this usage call), and the revocation.
    assert lines[1:] == ["completed", "2", "True"], ran.stdout
    assert lines[0]
    assert platform.payments.balance(bob).balance == 25_000


def test_the_portal_page_renders_the_guide(server: tuple[str, Platform]) -> None:
    base, _ = server
    page = httpx.get(f"{base}/developers")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "<h1>Getting started as a Hazina partner</h1>" in page.text
    assert 'href="/docs"' in page.text
    assert "<script" not in page.text.split("</nav>")[1]  # the guide's HTML is not passed on
    raw = httpx.get(f"{base}/developers/getting-started.md")
    assert raw.text == GUIDE.read_text()
    reference = httpx.get(f"{base}/developers/reference")
    assert reference.status_code == 200
    document = httpx.get(f"{base}/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert reference.text.count("<h3><code>") == operations  # every operation, from the spec
    assert "<code>POST /oauth2/token</code>" in reference.text
    assert "<script" not in reference.text
