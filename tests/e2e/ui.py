"""Browser helpers shared by the journeys and the screenshots: sign in, open a page, check it rendered cleanly."""

from __future__ import annotations

import re
import time

from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

COOKIE = "mlops_console_auth"
DEPLOYMENTS_LOADED = "3 of 3 deployments"
# What each page shows once its script has drawn (the header alone comes before the backend reads).
PAGES = {
    "deployments": "Deployments",
    "logs": "Logs",
    "models": "Models",
    "experiments": "Experiments",
    "slos": "SLOs",
    "audit": "Audit log",
}
PLACEHOLDER = "Not connected yet"
ACTION_BUTTONS = ("Scale", "Restart", "Pause", "Resume", "Roll back", "Promote", "Download CSV")


def fill_sign_in(page: Page, username: str, password: str) -> None:
    """Submit the sign-in form (which must be shown).

    The form is filled only once the app is idle: on a first load the login cookie's component reruns the
    script right after the first run, and a submit sent during that can be lost.
    """
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_for_login_cookie(context: BrowserContext, *, timeout_seconds: float = 15) -> dict:
    """The login cookie, which a component sets shortly after sign-in (before it, a reload signs out)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for cookie in context.cookies():
            if cookie["name"] == COOKIE and cookie["value"]:
                return cookie
        time.sleep(0.1)
    raise AssertionError(f"the login cookie {COOKIE} was not set within {timeout_seconds} s")


def sign_in(page: Page, username: str, password: str, *, start: str = "/deployments") -> None:
    """Sign in at ``start`` and wait until the Deployments page and the login cookie are there.

    The journeys sign in on the Deployments address (a deep link): signing in on the start page loses the
    login cookie in most runs, which ``test_signing_in_on_the_start_page_keeps_the_login`` shows on its own.
    """
    page.goto(start)
    fill_sign_in(page, username, password)
    expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible(timeout=60_000)
    assert page.url.rstrip("/").endswith("/deployments"), page.url
    wait_for_login_cookie(page.context)


def wait_until_idle(page: Page, *, quiet_seconds: float = 0.6, timeout_seconds: float = 30) -> None:
    """Wait until the app is connected and its script has not run for ``quiet_seconds`` (a live fragment may
    start it again afterwards; that is fine for the caller)."""
    app = page.locator('[data-testid="stApp"]')
    deadline = time.monotonic() + timeout_seconds
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        idle = (app.get_attribute("data-test-connection-state") == "CONNECTED"
                and app.get_attribute("data-test-script-state") == "notRunning")
        if not idle:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return
        time.sleep(0.05)
    raise AssertionError(f"the app kept running for {timeout_seconds} s")


def assert_clean(page: Page) -> None:
    """No Streamlit exception block and no traceback on the page."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    main = page.locator('[data-testid="stMain"]')
    text = main.inner_text() if main.count() else page.locator("body").inner_text()
    # Log lines may quote a crashed model server's traceback; the console's own code must never show one.
    assert 'File "/work' not in text and "site-packages" not in text, text[:2000]


def header(page: Page, title: str):  # type: ignore[no-untyped-def]
    # While a page is redrawn Streamlit may keep the previous run's elements for a moment: take the first.
    return page.get_by_role("heading", name=title, exact=True).first


def open_page(page: Page, key: str) -> None:
    """Open a page through the sidebar and wait until it has drawn."""
    title = PAGES[key]
    nav_title = "Audit" if key == "audit" else title
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=re.compile(rf"(^|\s){nav_title}$"))
    address = re.compile(rf"/{key}(\?.*)?$")
    for attempt in range(3):
        # A click that lands while a rerun is starting (the cookie component's, a live fragment's) can be lost.
        wait_until_idle(page)
        link.click()
        try:
            page.wait_for_url(address, timeout=8_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    expect(header(page, title)).to_be_visible(timeout=30_000)
    if key == "deployments":
        expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible(timeout=30_000)
    elif key == "logs":
        expect(page.get_by_text(re.compile(r"^[\d,]+ lines")).first).to_be_visible(timeout=30_000)
    elif key == "audit":
        expect(page.get_by_text(re.compile(r"^\d+ records, newest first")).first).to_be_visible(timeout=30_000)
    wait_until_idle(page)


def is_placeholder(page: Page) -> bool:
    return page.get_by_text(PLACEHOLDER).count() > 0


def sidebar_pages(page: Page) -> list[str]:
    # A link's text is its icon's ligature name, then its title.
    return [text.split()[-1] for text in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def open_deployment(page: Page, namespace: str, name: str) -> None:
    """Deep link to one deployment's detail (needs the login cookie)."""
    page.goto(f"/deployments?namespace={namespace}&deployment={name}")
    expect(page.get_by_role("heading", name=f"{namespace}/{name}").first).to_be_visible(timeout=60_000)
    wait_until_idle(page)


def select_option(page: Page, select, option: str | re.Pattern[str]) -> None:  # type: ignore[no-untyped-def]
    """Choose an option of a Streamlit selectbox (its list opens in a popover outside the widget)."""
    select.click()
    page.get_by_role("option", name=option, exact=isinstance(option, str)).first.click()


def success_message(page: Page, text: str | re.Pattern[str]):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stAlertContentSuccess").get_by_text(text).first


def dialog(page: Page):  # type: ignore[no-untyped-def]
    found = page.get_by_role("dialog")
    expect(found).to_be_visible(timeout=15_000)
    return found
