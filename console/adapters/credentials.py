"""The credentials file: streamlit-authenticator's YAML layout, bcrypt password hashes, roles per user."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from console.domain.access import Role, strongest_role
from console.errors import SettingsError


@functools.cache
def _unknown_user_hash() -> bytes:
    # Checking a password that matches no user still costs one bcrypt check, so that a wrong user name takes
    # as long as a wrong password and does not reveal which user names exist. Made on first use, not at import.
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=12))


@dataclass(frozen=True)
class UserAccount:
    username: str
    display_name: str
    email: str
    password_hash: str
    role: Role
    demo: bool = False


def hash_password(password: str, *, rounds: int = 12) -> str:
    """A bcrypt hash of ``password`` (cost ``rounds``), as the credentials file keeps it."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def password_matches(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches a bcrypt hash (a malformed hash matches nothing)."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


class CredentialsFile:
    """Users read from one YAML file; never written by the console."""

    def __init__(self, users: dict[str, UserAccount]) -> None:
        self._users = users

    @classmethod
    def load(cls, path: Path) -> CredentialsFile:
        """Read and check the credentials YAML at ``path`` (SettingsError listing every problem)."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise SettingsError(f"Cannot read the credentials file {path}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise SettingsError(f"The credentials file {path} is not valid YAML: {err}") from err
        return cls.from_document(document, source=str(path))

    @classmethod
    def from_document(cls, document: Any, *, source: str) -> CredentialsFile:
        """Check a parsed credentials document (SettingsError listing every problem)."""
        problems: list[str] = []
        entries = document.get("credentials", {}).get("usernames") if isinstance(document, dict) else None
        if not isinstance(entries, dict) or not entries:
            raise SettingsError(
                f"The credentials file {source} has no users.",
                problems=["expected a mapping at credentials.usernames with at least one user"],
            )
        users: dict[str, UserAccount] = {}
        for username, entry in entries.items():
            where = f"credentials.usernames.{username}"
            if not isinstance(entry, dict):
                problems.append(f"{where}: expected a mapping")
                continue
            password_hash = str(entry.get("password") or "")
            if not password_hash.startswith(("$2a$", "$2b$", "$2y$")):
                problems.append(f"{where}.password: must be a bcrypt hash, not a plain password")
            roles = entry.get("roles")
            if isinstance(roles, str):
                roles = [roles]
            try:
                role = strongest_role(tuple(roles or ()))
            except ValueError as err:
                problems.append(f"{where}.roles: {err}")
                continue
            users[str(username)] = UserAccount(
                username=str(username),
                display_name=str(entry.get("name") or username),
                email=str(entry.get("email") or ""),
                password_hash=password_hash,
                role=role,
                demo=bool(entry.get("demo", False)),
            )
        if problems:
            raise SettingsError(f"The credentials file {source} has problems.", problems=problems)
        return cls(users)

    def get(self, username: str) -> UserAccount | None:
        """The account of ``username``, if it exists."""
        return self._users.get(username)

    def users(self) -> list[UserAccount]:
        """Every account of the file."""
        return list(self._users.values())

    def verify(self, username: str, password: str) -> UserAccount | None:
        """The account when the password matches, else None, in the same time for unknown users."""
        account = self._users.get(username)
        if account is None:
            # The same bcrypt work (and the same refusal of a password over 72 bytes) as for a known user, so
            # neither the time nor the answer tells which names exist.
            password_matches(password, _unknown_user_hash().decode("ascii"))
            return None
        return account if password_matches(password, account.password_hash) else None

    def as_authenticator_credentials(self) -> dict[str, Any]:
        """The dict streamlit-authenticator expects; a fresh copy, because the library writes into it."""
        return {
            "usernames": {
                account.username: {
                    "name": account.display_name,
                    "email": account.email,
                    "password": account.password_hash,
                    "roles": [account.role.label],
                }
                for account in self._users.values()
            }
        }
