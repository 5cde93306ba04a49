"""Signing in, every page of every role, the login cookie across reloads, logout, and the failed-login limit."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from console.adapters.audit_store import AuditStore
from console.domain.login_limit import LOOKBACK
from console.services.clock import utc_now
from tests.e2e.ui import (
    header,
    COOKIE,
    DEPLOYMENTS_LOADED,
    assert_clean,
    fill_sign_in,
    open_page,
    sidebar_pages,
    sign_in,
    wait_for_login_cookie,
    wait_until_idle,
)
from tests.e2e.world import LOCKOUT_PASSWORD, LOCKOUT_USER, LOGINS

READER_PAGES = ["deployments", "logs", "models", "experiments", "slos"]
ROLE_PAGES = {
    "viewer": READER_PAGES,
    "operator": [*READER_PAGES, "audit"],
    "admin": [*READER_PAGES, "audit"],
}
NAV_TITLES = {"deployments": "Deployments", "logs": "Logs", "models": "Models", "experiments": "Experiments",
              "slos": "SLOs", "audit": "Audit"}


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_each_role_signs_in_and_every_page_of_its_role_renders_cleanly(page: Page, role: str) -> None:
    sign_in(page, role, LOGINS[role])
    assert_clean(page)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"· {role}")).to_be_visible()
    assert sidebar_pages(page) == [NAV_TITLES[key] for key in ROLE_PAGES[role]]
    for key in ROLE_PAGES[role]:
        open_page(page, key)
        assert_clean(page)


def test_the_login_survives_a_reload_and_logout_ends_it(page: Page) -> None:
    sign_in(page, "viewer", LOGINS["viewer"])
    page.reload()
    expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible()
    # A deep link in the same browser opens the page without the sign-in form.
    page.goto("/logs?namespace=ml-serving&deployment=iris-classifier")
    expect(header(page, "Logs")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_count(0)
    assert_clean(page)

    wait_until_idle(page)
    page.get_by_role("button", name="Log out").click()
    # The notice lasts one run: the cookie component's answer reruns the app into the sign-in form.
    expect(page.get_by_text("You are logged out").or_(page.get_by_label("Username")).first).to_be_visible()
    deadline = time.monotonic() + 15
    while any(c["name"] == COOKIE and c["value"] for c in page.context.cookies()):
        assert time.monotonic() < deadline, "logging out did not delete the login cookie"
        time.sleep(0.1)
    page.reload()
    expect(page.get_by_label("Username")).to_be_visible()
    page.goto("/deployments")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_text(DEPLOYMENTS_LOADED)).to_have_count(0)
    assert_clean(page)


@pytest.mark.parametrize("attempt", range(2))
def test_signing_in_on_the_start_page_keeps_the_login(page: Page, attempt: int) -> None:
    # The home page forwards at once; the login cookie must still be written (once was a lost race).
    page.goto("/")
    fill_sign_in(page, "viewer", LOGINS["viewer"])
    expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible()
    assert page.url.rstrip("/").endswith("/deployments")
    wait_for_login_cookie(page.context, timeout_seconds=5)
    page.reload()
    expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible()


def _attempts(audit: AuditStore) -> list[bool]:
    return [attempt.succeeded for attempt in audit.logins.attempts_since(LOCKOUT_USER, utc_now() - LOOKBACK)]


def _wait_for_attempts(audit: AuditStore, count: int, *, timeout_seconds: float = 15) -> list[bool]:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        attempts = _attempts(audit)
        if len(attempts) >= count:
            return attempts
        time.sleep(0.1)
    return _attempts(audit)


def test_a_wrong_password_is_refused_and_the_sixth_attempt_locked_out(page: Page, audit: AuditStore) -> None:
    # Its own user: the lockout lives in the audit store and would otherwise lock a demo login for every test.
    assert _attempts(audit) == []
    page.goto("/")
    for attempt in range(1, 6):
        fill_sign_in(page, LOCKOUT_USER, f"wrong-password-{attempt}")
        assert _wait_for_attempts(audit, attempt) == [False] * attempt
        expect(page.get_by_text("Wrong user name or password.").first).to_be_visible()
        expect(page.get_by_text(DEPLOYMENTS_LOADED)).to_have_count(0)

    # The sixth attempt is refused even with the right password, before the password is checked.
    fill_sign_in(page, LOCKOUT_USER, LOCKOUT_PASSWORD)
    expect(page.get_by_text(f"Too many failed logins for '{LOCKOUT_USER}'").first).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_text(DEPLOYMENTS_LOADED)).to_have_count(0)
    assert not any(c["name"] == COOKIE and c["value"] for c in page.context.cookies())
    time.sleep(0.5)  # a refused attempt must not be stored (it would extend the lockout)
    assert _attempts(audit) == [False] * 5
    assert_clean(page)
