"""Sign-in cookies as an attacker would bring them, in a real browser: forged, revoked by a logout, or of a
locked-out user. Each leads to the sign-in form, never to an error page or into the console. And Streamlit's
unauthenticated metrics endpoint is off."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile
from console.errors import AuthenticationFailed
from console.services import auth
from tests.e2e.ui import COOKIE, DEPLOYMENTS_LOADED, assert_clean, sign_in, wait_until_idle
from tests.e2e.world import LOCKED_COOKIE_USER, LOGINS, VIEWPORT, ConsoleWorld


def cookie_key(world: ConsoleWorld) -> str:
    return Path(world.env["CONSOLE_COOKIE_KEY_FILE"]).read_text(encoding="utf-8").strip()


def expiry() -> float:
    return (datetime.now(UTC) + timedelta(days=1)).timestamp()


def opened_with(browser: Browser, world: ConsoleWorld, value: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT, base_url=world.url)
    context.add_cookies([{"name": COOKIE, "value": value, "url": world.url}])
    page = context.new_page()
    page.goto("/deployments")
    return page


def assert_sign_in_form(page: Page) -> None:
    expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
    wait_until_idle(page)
    expect(page.get_by_text(DEPLOYMENTS_LOADED)).to_have_count(0)
    assert_clean(page)


def _alg_none(username: str) -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(f'{{"username":"{username}","exp_date":{expiry()}}}'.encode()).decode()
    return f"{header}.{body}."


@pytest.mark.parametrize("forge", ["alg-none", "hs512", "no-exp-date", "wrong-key", "garbage"])
def test_a_forged_cookie_leads_to_the_sign_in_form(browser: Browser, world: ConsoleWorld, forge: str) -> None:
    key = cookie_key(world)
    value = {
        "alg-none": lambda: _alg_none("admin"),
        "hs512": lambda: jwt.encode({"username": "admin", "exp_date": expiry()}, key * 2, algorithm="HS512"),
        "no-exp-date": lambda: jwt.encode({"username": "admin"}, key, algorithm="HS256"),
        "wrong-key": lambda: jwt.encode({"username": "admin", "exp_date": expiry()}, "x" * 48, algorithm="HS256"),
        "garbage": lambda: "%%not-a-token%%",
    }[forge]()
    page = opened_with(browser, world, value)
    try:
        assert_sign_in_form(page)
    finally:
        page.context.close()


def test_a_genuine_cookie_still_signs_in(browser: Browser, world: ConsoleWorld) -> None:
    value = jwt.encode({"username": "viewer", "exp_date": expiry()}, cookie_key(world), algorithm="HS256")
    page = opened_with(browser, world, value)
    try:
        expect(page.get_by_text(DEPLOYMENTS_LOADED).first).to_be_visible(timeout=60_000)
    finally:
        page.context.close()


def test_a_cookie_copied_before_logout_signs_nobody_in(page: Page, browser: Browser, world: ConsoleWorld) -> None:
    sign_in(page, "operator", LOGINS["operator"])
    copied = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    wait_until_idle(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out").or_(page.get_by_label("Username")).first).to_be_visible()
    elsewhere = opened_with(browser, world, copied["value"])
    try:
        assert_sign_in_form(elsewhere)
    finally:
        elsewhere.context.close()


def test_a_locked_account_is_refused_with_a_valid_cookie(browser: Browser, world: ConsoleWorld) -> None:
    audit = AuditStore(world.audit_database_url)
    credentials = CredentialsFile.load(Path(world.env["CONSOLE_AUTH_FILE"]))
    value = jwt.encode({"username": LOCKED_COOKIE_USER, "exp_date": expiry()}, cookie_key(world), algorithm="HS256")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.login(credentials, audit, username=LOCKED_COOKIE_USER, password="wrong")
    page = opened_with(browser, world, value)
    try:
        assert_sign_in_form(page)
    finally:
        page.context.close()


def test_the_metrics_endpoint_is_off(world: ConsoleWorld) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{world.url}/_stcore/metrics", timeout=10)
    assert refused.value.code == 404
    with urllib.request.urlopen(f"{world.url}/_stcore/health", timeout=10) as health:
        assert health.status == 200
