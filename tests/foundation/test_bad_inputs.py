"""Every bad input gets a clear message and changes nothing, on the command line as in the services: no traceback,
no half-done action, and an audit record for every action attempt. Credentials in URLs never show."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.access import Actor, Role
from console.domain.audit import AuditEntry, Outcome
from console.errors import BackendUnavailable, InvalidInput
from console.services.audit import export_audit_csv
from console.services.deployments import parse_replicas
from console.services.experiments import list_experiments
from tests.helpers import REPOSITORY_ROOT, demo_environment

ADMIN = Actor("ada", "Ada", Role.ADMIN)


def run_cli(env: dict[str, str], *args: str, password: str | None = "operator-demo") -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "MLFLOW_", "KUBECONFIG"))}
    full.update(env)
    if password is not None:
        full["CONSOLE_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "console", *args], env=full, cwd=REPOSITORY_ROOT,
                          capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("replicas", ["²", "٣", "3.5", "three", "", "-1"])
def test_replicas_are_ascii_whole_numbers(replicas: str) -> None:
    with pytest.raises(InvalidInput):
        parse_replicas(replicas, max_replicas=50)


def test_command_line_bad_inputs(tmp_path: Path) -> None:
    env = demo_environment(tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig.yaml"), CONSOLE_NAMESPACES="ml-serving")
    (tmp_path / "kubeconfig.yaml").write_text("apiVersion: v1\nclusters: [\n  - : :\n")
    malformed = run_cli(env, "status", "--user", "operator")
    assert malformed.returncode == 1 and "is not a valid kubeconfig" in malformed.stderr
    assert "Traceback" not in malformed.stderr

    binary = tmp_path / "password.bin"
    binary.write_bytes(b"\xff\xfe\x00binary")
    unreadable = run_cli(env, "audit", "--user", "operator", "--password-file", str(binary), password=None)
    assert unreadable.returncode == 1 and "is not UTF-8 text" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr

    target = run_cli(env, "scale", "iris-classifier", "2", "--reason", "peak", "--user", "operator")
    assert target.returncode == 1 and "Give the deployment as NAMESPACE/DEPLOYMENT" in target.stderr
    [record] = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).query()
    assert (record.action, record.target, record.outcome) == ("scale", "iris-classifier", Outcome.FAILED)

    # A cluster that cannot be reached is an attempt too, with its record.
    refused = run_cli(env, "restart", "ml-serving/iris-classifier", "--reason", "stuck", "--user", "operator")
    assert refused.returncode == 1 and "is not a valid kubeconfig" in refused.stderr
    assert AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).query()[0].action == "restart"

    (tmp_path / "kubeconfig.yaml").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "
        "'http://127.0.0.1:9'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, "
        "user: u}}]\n")
    for replicas in ("²", "٣"):
        refused = run_cli(env, "scale", "ml-serving/iris-classifier", replicas, "--reason", "x", "--user", "operator")
        assert refused.returncode == 1 and "Replicas must be a whole number" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


def test_audit_text_output_escapes_control_characters(tmp_path: Path) -> None:
    env = demo_environment(tmp_path)
    AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).append(AuditEntry(
        at=datetime(2026, 11, 1, tzinfo=UTC), username="mallory", role="operator", action="scale",
        target="ml-serving/x\x1b[2J\x1b[H", outcome=Outcome.FAILED, reason="clear\rthe screen\x07"))
    listed = run_cli(env, "audit", "--user", "operator")
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\r" not in listed.stdout and "\x07" not in listed.stdout
    assert "ml-serving/x\\x1b[2J\\x1b[H" in listed.stdout and "clear\\rthe screen\\x07" in listed.stdout


def test_csv_cells_a_spreadsheet_would_run_are_text(audit: AuditStore) -> None:
    audit.append(AuditEntry(at=datetime(2026, 11, 1, tzinfo=UTC), username="mallory", role="operator",
                            action="scale", target="=HYPERLINK(\"http://evil\",\"x\")", outcome=Outcome.FAILED,
                            reason="+1 -1 @SUM(A1)"))
    rows = list(csv.DictReader(io.StringIO(export_audit_csv(audit, ADMIN))))
    assert rows[0]["target"] == "'=HYPERLINK(\"http://evil\",\"x\")" and rows[0]["reason"] == "'+1 -1 @SUM(A1)"


def test_credentials_in_a_backend_url_never_show(tmp_path: Path, audit: AuditStore) -> None:
    registry = MlflowRegistry("http://pipeline:s3cret-token@127.0.0.1:9", timeout_seconds=1)
    with pytest.raises(BackendUnavailable) as unreachable:
        list_experiments(registry, ADMIN)
    assert "s3cret-token" not in str(unreachable.value) and "pipeline:***@127.0.0.1" in str(unreachable.value)
    # An audit record that quotes the address keeps it masked too.
    audit.append(AuditEntry(at=datetime(2026, 11, 1, tzinfo=UTC), username="ada", role="admin", action="promote",
                            target="iris@champion", outcome=Outcome.FAILED, reason="r",
                            parameters={"tracking": "https://u:pw@mlflow.example"},
                            error="MLflow at http://pipeline:s3cret-token@mlflow:5000 failed"))
    [record] = audit.query()
    assert "s3cret-token" not in record.error and "pw@" not in str(record.parameters)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: "
                          "{server: 'http://admin:hunter2@127.0.0.1:9'}}]\nusers: [{name: u, user: {}}]\n"
                          "contexts: [{name: c, context: {cluster: c, user: u}}]\n")
    cluster = KubernetesCluster(namespaces=("ml-serving",), kubeconfig=kubeconfig, timeout_seconds=1)
    with pytest.raises(BackendUnavailable) as down:
        cluster.list_deployments()
    assert "hunter2" not in str(down.value)


def test_log_records_mask_credentials(caplog: pytest.LogCaptureFixture) -> None:
    from console.redaction import redacting_logger

    log = redacting_logger("console.test")
    try:
        raise RuntimeError("cannot reach http://svc:topsecret@10.0.0.1:5000")
    except RuntimeError:
        with caplog.at_level("ERROR", logger="console.test"):
            log.exception("backend %s failed", "http://svc:topsecret@10.0.0.1:5000")
    assert caplog.records and "topsecret" not in caplog.text and "svc:***@10.0.0.1" in caplog.text
