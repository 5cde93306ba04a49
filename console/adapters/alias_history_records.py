"""The alias history in the audit database: every change of an alias, append-only, oldest first.

Rows are written in the same transaction as the audit record of the action that made them (see
``AuditStore.append``); a registry's older history, kept in a registered-model tag, is taken over once per alias.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from console.adapters.audit_database import AuditDatabase
from console.adapters.audit_schema import alias_changes, imported_histories
from console.domain.mlflow_models import PromotionRecord
from console.errors import BackendUnavailable


def change_row(record: PromotionRecord) -> dict[str, object]:
    """The stored columns of one alias change."""
    return {
        "model": record.model,
        "alias": record.alias,
        "version": record.version,
        "previous_version": record.previous_version,
        "at": _utc(record.at),
        "actor": record.actor,
        "reason": record.reason,
        "action": record.action,
        "gate": record.gate,
        "overridden": record.overridden,
    }


class AliasHistoryRecords:
    """Read one alias's history; take over a registry's older history once."""

    def __init__(self, database: AuditDatabase) -> None:
        self._database = database

    def changes(self, model: str, alias: str) -> tuple[PromotionRecord, ...]:
        """Every recorded change of ``alias`` of ``model``, oldest first."""
        table = alias_changes
        statement = (sa.select(table).where(table.c.model == model, table.c.alias == alias)
                     .order_by(table.c.at, table.c.id))
        with self._database.reading() as connection:
            rows = connection.execute(statement).mappings().all()
        return tuple(_record(row) for row in rows)

    def aliases(self, model: str) -> tuple[str, ...]:
        """The aliases of ``model`` that have recorded changes."""
        with self._database.reading() as connection:
            rows = connection.execute(sa.select(alias_changes.c.alias).distinct()
                                      .where(alias_changes.c.model == model))
            return tuple(sorted(row[0] for row in rows))

    def imported(self, model: str, alias: str) -> int | None:
        """How many older records the taken-over history had dropped, or None when it was not taken over yet."""
        table = imported_histories
        with self._database.reading() as connection:
            row = connection.execute(sa.select(table.c.dropped_count)
                                     .where(table.c.model == model, table.c.alias == alias)).first()
        return None if row is None else int(row[0])

    def take_over(self, model: str, alias: str, records: Sequence[PromotionRecord], *, dropped_count: int) -> None:
        """Store a registry's older history of one alias, once: a second caller's take-over is dropped whole."""
        try:
            with self._database.transaction() as connection:
                connection.execute(sa.insert(imported_histories).values(
                    model=model, alias=alias, at=datetime.now(UTC), dropped_count=dropped_count))
                if records:
                    connection.execute(sa.insert(alias_changes), [change_row(record) for record in records])
        except BackendUnavailable as err:
            if not isinstance(err.__cause__, IntegrityError):  # else the other caller won the race; its rows stand
                raise


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: sa.RowMapping) -> PromotionRecord:
    return PromotionRecord(
        model=row["model"], alias=row["alias"], version=row["version"], previous_version=row["previous_version"],
        at=_utc(row["at"]), actor=row["actor"], reason=row["reason"], action=row["action"], gate=row["gate"],
        overridden=bool(row["overridden"]),
    )
