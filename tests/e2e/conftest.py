"""One sandbox and one console for the whole browser session; a fresh browser context per test.

The browser is Debian's Chromium driven by Playwright; it is never downloaded. A missing Chromium fails the
session with a clear message rather than skipping it: `make test` installs it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from console.adapters.audit_store import AuditStore
from tests.e2e.world import CHROMIUM_ARGS, VIEWPORT, ConsoleWorld, chromium_path, pid_alive, running_world

# Browser waits are short and polled; a journey that needs longer is broken, not slow.
EXPECT_TIMEOUT_MS = 20_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """The sandbox (Kubernetes API, MLflow, ...) and the console on free ports; every PID gone afterwards."""
    root = tmp_path_factory.mktemp("e2e") / ".sandbox"
    with running_world(root) as started:
        yield started
    survivors = [pid for pid in started.pids if pid_alive(pid)]
    assert started.pids, "the sandbox recorded no child process"
    assert not survivors, f"processes still running after sandbox.stop(): {survivors}"


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture()
def page(browser: Browser, world: ConsoleWorld) -> Iterator[Page]:
    """A page in a context of its own (no cookie shared with other tests), 1400x900."""
    context = browser.new_context(viewport=VIEWPORT, base_url=world.url, accept_downloads=True)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def audit(world: ConsoleWorld) -> Iterator[AuditStore]:
    """The audit store the console writes to, read directly."""
    store = AuditStore(world.audit_database_url)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def kube_apps(world: ConsoleWorld):  # type: ignore[no-untyped-def]
    """The official Kubernetes client's AppsV1Api, on the sandbox's kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(world.sandbox.paths.kubeconfig))
    yield client.AppsV1Api(api_client)
    api_client.close()


@pytest.fixture(scope="session")
def kube_core(world: ConsoleWorld):  # type: ignore[no-untyped-def]
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(world.sandbox.paths.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture(scope="session")
def mlflow_client(world: ConsoleWorld):  # type: ignore[no-untyped-def]
    import mlflow

    return mlflow.MlflowClient(tracking_uri=world.env["MLFLOW_TRACKING_URI"])
