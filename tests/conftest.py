from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from tests.helpers import running_postgres


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
