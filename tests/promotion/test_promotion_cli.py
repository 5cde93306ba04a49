"""``python -m console promote`` and ``model-rollback`` in a subprocess, with the sandbox's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from console.adapters.audit_store import AuditStore
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.audit import Outcome
from console.sandbox.kube import KubeApiServer
from tests.helpers import REPOSITORY_ROOT, demo_environment
from tests.promotion.conftest import NAMESPACES, holder, served_version

def run_cli(env: dict[str, str], *args: str, user: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "KUBECONFIG", "MLFLOW_"))}
    full.update(env, CONSOLE_PASSWORD=f"{user}-demo")
    return subprocess.run([sys.executable, "-m", "console", *args, "--user", user], env=full, cwd=REPOSITORY_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_promote_gate_and_model_rollback(
    store_copy: str, registry: MlflowRegistry, kube: KubeApiServer, tmp_path: Path
) -> None:
    env = demo_environment(tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                           MLFLOW_TRACKING_URI=store_copy, CONSOLE_REQUEST_TIMEOUT_SECONDS="10")
    failed = run_cli(env, "promote", "diabetes-regressor", "4", "--reason", "ci: nightly", user="operator")
    assert failed.returncode == 1
    assert "does not pass the promotion gate" in failed.stderr and "gate: failed: r2" in failed.stderr
    assert holder(registry, "diabetes-regressor") == 3

    promoted = run_cli(env, "promote", "iris-classifier", "5", "--alias", "champion", "--reason", "ci: v5 wins",
                       user="operator")
    assert promoted.returncode == 0, promoted.stderr
    assert "Version 5 of iris-classifier now holds 'champion'" in promoted.stdout
    assert "rollout: ml-serving/iris-classifier" in promoted.stdout
    assert holder(registry, "iris-classifier") == 5
    assert served_version(kube, "ml-serving", "iris-classifier")[0] == "5"

    rolled = run_cli(env, "model-rollback", "iris-classifier", "--reason", "ci: smoke test failed", user="operator")
    assert rolled.returncode == 0, rolled.stderr
    assert "back on version 4" in rolled.stdout
    assert holder(registry, "iris-classifier") == 4
    assert served_version(kube, "ml-serving", "iris-classifier")[0] == "4"

    records = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).query()
    assert [(r.action, r.outcome) for r in records] == [
        ("model-rollback", Outcome.SUCCEEDED), ("promote", Outcome.SUCCEEDED), ("promote", Outcome.FAILED)]


def test_cli_rollback_that_changes_the_served_model_moves_the_alias_only_when_asked(
    store_copy: str, registry: MlflowRegistry, kube: KubeApiServer, tmp_path: Path
) -> None:
    env = demo_environment(tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                           MLFLOW_TRACKING_URI=store_copy, CONSOLE_REQUEST_TIMEOUT_SECONDS="10")
    # wine-quality's revision 4 serves model version 2 while its alias champion holds version 4.
    refused = run_cli(env, "rollback", "ml-serving/wine-quality", "--to-revision", "4", "--reason", "crash loop",
                      user="operator")
    assert refused.returncode == 1 and "--move-alias" in refused.stderr
    assert holder(registry, "wine-quality") == 4 and served_version(kube, "ml-serving", "wine-quality")[0] == "4"

    moved = run_cli(env, "rollback", "ml-serving/wine-quality", "--to-revision", "4", "--reason", "crash loop",
                    "--move-alias", user="operator")
    assert moved.returncode == 0, moved.stderr
    assert "back on version 2" in moved.stdout
    assert holder(registry, "wine-quality") == 2
    assert served_version(kube, "ml-serving", "wine-quality") == ("2", "models:/wine-quality/2")
    records = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).query()
    assert [(r.action, r.outcome) for r in records] == [("model-rollback", Outcome.SUCCEEDED),
                                                        ("rollback", Outcome.FAILED)]
    assert records[0].after["deployments"]["ml-serving/wine-quality"]["toRevision"] == 4
