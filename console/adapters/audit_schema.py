"""The audit database's tables and the guards that make the database itself refuse to rewrite history.

Append-only tables (audit records, their alias changes, login attempts, revoked sessions) get triggers that
refuse UPDATE and DELETE, on SQLite also an INSERT that would replace a row (``INSERT OR REPLACE``, ``REPLACE
INTO``: SQLite runs no DELETE trigger for the row a REPLACE removes), and on PostgreSQL TRUNCATE. The lease
table is the one mutable table: a lease is taken, renewed and given back.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

audit_records = sa.Table(
    "audit_records",
    metadata,
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
    # The hash chain: each record's hash covers the one before it (see console.domain.audit_chain).
    sa.Column("previous_hash", sa.String(64), nullable=True),
    sa.Column("record_hash", sa.String(64), nullable=True),
)

alias_changes = sa.Table(
    "alias_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audit_records.id"), nullable=True),
    sa.Column("model", sa.String(500), nullable=False),
    sa.Column("alias", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("previous_version", sa.Integer, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("gate", sa.Text, nullable=False, default=""),
    sa.Column("overridden", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_alias_changes_model_alias", "model", "alias", "id"),
)

# Which (model, alias) histories were taken over from the registry's older history tag, once each.
imported_histories = sa.Table(
    "imported_alias_histories",
    metadata,
    sa.Column("model", sa.String(500), primary_key=True),
    sa.Column("alias", sa.String(255), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dropped_count", sa.Integer, nullable=False, default=0),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempts_username_at", "username", "at"),
)

revoked_sessions = sa.Table(
    "revoked_sessions",
    metadata,
    sa.Column("revocation_key", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(500), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

APPEND_ONLY_TABLES = ("audit_records", "alias_changes", "imported_alias_histories", "login_attempts",
                      "revoked_sessions")
# Columns added after a table's first release: an older database gets them on first use.
_ADDED_COLUMNS = {"audit_records": (("previous_hash", "VARCHAR(64)"), ("record_hash", "VARCHAR(64)"))}


def _sqlite_guards(table: str, key: str) -> list[str]:
    guards = [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    guards.append(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key}) "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )
    return guards


_SQLITE_KEYS = {
    "audit_records": "id = NEW.id",
    "alias_changes": "id = NEW.id",
    "imported_alias_histories": "model = NEW.model AND alias = NEW.alias",
    "login_attempts": "id = NEW.id",
    "revoked_sessions": "revocation_key = NEW.revocation_key",
}

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
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION console_append_only()",
    ]


def create_schema(connection: sa.Connection) -> None:
    """Create the tables and their guards (idempotent), and add the columns an older database lacks."""
    metadata.create_all(connection)
    inspector = sa.inspect(connection)
    for table, columns in _ADDED_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        for name, kind in columns:
            if name not in present:
                connection.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statements = [s for table in APPEND_ONLY_TABLES for s in _sqlite_guards(table, _SQLITE_KEYS[table])]
    elif dialect == "postgresql":
        statements = [_POSTGRES_GUARD_FUNCTION, *(s for table in APPEND_ONLY_TABLES for s in _postgres_guards(table))]
    else:
        statements = []
    for statement in statements:
        connection.execute(sa.text(statement))
