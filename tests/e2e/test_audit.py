"""The admin downloads the audit log as CSV; its rows are the audit store's records."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Download, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditFilter
from console.services.audit import CSV_COLUMNS, record_as_row
from tests.e2e.ui import assert_clean, open_page, sign_in, wait_until_idle
from tests.e2e.world import LOGINS


def _download(page: Page) -> Download:
    """Click "Download CSV"; the file is built on the server when asked for, after a round trip.

    Once in a full run, a click right after sign-in (while the login cookie's component may start a rerun) left
    the button waiting for the file for good; a second try starts from a reload of the page, as a user would.
    """
    for attempt in range(2):
        wait_until_idle(page)
        try:
            with page.expect_download(timeout=15_000) as download_info:
                page.get_by_role("button", name="Download CSV").click()
            return download_info.value
        except PlaywrightTimeoutError:
            if attempt == 1:
                raise
            page.reload()
            expect(page.get_by_text(re.compile(r"^\d+ records, newest first")).first).to_be_visible()
    raise AssertionError("unreachable")


def test_the_admin_downloads_the_audit_csv(page: Page, audit: AuditStore) -> None:
    sign_in(page, "admin", LOGINS["admin"])
    open_page(page, "audit")
    download = _download(page)
    assert download.suggested_filename == "audit.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS

    records = audit.query(AuditFilter(limit=1000))
    assert rows[1:] == [record_as_row(record) for record in records]
    assert_clean(page)


def test_the_operator_reads_the_audit_log_but_cannot_export_it(page: Page, audit: AuditStore) -> None:
    sign_in(page, "operator", LOGINS["operator"])
    open_page(page, "audit")
    expect(page.get_by_text(f"{len(audit.query(AuditFilter(limit=1000)))} records, newest first").first).to_be_visible()
    expect(page.get_by_role("button", name="Download CSV")).to_have_count(0)
    assert_clean(page)
