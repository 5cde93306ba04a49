"""Login attempts and revoked sessions in the audit database, both append-only.

The failed-login limit is decided and recorded in one serialized transaction (``begin_attempt``): an attempt
is stored as a failure before its password is checked, so N simultaneous guesses check at most the limit, and
a correct password then stores a success that clears the count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from console.adapters.audit_database import AuditDatabase
from console.adapters.audit_schema import login_attempts, revoked_sessions
from console.domain.audit import LoginAttempt
from console.errors import BackendUnavailable

LockCheck = Callable[[list[LoginAttempt], datetime], "datetime | None"]


class LoginRecords:
    """One user name's attempts, and the sign-in cookies revoked by a logout."""

    def __init__(self, database: AuditDatabase) -> None:
        self._database = database

    def begin_attempt(self, username: str, *, clock: Callable[[], datetime], lookback: timedelta,
                      locked_until: LockCheck) -> tuple[datetime, datetime | None]:
        """Decide and record one attempt atomically: (when it was made, the end of the lockout that refuses it),
        nothing stored when refused, else stored as a failure (``record_success`` follows when the password is
        right). The time is read inside the transaction, so attempts are stored in the order they are decided."""
        with self._database.transaction(serialized_on=f"login:{username}") as connection:
            now = clock()
            attempts = self._since(connection, username, now - lookback)
            until = locked_until(attempts, now)
            if until is not None:
                return now, until
            connection.execute(sa.insert(login_attempts).values(at=_utc(now), username=username, succeeded=False))
        return now, None

    def record_success(self, username: str, *, now: datetime) -> None:
        """A correct password: the failures before it no longer count."""
        with self._database.transaction() as connection:
            connection.execute(sa.insert(login_attempts).values(at=_utc(now), username=username, succeeded=True))

    def attempts_since(self, username: str, since: datetime) -> list[LoginAttempt]:
        """One user's login attempts since a time, oldest first."""
        with self._database.reading() as connection:
            return self._since(connection, username, since)

    @staticmethod
    def _since(connection: sa.Connection, username: str, since: datetime) -> list[LoginAttempt]:
        table = login_attempts
        statement = (sa.select(table.c.at, table.c.succeeded)
                     .where(table.c.username == username, table.c.at >= _utc(since))
                     .order_by(table.c.at, table.c.id))
        return [LoginAttempt(at=_utc(at), username=username, succeeded=bool(ok))
                for at, ok in connection.execute(statement).all()]

    def revoke(self, revocation_key: str, *, username: str, now: datetime) -> None:
        """Revoke a sign-in cookie (by the hash of its claims); revoking it twice is no error."""
        try:
            with self._database.transaction() as connection:
                connection.execute(sa.insert(revoked_sessions).values(revocation_key=revocation_key, username=username,
                                                                      at=_utc(now)))
        except BackendUnavailable as err:
            if not isinstance(err.__cause__, IntegrityError):
                raise

    def is_revoked(self, revocation_key: str) -> bool:
        """Whether a logout revoked the sign-in with this key."""
        with self._database.reading() as connection:
            return connection.execute(sa.select(revoked_sessions.c.username)
                                      .where(revoked_sessions.c.revocation_key == revocation_key)).first() is not None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
