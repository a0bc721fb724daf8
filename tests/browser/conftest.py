"""A real server and a real browser for the console's browser tests.

The server is uvicorn in a thread on a free port, over a copy of the seeded demo database.
The browser is Debian's chromium (`/usr/bin/chromium`, installed by `.ci/run` when missing)
driven headless by Playwright; Playwright never downloads a browser here. Without chromium
the tests fail and say so: a browser test that skips proves nothing.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from hazina.api.app import create_app
from hazina.bootstrap import Platform
from tests.browser.world import ShiftableClock, copy_world, open_world, seeded_console_world

__all__ = ["seeded_console_world"]

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to a scratch folder, so a test run leaves the working tree as it was;
# `HAZINA_SCREENSHOTS=docs/console` refreshes the ones the docs show.
SCREENSHOTS = Path(
    os.environ.get("HAZINA_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "hazina-console-screenshots"
)
_server_start_s = 20


@dataclass(frozen=True, slots=True)
class ConsoleServer:
    url: str
    platform: Platform
    clock: ShiftableClock


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def console_server(
    seeded_console_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleServer]:
    database = copy_world(seeded_console_world, tmp_path_factory.mktemp("browser") / "db.sqlite3")
    platform, clock = open_world(database)
    port = _free_port()
    config = uvicorn.Config(
        create_app(platform), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + _server_start_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the console server did not start on port {port}")
        time.sleep(0.05)
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", platform, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=_server_start_s)
        platform.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console's browser tests drive Debian's chromium. "
            "Install it with `apt-get install chromium` (bash .ci/run does), never with "
            "`playwright install`."
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
