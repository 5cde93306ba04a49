"""The world the browser tests and the screenshots run against: the sandbox and the console on free ports.

Everything started here is stopped by PID at the end, and the caller can check that no recorded PID survives.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from console.adapters.credentials import hash_password
from console.sandbox.processes import free_port, pid_alive, wait_for_http
from console.sandbox.world import Sandbox, start_console

# Users of their own for the failed-login journeys: locking them out leaves the demo logins usable.
LOCKOUT_USER = "lockout-probe"
LOCKOUT_PASSWORD = "lockout-probe-password"
LOCKED_COOKIE_USER = "locked-cookie-probe"
LOGINS = {"viewer": "viewer-demo", "operator": "operator-demo", "admin": "admin-demo"}
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def chromium_path() -> str:
    """Debian's Chromium; the tests never download a browser."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError(
            "Chromium is not installed: the browser tests drive Debian's chromium "
            "(apt-get install chromium; `make test` installs it)."
        )
    return path


@dataclass(frozen=True)
class ConsoleWorld:
    sandbox: Sandbox
    url: str
    env: dict[str, str]
    pids: tuple[int, ...]

    @property
    def audit_database_url(self) -> str:
        return self.env["CONSOLE_AUDIT_DATABASE_URL"]


def _add_lockout_users(users_file: Path) -> None:
    document = yaml.safe_load(users_file.read_text(encoding="utf-8"))
    for username in (LOCKOUT_USER, LOCKED_COOKIE_USER):
        document["credentials"]["usernames"][username] = {
            "name": username.replace("-", " ").title(),
            "email": f"{username}@demo.invalid",
            "password": hash_password(LOCKOUT_PASSWORD, rounds=4),
            "roles": ["viewer"],
        }
    users_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def recorded_pids(sandbox: Sandbox) -> tuple[int, ...]:
    pid_file = sandbox.paths.pids
    if not pid_file.exists():
        return ()
    return tuple(int(line.split()[0]) for line in pid_file.read_text().splitlines() if line.strip())


@contextmanager
def running_world(root: Path, *, start_timeout_seconds: float = 120) -> Iterator[ConsoleWorld]:
    """Build a sandbox in ``root``, start it and the console on free ports; stop both by PID afterwards."""
    sandbox = Sandbox(root=root)
    sandbox.prepare()
    _add_lockout_users(sandbox.paths.users)
    pids: tuple[int, ...] = ()
    try:
        sandbox.start()
        port = free_port()
        console = start_console(sandbox, port=port)
        url = f"http://127.0.0.1:{port}"
        if not wait_for_http(f"{url}/_stcore/health", timeout_seconds=start_timeout_seconds, process=console):
            log = root / "console.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the console did not start; {log}:\n{tail}")
        pids = recorded_pids(sandbox)
        yield ConsoleWorld(sandbox=sandbox, url=url, env=sandbox.settings_environment(), pids=pids)
    finally:
        pids = pids or recorded_pids(sandbox)
        sandbox.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
            time.sleep(0.1)
