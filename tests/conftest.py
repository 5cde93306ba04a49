from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st

from console.adapters.audit_store import AuditStore
from console.sandbox.kube import KubeApiServer, seed_demo_world
from tests.helpers import BACKEND_SETTINGS, demo_environment, running_postgres, validated_kube_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    """An empty audit store on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    else:
        # One server for the session; a fresh schema per test keeps tests apart.
        import sqlalchemy as sa

        base = request.getfixturevalue("postgres_url")
        database = f"audit_{abs(hash(request.node.nodeid)) % 10**9}"
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
        engine.dispose()
        store = AuditStore(base.rsplit("/", 1)[0] + f"/{database}")
    yield store
    store.dispose()


@pytest.fixture()
def kube(tmp_path: Path) -> Iterator[KubeApiServer]:
    """A sandbox API server with the demo world on a free port; ``tmp_path/kubeconfig`` points at it, and every
    response body it sent is validated when the test ends."""
    with validated_kube_server() as server:
        seed_demo_world(server, now=datetime.now(UTC))
        server.write_kubeconfig(tmp_path / "kubeconfig")
        yield server


@pytest.fixture()
def audit(tmp_path: Path) -> AuditStore:
    """An empty SQLite audit store."""
    return AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")


@pytest.fixture()
def console_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., dict[str, str]]]:
    """Set the console's environment for AppTest: demo settings in ``tmp_path`` plus the backends given as
    keyword arguments (the others unset), with Streamlit's caches cleared before and after the test."""

    def apply(**settings: str) -> dict[str, str]:
        for name in BACKEND_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        values = demo_environment(tmp_path, **settings)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        st.cache_resource.clear()
        st.cache_data.clear()
        return values

    yield apply
    st.cache_resource.clear()
    st.cache_data.clear()
