"""The failed-login limit: after 5 failures for one user name within 15 minutes, refuse it for 15 minutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from console.domain.audit import LoginAttempt

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# How far back the store must be read to decide: a lockout can have started at most LOCKOUT ago,
# from failures at most FAILURE_WINDOW before that.
LOOKBACK = FAILURE_WINDOW + LOCKOUT


def locked_until(
    attempts: Sequence[LoginAttempt],
    *,
    now: datetime,
    max_failures: int = MAX_FAILURES,
    failure_window: timedelta = FAILURE_WINDOW,
    lockout: timedelta = LOCKOUT,
) -> datetime | None:
    """When the lockout that holds at ``now`` ends, or None when logins are allowed.

    ``attempts`` are one user's attempts, oldest first, covering at least ``LOOKBACK``. A success clears the
    failures before it. Attempts refused during a lockout are not stored as failures, so hammering a locked
    account does not extend its lockout.
    """
    failures: list[datetime] = []
    until: datetime | None = None
    for attempt in attempts:
        if attempt.at > now:
            break
        if attempt.succeeded:
            failures.clear()
            until = None
            continue
        failures.append(attempt.at)
        recent = failures[-max_failures:]
        if len(recent) == max_failures and recent[-1] - recent[0] <= failure_window:
            until = recent[-1] + lockout
            # The lockout consumed these failures: after it ends the count starts again.
            failures.clear()
    return until if until is not None and until > now else None
