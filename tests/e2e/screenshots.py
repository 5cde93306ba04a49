"""``python -m tests.e2e.screenshots``: screenshots of every page at 1400x900 in ``docs/screenshots/``.

Starts the same world as the browser tests (sandbox and console on free ports, in a temporary directory),
signs in as admin, saves ``<page>.png`` for every page plus the deployment detail and its scale dialog, then
stops everything by PID.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.ui import PAGES, dialog, open_deployment, open_page, sign_in, wait_until_idle
from tests.e2e.world import CHROMIUM_ARGS, LOGINS, VIEWPORT, chromium_path, pid_alive, running_world

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIRECTORY = REPOSITORY_ROOT / "docs" / "screenshots"


def _settle(page: Page) -> None:
    """Let the data grids (drawn on canvases) and charts finish drawing before the shot."""
    wait_until_idle(page)
    for grid in page.locator('[data-testid="stDataFrame"] canvas').all():
        expect(grid).to_be_visible()
    page.mouse.move(VIEWPORT["width"] - 10, VIEWPORT["height"] - 10)  # no hover effect in the picture
    page.wait_for_timeout(800)
    wait_until_idle(page)


def _shoot(page: Page, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(REPOSITORY_ROOT) if path.is_relative_to(REPOSITORY_ROOT) else path}", flush=True)
    return path


def take_screenshots(url: str, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, base_url=url)
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto("/")
            expect(page.get_by_label("Username")).to_be_visible(timeout=60_000)
            wait_until_idle(page)
            saved.append(_shoot(page, directory, "login"))

            sign_in(page, "admin", LOGINS["admin"])
            for key in PAGES:
                open_page(page, key)
                _settle(page)
                saved.append(_shoot(page, directory, key))

            open_deployment(page, "ml-serving", "wine-quality")
            _settle(page)
            saved.append(_shoot(page, directory, "deployment-detail"))
            page.get_by_role("button", name="Roll back", exact=True).click()
            box = dialog(page)
            expect(box.get_by_text("What changes:")).to_be_visible()
            box.get_by_label(re.compile(r"^Reason")).fill("v4-broken crash-loops; back to the last good revision")
            _settle(page)
            saved.append(_shoot(page, directory, "rollback-dialog"))
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_DIRECTORY, help="default docs/screenshots/")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="console-screenshots-") as temporary:
        print("starting the sandbox and the console ...", flush=True)
        with running_world(Path(temporary) / ".sandbox") as world:
            print(f"console at {world.url}; saving screenshots:", flush=True)
            saved = take_screenshots(world.url, args.output.resolve())
        survivors = [pid for pid in world.pids if pid_alive(pid)]
    if survivors:
        print(f"processes still running after the stop: {survivors}", file=sys.stderr)
        return 1
    print(f"{len(saved)} screenshots in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
