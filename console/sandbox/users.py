"""The demo logins, written only by the sandbox."""

from __future__ import annotations

from pathlib import Path

import yaml

from console.adapters.credentials import hash_password
from console.config import DEMO_LOGINS

_DEMO_NAMES = {"viewer": "Vera Viewer", "operator": "Oscar Operator", "admin": "Ada Admin"}


def write_demo_credentials(path: Path, *, rounds: int = 10) -> None:
    """A credentials file with the three demo users, one role each, marked ``demo: true``."""
    users = {
        username: {
            "name": _DEMO_NAMES[username],
            "email": f"{username}@demo.invalid",
            "password": hash_password(password, rounds=rounds),
            "roles": [username],
            "demo": True,
        }
        for username, password in DEMO_LOGINS.items()
    }
    path.write_text(yaml.safe_dump({"credentials": {"usernames": users}}, sort_keys=False), encoding="utf-8")
