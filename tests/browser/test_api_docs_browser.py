"""The API's docs pages render in a real browser with no network beyond the server itself.

Swagger UI (/docs) and ReDoc (/redoc) load their scripts from the app (the `fastapi-offline`
package's assets), not from a CDN: every request the page makes to another host is refused
here and recorded, and the pages must still show the API's operations (ReDoc's decorative
logo aside)."""

from __future__ import annotations

from playwright.sync_api import Page, Route

from tests.browser.conftest import ConsoleServer


def _offline(page: Page, server: ConsoleServer) -> list[tuple[str, str]]:
    elsewhere: list[tuple[str, str]] = []

    def handle(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append((route.request.resource_type, route.request.url))
            route.abort()

    page.route("**/*", handle)
    return elsewhere


def test_swagger_ui_renders_every_operation_offline(
    page: Page, console_server: ConsoleServer
) -> None:
    elsewhere = _offline(page, console_server)
    page.goto(f"{console_server.url}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    operations = page.locator(".opblock").count()
    spec = page.request.get(f"{console_server.url}/openapi.json").json()
    expected = sum(
        1
        for methods in spec["paths"].values()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    )
    assert operations == expected, (operations, expected)
    assert page.locator("text=Unable to render this definition").count() == 0
    assert page.locator(".opblock-summary-path", has_text="/v1/p2p-transfers").count() >= 1
    assert elsewhere == [], elsewhere


def test_redoc_renders_offline(page: Page, console_server: ConsoleServer) -> None:
    elsewhere = _offline(page, console_server)
    page.goto(f"{console_server.url}/redoc")
    page.wait_for_selector("h1:has-text('Hazina API')", timeout=20_000)
    assert page.get_by_text("/v1/p2p-transfers").count() >= 1
    # ReDoc's bundle asks its CDN for the "powered by" logo in the menu; refused, the page is
    # whole without it. Nothing else (no script, style, font or data) may come from elsewhere.
    assert {kind for kind, _ in elsewhere} <= {"image"}, elsewhere
