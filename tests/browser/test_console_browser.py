"""The console in headless chromium against a running server: log in with password and
TOTP, the dashboard's charts drawn with data, a customer found, a reversal made by one
operator and approved by another, a held payment and an AML case worked to a decision. Each
main page is saved to docs/console/ as a screenshot."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hazina.console.demo import DEMO_OPERATORS
from hazina.kernel.ids import prefixed
from hazina.payments.domain.chart import PartyKind
from hazina.payments.records import TransactionSearch
from tests.browser.conftest import ConsoleServer, screenshot

PASSWORDS = {"admin": "hazina-demo-admin"} | {o.username: o.password for o in DEMO_OPERATORS}
CHART_NAMES = ("volume", "value", "fees", "wallets", "floats", "decisions", "cases", "loans")


def log_in(page: Page, server: ConsoleServer, username: str, target: str = "/console/") -> None:
    page.goto(server.url + target)
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_label("One-time code (authenticator app)").fill(server.clock.next_totp())
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url + target)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_login_page_and_keyboard_skip_link(page: Page, console_server: ConsoleServer) -> None:
    page.goto(console_server.url + "/console/login")
    screenshot(page, "login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORDS["admin"])
    page.get_by_label("One-time code (authenticator app)").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username, password or code")
    log_in(page, console_server, "admin")
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_dashboard_draws_every_chart_with_data(page: Page, console_server: ConsoleServer) -> None:
    log_in(page, console_server, "admin")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.wait_for_function(
        f"window.hazinaCharts && Object.keys(window.hazinaCharts).length === {len(CHART_NAMES)}"
    )
    assert page.locator("canvas[data-chart]").count() == len(CHART_NAMES)
    points = page.evaluate(
        """() => Object.fromEntries(Object.entries(window.hazinaCharts).map(([name, chart]) =>
            [name, chart.data.datasets.reduce((n, set) => n + set.data.length, 0)]))"""
    )
    for name in ("volume", "value", "fees", "wallets", "floats", "decisions", "cases"):
        assert points[name] > 0, name
    value = page.evaluate(
        "() => window.hazinaCharts.volume.data.datasets.reduce("
        "(n, set) => n + set.data.reduce((a, b) => a + b, 0), 0)"
    )
    total = int(page.locator("#total-payments").inner_text().replace(",", ""))
    assert value == total > 0  # the chart shows what the tiles count
    drawn = page.evaluate(
        "() => { const c = document.getElementById('chart-volume');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; } return false; }"
    )
    assert drawn  # pixels on the canvas, not only a chart object
    screenshot(page, "dashboard")


def test_find_a_customer_and_a_transaction(page: Page, console_server: ConsoleServer) -> None:
    customer = console_server.platform.payments.list_parties(PartyKind.customer, 0, 1)[0]
    log_in(page, console_server, "admin")
    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Name, phone or code").fill(customer.name)
    page.get_by_role("button", name="Search").click()
    page.locator("#customer-results").get_by_role("link", name=customer.name).first.click()
    expect(page.get_by_role("heading", name=customer.name, exact=True)).to_be_visible()
    expect(page.locator("#kyc-tier")).to_have_text(str(int(customer.kyc_tier)))
    screenshot(page, "customer")
    page.get_by_role("link", name="Transactions").click()
    page.get_by_label("Type").select_option("merchant_payment")
    page.get_by_role("button", name="Search").click()  # htmx swaps the results in place
    expect(page).to_have_url(re.compile(r"type=merchant_payment"))
    first_rows = page.locator("#results tbody tr").all_inner_texts()
    assert first_rows
    assert all("merchant_payment" in row for row in first_rows)
    screenshot(page, "transactions")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#results caption")).to_contain_text("a later page")
    assert page.locator("#results tbody tr").first.inner_text() not in first_rows
    page.locator("#results tbody a").first.click()
    expect(page.locator("#ledger-legs tbody tr").first).to_be_visible()
    screenshot(page, "transaction")


def test_maker_checker_needs_two_operators(page: Page, console_server: ConsoleServer) -> None:
    payments = console_server.platform.payments
    payment = payments.search_transactions(
        TransactionSearch(type="bill_payment", status="completed"), None, 1
    )[0]
    path = f"/console/transactions/{prefixed('txn', payment.id)}"
    log_in(page, console_server, "ops", path)
    page.get_by_label("Reason").fill("customer paid the wrong biller")
    page.get_by_role("button", name="Request reversal").click()
    expect(page).to_have_url(console_server.url + "/console/approvals")
    row = page.locator("#reversal-requests tr", has_text=prefixed("txn", payment.id))
    expect(row).to_contain_text("your request: another operator decides")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    log_out(page)
    log_in(page, console_server, "risk", "/console/approvals")
    row = page.locator("#reversal-requests tr", has_text=prefixed("txn", payment.id))
    screenshot(page, "approvals")
    row.get_by_role("button", name="Approve").click()
    decided = page.locator("#decided-requests tr", has_text=prefixed("txn", payment.id))
    expect(decided).to_contain_text("approved")
    expect(decided).to_contain_text("operator:ops")
    expect(decided).to_contain_text("operator:risk")
    assert payments.get_transaction(payment.id).status == "reversed"


def test_work_a_held_payment_and_a_case(page: Page, console_server: ConsoleServer) -> None:
    platform = console_server.platform
    held = platform.payments.list_transactions(None, 0, 10, status="held")[0]
    log_in(page, console_server, "risk", "/console/cases")
    expect(page.locator("#held-payments")).to_contain_text(prefixed("txn", held.id))
    screenshot(page, "cases")
    page.locator("#held-payments tr", has_text=prefixed("txn", held.id)).get_by_role(
        "button", name="Release"
    ).click()
    expect(page.get_by_text("No payment is held.")).to_be_visible()
    assert platform.payments.get_transaction(held.id).status == "completed"

    page.locator("#case-queue tbody a").first.click()
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("#case-assignee")).to_have_text("operator:risk")
    page.get_by_role("button", name="Start investigation").click()
    page.get_by_label("Note").fill("Called the customer: market stall takings.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#case-history")).to_contain_text("market stall takings")
    page.get_by_label("Decision").select_option("legitimate_activity")
    page.get_by_label("Why").fill("Takings match the stall's trade licence.")
    screenshot(page, "case")
    page.get_by_role("button", name="Decide and close").click()
    expect(page.locator("#case-status-value")).to_have_text("closed")


def test_auditor_reads_the_audit_log(page: Page, console_server: ConsoleServer) -> None:
    log_in(page, console_server, "auditor")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    expect(nav.get_by_role("link", name="Approvals")).to_have_count(0)
    nav.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit-log")).to_contain_text("operator.logged_in")
    screenshot(page, "audit")
    page.get_by_role("button", name="Verify the ledger now").click()
    expect(page.get_by_role("heading", name="Ledger verification")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Verified")
    head = page.locator("#journal-head").inner_text()
    screenshot(page, "ledger-verification")
    # Later, against the head kept from before.
    page.get_by_role("link", name="Back to the audit log").click()
    page.get_by_label("Journal head kept from an earlier verification").fill(head)
    page.get_by_role("button", name="Verify the ledger now").click()
    expect(page.get_by_role("status")).to_contain_text("Verified")
    expect(page.locator("#audit-log")).to_have_count(0)
    page.goto(console_server.url + "/console/approvals")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
