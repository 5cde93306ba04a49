from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile
from console.domain.audit import LoginAttempt
from console.domain.login_limit import locked_until
from console.errors import AuthenticationFailed
from console.services.auth import login
from console.sandbox.users import write_demo_credentials

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def failures(*minutes: float, user: str = "alice") -> list[LoginAttempt]:
    return [LoginAttempt(at=T0 + timedelta(minutes=m), username=user, succeeded=False) for m in minutes]


def test_five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() -> None:
    attempts = failures(0, 1, 2, 3, 14)
    assert locked_until(attempts[:4], now=T0 + timedelta(minutes=14)) is None
    assert locked_until(attempts, now=T0 + timedelta(minutes=14)) == T0 + timedelta(minutes=29)
    assert locked_until(attempts, now=T0 + timedelta(minutes=28, seconds=59)) is not None
    assert locked_until(attempts, now=T0 + timedelta(minutes=29)) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    assert locked_until(failures(0, 4, 8, 12, 16), now=T0 + timedelta(minutes=16)) is None


def test_a_success_clears_earlier_failures() -> None:
    attempts = failures(0, 1, 2, 3) + [LoginAttempt(at=T0 + timedelta(minutes=4), username="alice", succeeded=True)]
    attempts += failures(5)
    assert locked_until(attempts, now=T0 + timedelta(minutes=5)) is None


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture()
def credentials(tmp_path: Path) -> CredentialsFile:
    write_demo_credentials(tmp_path / "users.yaml", rounds=4)
    return CredentialsFile.load(tmp_path / "users.yaml")


def test_lockout_holds_across_sessions_and_replicas(
    audit_store: AuditStore, credentials: CredentialsFile
) -> None:
    clock = FixedClock(T0)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
            login(credentials, audit_store, username="operator", password="guess", clock=clock)
        clock.at += timedelta(seconds=30)
    # A second console replica reads the same store: the right password is refused while locked.
    replica = AuditStore(audit_store.address)
    with pytest.raises(AuthenticationFailed, match="Too many failed logins for 'operator'"):
        login(credentials, replica, username="operator", password="operator-demo", clock=clock)
    # Other users are not affected.
    assert login(credentials, audit_store, username="viewer", password="viewer-demo", clock=clock).username == "viewer"
    clock.at += timedelta(minutes=15)
    actor = login(credentials, audit_store, username="operator", password="operator-demo", clock=clock)
    assert actor.role.label == "operator"


def test_unknown_user_and_empty_input(audit_store: AuditStore, credentials: CredentialsFile) -> None:
    with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
        login(credentials, audit_store, username="mallory", password="x")
    with pytest.raises(AuthenticationFailed, match="Enter a user name and a password"):
        login(credentials, audit_store, username=" ", password="")
    recorded = audit_store.logins.attempts_since("mallory", T0 - timedelta(days=3650))
    assert [attempt.succeeded for attempt in recorded] == [False]
