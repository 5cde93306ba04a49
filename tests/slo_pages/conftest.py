"""A monitoring world prepared once for the package: 30 days of demo history backfilled, rules loaded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time

import pytest

from console.adapters.prometheus import PrometheusClient

from console.sandbox import monitoring
from console.sandbox.prometheus import PrometheusHandle, start_prometheus

@pytest.fixture(scope="session")
def prepared_at() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def monitoring_root(tmp_path_factory: pytest.TempPathFactory, prepared_at: datetime) -> Path:
    """``prepare_monitoring`` as the sandbox runs it, backfilling only the 5m ratio's past (the slow part)."""
    root = tmp_path_factory.mktemp("monitoring")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(monitoring, "backfilled_windows", lambda objective: (timedelta(minutes=5),))
        monitoring.prepare_monitoring(root, now=prepared_at)
    return root


@pytest.fixture(scope="session")
def prometheus(monitoring_root: Path) -> Iterator[PrometheusHandle]:
    paths = monitoring.MonitoringPaths(monitoring_root)
    with start_prometheus(paths.directory, rule_files=[paths.rules], retention=monitoring.RETENTION) as handle:
        # Every rule group evaluates once within its interval; until then only the backfilled windows exist. A
        # group records its objective after all its windows, and its alerts after that.
        with PrometheusClient(handle.url, timeout_seconds=10) as client:
            deadline = time.monotonic() + 60
            while len(client.instant("slo:objective:ratio")) < 6 and time.monotonic() < deadline:
                time.sleep(0.5)
        yield handle
