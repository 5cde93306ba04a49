"""Signing in and out, for the browser and the command line alike, and the production start checks.

The failed-login limit is decided and recorded in one step in the audit store (at most ``MAX_FAILURES``
simultaneous guesses are ever checked); a sign-in cookie is honoured only while it is genuine, unexpired, not
revoked by a logout, and its user exists and is not locked out.
"""

from __future__ import annotations

from datetime import timedelta

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile, password_matches
from console.adapters.session_tokens import SessionToken, issue_session_token, read_session_token, revocation_key
from console.config import DEMO_LOGINS, Settings
from console.domain.access import Actor
from console.domain.login_limit import LOOKBACK, locked_until
from console.errors import AuthenticationFailed, SettingsError
from console.services.clock import Clock, utc_now

WRONG_CREDENTIALS = "Wrong user name or password."
MAX_USERNAME_CHARS = 200


def _locked_message(username: str, until: object) -> str:
    return f"Too many failed logins for {username!r}: logins for it are refused until {until:%H:%M:%S} UTC."


def login(
    credentials: CredentialsFile, audit: AuditStore, *, username: str, password: str, clock: Clock = utc_now
) -> Actor:
    """Check a user name and password against the credentials file and the failed-login limit.

    The attempt is counted before its password is checked, in the same transaction that reads the count, so
    simultaneous guesses cannot slip past the limit; a correct password then clears the count. A locked user
    name is refused without a check, whatever the password.
    """
    username = (username or "").strip()
    if not username or not password:
        raise AuthenticationFailed("Enter a user name and a password.")
    if len(username) > MAX_USERNAME_CHARS:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    now, until = audit.logins.begin_attempt(username, clock=clock, lookback=LOOKBACK,
                                            locked_until=lambda attempts, at: locked_until(attempts, now=at))
    if until is not None:
        raise AuthenticationFailed(_locked_message(username, until))
    account = credentials.verify(username, password)
    if account is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    audit.logins.record_success(username, now=max(clock(), now))
    return Actor(username=account.username, display_name=account.display_name, role=account.role)


def lockout_ends(audit: AuditStore, username: str, *, clock: Clock = utc_now) -> object | None:
    """When the lockout of ``username`` ends, or None when it may sign in."""
    now = clock()
    return locked_until(audit.logins.attempts_since(username, now - LOOKBACK), now=now)


def actor_for(credentials: CredentialsFile, username: str) -> Actor | None:
    """The actor for a user name already authenticated, if it still exists."""
    account = credentials.get(username)
    if account is None:
        return None
    return Actor(username=account.username, display_name=account.display_name, role=account.role)


def session_actor(credentials: CredentialsFile, audit: AuditStore, *, token: str | None, cookie_key: str,
                  clock: Clock = utc_now) -> Actor | None:
    """The actor a sign-in cookie stands for, or None when it must not sign anyone in: not a genuine token,
    expired, revoked by a logout, its user gone or locked out."""
    session = read_session_token(token, cookie_key)
    if session is None or session.expires_at <= clock():
        return None
    if audit.logins.is_revoked(session.revocation_key):
        return None
    if lockout_ends(audit, session.username, clock=clock) is not None:
        return None
    return actor_for(credentials, session.username)


def new_session_token(actor: Actor, *, cookie_key: str, expiry_days: float, clock: Clock = utc_now) -> SessionToken:
    """The sign-in cookie's token for a session that just signed in (its ``value`` is what the browser keeps)."""
    return issue_session_token(actor.username, cookie_key, expires_at=clock() + timedelta(days=expiry_days))


def cookie_expiry(token: str | None, *, cookie_key: str, username: str) -> float | None:
    """The expiry (unix seconds) a genuine sign-in cookie of ``username`` carries, else None."""
    session = read_session_token(token, cookie_key)
    return session.exp_date if session is not None and session.username == username else None


def logout(audit: AuditStore, *, username: str, cookie_expiry: float | None, clock: Clock = utc_now) -> None:
    """Revoke the session's sign-in cookie server-side (by its claims: the user and the cookie's expiry, a
    unix time), so no copy of it signs anyone in again."""
    if cookie_expiry is not None:
        audit.logins.revoke(revocation_key(username, cookie_expiry), username=username, now=clock())


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
