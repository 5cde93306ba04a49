"""The audit database: SQLAlchemy over SQLite (default, a file only its owner may read) or PostgreSQL.

Every table of the audit store shares this one engine. ``transaction(serialized_on=...)`` runs a transaction
that no other serialized transaction on the same key overlaps, in every process: ``BEGIN IMMEDIATE`` on SQLite
(one writer at a time), a transaction-scoped advisory lock on PostgreSQL. Appends to the hash chain and the
failed-login count use it; SQLAlchemy errors become ``BackendUnavailable`` here only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from console.adapters.audit_schema import create_schema
from console.errors import BackendUnavailable

FILE_MODE = 0o600


def _private_sqlite_file(url: sa.URL) -> None:
    """Create the SQLite file readable by its owner only, and narrow an existing one to that."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        os.close(descriptor)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077 and path.stat().st_uid == os.geteuid():
            path.chmod(FILE_MODE)
    except OSError:
        pass  # a missing directory: the first connection says so, as the store's own error


class AuditDatabase:
    """One engine over the audit database, its schema created on first use."""

    def __init__(self, database_url: str, *, timeout_seconds: float = 10.0) -> None:
        url = sa.make_url(database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        self.dialect = url.get_backend_name()
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            connect_args["timeout"] = timeout_seconds
            _private_sqlite_file(url)
        else:
            connect_args["connect_timeout"] = max(1, int(timeout_seconds))
        self.address = url.render_as_string(hide_password=True)
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if self.dialect == "sqlite":
            self._emit_own_begin()
        self._schema_ready = False

    def _emit_own_begin(self) -> None:
        # pysqlite opens transactions lazily and always DEFERRED; the console emits BEGIN itself, IMMEDIATE for
        # a serialized transaction (SQLAlchemy's documented recipe for SQLite transactions).
        @sa.event.listens_for(self.engine, "connect")
        def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(self.engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            mode = connection.get_execution_options().get("sqlite_begin", "")
            connection.exec_driver_sql(f"BEGIN {mode}".strip())

    def _translated(self, err: SQLAlchemyError) -> BackendUnavailable:
        cause = err.orig if getattr(err, "orig", None) else err
        first_line = str(cause).splitlines()[0] if str(cause) else cause.__class__.__name__
        return BackendUnavailable(f"The audit store at {self.address} is not available: "
                                  f"{err.__class__.__name__}: {first_line}", backend="audit store")

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('console-schema'))"))
                create_schema(connection)
        self._schema_ready = True

    @contextmanager
    def transaction(self, *, serialized_on: str | None = None) -> Iterator[sa.Connection]:
        """A write transaction; with ``serialized_on``, no other serialized transaction on that key overlaps."""
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                if serialized_on and self.dialect == "sqlite":
                    connection = connection.execution_options(sqlite_begin="IMMEDIATE")
                with connection.begin():
                    if serialized_on and self.dialect == "postgresql":
                        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                           {"key": serialized_on})
                    yield connection
        except SQLAlchemyError as err:
            raise self._translated(err) from err

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for reads."""
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as err:
            raise self._translated(err) from err

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
