"""Lease rows of the audit database: a name held by one holder until it is given back or expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from console.adapters.audit_database import AuditDatabase
from console.adapters.audit_schema import leases


class Leases:
    """Take, renew and give back leases. Time is the wall clock: a lease must expire for every process."""

    def __init__(self, database: AuditDatabase) -> None:
        self._database = database

    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float) -> bool:
        """Take ``name`` if it is free or expired, or renew it if ``holder`` has it; True when ``holder`` has it."""
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_seconds)
        with self._database.transaction(serialized_on=f"lease:{name}") as connection:
            row = connection.execute(sa.select(leases.c.holder, leases.c.expires_at)
                                     .where(leases.c.name == name)).first()
            if row is None:
                connection.execute(sa.insert(leases).values(name=name, holder=holder, acquired_at=now,
                                                            expires_at=expires))
                return True
            current_holder, current_expiry = row
            if current_holder != holder and _utc(current_expiry) > now:
                return False
            values = {"holder": holder, "expires_at": expires}
            if current_holder != holder:
                values["acquired_at"] = now
            connection.execute(sa.update(leases).where(leases.c.name == name).values(**values))
            return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give ``name`` back if ``holder`` still has it (an expired lease taken over is not touched)."""
        with self._database.transaction() as connection:
            connection.execute(sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    def lease_holder(self, name: str) -> str | None:
        """Who holds ``name`` now (None when it is free or expired)."""
        with self._database.reading() as connection:
            row = connection.execute(sa.select(leases.c.holder, leases.c.expires_at)
                                     .where(leases.c.name == name)).first()
        if row is None or _utc(row[1]) <= datetime.now(UTC):
            return None
        return str(row[0])


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
