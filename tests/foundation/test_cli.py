"""``python -m console``: same credentials, limit, roles and audit records as the browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditEntry, Outcome
from tests.helpers import REPOSITORY_ROOT, demo_environment


def run_cli(env: dict[str, str], *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("CONSOLE_", "MLFLOW_", "KUBECONFIG", "PROMETHEUS_"))}
    full_env.update(env)
    if password is not None:
        full_env["CONSOLE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "console", *args], env=full_env, cwd=REPOSITORY_ROOT,
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    env = demo_environment(tmp_path)
    store = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"])
    for minute, action in enumerate(("scale", "restart", "rollback")):
        store.append(AuditEntry(at=datetime(2026, 11, 1, 12, minute, tzinfo=UTC), username="operator",
                                role="operator", action=action, target="ml-serving/iris-classifier",
                                outcome=Outcome.SUCCEEDED, reason=f"reason {minute}", parameters={"n": minute}))
    return env


def test_audit_json_lines(env: dict[str, str]) -> None:
    result = run_cli(env, "audit", "--user", "operator", "--limit", "2", "--json", password="operator-demo")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["action"] for record in records] == ["rollback", "restart"]
    assert records[0]["parameters"] == {"n": 2} and records[0]["outcome"] == "succeeded"


def test_password_file(env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("admin-demo\n")
    result = run_cli(env, "audit", "--user", "admin", "--password-file", str(secret))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3 and "rollback" in result.stdout


def test_viewer_may_not_read_the_audit_log(env: dict[str, str]) -> None:
    result = run_cli(env, "audit", "--user", "viewer", password="viewer-demo")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: viewer (viewer) may not read audit log; that needs the operator role."


def test_wrong_password_counts_towards_the_same_limit(env: dict[str, str]) -> None:
    for _ in range(5):
        result = run_cli(env, "audit", "--user", "operator", password="wrong")
        assert (result.returncode, result.stderr.strip()) == (1, "error: Wrong user name or password.")
    result = run_cli(env, "audit", "--user", "operator", password="operator-demo")
    assert result.returncode == 1 and "Too many failed logins for 'operator'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_password_and_bad_settings(env: dict[str, str]) -> None:
    result = run_cli(env, "audit", "--user", "operator")
    assert result.returncode == 1 and "CONSOLE_PASSWORD" in result.stderr
    broken = {**env, "CONSOLE_ENV": "prod", "CONSOLE_MAX_REPLICAS": "0"}
    result = run_cli(broken, "check-config")
    assert result.returncode == 1
    assert "CONSOLE_ENV must be" in result.stderr and "CONSOLE_MAX_REPLICAS must be between 1 and 1000" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli(env, "check-config").returncode == 0
