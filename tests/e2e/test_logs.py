"""Following the logs of a crash-looping deployment, and the crashed container's previous log."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.ui import header, assert_clean, select_option, sign_in, wait_until_idle
from tests.e2e.world import LOGINS

NEWEST = re.compile(r"newest (\S+)")


def _caption(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_text(re.compile(r"^[\d,]+ lines")).first


def _newest(page: Page) -> str:
    match = NEWEST.search(_caption(page).inner_text())
    assert match, _caption(page).inner_text()
    return match.group(1)


def test_the_operator_follows_the_logs_of_a_crash_looping_pod(page: Page, kube_core) -> None:  # type: ignore[no-untyped-def]
    pods = kube_core.list_namespaced_pod("ml-serving", label_selector="app=wine-quality").items
    crashing = [pod.metadata.name for pod in pods
                if any(s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
                       for s in pod.status.container_statuses or [])]
    assert crashing, "the demo's wine-quality has no crash-looping pod"

    sign_in(page, "operator", LOGINS["operator"])
    page.goto("/logs?namespace=ml-serving&deployment=wine-quality")
    expect(header(page, "Logs")).to_be_visible()
    expect(_caption(page)).to_be_visible()
    wait_until_idle(page)
    first = _newest(page)

    # Follow: the view refreshes by itself and new lines arrive without any click.
    wait_until_idle(page)
    page.get_by_text("Follow", exact=True).click()
    expect(page.get_by_text(re.compile(r"following every 2 s")).first).to_be_visible()
    expect(_caption(page)).not_to_contain_text(f"newest {first}", timeout=30_000)
    assert _newest(page) > first
    assert_clean(page)

    # The crash-looping pod's previous container says why it crashed.
    wait_until_idle(page)
    page.get_by_text("Follow", exact=True).click()
    expect(page.get_by_text("following every")).to_have_count(0)
    select_option(page, page.get_by_label("Pod"), re.compile(re.escape(crashing[0])))
    expect(page.locator('[data-testid="stCode"]')).to_be_visible()
    wait_until_idle(page)
    page.get_by_text("Previous container", exact=True).click()
    code = page.locator('[data-testid="stCode"]')
    expect(code).to_contain_text("Traceback (most recent call last):")
    expect(code).to_contain_text("ModelSignatureError")
    expect(code).to_contain_text("Application startup failed. Exiting.")
    assert_clean(page)
