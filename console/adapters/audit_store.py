"""The audit store: one record per operator action, in a hash chain, with the alias changes the action made.

Append-only three times over: this module has no update or delete statement; the schema's triggers make the
database refuse UPDATE, DELETE and REPLACE (``console.adapters.audit_schema``); and every record carries the
hash of the one before it, so ``verify`` finds an edit or a gap that bypassed both. The same database holds the
leases (``leases``), the login attempts and revoked sessions (``logins``) and the alias history
(``alias_history``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from console.adapters.alias_history_records import AliasHistoryRecords, change_row
from console.adapters.audit_database import AuditDatabase
from console.adapters.audit_schema import alias_changes, audit_records
from console.adapters.leases import Leases
from console.adapters.login_records import LoginRecords
from console.domain.audit import AuditEntry, AuditFilter, AuditRecord, Outcome
from console.domain.audit_chain import GENESIS, ChainedRecord, ChainReport, record_hash, verify_chain
from console.domain.mlflow_models import PromotionRecord
from console.redaction import redact, redact_value

_CHAIN = "audit-chain"
# The stored columns a record's hash covers (everything but its id and the hashes themselves).
_HASHED = ("at", "username", "role", "action", "target", "outcome", "reason", "parameters", "before_state",
           "after_state", "error")
_CHANGE_HASHED = ("model", "alias", "version", "previous_version", "at", "actor", "reason", "action", "gate",
                  "overridden")


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; every time stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(redact_value(value), sort_keys=True, default=str)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


class AuditStore:
    """Writes and reads audit records; its ``leases``, ``logins`` and ``alias_history`` share the database."""

    def __init__(self, database_url: str, *, timeout_seconds: float = 10.0) -> None:
        self._database = AuditDatabase(database_url, timeout_seconds=timeout_seconds)
        self.address = self._database.address
        self.leases = Leases(self._database)
        self.logins = LoginRecords(self._database)
        self.alias_history = AliasHistoryRecords(self._database)

    def ping(self) -> None:
        """Raise BackendUnavailable unless the store answers; called before an action touches a backend."""
        with self._database.reading() as connection:
            connection.execute(sa.select(sa.literal(1)))

    def append(self, entry: AuditEntry, *, alias_changes_made: Sequence[PromotionRecord] = ()) -> AuditRecord:
        """Write one record, chained to the one before it, with the alias changes its action made, in one
        transaction; returns it with its id. Credentials in URLs are masked in every text field."""
        values = {
            "at": _utc(entry.at),
            "username": entry.username,
            "role": entry.role,
            "action": entry.action,
            "target": redact(entry.target),
            "outcome": entry.outcome.value,
            "reason": redact(entry.reason),
            "parameters": _dump(entry.parameters) or "{}",
            "before_state": _dump(entry.before),
            "after_state": _dump(entry.after),
            "error": redact(entry.error),
        }
        changes = [change_row(change) for change in alias_changes_made]
        with self._database.transaction(serialized_on=_CHAIN) as connection:
            previous = connection.execute(
                sa.select(audit_records.c.record_hash).order_by(audit_records.c.id.desc()).limit(1)).scalar()
            previous_hash = previous or GENESIS
            digest = record_hash(previous_hash, {key: values[key] for key in _HASHED},
                                 [{key: change[key] for key in _CHANGE_HASHED} for change in changes])
            result = connection.execute(sa.insert(audit_records).values(
                **values, previous_hash=previous_hash, record_hash=digest))
            record_id = int(result.inserted_primary_key[0])
            if changes:
                connection.execute(sa.insert(alias_changes), [{**change, "audit_id": record_id} for change in changes])
        return _record({**values, "id": record_id})

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
        with self._database.reading() as connection:
            rows = connection.execute(statement).mappings().all()
        return [_record(row) for row in rows]

    def distinct_values(self, column: str) -> list[str]:
        """Values seen in one of the columns users filter by (username, action), for filter pickers."""
        if column not in ("username", "action"):
            raise ValueError(f"cannot list values of {column}")
        statement = sa.select(audit_records.c[column]).distinct().order_by(audit_records.c[column])
        with self._database.reading() as connection:
            return [row[0] for row in connection.execute(statement)]

    def verify(self) -> ChainReport:
        """Check the whole chain: every record in its place and as it was written."""
        return verify_chain(self._chained_records())

    def _chained_records(self) -> Iterator[ChainedRecord]:
        with self._database.reading() as connection:
            changes: dict[int, list[dict[str, Any]]] = {}
            for row in connection.execute(sa.select(alias_changes).where(alias_changes.c.audit_id.is_not(None))
                                          .order_by(alias_changes.c.id)).mappings():
                change = {key: row[key] for key in _CHANGE_HASHED}
                change["at"] = _utc(change["at"])
                change["overridden"] = bool(change["overridden"])
                changes.setdefault(int(row["audit_id"]), []).append(change)
            for row in connection.execute(sa.select(audit_records).order_by(audit_records.c.id)).mappings():
                fields = {key: row[key] for key in _HASHED}
                fields["at"] = _utc(fields["at"])
                yield ChainedRecord(id=row["id"], previous_hash=row["previous_hash"], stored_hash=row["record_hash"],
                                    fields=fields, alias_changes=changes.get(row["id"], []))

    def dispose(self) -> None:
        """Close the store's connections."""
        self._database.dispose()


def _record(row: Any) -> AuditRecord:
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
