"""Sign-in that holds: the failed-login limit under simultaneous guesses, and the sign-in cookie read strictly.

On SQLite and a real PostgreSQL; the cookies are real HS256 tokens, made the way streamlit-authenticator makes
them, and forged the ways an attacker would.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile
from console.errors import AuthenticationFailed
from console.sandbox.users import write_demo_credentials
from console.services import auth

KEY = "k" * 48


@pytest.fixture()
def credentials(tmp_path: Path) -> CredentialsFile:
    path = tmp_path / "users.yaml"
    write_demo_credentials(path, rounds=4)
    return CredentialsFile.load(path)


def test_simultaneous_wrong_guesses_check_at_most_the_limit(audit_store: AuditStore,
                                                             credentials: CredentialsFile) -> None:
    guesses = 16
    start = threading.Barrier(guesses)
    answers: list[str] = []

    def guess(number: int) -> None:
        start.wait()
        try:
            auth.login(credentials, audit_store, username="operator", password=f"guess-{number}")
        except AuthenticationFailed as err:
            answers.append("locked" if "Too many failed logins" in err.message else "wrong")

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Each checked guess was counted before its password was checked: the sixth and later never got a check.
    assert sorted(answers) == ["locked"] * 11 + ["wrong"] * 5
    attempts = audit_store.logins.attempts_since("operator", datetime.now(UTC) - timedelta(hours=1))
    assert [attempt.succeeded for attempt in attempts] == [False] * 5
    with pytest.raises(AuthenticationFailed, match="Too many failed logins for 'operator'"):
        auth.login(credentials, audit_store, username="operator", password="operator-demo")


def test_a_right_password_clears_the_count(audit_store: AuditStore, credentials: CredentialsFile) -> None:
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            auth.login(credentials, audit_store, username="viewer", password="nope")
    assert auth.login(credentials, audit_store, username="viewer", password="viewer-demo").username == "viewer"
    for _ in range(4):
        with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
            auth.login(credentials, audit_store, username="viewer", password="nope")


def test_a_long_password_gets_the_same_answer_for_known_and_unknown_users(audit_store: AuditStore,
                                                                          credentials: CredentialsFile) -> None:
    long_password = "p" * 100  # over bcrypt's 72 bytes
    answers = []
    for username in ("operator", "nobody-here"):
        with pytest.raises(AuthenticationFailed) as refused:
            auth.login(credentials, audit_store, username=username, password=long_password)
        answers.append(refused.value.message)
    assert answers == [auth.WRONG_CREDENTIALS] * 2


def token(claims: dict, *, key: str = KEY, algorithm: str = "HS256") -> str:  # type: ignore[type-arg]
    return jwt.encode(claims, key, algorithm=algorithm)


def future() -> float:
    return (datetime.now(UTC) + timedelta(days=1)).timestamp()


def test_a_genuine_cookie_signs_in(audit_store: AuditStore, credentials: CredentialsFile) -> None:
    actor = auth.session_actor(credentials, audit_store, token=token({"username": "operator", "exp_date": future()}),
                               cookie_key=KEY)
    assert actor is not None and actor.username == "operator"


def _alg_none() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(f'{{"username":"admin","exp_date":{future()}}}'.encode()).decode()
    return f"{header}.{body}."


@pytest.mark.parametrize("forged", [
    pytest.param(lambda: _alg_none(), id="alg-none"),
    pytest.param(lambda: token({"username": "admin", "exp_date": future()}, key=KEY * 2, algorithm="HS512"),
                 id="hs512"),
    pytest.param(lambda: token({"username": "admin"}), id="no-exp-date"),
    pytest.param(lambda: token({"username": "admin", "exp_date": "tomorrow"}), id="exp-date-text"),
    pytest.param(lambda: token({"username": "admin", "exp_date": 10**30}), id="exp-date-huge"),
    pytest.param(lambda: token({"username": ["admin"], "exp_date": future()}), id="username-list"),
    pytest.param(lambda: token({"username": "admin", "exp_date": 1}), id="expired"),
    pytest.param(lambda: token({"username": "admin", "exp_date": future()}, key="another key" * 4), id="wrong-key"),
    pytest.param(lambda: token({"username": "ghost", "exp_date": future()}), id="unknown-user"),
    pytest.param(lambda: "not a token at all", id="garbage"),
    pytest.param(lambda: "", id="empty"),
])
def test_a_foreign_or_malformed_cookie_signs_nobody_in(audit_store: AuditStore, credentials: CredentialsFile,
                                                         forged) -> None:  # type: ignore[no-untyped-def]
    assert auth.session_actor(credentials, audit_store, token=forged(), cookie_key=KEY) is None


def test_logout_revokes_every_copy_of_the_cookie(audit_store: AuditStore, credentials: CredentialsFile) -> None:
    expiry = future()
    cookie = token({"username": "operator", "exp_date": expiry})
    assert auth.session_actor(credentials, audit_store, token=cookie, cookie_key=KEY) is not None
    assert auth.cookie_expiry(cookie, cookie_key=KEY, username="operator") == expiry
    auth.logout(audit_store, username="operator", cookie_expiry=expiry)
    assert auth.session_actor(credentials, audit_store, token=cookie, cookie_key=KEY) is None
    # A later sign-in's cookie (another expiry) is not revoked by it.
    fresh = token({"username": "operator", "exp_date": expiry + 60})
    assert auth.session_actor(credentials, audit_store, token=fresh, cookie_key=KEY) is not None


def test_a_locked_account_is_refused_with_a_valid_cookie(audit_store: AuditStore,
                                                         credentials: CredentialsFile) -> None:
    cookie = token({"username": "admin", "exp_date": future()})
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.login(credentials, audit_store, username="admin", password="wrong")
    assert auth.session_actor(credentials, audit_store, token=cookie, cookie_key=KEY) is None
