"""Logging in, for the browser and the command line alike, and the production start checks."""

from __future__ import annotations

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile, password_matches
from console.config import DEMO_LOGINS, Settings
from console.domain.access import Actor
from console.domain.audit import LoginAttempt
from console.domain.login_limit import LOOKBACK, locked_until
from console.errors import AuthenticationFailed, SettingsError
from console.services.clock import Clock, utc_now

WRONG_CREDENTIALS = "Wrong user name or password."


def login(
    credentials: CredentialsFile, audit: AuditStore, *, username: str, password: str, clock: Clock = utc_now
) -> Actor:
    """Check a user name and password against the credentials file and the failed-login limit.

    Every attempt is stored in the audit store, so the limit holds across browser sessions, the command line
    and console replicas. A locked user name is refused before its password is checked.
    """
    username = username.strip()
    if not username or not password:
        raise AuthenticationFailed("Enter a user name and a password.")
    now = clock()
    until = locked_until(audit.login_attempts_since(username, now - LOOKBACK), now=now)
    if until is not None:
        raise AuthenticationFailed(
            f"Too many failed logins for {username!r}: logins for it are refused until "
            f"{until:%H:%M:%S} UTC."
        )
    account = credentials.verify(username, password)
    audit.record_login(LoginAttempt(at=now, username=username, succeeded=account is not None))
    if account is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    return Actor(username=account.username, display_name=account.display_name, role=account.role)


def actor_for(credentials: CredentialsFile, username: str) -> Actor | None:
    """The actor for a user name already authenticated (the browser's login cookie), if it still exists."""
    account = credentials.get(username)
    if account is None:
        return None
    return Actor(username=account.username, display_name=account.display_name, role=account.role)


def check_production_credentials(settings: Settings, credentials: CredentialsFile) -> None:
    """Refuse a production start with a demo user; demo settings are checked in ``load_settings``."""
    if not settings.is_production:
        return
    problems = []
    for account in credentials.users():
        demo_password = DEMO_LOGINS.get(account.username)
        if account.demo or (demo_password and password_matches(demo_password, account.password_hash)):
            problems.append(f"user {account.username!r} is a demo login; remove it or give it a real password")
    if problems:
        raise SettingsError("The console refuses to start in production with demo logins.", problems=problems)
