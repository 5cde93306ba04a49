"""The audit store: SQLAlchemy over SQLite (default) or PostgreSQL (production).

Append-only by construction: this module has no update or delete statement, and the schema adds triggers that
make the database itself refuse UPDATE and DELETE on the audit and login tables, so a bug or a hand-written
query cannot rewrite history either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import AuditEntry, AuditFilter, AuditRecord, LoginAttempt, Outcome
from console.errors import BackendUnavailable

_metadata = sa.MetaData()

audit_records = sa.Table(
    "audit_records",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("username", sa.String(200), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("action", sa.String(100), nullable=False, index=True),
    sa.Column("target", sa.String(500), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("parameters", sa.Text, nullable=False, default="{}"),
    sa.Column("before_state", sa.Text, nullable=True),
    sa.Column("after_state", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=False, default=""),
)

login_attempts = sa.Table(
    "login_attempts",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempts_username_at", "username", "at"),
)

_APPEND_ONLY_TABLES = ("audit_records", "login_attempts")


def _sqlite_guards(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ]


_POSTGRES_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION console_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def _postgres_guards(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION console_append_only()",
    ]


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; every time we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def _safe_url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


class AuditStore:
    """Writes and reads audit records and login attempts."""

    def __init__(self, database_url: str, *, timeout_seconds: float = 10.0) -> None:
        url = sa.make_url(database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            connect_args["timeout"] = timeout_seconds
        else:
            connect_args["connect_timeout"] = max(1, int(timeout_seconds))
        self._url = url
        self.address = _safe_url(url)
        self._engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        self._schema_ready = False

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[sa.Connection]:
        try:
            self._ensure_schema()
            with (self._engine.begin() if write else self._engine.connect()) as connection:
                yield connection
        except SQLAlchemyError as err:
            raise BackendUnavailable(
                f"The audit store at {self.address} is not available: {err.__class__.__name__}: "
                f"{str(err.orig if hasattr(err, 'orig') and err.orig else err).splitlines()[0]}",
                backend="audit store",
            ) from err

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._engine.begin() as connection:
            _metadata.create_all(connection)
            if self._engine.dialect.name == "sqlite":
                statements = [s for table in _APPEND_ONLY_TABLES for s in _sqlite_guards(table)]
            elif self._engine.dialect.name == "postgresql":
                statements = [_POSTGRES_GUARD_FUNCTION]
                statements += [s for table in _APPEND_ONLY_TABLES for s in _postgres_guards(table)]
            else:
                statements = []
            for statement in statements:
                connection.execute(sa.text(statement))
        self._schema_ready = True

    def ping(self) -> None:
        """Raise BackendUnavailable unless the store answers; called before an action touches a backend."""
        with self._connection(write=False) as connection:
            connection.execute(sa.select(sa.literal(1)))

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Write one record and return it with its id."""
        values = {
            "at": _utc(entry.at),
            "username": entry.username,
            "role": entry.role,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome.value,
            "reason": entry.reason,
            "parameters": _dump(entry.parameters) or "{}",
            "before_state": _dump(entry.before),
            "after_state": _dump(entry.after),
            "error": entry.error,
        }
        with self._connection(write=True) as connection:
            result = connection.execute(sa.insert(audit_records).values(**values))
            record_id = int(result.inserted_primary_key[0])
        return AuditRecord(**_entry_fields(entry), id=record_id)

    def query(self, audit_filter: AuditFilter = AuditFilter()) -> list[AuditRecord]:
        """Records that match the filter, newest first."""
        table = audit_records
        statement = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(audit_filter.limit)
        if audit_filter.username:
            statement = statement.where(table.c.username == audit_filter.username)
        if audit_filter.action:
            statement = statement.where(table.c.action == audit_filter.action)
        if audit_filter.target_contains:
            statement = statement.where(table.c.target.contains(audit_filter.target_contains, autoescape=True))
        if audit_filter.outcome:
            statement = statement.where(table.c.outcome == audit_filter.outcome.value)
        if audit_filter.since:
            statement = statement.where(table.c.at >= _utc(audit_filter.since))
        if audit_filter.until:
            statement = statement.where(table.c.at < _utc(audit_filter.until))
        with self._connection(write=False) as connection:
            rows = connection.execute(statement).mappings().all()
        return [_record(row) for row in rows]

    def distinct_values(self, column: str) -> list[str]:
        """Values seen in one of the columns users filter by (username, action), for filter pickers."""
        if column not in ("username", "action"):
            raise ValueError(f"cannot list values of {column}")
        statement = sa.select(audit_records.c[column]).distinct().order_by(audit_records.c[column])
        with self._connection(write=False) as connection:
            return [row[0] for row in connection.execute(statement)]

    def record_login(self, attempt: LoginAttempt) -> None:
        """Store one login attempt (the failed-login limit counts them)."""
        with self._connection(write=True) as connection:
            connection.execute(
                sa.insert(login_attempts).values(
                    at=_utc(attempt.at), username=attempt.username, succeeded=attempt.succeeded
                )
            )

    def login_attempts_since(self, username: str, since: datetime) -> list[LoginAttempt]:
        """One user's login attempts since a time, oldest first."""
        table = login_attempts
        statement = (
            sa.select(table.c.at, table.c.succeeded)
            .where(table.c.username == username, table.c.at >= _utc(since))
            .order_by(table.c.at, table.c.id)
        )
        with self._connection(write=False) as connection:
            rows = connection.execute(statement).all()
        return [LoginAttempt(at=_utc(at), username=username, succeeded=bool(ok)) for at, ok in rows]

    def dispose(self) -> None:
        """Close the store's connections."""
        self._engine.dispose()


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": _utc(entry.at),
        "username": entry.username,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "parameters": dict(entry.parameters),
        "before": entry.before,
        "after": entry.after,
        "error": entry.error,
    }


def _record(row: sa.RowMapping) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=_utc(row["at"]),
        username=row["username"],
        role=row["role"],
        action=row["action"],
        target=row["target"],
        outcome=Outcome(row["outcome"]),
        reason=row["reason"],
        parameters=_load(row["parameters"]) or {},
        before=_load(row["before_state"]),
        after=_load(row["after_state"]),
        error=row["error"],
    )
