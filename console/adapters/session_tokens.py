"""The sign-in cookie's token, read strictly: HS256 signed with the console's key, a user name and an expiry.

streamlit-authenticator writes the token (``{"username": ..., "exp_date": <unix seconds>}``, HS256); a cookie
that is anything else (another algorithm, ``alg: none``, a wrong signature, a missing or malformed field, not a
JWT at all) reads as no sign-in, never as an error page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt


@dataclass(frozen=True)
class SessionToken:
    username: str
    exp_date: float  # as the token carries it (unix seconds): the revocation key is made from it exactly
    expires_at: datetime
    value: str = ""  # the token itself, when this process made it (never stored)

    @property
    def revocation_key(self) -> str:
        """What a logout revokes: every copy of this cookie."""
        return revocation_key(self.username, self.exp_date)


def revocation_key(username: str, exp_date: float) -> str:
    """The key a revoked sign-in is kept by: a hash of the token's claims (the token itself is a credential,
    so it is not stored). The cookie a session wrote itself is revoked by the same key as its copies."""
    return hashlib.sha256(f"{username}\n{float(exp_date)!r}".encode()).hexdigest()


def read_session_token(token: str | None, key: str) -> SessionToken | None:
    """The token's user and expiry when it is genuine and well formed; None otherwise (never raises)."""
    if not token or len(token) > 4096:
        return None
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "HS256":
            return None
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": []})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    username, expiry = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not username or isinstance(expiry, bool):
        return None
    if not isinstance(expiry, (int, float)):
        return None
    try:
        expires_at = datetime.fromtimestamp(float(expiry), UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return SessionToken(username=username, exp_date=float(expiry), expires_at=expires_at)


def issue_session_token(username: str, key: str, *, expires_at: datetime) -> SessionToken:
    """A sign-in token as streamlit-authenticator writes it (HS256 over ``username`` and ``exp_date``), made once
    per sign-in so that the cookie the browser keeps is the one a logout revokes."""
    exp_date = expires_at.timestamp()
    return SessionToken(username=username, exp_date=exp_date, expires_at=expires_at,
                        value=jwt.encode({"username": username, "exp_date": exp_date}, key, algorithm="HS256"))
