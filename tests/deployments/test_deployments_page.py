"""The Deployments page in AppTest and the command-line verbs, against the sandbox API server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from console.adapters.audit_store import AuditStore
from console.domain.audit import Outcome
from console.sandbox.kube import KubeApiServer
from tests.deployments.conftest import NAMESPACES
from tests.helpers import REPOSITORY_ROOT, signed_in_app


@pytest.fixture()
def env(kube: KubeApiServer, tmp_path: Path, console_env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return console_env(KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                       CONSOLE_REQUEST_TIMEOUT_SECONDS="2")


def signed_in(username: str) -> AppTest:
    app = signed_in_app(username)
    assert not app.exception
    return app


def test_overview_table_and_detail(env: dict[str, str]) -> None:
    app = signed_in("operator")
    frame = app.dataframe[0].value
    assert set(frame["name"]) == {"iris-classifier", "wine-quality", "diabetes-regressor"}
    assert {"ready", "up-to-date", "available", "age", "image", "model", "version", "health", "last change"} <= set(frame.columns)
    app.query_params["namespace"] = "ml-serving"
    app.query_params["deployment"] = "iris-classifier"
    app.run()
    assert not app.exception
    assert [h.value for h in app.subheader] == ["ml-serving/iris-classifier"]
    labels = [button.label for button in app.button]
    assert {"Scale", "Restart", "Pause", "Roll back"} <= set(labels)
    history = app.dataframe[1].value
    assert history["current"].iloc[0] == "◀ current"


def test_viewer_sees_no_action_buttons(env: dict[str, str]) -> None:
    app = signed_in("viewer")
    app.query_params["namespace"] = "ml-serving"
    app.query_params["deployment"] = "iris-classifier"
    app.run()
    assert not app.exception
    assert not {"Scale", "Restart", "Pause", "Roll back"} & {button.label for button in app.button}


def test_unreachable_api_shows_a_message(env: dict[str, str], kube: KubeApiServer) -> None:
    kube.stop()
    app = signed_in("viewer")
    assert not app.exception
    assert "is not reachable" in app.error[0].value


def run_cli(env: dict[str, str], *args: str, user: str = "operator") -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "KUBECONFIG"))}
    full.update(env, CONSOLE_PASSWORD=f"{user}-demo")
    return subprocess.run([sys.executable, "-m", "console", *args, "--user", user], env=full, cwd=REPOSITORY_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_status_scale_restart_rollback(env: dict[str, str], kube: KubeApiServer) -> None:
    status = run_cli(env, "status", "ml-serving")
    assert status.returncode == 0, status.stderr
    assert "iris-classifier" in status.stdout and "diabetes-regressor" not in status.stdout
    scaled = run_cli(env, "scale", "ml-serving/iris-classifier", "4", "--reason", "ci load test")
    assert (scaled.returncode, scaled.stdout.strip()) == (0, "Scaled ml-serving/iris-classifier from 3 to 4 replicas.")
    assert kube.get("deployments", "ml-serving", "iris-classifier")["spec"]["replicas"] == 4
    bad = run_cli(env, "scale", "ml-serving/iris-classifier", "-3", "--reason", "x")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: Replicas cannot be negative (got -3)."
    denied = run_cli(env, "restart", "ml-serving/iris-classifier", "--reason", "x", user="viewer")
    assert denied.returncode == 1 and "may not operate deployments" in denied.stderr
    missing = run_cli(env, "rollback", "ml-serving/iris-classifier", "--to-revision", "99", "--reason", "x")
    assert missing.returncode == 1 and "has no revision 99" in missing.stderr
    # iris-classifier follows alias champion: the previous revision serves another model version, so a plain
    # rollback would leave registry and cluster disagreeing; it is refused, with the model rollback offered.
    before = kube.get("deployments", "ml-serving", "iris-classifier")["spec"]["template"]
    rolled = run_cli(env, "rollback", "ml-serving/iris-classifier", "--reason", "previous model was better")
    assert rolled.returncode == 1 and "would make it serve iris-classifier version 3" in rolled.stderr
    assert "--move-alias" in rolled.stderr
    assert kube.get("deployments", "ml-serving", "iris-classifier")["spec"]["template"] == before
    outcomes = [(r.action, r.outcome) for r in AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"]).query()]
    assert outcomes == [("rollback", Outcome.FAILED), ("rollback", Outcome.FAILED), ("restart", Outcome.DENIED),
                        ("scale", Outcome.FAILED), ("scale", Outcome.SUCCEEDED)]
